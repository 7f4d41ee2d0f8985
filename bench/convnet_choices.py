"""How the convnet recipe was chosen (issue 11): candidates timed against the keras.io convnet in the same run.

The anchor is the keras.io "Simple MNIST convnet" (two plain convolutions, 15 epochs, batch 128, the
last 10% of the training set for validation). Every candidate trains the way ``train.py`` does: the
last 20% of the training set held out, the best validation epoch restored at the end, Adam with a
cosine-decayed learning rate and label smoothing, and optionally freshly jittered batches every epoch.
Only ``model.fit`` is timed, and each candidate's time is divided by the anchor's from the same run,
because the shared 2-core machine makes absolute seconds swing from run to run. The CPU seconds of this
process are divided the same way, as a check: other people's jobs slow the wall clock far more than they
change those. Validation accuracy chooses; test accuracy and accuracy on the jittered test set are printed
alongside.

Prints one JSON line per model. Run with the package importable, for example::

    PYTHONPATH=. python bench/convnet_choices.py --data mnist.npz --candidates plain_three_blocks jitter_two_blocks
"""

import argparse
import dataclasses
import json
import math
import os
import time

import keras
import numpy as np

from number_recognition import augmentation

IMAGE_SIZE = 28
NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A candidate: its layers and how it is trained.

    The model is one 3x3 convolution block (convolution without bias, batch norm, ReLU) per entry of
    ``filters``, each followed by a 2x2 max pooling while the feature map is larger than 7x7. Then
    comes global average pooling or a flatten, optionally a dense block (dense without bias, batch
    norm, ReLU) of ``dense_units``, dropout and the softmax layer. The learning rate warms up linearly
    from a tenth of its peak over ``warmup_fraction`` of the steps (none when 0), then follows a
    cosine down to 0.
    """

    description: str
    filters: tuple = (32, 64, 128)
    pooling: str = "flatten"
    dense_units: int = 128
    dropout: float = 0.3
    batch_size: int = 128
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.0
    epochs: int = 10
    label_smoothing: float = 0.1
    augment: bool = False


CANDIDATES = {
    "plain_gap": Recipe("32@28, 64@14, 128@7, GAP, dropout 0.2", pooling="global_average", dense_units=0, dropout=0.2),
    "plain_gap_one_cycle": Recipe(
        "32@28, 64@14, 128@7, GAP, dropout 0.2, one-cycle 2e-3, batch 256",
        pooling="global_average",
        dense_units=0,
        dropout=0.2,
        batch_size=256,
        learning_rate=2e-3,
        warmup_fraction=0.2,
    ),
    "plain_two_blocks": Recipe("32@28, 64@14, flatten 7x7, dense 128", filters=(32, 64), epochs=12),
    "plain_three_blocks": Recipe("32@28, 64@14, 128@7, flatten, dense 128"),
    "jitter_two_blocks": Recipe(
        "32@28, 64@14, flatten 7x7, dense 128, jittered batches", filters=(32, 64), epochs=15, augment=True
    ),
    "jitter_three_blocks": Recipe("32@28, 64@14, 128@7, flatten, dense 128, jittered batches", epochs=12, augment=True),
}


def load_mnist(path):
    """Return ``(x_train, y_train), (x_test, y_test)`` with float images in [0, 1] and integer labels."""
    with np.load(path) as archive:
        return (
            (archive["x_train"].astype(np.float32) / 255.0, archive["y_train"]),
            (archive["x_test"].astype(np.float32) / 255.0, archive["y_test"]),
        )


def build_anchor():
    """The keras.io "Simple MNIST convnet", taking (28, 28) images like every candidate."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((IMAGE_SIZE, IMAGE_SIZE)),
            layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="anchor",
    )


