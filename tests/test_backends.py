"""Keras on any backend: a model trained on one predicts the same on another and through the NumPy path.

Keras picks its backend once, when it is imported, so each backend runs in a process of its own
(``BACKEND_SCRIPT``): it may train a tiny model with ``train.py``'s ``main`` and predicts images
with the project's Keras path (``inference.KerasModel``). This process then compares those
predictions with each other and with the NumPy forward pass.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from number_recognition import data
from number_recognition.reading import inference

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-5
# A process that imports a backend and trains or predicts a tiny model needs seconds; this is ample.
TIMEOUT_SECONDS = 300

# Run as ``python -c BACKEND_SCRIPT TASK`` with TASK a JSON object: ``train``, the arguments of
# train.py (or null), ``images``, an .npy of inputs, and ``predict``, pairs of (model, output .npy).
# Prints the backend Keras ran on and whether TensorFlow was imported, as one JSON line.
BACKEND_SCRIPT = """
import json
import sys

import numpy as np

import train
from number_recognition import keras_import
from number_recognition.reading import inference

task = json.loads(sys.argv[1])
if task["train"]:
    train.main(task["train"])
images = np.load(task["images"])
for model, output in task["predict"]:
    np.save(output, inference.KerasModel(model).predict(images))
backend = keras_import.import_keras().backend.backend()
print(json.dumps({"backend": backend, "tensorflow_imported": "tensorflow" in sys.modules}))
"""


def require(backend):
    """Skip (fail in CI) when ``backend`` is not installed: CI must run every backend test."""
    if importlib.util.find_spec(backend) is None:
        message = f"the Keras backend {backend} is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)


def run_on(backend, task):
    """Run ``BACKEND_SCRIPT`` with ``KERAS_BACKEND=backend``; return its report."""
    environment = dict(os.environ, KERAS_BACKEND=backend)
    finished = subprocess.run(
        [sys.executable, "-c", BACKEND_SCRIPT, json.dumps(task)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
        timeout=TIMEOUT_SECONDS,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("trained_on", "predicted_on"), [("jax", "tensorflow"), ("tensorflow", "jax")])
def test_a_model_predicts_the_same_on_every_backend_and_in_numpy(trained_on, predicted_on, tiny_npz, tmp_path):
    require("jax")
    model, images_path = str(tmp_path / "model.keras"), str(tmp_path / "images.npy")
    _, (x_test, _) = data.load_mnist(tiny_npz)
    images = data.to_inputs(x_test[:32])
    np.save(images_path, images)
    # One epoch in one step (no validation split, a batch larger than the data): one compilation.
    train_arguments = ["--data", tiny_npz, "--epochs", "1", "--hidden", "8", "--validation-split", "0"]
    train_arguments += ["--batch-size", "256", "--model", model, "--out", str(tmp_path / "outputs")]
    trained = run_on(
        trained_on,
        {"train": train_arguments, "images": images_path, "predict": [[model, str(tmp_path / "trained.npy")]]},
    )
    predicted = run_on(
        predicted_on, {"train": None, "images": images_path, "predict": [[model, str(tmp_path / "predicted.npy")]]}
    )
    assert (trained["backend"], predicted["backend"]) == (trained_on, predicted_on)
    # TensorFlow is Keras' default and is installed, so this shows that nothing else imports it.
    for report in (trained, predicted):
        assert report["tensorflow_imported"] == (report["backend"] == "tensorflow"), report

    on_training_backend = np.load(tmp_path / "trained.npy")
    on_other_backend = np.load(tmp_path / "predicted.npy")
    in_numpy = inference.NumpyModel.from_file(model).predict(images)
    # The model must tell the images apart, or equal outputs would prove little.
    assert np.ptp(on_training_backend, axis=0).max() > 1e-3
    assert np.abs(on_other_backend - on_training_backend).max() <= TOLERANCE
    assert np.abs(in_numpy - on_training_backend).max() <= TOLERANCE


def test_an_unknown_backend_is_one_line_on_stderr(tiny_npz, tmp_path):
    command = [sys.executable, "train.py", "--data", tiny_npz, "--model", str(tmp_path / "m.keras")]
    finished = subprocess.run(
        command + ["--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, KERAS_BACKEND="no_such_backend"),
        cwd=PROJECT_ROOT,
        timeout=TIMEOUT_SECONDS,
    )
    assert finished.returncode == 2
    assert finished.stderr.count("\n") == 1 and "Traceback" not in finished.stderr
    assert finished.stderr.startswith("error: Keras cannot start on the no_such_backend backend")
    assert not (tmp_path / "m.keras").exists()
