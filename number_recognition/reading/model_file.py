"""The ``.keras`` file, read as something a stranger may have sent: which model to use, and opening it safely.

A ``.keras`` file is a zip archive holding ``config.json`` (the architecture) and
``model.weights.h5`` (the variables, HDF5). This module finds the model to use, checks the archive,
parses its config, and opens the weights for h5py without reading more than it needs. The NumPy
forward pass (``inference``) and the Keras fallback both start here.
"""

import io
import json
import os
import zipfile

from number_recognition import config
from number_recognition import errors
from number_recognition import keras_import

CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"
# Keras can also store the variables as .npz; the NumPy path does not read that layout, Keras does.
NPZ_WEIGHTS_MEMBER = "model.weights.npz"
TRAIN_ADVICE = "run python train.py to make a new one"


class ModelFileError(errors.UserError):
    """A model file is missing or cannot be read; the message says what to do."""


# The model shipped inside the package (see docs/model_card.md), used when the user has trained none.
PACKAGE_FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED_MODEL = os.path.join(PACKAGE_FOLDER, "pretrained", "mnist_cnn.keras")
MODEL_ORDER = (
    f"{config.MODEL_PATHS['cnn']} if you trained it, else {config.MODEL_PATHS['mlp']}, else the bundled model"
)


def default_model_path():
    """The model used when none is named: the user's convnet, else the user's MLP, else the bundled one."""
    for path in (config.MODEL_PATHS["cnn"], config.MODEL_PATHS["mlp"]):
        if os.path.isfile(path):
            return path
    return BUNDLED_MODEL


def damaged(path, reason):
    """The error for a model file that is not what it should be."""
    return ModelFileError(f"cannot read the model {path} ({reason}): {TRAIN_ADVICE}")


def not_a_digit_model(path, reason):
    """The error for a model that cannot read digits (wrong shapes, no probabilities, NaN weights)."""
    return ModelFileError(f"{path} is not a digit model: {reason}; {TRAIN_ADVICE}")


def check_model_file(path):
    """Raise ``ModelFileError`` unless ``path`` is an existing ``.keras`` archive."""
    if not os.path.isfile(path):
        raise ModelFileError(f"no model at {path}: run python train.py first")
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as error:
        raise damaged(path, error.strerror) from None
    if not is_zip:
        raise ModelFileError(f"{path} is not a .keras model file (corrupt or another format): {TRAIN_ADVICE}")


def read_config(path, archive):
    """Return the parsed ``config.json`` of an open ``.keras`` archive."""
    if CONFIG_MEMBER not in archive.namelist():
        raise damaged(path, f"no {CONFIG_MEMBER} inside")
    try:
        model_config = json.loads(archive.read(CONFIG_MEMBER))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise damaged(path, f"{CONFIG_MEMBER} is not valid JSON: {error}") from error
    if not isinstance(model_config, dict) or not isinstance(model_config.get("config"), dict):
        raise damaged(path, f"{CONFIG_MEMBER} does not describe a model")
    return model_config


class NotNumpyReadable(ValueError):
    """The weights are stored in a layout only Keras reads."""


def open_weights(path, archive):
    """Return a seekable binary stream of ``model.weights.h5`` for h5py.

    Keras stores the weights uncompressed, so h5py can read them in place and fetch only the layer
    variables: a compiled model's file also holds the optimizer's state, often twice their size.
    """
    names = archive.namelist()
    if WEIGHTS_MEMBER not in names:
        if NPZ_WEIGHTS_MEMBER in names:
            raise NotNumpyReadable(f"{path} stores its weights as {NPZ_WEIGHTS_MEMBER}")
        raise damaged(path, f"no {WEIGHTS_MEMBER} inside")
    member = archive.getinfo(WEIGHTS_MEMBER)
    if member.compress_type != zipfile.ZIP_STORED:
        # A compressed member cannot be read in place, so it is decompressed into memory.
        return io.BytesIO(archive.read(WEIGHTS_MEMBER))
    return StoredMember(path, member)


class StoredMember(io.RawIOBase):
    """A read-only, seekable view of one uncompressed member of a zip archive.

    ``zipfile``'s own member stream (before Python 3.12) rereads the member from its start on every
    backward seek, which HDF5's scattered reads would make quadratic.
    """

    def __init__(self, path, member):
        super().__init__()
        self.file = open(path, "rb")
        # The member's data follows its local header: 30 fixed bytes, then its name and extra field,
        # whose lengths are the little-endian 16-bit numbers at offsets 26 and 28 (PKWARE APPNOTE 4.3.7).
        self.file.seek(member.header_offset)
        header = self.file.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            self.file.close()
            raise zipfile.BadZipFile(f"bad local header for {member.filename}")
        name_length, extra_length = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
        self.start = member.header_offset + 30 + name_length + extra_length
        self.size = member.file_size
        self.position = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        origin = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, origin + offset)
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        wanted = max(0, min(len(buffer), self.size - self.position))
        self.file.seek(self.start + self.position)
        count = self.file.readinto(memoryview(buffer).cast("B")[:wanted])
        self.position += count
        return count

    def close(self):
        self.file.close()
        super().close()


def load_keras_model(path):
    """Load a ``.keras`` model with Keras, safe mode on, for inference only, after the checks above."""
    check_model_file(path)
    keras = keras_import.import_keras()
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a damaged archive; all mean the same here.
        raise ModelFileError(f"cannot load the model {path} ({type(error).__name__}): {TRAIN_ADVICE}") from error