def build_candidate(name, recipe):
    """The convnet a ``Recipe`` describes, made only of layers the project's NumPy inference path knows."""
    layers = keras.layers
    stack = [keras.Input((IMAGE_SIZE, IMAGE_SIZE)), layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1))]
    size = IMAGE_SIZE
    for filters in recipe.filters:
        stack += [
            layers.Conv2D(filters, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
        ]
        if size > 7:
            stack.append(layers.MaxPooling2D())
            size //= 2
    stack.append(layers.GlobalAveragePooling2D() if recipe.pooling == "global_average" else layers.Flatten())
    if recipe.dense_units:
        stack += [
            layers.Dense(recipe.dense_units, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
        ]
    stack += [layers.Dropout(recipe.dropout), layers.Dense(NUM_CLASSES, activation="softmax")]
    return keras.Sequential(stack, name=name)


def learning_rate_schedule(recipe, total_steps):
    """Cosine decay to 0 over ``total_steps``, after a linear warm-up from a tenth of the peak if asked."""
    warmup_steps = int(recipe.warmup_fraction * total_steps)
    if warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=total_steps)
    return keras.optimizers.schedules.CosineDecay(
        recipe.learning_rate / 10,
        decay_steps=total_steps - warmup_steps,
        warmup_target=recipe.learning_rate,
        warmup_steps=warmup_steps,
    )


def jittered_batches(images, targets, batch_size, seed):
    """A ``keras.utils.PyDataset`` of shuffled batches, each freshly jittered, repeatable for the same seed."""

    class JitteredBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0

        def __len__(self):
            return math.ceil(len(images) / batch_size)

        def __getitem__(self, index):
            order = np.random.default_rng([seed, self.epoch]).permutation(len(images))
            chosen = order[index * batch_size : (index + 1) * batch_size]
            # Seeding by (seed, epoch, batch) gives the same batches whatever order Keras asks for them in.
            rng = np.random.default_rng([seed, self.epoch, index])
            return augmentation.jitter(images[chosen], rng), targets[chosen]

        def on_epoch_end(self):
            self.epoch += 1

    return JitteredBatches()


def accuracy(model, images, labels):
    """The fraction of ``images`` whose most probable class is the label."""
    return float(np.mean(np.argmax(model.predict(images, batch_size=512, verbose=0), axis=1) == labels))


def timed_fit(model, **fit_arguments):
    """Run ``model.fit``; return its history and the wall-clock and CPU seconds (of this process) it took."""
    started, cpu_started = time.perf_counter(), time.process_time()
    history = model.fit(verbose=0, **fit_arguments)
    return history.history, (time.perf_counter() - started, time.process_time() - cpu_started)


def train_anchor(x_train, y_train):
    """Train the anchor exactly as keras.io does; return the model, best validation accuracy and fit times."""
    model = build_anchor()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history, times = timed_fit(
        model,
        x=x_train,
        y=keras.utils.to_categorical(y_train, NUM_CLASSES),
        batch_size=128,
        epochs=15,
        validation_split=0.1,
    )
    return model, max(history["val_accuracy"]), times


def train_candidate(name, recipe, x_train, y_train, seed):
    """Train a candidate as ``train.py`` would; return the best-epoch model, its validation accuracy and fit times."""
    targets = keras.utils.to_categorical(y_train, NUM_CLASSES)
    split_at = len(x_train) - round(0.2 * len(x_train))
    x_fit, y_fit = x_train[:split_at], targets[:split_at]
    model = build_candidate(name, recipe)
    total_steps = recipe.epochs * math.ceil(len(x_fit) / recipe.batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(recipe, total_steps)),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
    )
    # A patience of the whole run never stops early; it only restores the best validation epoch at the end.
    best_epoch = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", patience=recipe.epochs, restore_best_weights=True
    )
    if recipe.augment:
        data = {"x": jittered_batches(x_fit, y_fit, recipe.batch_size, seed)}
    else:
        data = {"x": x_fit, "y": y_fit, "batch_size": recipe.batch_size, "shuffle": True}
    history, times = timed_fit(
        model,
        **data,
        epochs=recipe.epochs,
        callbacks=[best_epoch],
        validation_data=(x_train[split_at:], targets[split_at:]),
    )
    return model, max(history["val_accuracy"]), times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("MNIST_NPZ"), help="mnist.npz (default: $MNIST_NPZ)")
    parser.add_argument(
        "--candidates",
        nargs="+",
        choices=sorted(CANDIDATES),
        default=sorted(CANDIDATES),
        help="candidates to train after the anchor (default: all)",
    )
    parser.add_argument("--epochs", type=int, default=None, help="override every candidate's epochs (not the anchor's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of weights, shuffling and jitter")
    arguments = parser.parse_args(argv)
    if not arguments.data:
        parser.error("pass --data PATH/TO/mnist.npz or set MNIST_NPZ")
    (x_train, y_train), (x_test, y_test) = load_mnist(arguments.data)
    x_jittered = augmentation.jittered_test_set(x_test)

    def report(name, description, model, epochs, batch_size, validation_accuracy, times, anchor_times):
        (seconds, cpu_seconds), (anchor_seconds, anchor_cpu_seconds) = times, anchor_times
        print(
            json.dumps(
                {
                    "name": name,
                    "description": description,
                    "backend": keras.backend.backend(),
                    "parameters": model.count_params(),
                    "epochs": epochs,
                    "batch_size": batch_size,
                    "fit_seconds": round(seconds, 1),
                    "ratio_to_anchor": round(seconds / anchor_seconds, 2),
                    "fit_cpu_seconds": round(cpu_seconds, 1),
                    "cpu_ratio_to_anchor": round(cpu_seconds / anchor_cpu_seconds, 2),
                    "val_accuracy": round(validation_accuracy, 4),
                    "test_accuracy": round(accuracy(model, x_test, y_test), 4),
                    "jittered_test_accuracy": round(accuracy(model, x_jittered, y_test), 4),
                }
            ),
            flush=True,
        )

    keras.utils.set_random_seed(arguments.seed)
    model, validation_accuracy, anchor_times = train_anchor(x_train, y_train)
    report("anchor", "keras.io Simple MNIST convnet", model, 15, 128, validation_accuracy, anchor_times, anchor_times)
    for name in arguments.candidates:
        recipe = CANDIDATES[name]
        if arguments.epochs is not None:
            recipe = dataclasses.replace(recipe, epochs=arguments.epochs)
        keras.utils.set_random_seed(arguments.seed)
        model, validation_accuracy, times = train_candidate(name, recipe, x_train, y_train, arguments.seed)
        report(
            name, recipe.description, model, recipe.epochs, recipe.batch_size, validation_accuracy, times, anchor_times
        )


if __name__ == "__main__":
    main()
