"""Tests of the people's-images bench: the generator ``bench/real_images.py`` and the scorer
``bench/real_image_accuracy.py``.

Both run on a tiny stand-in for MNIST drawn from the generator's own stroke templates, so the tests
need no data file and take seconds; the scorer's test trains a one-epoch model on it.
"""

import csv
import json
import pathlib

import numpy as np
import pytest
import real_image_accuracy
import real_images
from PIL import Image
from PIL import ImageOps

from number_recognition import config
from number_recognition import data
from number_recognition import models

COUNT = 2
SEED = 3


def stroke_digits(rng, count):
    """``count`` MNIST-like images (a stroke digit in a 20x20 box, centred in 28x28) and their labels."""
    size, box = config.IMAGE_SIZE, config.DIGIT_BOX
    labels = np.arange(count) % config.NUM_CLASSES
    images = np.zeros((count, size, size), np.uint8)
    for image, label in zip(images, labels):
        coverage = real_images.fit(real_images.strokes_coverage(rng, int(label), box, real_images.Hand(rng)), box, box)
        top, left = (size - coverage.shape[0]) // 2, (size - coverage.shape[1]) // 2
        image[top : top + coverage.shape[0], left : left + coverage.shape[1]] = np.round(coverage * 255)
    return images, labels


@pytest.fixture(scope="module")
def mnist_stand_in(tmp_path_factory):
    """A Keras-format .npz of stroke digits, small enough to make in a moment."""
    rng = np.random.default_rng(0)
    x_train, y_train = stroke_digits(rng, 200)
    x_test, y_test = stroke_digits(rng, 40)
    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return str(path)


@pytest.fixture(scope="module")
def generated(tmp_path_factory, mnist_stand_in):
    """A set of COUNT images per kind, and the rows ``generate`` returned."""
    out_dir = tmp_path_factory.mktemp("real_images")
    return out_dir, real_images.generate(out_dir, COUNT, SEED, data_path=mnist_stand_in)


def test_every_kind_is_generated_with_consistent_labels(generated):
    out_dir, rows = generated
    assert real_images.read_labels(out_dir) == rows
    assert [row["kind"] for row in rows] == [kind for kind in real_images.KINDS for _ in range(COUNT)]
    for row in rows:
        assert (out_dir / row["file"]).is_file()
        if row["kind"] == "nodigit":
            assert row["label"] == ""
            continue
        assert row["label"].isdigit()
        if row["kind"] in ("number", "touching"):
            assert real_images.NUMBER_LENGTHS[0] <= len(row["label"]) <= real_images.NUMBER_LENGTHS[1]
        elif row["kind"] not in real_images.NUMBER_KINDS:
            assert len(row["label"]) == 1


def test_every_csv_field_is_quoted_so_leading_zeros_survive(generated):
    out_dir, rows = generated
    lines = (out_dir / real_images.LABELS_FILE).read_text().splitlines()
    assert lines[0] == '"file","kind","label"'
    for line, row in zip(lines[1:], rows):
        assert line == f'"{row["file"]}","{row["kind"]}","{row["label"]}"'


def test_images_decode_in_the_format_of_their_kind(generated):
    out_dir, rows = generated
    for row in rows:
        with Image.open(out_dir / row["file"]) as image:
            image.load()
            if row["kind"] in ("photo", "noisy") or row["file"].endswith("_photo.jpg"):
                assert image.format == "JPEG"
            else:
                assert image.format == "PNG"
            if row["kind"] == "scan":
                assert (
                    image.mode == "L"
                    and image.width == image.height
                    and image.width in (16, 32) + tuple(range(64, 129))
                )


def test_transparent_images_hold_their_strokes_in_alpha(generated):
    out_dir, rows = generated
    transparent = [row for row in rows if row["kind"] == "transparent"]
    # Even indices store the transparent pixels as black, odd ones as white.
    for index, row in enumerate(transparent):
        with Image.open(out_dir / row["file"]) as image:
            pixels = np.asarray(image)
        assert image.mode == "RGBA"
        alpha = pixels[..., 3]
        assert alpha.min() == 0 and alpha.max() > 200
        hidden = pixels[alpha == 0, :3]
        assert (hidden == (0 if index % 2 == 0 else 255)).all()


