"""The MNIST-C corruptions do what corruptions.py defines, and the bench reads its own PNG files honestly."""

import csv
import json

import mnist_c
import numpy as np
import PIL.Image
import PIL.ImageDraw
import pytest

from number_recognition import data
from number_recognition.reading import inference
from number_recognition.reading import model_file
from number_recognition.reading import recognition

# The corruptions that draw random numbers beyond a choice of sign: two seeds give different images.
NOISY = ("shot_noise", "impulse_noise", "glass_blur", "motion_blur", "fog", "spatter", "dotted_line", "zigzag")


def seven():
    """A 7 of 3-pixel strokes, well inside the frame as MNIST digits are."""
    image = PIL.Image.new("L", (28, 28))
    draw = PIL.ImageDraw.Draw(image)
    draw.line([(8, 7), (20, 7), (12, 21)], fill=255, width=3)
    return np.asarray(image)


def corrupt(name, image, seed=0):
    return mnist_c.CORRUPTIONS[name](image, np.random.default_rng(seed))


def centre_of_mass(image):
    rows, columns = np.indices(image.shape)
    return np.array([(rows * image).sum(), (columns * image).sum()]) / image.sum()


@pytest.mark.parametrize("name", list(mnist_c.CORRUPTIONS))
def test_every_corruption_changes_a_digit_into_a_uint8_28x28_image_the_same_for_a_seed(name):
    digit = seven()
    corrupted = corrupt(name, digit)
    assert corrupted.dtype == np.uint8 and corrupted.shape == (28, 28)
    assert not np.array_equal(corrupted, digit)
    assert np.array_equal(corrupt(name, digit), corrupted)
    if name in NOISY:
        assert not np.array_equal(corrupt(name, digit, seed=1), corrupted)


def test_the_fifteen_corruptions_of_mnist_c_in_the_published_order():
    assert list(mnist_c.CORRUPTIONS) == [
        "shot_noise",
        "impulse_noise",
        "glass_blur",
        "motion_blur",
        "shear",
        "scale",
        "rotate",
        "brightness",
        "translate",
        "stripe",
        "fog",
        "spatter",
        "dotted_line",
        "zigzag",
        "canny_edges",
    ]


@pytest.mark.parametrize("image", [np.zeros((28, 28)), np.zeros((28, 28, 3), np.uint8), np.zeros((32, 32), np.uint8)])
def test_a_corruption_refuses_anything_but_a_uint8_28x28_image(image):
    with pytest.raises(ValueError, match="uint8"):
        corrupt("stripe", image)


def test_translate_moves_the_digit_3_pixels_each_way():
    digit = seven()
    for seed in range(4):
        shift = centre_of_mass(corrupt("translate", digit, seed)) - centre_of_mass(digit)
        np.testing.assert_allclose(np.abs(shift), [3, 3], atol=0.01)


def test_scale_shrinks_the_digit_to_0_7_about_the_centre():
    digit = seven()

    def extent(image):
        rows, columns = np.nonzero(image > 127)
        return np.array([rows.max() - rows.min(), columns.max() - columns.min()])

    np.testing.assert_allclose(extent(corrupt("scale", digit)), 0.7 * extent(digit), atol=1.5)


def test_canny_edges_are_a_hollow_1_pixel_outline_of_a_thick_shape():
    square = np.zeros((28, 28), np.uint8)
    square[8:20, 8:20] = 255
    edges = corrupt("canny_edges", square)
    assert set(np.unique(edges)) == {0, 255}
    band = np.zeros((28, 28), bool)
    band[6:22, 6:22] = True
    band[10:18, 10:18] = False
    # Every edge pixel lies within 2 pixels of the square's border, and the outline goes all round it.
    assert not (edges[~band]).any()
    assert (edges[band] == 255).sum() >= 4 * 10


def test_impulse_noise_sets_about_17_percent_of_the_pixels_to_black_or_white():
    grey = np.full((28, 28), 128, np.uint8)
    noisy = corrupt("impulse_noise", grey)
    changed = (noisy == 0) | (noisy == 255)
    assert np.array_equal(changed, noisy != 128)
    # 67 white and 67 black pixels drawn with replacement: fewer distinct ones than 17% of 784.
    assert 0.13 <= changed.mean() <= 0.171
    assert (noisy == 255).any() and (noisy == 0).any()
    # As published (randint(0, 27)), never in the last row or column.
    assert not changed[-1].any() and not changed[:, -1].any()


def test_stripe_inverts_two_bands_of_7_columns_and_nothing_else():
    digit = seven()
    striped = corrupt("stripe", digit)
    assert np.array_equal(striped[:, :7], 255 - digit[:, :7])
    assert np.array_equal(striped[:, 21:], 255 - digit[:, 21:])
    assert np.array_equal(striped[:, 7:21], digit[:, 7:21])


