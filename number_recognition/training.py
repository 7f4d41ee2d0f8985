"""Training a model on MNIST from its config, and saving it so that a failed save loses nothing.

``train`` fits a freshly built model with a cosine-decayed learning rate, optionally on shifted or
jittered batches, and keeps the weights of the best validation epoch (Keras' ``EarlyStopping`` with a
patience of the whole run, so it never stops early but restores the best epoch at the end).
``save_model_atomically`` writes the ``.keras`` file next to its destination and renames it into
place, so an interrupted or failed save never leaves a half-written model behind.
"""

import functools
import math
import time

import numpy as np

from number_recognition import augmentation
from number_recognition import data
from number_recognition import files
from number_recognition import keras_import
from number_recognition import models


def augmented_batches(keras, inputs, targets, batch_size, seed, transform):
    """A ``keras.utils.PyDataset`` of shuffled batches, each passed through ``transform(images, rng)``.

    The batches are the same for the same seed.
    """

    class AugmentedBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0
            self.order = np.random.default_rng([seed, self.epoch]).permutation(len(inputs))

        def __len__(self):
            return math.ceil(len(inputs) / batch_size)

        def __getitem__(self, index):
            chosen = self.order[index * batch_size : (index + 1) * batch_size]
            # Seeding by (seed, epoch, batch) keeps runs repeatable whatever order Keras asks in.
            rng = np.random.default_rng([seed, self.epoch, index])
            return transform(inputs[chosen], rng), targets[chosen]

        def on_epoch_end(self):
            self.epoch += 1
            self.order = np.random.default_rng([seed, self.epoch]).permutation(len(inputs))

    return AugmentedBatches()


def train(x_train, y_train, settings, verbose=1):
    """Build and fit the model ``settings`` (a ``config.MLPConfig`` or ``CNNConfig``) describes.

    Takes uint8 images and integer labels. Returns ``(model, history)``: ``history`` maps each
    metric to its per-epoch values and also holds ``best_epoch`` (1-based; the weights of that epoch
    are the ones returned, or the last epoch's when there is no validation split), ``fit_seconds``
    and the settings themselves.
    """
    keras = keras_import.import_keras()
    keras.utils.set_random_seed(settings.seed)
    (x_fit, y_fit), (x_val, y_val) = data.split_validation(
        data.to_inputs(x_train), data.to_one_hot(y_train), settings.validation_split
    )
    if len(x_fit) == 0:
        raise ValueError("no training samples are left after the validation split")
    model = models.build_model(settings)
    steps_per_epoch = math.ceil(len(x_fit) / settings.batch_size)
    models.compile_model(model, settings.learning_rate, settings.epochs * steps_per_epoch, settings.label_smoothing)
    callbacks, validation = [], None
    if len(x_val):
        validation = (x_val, y_val)
        best_epoch = keras.callbacks.EarlyStopping(
            monitor="val_accuracy", mode="max", patience=settings.epochs, restore_best_weights=True
        )
        callbacks.append(best_epoch)
    transform = None
    if settings.augment:
        transform = augmentation.jitter
    elif settings.shift_pixels:
        transform = functools.partial(augmentation.random_shift, max_pixels=settings.shift_pixels)
    if transform:
        fit_arguments = {"x": augmented_batches(keras, x_fit, y_fit, settings.batch_size, settings.seed, transform)}
    else:
        fit_arguments = {"x": x_fit, "y": y_fit, "batch_size": settings.batch_size, "shuffle": True}
    started = time.perf_counter()
    fitted = model.fit(
        **fit_arguments, epochs=settings.epochs, validation_data=validation, callbacks=callbacks, verbose=verbose
    )
    history = {name: [float(value) for value in values] for name, values in fitted.history.items()}
    history["best_epoch"] = best_epoch.best_epoch + 1 if callbacks else settings.epochs
    history["fit_seconds"] = time.perf_counter() - started
    history["config"] = settings.as_dict()
    return model, history


def save_model_atomically(model, path):
    """Save ``model``'s architecture and weights to ``path`` through a temporary file and an atomic rename.

    The optimizer's state (two more copies of the weights for Adam) is left out: the file is for
    reading digits, and a third of the size loads three times faster.
    """
    # subtle: a model rebuilt from its config is not compiled, so Keras saves no optimizer with it
    # (clone_model would compile the copy too); set_weights also copies the batch-norm statistics.
    inference_copy = type(model).from_config(model.get_config())
    inference_copy.set_weights(model.get_weights())
    # Keras insists on the .keras suffix, so the temporary name keeps it.
    with files.atomic_path(path, suffix=".keras") as temporary_path:
        inference_copy.save(temporary_path)
