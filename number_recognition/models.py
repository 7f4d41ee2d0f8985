"""The Keras models: the default MLP, the small convnet, and loading a saved ``.keras`` file.

Both architectures take ``(28, 28)`` float inputs in [0, 1] and end in a 10-way softmax, so every
other step (evaluation, recognition, the NumPy fast path) works with either. Keras is imported
inside the functions so that importing this module stays cheap.
"""

import os
import zipfile

from number_recognition import defaults
from number_recognition import keras_import


class ModelFileError(ValueError):
    """A model file is missing or cannot be read; the message says what to do."""


def build_mlp(hidden_units=defaults.HIDDEN_UNITS, dropout=defaults.DROPOUT):
    """Flatten -> (Dense ReLU -> Dropout) per hidden layer -> Dense softmax."""
    keras = keras_import.import_keras()
    if not hidden_units or min(hidden_units) < 1:
        raise ValueError(f"hidden layer widths must be positive integers, got {hidden_units}")
    layers = [keras.Input((defaults.IMAGE_SIZE, defaults.IMAGE_SIZE)), keras.layers.Flatten()]
    for units in hidden_units:
        layers.append(keras.layers.Dense(units, activation="relu"))
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(defaults.NUM_CLASSES, activation="softmax"))
    return keras.Sequential(layers, name="mlp")


def build_cnn(dropout=defaults.CNN_DROPOUT):
    """Two blocks of 3x3 convolutions (32 then 64 filters) with batch norm, then a dense head."""
    keras = keras_import.import_keras()
    size = defaults.IMAGE_SIZE
    layers = [keras.Input((size, size)), keras.layers.Reshape((size, size, 1))]
    for filters in (32, 64):
        for _ in range(2):
            layers += [
                keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
                keras.layers.BatchNormalization(),
                keras.layers.Activation("relu"),
            ]
        layers += [keras.layers.MaxPooling2D(), keras.layers.Dropout(dropout / 2)]
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(128, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(defaults.NUM_CLASSES, activation="softmax"),
    ]
    return keras.Sequential(layers, name="cnn")


def build_model(architecture, hidden_units=defaults.HIDDEN_UNITS, dropout=None):
    """Build the named architecture ('mlp' or 'cnn'); ``dropout`` None means the architecture's default."""
    if architecture == "mlp":
        return build_mlp(hidden_units, defaults.DROPOUT if dropout is None else dropout)
    if architecture == "cnn":
        return build_cnn(defaults.CNN_DROPOUT if dropout is None else dropout)
    raise ValueError(f"unknown architecture {architecture!r}: choose one of {', '.join(defaults.ARCHITECTURES)}")


def compile_model(model, learning_rate, total_steps, label_smoothing=defaults.LABEL_SMOOTHING):
    """Adam with a cosine-decayed learning rate over ``total_steps``, cross-entropy, accuracy."""
    keras = keras_import.import_keras()
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, total_steps))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )
    return model


def check_model_file(path):
    """Raise ``ModelFileError`` unless ``path`` is an existing ``.keras`` archive."""
    if not os.path.isfile(path):
        raise ModelFileError(f"no model at {path}: run python train.py first")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a .keras model file (corrupt or another format): run python train.py to make one")


def load_model(path):
    """Load a ``.keras`` model with Keras' safe mode on, for inference only."""
    check_model_file(path)
    keras = keras_import.import_keras()
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a damaged archive; all mean the same here.
        raise ModelFileError(f"cannot load the model {path} ({type(error).__name__}): run python train.py to make a new one") from error
