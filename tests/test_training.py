"""Models, training, atomic saving and the train -> evaluate round trip through the scripts."""

import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import PIL.Image
import pytest

import evaluate
import train
from number_recognition import config
from number_recognition import keras_import
from number_recognition import models
from number_recognition import training


@pytest.mark.parametrize(
    "architecture, layer_names",
    [
        ("mlp", {"Flatten", "Dense", "Dropout"}),
        ("cnn", {"Reshape", "Conv2D", "BatchNormalization", "MaxPooling2D", "Dense"}),
    ],
)
def test_architectures_build_with_mnist_shapes(architecture, layer_names):
    model = models.build_model(config.make_config(architecture))
    assert model.input_shape == (None, 28, 28) and model.output_shape == (None, 10)
    assert layer_names <= {type(layer).__name__ for layer in model.layers}
    if architecture == "mlp":
        assert {type(layer).__name__ for layer in model.layers} <= {"Flatten", "Dense", "Dropout"}


def test_mlp_widths_follow_the_config():
    model = models.build_mlp(config.MLPConfig(hidden_units=(32, 16), dropout=0.0))
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [32, 16, 10]


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
@pytest.mark.parametrize("augment", [False, True])
def test_each_architecture_trains_one_epoch_on_tiny_data(architecture, augment, synthetic_mnist):
    arrays = synthetic_mnist(train_count=200)
    widths = {"hidden_units": (32,)} if architecture == "mlp" else {}
    settings = config.make_config(architecture, epochs=1, batch_size=32, augment=augment, **widths)
    model, history = training.train(arrays["x_train"], arrays["y_train"], settings, verbose=0)
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])
    assert history["best_epoch"] == 1 and history["fit_seconds"] > 0
    assert model.predict(arrays["x_test"][:4] / 255.0, verbose=0).shape == (4, 10)


def test_best_validation_epoch_is_kept(synthetic_mnist):
    arrays = synthetic_mnist(train_count=300)
    settings = config.MLPConfig(epochs=4, batch_size=32, hidden_units=(16,), learning_rate=0.01)
    model, history = training.train(arrays["x_train"], arrays["y_train"], settings, verbose=0)
    best = history["best_epoch"]
    assert history["val_accuracy"][best - 1] == max(history["val_accuracy"])
    validation_inputs = arrays["x_train"][240:] / 255.0
    accuracy = np.mean(model.predict(validation_inputs, verbose=0).argmax(1) == arrays["y_train"][240:])
    assert accuracy == pytest.approx(history["val_accuracy"][best - 1], abs=1e-6)


def test_same_seed_gives_the_same_weights(synthetic_mnist):
    arrays = synthetic_mnist(train_count=120)

    def weights(seed):
        settings = config.MLPConfig(epochs=1, batch_size=32, hidden_units=(16,), augment=True, seed=seed)
        model, _ = training.train(arrays["x_train"], arrays["y_train"], settings, verbose=0)
        return model.get_weights()

    first, second, other = weights(3), weights(3), weights(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_interrupted_save_leaves_the_previous_model_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    models.build_mlp(config.MLPConfig(hidden_units=(8,))).save(path)
    before = path.read_bytes()
    model = models.build_mlp(config.MLPConfig(hidden_units=(4,)))
    keras = keras_import.import_keras()

    def save_half_then_interrupt(self, target, *arguments, **keywords):
        with open(target, "wb") as handle:
            handle.write(b"PK\x03\x04 half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", save_half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        training.save_model_atomically(model, str(path))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.keras"]


def test_train_script_interrupted_says_so_and_keeps_the_old_model(tiny_npz, tmp_path, monkeypatch, capsys):
    path = tmp_path / "model.keras"
    path.write_bytes(b"previous model")

    def interrupted(*arguments, **keywords):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train", interrupted)
    with pytest.raises(SystemExit) as stopped:
        train.main(["--data", tiny_npz, "--model", str(path), "--out", str(tmp_path / "out")])
    assert stopped.value.code == 130
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "left intact" in error
    assert path.read_bytes() == b"previous model"


def assert_png(path):
    assert os.path.getsize(path) > 2000
    with PIL.Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 100


def test_train_then_evaluate_round_trip_through_the_scripts(tiny_npz, tmp_path, capsys):
    model_path, out = tmp_path / "models" / "mlp.keras", tmp_path / "outputs"
    train.main(
        [
            "--data",
            tiny_npz,
            "--model",
            str(model_path),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--hidden",
            "64",
            "32",
            "--lr",
            "0.005",
            "--seed",
            "7",
        ]
    )
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2 and history["best_epoch"] in (1, 2)
    for name in ("history_loss.png", "history_accuracy.png"):
        assert_png(out / name)
    evaluate.main(["--data", tiny_npz, "--model", str(model_path), "--out", str(out)])
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in printed
    matrix = np.array(metrics["confusion_matrix"])
    assert metrics["test_accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum()) and metrics["test_loss"] > 0
    assert [row["class"] for row in metrics["per_class"]] == list(range(10))
    assert {"precision", "recall", "f1", "support"} <= set(metrics["per_class"][0])
    assert sum(row["support"] for row in metrics["per_class"]) == 80
    for name in ("confusion_matrix.png", "misclassified.png"):
        assert_png(out / name)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no model at"),
        (b"garbage", "not a .keras model"),
        (b"PK\x05\x06" + b"\x00" * 18, "cannot read the model"),
    ],
)
def test_evaluate_refuses_a_missing_or_corrupt_model(tiny_npz, tmp_path, capsys, content, message):
    path = tmp_path / "model.keras"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SystemExit) as stopped:
        evaluate.main(["--data", tiny_npz, "--model", str(path), "--out", str(tmp_path)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error and "Traceback" not in error


def test_default_model_reaches_the_accuracy_bar_on_real_mnist(trained_model, mnist_npz, tmp_path):
    """End to end on the real MNIST: python train.py with defaults, then python evaluate.py."""
    model_path, _ = trained_model
    evaluate.main(["--data", mnist_npz, "--model", model_path, "--out", str(tmp_path)])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_samples"] == 10_000
    assert metrics["test_accuracy"] >= 0.985


def test_scripts_print_no_tensorflow_start_up_noise(tiny_npz, tmp_path):
    """A real process, since TensorFlow's C++ runtime writes to file descriptor 2 directly."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    command = [
        sys.executable,
        "train.py",
        "--data",
        tiny_npz,
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--model",
        str(tmp_path / "m.keras"),
        "--out",
        str(tmp_path),
    ]
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr == ""
    assert "saved the model to" in finished.stdout
    for noise in ("oneDNN", "cuda", "absl", "cpu_feature_guard", "WARNING"):
        assert noise not in finished.stdout


def test_a_saved_model_holds_its_weights_but_no_optimizer_state(tmp_path, synthetic_mnist):
    import h5py

    arrays = synthetic_mnist(train_count=100)
    settings = config.MLPConfig(epochs=1, batch_size=32, hidden_units=(16,))
    model, _ = training.train(arrays["x_train"], arrays["y_train"], settings, verbose=0)
    path = tmp_path / "model.keras"
    training.save_model_atomically(model, str(path))
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as stream:
        with h5py.File(io.BytesIO(stream.read()), "r") as weights:
            assert "optimizer" not in weights and "layers" in weights
    images = arrays["x_test"][:8] / 255.0
    reloaded = keras_import.import_keras().models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
