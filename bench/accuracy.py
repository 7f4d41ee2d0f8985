"""Train the project's model next to a plain-Keras baseline in the same run, and compare time and accuracy.

The baseline of ``--arch mlp`` is the seed's MLP: Flatten -> Dense(128, ReLU) -> Dense(64, ReLU) ->
Dense(10, softmax), Adam, 10 epochs, batch 128, validation_split 0.2. The baseline of ``--arch cnn``
is the keras.io "Simple MNIST convnet", the speed anchor of issue 11: two plain convolutions, dropout,
Adam, 15 epochs, batch 128, validation_split 0.1. Both are written here with Keras alone.

Then the project's model trains once per ``--runs`` entry, exactly as ``python train.py --arch ARCH``
(``plain``) or ``python train.py --arch ARCH --augment`` (``augmented``) would. Only ``model.fit`` is
timed, and every fit time is divided by the baseline's from the same run, because the shared 2-core
machine makes absolute seconds swing from run to run. Prints one JSON line per model: fit seconds,
the ratio to the baseline, MNIST test accuracy and accuracy on the jittered test set::

    python bench/accuracy.py --arch cnn --runs plain augmented
"""

import json
import time

from number_recognition import augmentation
from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition import keras_import
from number_recognition import training

# The published recipes of the two baselines.
BASELINE_EPOCHS = {"mlp": 10, "cnn": 15}
BASELINE_VALIDATION_SPLIT = {"mlp": 0.2, "cnn": 0.1}
BASELINE_NAMES = {"mlp": "seed MLP 128-64 (plain Keras)", "cnn": "keras.io Simple MNIST convnet (plain Keras)"}


def build_baseline(keras, architecture):
    """The seed's MLP or the keras.io convnet, taking (28, 28) images in [0, 1] like the project's models."""
    layers = keras.layers
    if architecture == "mlp":
        stack = [layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(64, activation="relu")]
    else:
        stack = [
            layers.Reshape((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.5),
        ]
    return keras.Sequential([keras.Input((28, 28)), *stack, layers.Dense(10, activation="softmax")])


def accuracy(model, inputs, labels):
    """The fraction of ``inputs`` whose most probable class is the label."""
    return float((model.predict(inputs, batch_size=config.PREDICT_BATCH_SIZE, verbose=0).argmax(1) == labels).mean())


def baseline_result(keras, architecture, x_train, y_train, epochs, seed):
    """Fit the baseline exactly as its source does; return the model and its fit seconds."""
    keras.utils.set_random_seed(seed)
    model = build_baseline(keras, architecture)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(
        data.to_inputs(x_train),
        data.to_one_hot(y_train),
        epochs=epochs,
        batch_size=128,
        validation_split=BASELINE_VALIDATION_SPLIT[architecture],
        verbose=0,
    )
    return model, time.perf_counter() - started


def main(argv=None):
    parser = cli.parser(__doc__)
    cli.add_data_argument(parser)
    parser.add_argument(
        "--arch",
        choices=config.ARCHITECTURES,
        default=config.DEFAULT_ARCHITECTURE,
        help="architecture of the project's model (and so the baseline)",
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        choices=("plain", "augmented"),
        default=["plain"],
        help="the project's models to train: as train.py does, and with --augment",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs of every model (default: each one's own default)"
    )
    cli.add_seed_argument(parser, config.TrainingConfig().seed)
    arguments = parser.parse_args(argv)
    with cli.reporting_errors():
        settings = {
            run: config.make_config(
                arguments.arch, epochs=arguments.epochs, augment=run == "augmented" or None, seed=arguments.seed
            )
            for run in arguments.runs
        }
        (x_train, y_train), (x_test, y_test) = data.load_mnist(arguments.data)
    keras = keras_import.import_keras()
    test_inputs = data.to_inputs(x_test)
    jittered_inputs = augmentation.jittered_test_set(test_inputs)

    def report(name, model, epochs, fit_seconds, baseline_seconds, **extra):
        result = {
            "model": name,
            "backend": keras.backend.backend(),
            "test_accuracy": round(accuracy(model, test_inputs, y_test), 4),
            "jittered_test_accuracy": round(accuracy(model, jittered_inputs, y_test), 4),
            "fit_seconds": round(fit_seconds, 1),
            "ratio_to_baseline": round(fit_seconds / baseline_seconds, 2),
            "epochs": epochs,
            "parameters": model.count_params(),
        }
        print(json.dumps({**result, **extra}), flush=True)

    epochs = arguments.epochs or BASELINE_EPOCHS[arguments.arch]
    model, baseline_seconds = baseline_result(keras, arguments.arch, x_train, y_train, epochs, arguments.seed)
    report(BASELINE_NAMES[arguments.arch], model, epochs, baseline_seconds, baseline_seconds)
    for run, run_settings in settings.items():
        model, history = training.train(x_train, y_train, run_settings, verbose=0)
        flags = f"--arch {arguments.arch}" + (" --augment" if run == "augmented" else "")
        report(
            f"project {run} (python train.py {flags})",
            model,
            run_settings.epochs,
            history["fit_seconds"],
            baseline_seconds,
            best_epoch=history["best_epoch"],
            best_validation_accuracy=round(max(history.get("val_accuracy", [float("nan")])), 4),
        )


if __name__ == "__main__":
    main()