def test_brightness_lifts_the_ground_to_mid_grey_and_keeps_full_ink():
    brighter = corrupt("brightness", seven())
    assert brighter.min() == 128 and (brighter[seven() == 255] == 255).all()


def test_shot_noise_leaves_only_the_four_levels_of_poisson_counts_over_3():
    assert set(np.unique(corrupt("shot_noise", seven()))) <= {0, 85, 170, 255}


def test_motion_blur_smears_the_ink_without_adding_or_losing_any():
    digit = seven()
    blurred = corrupt("motion_blur", digit)
    assert (blurred > 0).sum() > (digit > 0).sum()
    assert abs(int(blurred.sum()) - int(digit.sum())) <= 0.01 * digit.sum()


@pytest.mark.parametrize("name", ["dotted_line", "zigzag"])
def test_lines_only_add_ink(name):
    digit = seven()
    for seed in range(5):
        corrupted = corrupt(name, digit, seed)
        assert (corrupted >= digit).all() and (corrupted > digit).sum() >= 10
        if name == "dotted_line":
            # The dashes are 2 columns long with 2-column gaps: columns 0-1, 4-5, ... are left alone.
            gaps = (np.arange(28) // 2) % 2 == 0
            assert np.array_equal(corrupted[:, gaps], digit[:, gaps])


def test_the_bench_reads_its_own_png_files_and_prints_each_corruption_the_mean_and_a_table(tiny_npz, tmp_path, capsys):
    out = tmp_path / "mnist_c"
    lines, mean = mnist_c.main(
        ["--data", tiny_npz, "--model", model_file.BUNDLED_MODEL, "--count", "3", "--out", str(out)]
    )
    printed = capsys.readouterr().out.splitlines()
    json_lines = [json.loads(line) for line in printed if line.startswith("{")]
    assert json_lines[:-1] == lines and json_lines[-1]["worst"] == mean["worst"]
    assert [line["corruption"] for line in lines] == list(mnist_c.CORRUPTIONS)
    table = [line for line in printed if line.startswith("|")]
    assert table[0] == "| corruption | raw model | through recognize |" and len(table) == 2 + 15 + 1

    _, (x_test, y_test) = data.load_mnist(tiny_npz)
    images, labels = x_test[:3], y_test[:3]
    predictor = inference.load_predictor(model_file.BUNDLED_MODEL)
    wrong = 0
    for line in lines:
        name = line["corruption"]
        corrupted = mnist_c.corrupted_set(name, images, seed=0)
        paths = [out / name / f"{number:05d}_{label}.png" for number, label in enumerate(labels)]
        # The PNG files hold exactly the corrupted pixels, and the figures are those of reading them.
        assert np.array_equal(np.stack([np.asarray(PIL.Image.open(path)) for path in paths]), corrupted)
        readings = recognition.recognize_many([str(path) for path in paths], predictor)
        right = [reading.prediction == str(label) for reading, label in zip(readings, labels)]
        raw = predictor.predict(data.to_inputs(corrupted)).argmax(axis=1) == labels
        assert line["count"] == 3
        assert line["recognize_accuracy"] == round(float(np.mean(right)), 4)
        assert line["raw_accuracy"] == round(float(raw.mean()), 4)
        wrong += 3 - sum(right)
    assert mean["recognize_accuracy"] == round(float(np.mean([line["recognize_accuracy"] for line in lines])), 4)
    assert mean["worst_recognize_accuracy"] == min(line["recognize_accuracy"] for line in lines)
    with open(out / mnist_c.FAILURES_FILE) as failures_file:
        assert len(list(csv.DictReader(failures_file))) == wrong


def test_a_subset_of_corruptions_makes_the_same_images_as_the_whole_run(tiny_npz, tmp_path, capsys):
    arguments = ["--data", tiny_npz, "--model", model_file.BUNDLED_MODEL, "--count", "2"]
    mnist_c.main(arguments + ["--out", str(tmp_path / "subset"), "--corruptions", "zigzag", "fog"])
    lines, _ = mnist_c.main(arguments + ["--out", str(tmp_path / "all"), "--corruptions", "fog", "zigzag", "stripe"])
    assert [line["corruption"] for line in lines] == ["stripe", "fog", "zigzag"]
    for name in ("fog", "zigzag"):
        for file in ("00000_", "00001_"):
            (subset,) = (tmp_path / "subset" / name).glob(f"{file}*.png")
            (whole,) = (tmp_path / "all" / name).glob(f"{file}*.png")
            assert subset.read_bytes() == whole.read_bytes()


def test_a_count_below_1_is_a_usage_error(tiny_npz, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        mnist_c.main(["--data", tiny_npz, "--count", "0", "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and "--count must be at least 1" in capsys.readouterr().err