def test_some_photos_are_stored_sideways_with_an_exif_orientation_tag(generated):
    out_dir, rows = generated
    photos = [row for row in rows if row["kind"] == "photo"]
    with Image.open(out_dir / photos[0]["file"]) as upright, Image.open(out_dir / photos[1]["file"]) as sideways:
        assert 0x0112 not in upright.getexif()
        assert sideways.getexif()[0x0112] == 6
        assert ImageOps.exif_transpose(sideways).size == sideways.size[::-1]


def test_generation_is_deterministic_and_a_small_set_starts_a_larger_one(generated, tmp_path, mnist_stand_in):
    out_dir, rows = generated
    smaller = real_images.generate(tmp_path, 1, SEED, data_path=mnist_stand_in)
    assert smaller == rows[::COUNT]
    for row in smaller:
        assert (tmp_path / row["file"]).read_bytes() == (out_dir / row["file"]).read_bytes()


def test_another_seed_gives_other_images(generated, tmp_path, mnist_stand_in):
    out_dir, rows = generated
    other = real_images.generate(tmp_path, 1, SEED + 1, data_path=mnist_stand_in, kinds=("paint",))
    assert (tmp_path / other[0]["file"]).read_bytes() != (out_dir / rows[COUNT]["file"]).read_bytes()


@pytest.mark.parametrize("count", [0, -1, 1.5])
def test_generate_refuses_a_count_that_is_not_a_positive_integer(tmp_path, count):
    with pytest.raises(ValueError, match="count_per_kind"):
        real_images.generate(tmp_path, count, SEED)


def test_generate_refuses_an_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match="unknown kind"):
        real_images.generate(tmp_path, 1, SEED, kinds=("selfie",))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, mnist_stand_in):
    """A one-epoch MLP with one small hidden layer, saved as .keras."""
    (x_train, y_train), _ = data.load_mnist(mnist_stand_in)
    model = models.build_mlp(config.MLPConfig(hidden_units=(16,)))
    models.compile_model(model, 1e-3, total_steps=len(x_train) // 32, label_smoothing=0.1)
    model.fit(data.to_inputs(x_train), data.to_one_hot(y_train), batch_size=32, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return str(path)


def test_scorer_generates_a_set_scores_both_readers_and_lists_failures(tmp_path, capsys, mnist_stand_in, tiny_model):
    lines = real_image_accuracy.main(
        ["--data", mnist_stand_in, "--model", tiny_model, "--out", str(tmp_path), "--count", "1", "--seed", "0"]
    )
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed == lines
    assert [line["kind"] for line in printed] == list(real_images.KINDS) + ["total"]
    assert [line["n"] for line in printed] == [1] * len(real_images.KINDS) + [len(real_images.KINDS)]
    for line in printed:
        assert 0.0 <= line["baseline_accuracy"] <= 1.0 and 0.0 <= line["product_accuracy"] <= 1.0
    # A single argmax digit can never equal a number of two or more digits.
    assert printed[real_images.KINDS.index("number")]["baseline_accuracy"] == 0.0
    with open(printed[-1]["failures_csv"], newline="") as failures_file:
        failures = list(csv.DictReader(failures_file))
    assert len(failures) == round(len(real_images.KINDS) * (1 - printed[-1]["product_accuracy"]))
    for failure in failures:
        assert set(failure) == set(real_image_accuracy.FAILURE_COLUMNS)
        assert pathlib.Path(failure["file"]).is_file() and failure["prediction"] != failure["label"]


def test_scorer_reads_an_existing_set(generated, tmp_path, capsys, tiny_model):
    out_dir, rows = generated
    lines = real_image_accuracy.main(["--images", str(out_dir), "--model", tiny_model, "--out", str(tmp_path)])
    assert lines[-1]["n"] == len(rows)
    assert (tmp_path / real_image_accuracy.FAILURES_FILE).is_file()


def test_scorer_fails_cleanly_without_labels(tmp_path, capsys, tiny_model):
    with pytest.raises(SystemExit) as exit_info:
        real_image_accuracy.main(["--images", str(tmp_path), "--model", tiny_model, "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "no labels.csv" in capsys.readouterr().err
