"""The bundled model: the file its card describes, readable both ways, and as accurate as the card says."""

import hashlib
import json
import os
import re

import numpy as np
import pytest

import evaluate
from number_recognition.reading import inference
from number_recognition.reading import model_file

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_CARD = os.path.join(PROJECT_ROOT, "docs", "model_card.md")
# The bundled model stays small enough to live in git and install with the package.
MAX_BUNDLED_BYTES = 3 * 2**20


def card_value(name):
    """A value the model card states as ``- name: `value` ``."""
    with open(MODEL_CARD) as handle:
        match = re.search(rf"^- {re.escape(name)}: `([^`]+)`", handle.read(), re.MULTILINE)
    assert match, f"the model card states no {name}"
    return match.group(1)


def test_the_bundled_model_is_the_file_its_card_describes():
    with open(model_file.BUNDLED_MODEL, "rb") as handle:
        content = handle.read()
    assert len(content) <= MAX_BUNDLED_BYTES
    assert hashlib.sha256(content).hexdigest() == card_value("sha256")
    assert len(content) == int(card_value("bytes").replace(",", ""))


def test_the_bundled_model_reads_the_same_through_numpy_and_keras_safe_mode():
    images = np.random.default_rng(0).random((64, 28, 28), dtype=np.float32)
    numpy_predictor = inference.load_predictor(model_file.BUNDLED_MODEL)
    assert isinstance(numpy_predictor, inference.NumpyModel)
    keras_model = model_file.load_keras_model(model_file.BUNDLED_MODEL)
    expected = keras_model.predict(images, verbose=0)
    assert np.abs(numpy_predictor.predict(images) - expected).max() <= 1e-5


def test_the_bundled_model_scores_what_its_card_says_on_mnist(mnist_npz, tmp_path):
    evaluate.main(["--data", mnist_npz, "--model", model_file.BUNDLED_MODEL, "--out", str(tmp_path)])
    with open(tmp_path / "metrics.json") as handle:
        accuracy = json.load(handle)["test_accuracy"]
    assert accuracy >= 0.995
    assert accuracy == pytest.approx(float(card_value("MNIST test accuracy")), abs=1e-4)
