"""Loading, validating and preparing MNIST.

The data comes from, in order: an explicit ``.npz`` path (``--data``), the ``MNIST_NPZ`` environment
variable, then ``keras.datasets.mnist.load_data()`` (download and cache). Every problem is raised as a
``DataError`` whose message is one line a user can act on.
"""

import os
import zipfile

import numpy as np

from number_recognition import config
from number_recognition import errors
from number_recognition import keras_import

KEYS = ("x_train", "y_train", "x_test", "y_test")
DOWNLOAD_FAILED = "could not download MNIST; pass --data PATH/TO/mnist.npz or set " + config.DATA_ENV_VAR


class DataError(errors.UserError):
    """The data set is missing or malformed; the message says what to do."""


def resolve_data_path(path=None):
    """Return the ``.npz`` to load: ``path``, else ``$MNIST_NPZ``, else None (download)."""
    return path or os.environ.get(config.DATA_ENV_VAR) or None


def load_mnist(path=None):
    """Return ``(x_train, y_train), (x_test, y_test)`` as uint8 images and integer labels."""
    path = resolve_data_path(path)
    if path is None:
        arrays = _download()
    else:
        arrays = _read_npz(path)
        validate(arrays, source=path)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _download():
    keras = keras_import.import_keras()
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # Any failure of the download means the same thing to the user.
        raise DataError(DOWNLOAD_FAILED) from error
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _read_npz(path):
    if not os.path.isfile(path):
        raise DataError(f"no MNIST file at {path}: pass --data PATH/TO/mnist.npz or set {config.DATA_ENV_VAR}")
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror})") from None
    if not is_zip:
        raise DataError(f"{path} is not an .npz archive: pass a Keras-format mnist.npz")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in KEYS if key not in npz.files]
            if missing:
                raise DataError(f"{path} lacks the array(s) {', '.join(missing)}: expected {', '.join(KEYS)}")
            return {key: npz[key] for key in KEYS}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path} is not a readable .npz archive ({error}): pass a Keras-format mnist.npz") from error


def validate(arrays, source="the data"):
    """Raise ``DataError`` unless the four arrays look like Keras' MNIST."""
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != (config.IMAGE_SIZE, config.IMAGE_SIZE):
            raise DataError(f"{source}: x_{split} has shape {images.shape}, expected (N, 28, 28)")
        if images.dtype != np.uint8:
            raise DataError(f"{source}: x_{split} has dtype {images.dtype}, expected uint8 pixels 0..255")
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{source}: y_{split} must be a 1-D integer array, got {labels.dtype} {labels.shape}")
        if len(labels) != len(images):
            raise DataError(f"{source}: x_{split} has {len(images)} images but y_{split} has {len(labels)} labels")
        if len(labels) == 0:
            raise DataError(f"{source}: the {split} split is empty")
        if labels.min() < 0 or labels.max() >= config.NUM_CLASSES:
            raise DataError(f"{source}: y_{split} holds labels outside 0..9")


def to_inputs(images):
    """Scale uint8 images to the model's float32 inputs in [0, 1]."""
    return np.asarray(images, dtype=np.float32) / 255.0


def to_one_hot(labels):
    """Turn integer labels into float32 one-hot rows of length 10."""
    return np.eye(config.NUM_CLASSES, dtype=np.float32)[np.asarray(labels)]


def split_validation(x, y, fraction):
    """Split off the last ``fraction`` of the samples for validation, as Keras' ``validation_split`` does."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the validation fraction must be in [0, 1), got {fraction}")
    split_at = len(x) - int(round(len(x) * fraction))
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])
