"""The MNIST loader: where data comes from, validation, and the one-line errors of the scripts."""

import numpy as np
import PIL.Image
import pytest

import eda
from number_recognition import config
from number_recognition import data
from number_recognition import keras_import


def write_npz(path, arrays, **overrides):
    arrays = dict(arrays)
    arrays.update(overrides)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return str(path)


def test_loads_a_valid_npz(tiny_npz):
    (x_train, y_train), (x_test, y_test) = data.load_mnist(tiny_npz)
    assert x_train.shape == (240, 28, 28) and x_test.shape == (80, 28, 28)
    assert x_train.dtype == np.uint8 and set(np.unique(y_train)) == set(range(10))
    assert len(y_test) == 80


def test_environment_variable_is_used_when_no_path_is_given(tiny_npz, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV_VAR, tiny_npz)
    (x_train, _), _ = data.load_mnist()
    assert len(x_train) == 240


def test_explicit_path_wins_over_environment(tiny_npz, tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV_VAR, str(tmp_path / "elsewhere.npz"))
    (x_train, _), _ = data.load_mnist(tiny_npz)
    assert len(x_train) == 240


def test_download_is_the_last_resort_and_its_failure_is_one_clear_line(monkeypatch):
    keras = keras_import.import_keras()
    monkeypatch.delenv(config.DATA_ENV_VAR, raising=False)

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(
        data.DataError, match="could not download MNIST; pass --data PATH/TO/mnist.npz or set MNIST_NPZ"
    ):
        data.load_mnist()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"x_train": None}, "lacks the array"),
        ({"x_test": np.zeros((80, 28), np.uint8)}, "expected \\(N, 28, 28\\)"),
        ({"x_train": np.zeros((240, 28, 27), np.uint8)}, "expected \\(N, 28, 28\\)"),
        ({"x_train": np.zeros((240, 28, 28), np.float32)}, "expected uint8"),
        ({"y_train": np.full(240, 10)}, "outside 0..9"),
        ({"y_test": np.full(80, -1)}, "outside 0..9"),
        ({"y_train": np.zeros(239, np.uint8)}, "240 images but y_train has 239 labels"),
        ({"y_test": np.zeros(80, np.float32)}, "integer array"),
    ],
)
def test_malformed_arrays_are_refused(tmp_path, synthetic_mnist, overrides, message):
    path = write_npz(tmp_path / "bad.npz", synthetic_mnist(), **overrides)
    with pytest.raises(data.DataError, match=message):
        data.load_mnist(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(data.DataError, match="no MNIST file at"):
        data.load_mnist(str(tmp_path / "absent.npz"))


@pytest.mark.parametrize("content", [b"", b"this is not an npz archive", b"PK\x03\x04 truncated zip"])
def test_a_file_that_is_not_an_npz_is_refused(tmp_path, content):
    path = tmp_path / "mnist.npz"
    path.write_bytes(content)
    with pytest.raises(data.DataError, match="is not an .npz archive|not a readable .npz archive"):
        data.load_mnist(str(path))


@pytest.mark.parametrize("name", ["mnist.npy", "mnist.png"])
def test_a_file_of_another_kind_says_it_is_no_npz(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".npy"):
        np.save(path, np.zeros((3, 28, 28), np.uint8))
    else:
        PIL.Image.new("L", (28, 28)).save(path)
    with pytest.raises(data.DataError, match="is not an .npz archive"):
        data.load_mnist(str(path))


def test_pickled_objects_are_not_loaded(tmp_path, synthetic_mnist):
    path = write_npz(tmp_path / "pickled.npz", synthetic_mnist(), y_train=np.array([object()] * 240))
    with pytest.raises(data.DataError):
        data.load_mnist(path)


@pytest.mark.parametrize("arguments", [["--data", "absent.npz"], ["--data", __file__]])
def test_scripts_report_bad_data_in_one_line_with_exit_code_2(arguments, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        eda.main(arguments + ["--out", str(tmp_path)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: ") and "Traceback" not in error


def test_model_inputs_and_one_hot_labels():
    inputs = data.to_inputs(np.array([[0, 255], [51, 102]], dtype=np.uint8))
    assert inputs.dtype == np.float32
    np.testing.assert_allclose(inputs, [[0.0, 1.0], [0.2, 0.4]], atol=1e-7)
    one_hot = data.to_one_hot(np.array([3, 0]))
    assert one_hot.shape == (2, 10) and one_hot.dtype == np.float32
    assert one_hot[0, 3] == 1.0 and one_hot.sum() == 2.0


def test_validation_split_takes_the_last_samples_like_keras():
    x, y = np.arange(10), np.arange(10) * 2
    (x_fit, y_fit), (x_val, y_val) = data.split_validation(x, y, 0.2)
    assert list(x_fit) == list(range(8)) and list(x_val) == [8, 9] and list(y_val) == [16, 18]
    with pytest.raises(ValueError):
        data.split_validation(x, y, 1.0)
