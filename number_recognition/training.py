"""Training a model on MNIST and saving it safely.

``train`` fits a freshly built model with a cosine-decayed learning rate, optionally on jittered
batches, and keeps the weights of the best validation epoch. ``save_model_atomically`` writes the
``.keras`` file next to its destination and renames it into place, so an interrupted or failed save
never leaves a half-written model behind.
"""

import math
import os
import tempfile
import time

import numpy as np

from number_recognition import augmentation
from number_recognition import data
from number_recognition import defaults
from number_recognition import keras_import
from number_recognition import models


def augmented_batches(keras, inputs, targets, batch_size, seed):
    """A ``keras.utils.PyDataset`` of shuffled, freshly jittered batches, the same for the same seed."""

    class AugmentedBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0
            self.order = np.random.default_rng([seed, self.epoch]).permutation(len(inputs))

        def __len__(self):
            return math.ceil(len(inputs) / batch_size)

        def __getitem__(self, index):
            chosen = self.order[index * batch_size:(index + 1) * batch_size]
            # Seeding by (seed, epoch, batch) keeps runs repeatable whatever order Keras asks in.
            rng = np.random.default_rng([seed, self.epoch, index])
            return augmentation.jitter(inputs[chosen], rng), targets[chosen]

        def on_epoch_end(self):
            self.epoch += 1
            self.order = np.random.default_rng([seed, self.epoch]).permutation(len(inputs))

    return AugmentedBatches()


def _best_epoch_callback(keras):
    """A callback that remembers the weights of the epoch with the best validation accuracy and restores them."""

    class BestEpoch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best_accuracy = -1.0
            self.best_epoch = None
            self.best_weights = None

        def on_epoch_end(self, epoch, logs=None):
            accuracy = (logs or {}).get("val_accuracy")
            if accuracy is not None and accuracy > self.best_accuracy:
                self.best_accuracy, self.best_epoch = accuracy, epoch + 1
                self.best_weights = self.model.get_weights()

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return BestEpoch()


def train(x_train, y_train, architecture=defaults.DEFAULT_ARCHITECTURE, epochs=defaults.EPOCHS,
          batch_size=defaults.BATCH_SIZE, hidden_units=defaults.HIDDEN_UNITS, dropout=None,
          learning_rate=defaults.LEARNING_RATE, label_smoothing=defaults.LABEL_SMOOTHING,
          validation_split=defaults.VALIDATION_SPLIT, augment=False, seed=defaults.SEED, verbose=1):
    """Build and fit a model on uint8 images and integer labels.

    ``dropout`` None takes the architecture's default. Returns ``(model, history)``: ``history``
    maps each metric to its per-epoch values and also holds ``label_smoothing``, ``best_epoch``
    (1-based; the weights of that epoch are the ones returned, or the last epoch's when there is no
    validation split) and ``fit_seconds``.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch size must be at least 1, got {epochs} and {batch_size}")
    keras = keras_import.import_keras()
    keras.utils.set_random_seed(seed)
    (x_fit, y_fit), (x_val, y_val) = data.split_validation(
        data.to_inputs(x_train), data.to_one_hot(y_train), validation_split)
    if len(x_fit) == 0:
        raise ValueError("no training samples are left after the validation split")
    model = models.build_model(architecture, hidden_units, dropout)
    steps_per_epoch = math.ceil(len(x_fit) / batch_size)
    models.compile_model(model, learning_rate, epochs * steps_per_epoch, label_smoothing)
    best_epoch = _best_epoch_callback(keras)
    validation = (x_val, y_val) if len(x_val) else None
    if augment:
        fit_arguments = {"x": augmented_batches(keras, x_fit, y_fit, batch_size, seed)}
    else:
        fit_arguments = {"x": x_fit, "y": y_fit, "batch_size": batch_size, "shuffle": True}
    started = time.perf_counter()
    fitted = model.fit(**fit_arguments, epochs=epochs, validation_data=validation, callbacks=[best_epoch], verbose=verbose)
    history = {name: [float(value) for value in values] for name, values in fitted.history.items()}
    history["best_epoch"] = best_epoch.best_epoch or epochs
    history["label_smoothing"] = label_smoothing
    history["fit_seconds"] = time.perf_counter() - started
    return model, history


def save_model_atomically(model, path):
    """Save ``model`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # Keras insists on the .keras suffix, so the temporary name keeps it.
    handle, temporary_path = tempfile.mkstemp(prefix=".partial-", suffix=".keras", dir=folder)
    os.close(handle)
    try:
        model.save(temporary_path)
        os.replace(temporary_path, path)
    finally:
        if os.path.exists(temporary_path):
            os.remove(temporary_path)
