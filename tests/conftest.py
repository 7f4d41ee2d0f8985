"""Shared pytest fixtures: the real MNIST file (and when its absence is an error), tiny synthetic data, models."""

import os

import numpy as np
import pytest

from number_recognition import config


@pytest.fixture(scope="session")
def mnist_npz():
    """The path in ``$MNIST_NPZ``; a test needing it is skipped only outside CI when nothing is set."""
    path = os.environ.get(config.DATA_ENV_VAR)
    if path:
        if not os.path.isfile(path):
            pytest.fail(f"{config.DATA_ENV_VAR}={path} but there is no file there")
        return path
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {config.DATA_ENV_VAR} is not: point it at a Keras-format mnist.npz")
    pytest.skip(f"set {config.DATA_ENV_VAR} to a Keras-format mnist.npz to run the tests on real MNIST")


def make_synthetic_mnist(train_count=240, test_count=80, seed=0):
    """Tiny MNIST-shaped arrays whose classes are learnable: digit d is a bright bar at row 2 + 2d."""
    rng = np.random.default_rng(seed)

    def split(count):
        labels = np.arange(count) % 10
        rng.shuffle(labels)
        images = rng.integers(0, 40, size=(count, 28, 28)).astype(np.uint8)
        for index, label in enumerate(labels):
            images[index, 2 + 2 * label : 4 + 2 * label, 4:24] = 255
        return images, labels.astype(np.uint8)

    (x_train, y_train), (x_test, y_test) = split(train_count), split(test_count)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


@pytest.fixture
def synthetic_mnist():
    """The factory of tiny learnable MNIST-shaped arrays: ``synthetic_mnist(train_count=..., seed=...)``."""
    return make_synthetic_mnist


@pytest.fixture
def tiny_npz(tmp_path):
    """A tiny synthetic MNIST written as a Keras-format .npz; returns its path."""
    path = tmp_path / "tiny_mnist.npz"
    np.savez(path, **make_synthetic_mnist())
    return str(path)


@pytest.fixture(scope="session")
def trained_model(mnist_npz, tmp_path_factory):
    """The default model trained by ``python train.py`` with default settings on the real MNIST.

    Trained once per test session through the script's own entry point; returns
    ``(model_path, output_folder)``.
    """
    import train

    folder = tmp_path_factory.mktemp("trained")
    model_path, output_folder = folder / "mnist_mlp.keras", folder / "outputs"
    train.main(["--data", mnist_npz, "--model", str(model_path), "--out", str(output_folder)])
    return str(model_path), str(output_folder)


@pytest.fixture(scope="session")
def small_model(tmp_path_factory):
    """An untrained small MLP saved as .keras: enough for tests of behaviour, not of accuracy."""
    from number_recognition import keras_import
    from number_recognition import models

    keras_import.import_keras().utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("small") / "small.keras"
    models.build_mlp(config.MLPConfig(hidden_units=(16,), dropout=0.0)).save(path)
    return str(path)
