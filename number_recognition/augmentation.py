"""Random jitter of digit images: affine warps (rotation, shift, scale, shear) and stroke thickness.

Used two ways with the same code: ``train.py --augment`` jitters each training batch, and
``jittered_test_set`` makes a fixed, seeded, harder copy of the test set for bench/jitter.py. All
functions work on float images in [0, 1] of shape (n, height, width) and keep the labels untouched.
"""

import numpy as np

from number_recognition import config


def random_affine(
    count,
    rng,
    max_rotation_degrees=config.MAX_ROTATION_DEGREES,
    max_shift_pixels=config.MAX_SHIFT_PIXELS,
    scale_range=config.SCALE_RANGE,
    max_shear_degrees=config.MAX_SHEAR_DEGREES,
):
    """Draw ``count`` random affine maps as (matrices of shape (count, 2, 2), offsets of shape (count, 2)).

    Each map sends an output pixel's (row, column), relative to the image centre, to the source
    position it samples: ``source = matrix @ output + offset``.
    """
    rotation = np.deg2rad(rng.uniform(-max_rotation_degrees, max_rotation_degrees, count))
    shear = np.deg2rad(rng.uniform(-max_shear_degrees, max_shear_degrees, count))
    scale = rng.uniform(scale_range[0], scale_range[1], count)
    cos, sin = np.cos(rotation), np.sin(rotation)
    rotations = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shears = np.zeros((count, 2, 2))
    shears[:, 0, 0] = shears[:, 1, 1] = 1.0
    shears[:, 1, 0] = np.tan(shear)
    matrices = rotations @ shears / scale[:, None, None]
    offsets = rng.uniform(-max_shift_pixels, max_shift_pixels, (count, 2))
    return matrices.astype(np.float32), offsets.astype(np.float32)


def warp_affine(images, matrices, offsets):
    """Resample each image through its affine map with bilinear interpolation; outside is 0."""
    images = np.asarray(images, dtype=np.float32)
    count, height, width = images.shape
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    centre = np.array([(height - 1) / 2, (width - 1) / 2], dtype=np.float32)
    grid_rows, grid_columns = rows.ravel() - centre[0], columns.ravel() - centre[1]
    # subtle: written out rather than as ``matrices @ grid``, a batched matrix product that wakes the BLAS
    # thread pool; while Keras trains, those threads fight its own and made each batch's jitter ten times slower.
    source_rows = matrices[:, 0, 0:1] * grid_rows + matrices[:, 0, 1:2] * grid_columns + (offsets[:, 0:1] + centre[0])
    source_columns = (
        matrices[:, 1, 0:1] * grid_rows + matrices[:, 1, 1:2] * grid_columns + (offsets[:, 1:2] + centre[1])
    )
    top, left = np.floor(source_rows), np.floor(source_columns)
    row_weight, column_weight = source_rows - top, source_columns - left
    # A zero border of one pixel lets every out-of-range neighbour be read as background.
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1))).reshape(count, -1)
    top = np.clip(top.astype(np.int64) + 1, 0, height + 1)
    left = np.clip(left.astype(np.int64) + 1, 0, width + 1)
    bottom, right = np.clip(top + 1, 0, height + 1), np.clip(left + 1, 0, width + 1)

    def pixels(row_index, column_index):
        return np.take_along_axis(padded, row_index * (width + 2) + column_index, axis=1)

    warped = (1 - row_weight) * (
        (1 - column_weight) * pixels(top, left) + column_weight * pixels(top, right)
    ) + row_weight * ((1 - column_weight) * pixels(bottom, left) + column_weight * pixels(bottom, right))
    return warped.reshape(count, height, width)


def _neighbourhood(images, reduce):
    """Grey-level dilation (``numpy.maximum``) or erosion (``numpy.minimum``) with a 3x3 cross."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    result = images.copy()
    for row_shift, column_shift in ((0, 1), (2, 1), (1, 0), (1, 2)):
        result = reduce(
            result, padded[:, row_shift : row_shift + images.shape[1], column_shift : column_shift + images.shape[2]]
        )
    return result


def change_thickness(images, rng, max_thinning=0.5, max_thickening=1.0):
    """Thin or thicken each image's strokes by a random amount in [-max_thinning, max_thickening].

    A positive amount blends the image towards its dilation, a negative one towards its erosion,
    so the change is continuous rather than a whole pixel at a time. Thinning is milder because a
    full erosion wipes out MNIST's thinnest strokes.
    """
    images = np.asarray(images, dtype=np.float32)
    amount = rng.uniform(-max_thinning, max_thickening, len(images)).astype(np.float32)[:, None, None]
    thicker, thinner = _neighbourhood(images, np.maximum), _neighbourhood(images, np.minimum)
    target = np.where(amount > 0, thicker, thinner)
    return images + np.abs(amount) * (target - images)


def random_shift(images, rng, max_pixels):
    """Shift each image by a random whole number of pixels, up to ``max_pixels`` each way; the border is 0.

    Cheaper than ``warp_affine`` by far: one padded copy of the batch and one gather.
    """
    images = np.asarray(images, dtype=np.float32)
    count, height, width = images.shape
    padded = np.pad(images, ((0, 0), (max_pixels, max_pixels), (max_pixels, max_pixels)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(1, 2))
    rows, columns = rng.integers(0, 2 * max_pixels + 1, (2, count))
    return windows[np.arange(count), rows, columns]


def jitter(images, rng):
    """One random affine warp and one random thickness change per image."""
    matrices, offsets = random_affine(len(images), rng)
    return np.clip(change_thickness(warp_affine(images, matrices, offsets), rng), 0.0, 1.0)


def jittered_test_set(images, seed=config.JITTER_SEED):
    """A fixed, seeded jittered copy of ``images`` (float in [0, 1]) for measuring robustness."""
    return jitter(images, np.random.default_rng(seed))
