"""Random jitter: exact geometry of the warp, thickness changes, labels kept, seeded repeatability."""

import numpy as np
import pytest

from number_recognition import augmentation
from number_recognition import keras_import
from number_recognition import training


def digit_like_images(count=16, seed=0):
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.float32)
    for index in range(count):
        top, left = rng.integers(4, 10, 2)
        images[index, top : top + 14, left + 5 : left + 8] = 1.0
        images[index, top : top + 3, left : left + 12] = 1.0
    return images


def test_identity_warp_returns_the_image():
    images = digit_like_images()
    identity = np.tile(np.eye(2, dtype=np.float32), (len(images), 1, 1))
    warped = augmentation.warp_affine(images, identity, np.zeros((len(images), 2), np.float32))
    np.testing.assert_allclose(warped, images, atol=1e-6)


def test_quarter_turn_and_whole_pixel_shift_match_numpy():
    images = digit_like_images(4)
    quarter_turn = np.tile(np.array([[0, 1], [-1, 0]], np.float32), (4, 1, 1))
    warped = augmentation.warp_affine(images, quarter_turn, np.zeros((4, 2), np.float32))
    np.testing.assert_allclose(warped, np.rot90(images, k=1, axes=(1, 2)), atol=1e-5)
    identity = np.tile(np.eye(2, dtype=np.float32), (4, 1, 1))
    shifted = augmentation.warp_affine(images, identity, np.tile(np.array([[-2.0, 3.0]], np.float32), (4, 1)))
    np.testing.assert_allclose(shifted[:, 2:, :-3], images[:, :-2, 3:], atol=1e-6)


def test_thickness_change_thickens_and_thins():
    images = digit_like_images()
    thicker = augmentation.change_thickness(images, np.random.default_rng(0), max_thinning=0.0, max_thickening=1.0)
    thinner = augmentation.change_thickness(images, np.random.default_rng(0), max_thinning=1.0, max_thickening=0.0)
    assert np.all(thicker.sum(axis=(1, 2)) >= images.sum(axis=(1, 2)))
    assert np.all(thinner.sum(axis=(1, 2)) <= images.sum(axis=(1, 2)))
    assert thicker.sum() > images.sum() > thinner.sum()


def test_jitter_changes_every_image_keeps_range_and_is_seeded():
    images = digit_like_images()
    jittered = augmentation.jittered_test_set(images, seed=5)
    assert jittered.shape == images.shape and jittered.dtype == np.float32
    assert jittered.min() >= 0.0 and jittered.max() <= 1.0
    assert np.all(np.abs(jittered - images).reshape(len(images), -1).max(axis=1) > 0.1)
    np.testing.assert_array_equal(jittered, augmentation.jittered_test_set(images, seed=5))
    assert not np.array_equal(jittered, augmentation.jittered_test_set(images, seed=6))


@pytest.mark.parametrize("max_rotation", [0.0, 30.0])
def test_random_affine_respects_its_ranges(max_rotation):
    matrices, offsets = augmentation.random_affine(
        500,
        np.random.default_rng(0),
        max_rotation_degrees=max_rotation,
        max_shift_pixels=2.0,
        scale_range=(0.9, 1.1),
        max_shear_degrees=0.0,
    )
    determinants = np.linalg.det(matrices)
    assert np.all((determinants > 1 / 1.1**2 - 1e-4) & (determinants < 1 / 0.9**2 + 1e-4))
    assert np.abs(offsets).max() <= 2.0
    angles = np.degrees(np.arctan2(matrices[:, 1, 0], matrices[:, 0, 0]))
    assert np.abs(angles).max() <= max_rotation + 1e-3


@pytest.mark.parametrize("max_pixels", [1, 2, 4])
def test_random_shift_is_warp_affine_by_whole_pixels(synthetic_mnist, max_pixels):
    images = synthetic_mnist(train_count=50)["x_train"].astype(np.float32) / 255
    shifted = augmentation.random_shift(images, np.random.default_rng(3), max_pixels)
    # The same draws again: the window's corner in the padded image, so the shift is that minus the padding.
    rows, columns = np.random.default_rng(3).integers(0, 2 * max_pixels + 1, (2, len(images)))
    offsets = np.stack([rows, columns], axis=1).astype(np.float32) - max_pixels
    identity = np.broadcast_to(np.eye(2, dtype=np.float32), (len(images), 2, 2))
    np.testing.assert_allclose(shifted, augmentation.warp_affine(images, identity, offsets), atol=1e-6)
    assert np.abs(offsets).max() == max_pixels and len(np.unique(offsets)) == 2 * max_pixels + 1


def test_augmented_batches_jitter_inputs_and_keep_labels(synthetic_mnist):
    keras = keras_import.import_keras()
    arrays = synthetic_mnist(train_count=100)
    inputs = arrays["x_train"].astype(np.float32) / 255
    targets = np.eye(10, dtype=np.float32)[arrays["y_train"]]
    batches = training.augmented_batches(keras, inputs, targets, batch_size=32, seed=0, transform=augmentation.jitter)
    seen = []
    for index in range(len(batches)):
        batch_inputs, batch_targets = batches[index]
        chosen = batches.order[index * 32 : (index + 1) * 32]
        np.testing.assert_array_equal(batch_targets, targets[chosen])
        assert not np.allclose(batch_inputs, inputs[chosen])
        seen.extend(chosen.tolist())
    assert sorted(seen) == list(range(100))
