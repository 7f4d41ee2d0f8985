"""Train the project's default model and a plain-Keras copy of the seed's MLP on the same data, in one run.

The seed: Flatten -> Dense(128, ReLU) -> Dense(64, ReLU) -> Dense(10, softmax), Adam, categorical
cross-entropy, 10 epochs, batch 128, validation_split 0.2, written here with Keras alone. Prints one
JSON line per model: test accuracy, fit seconds, epochs and parameter count.
"""

import json
import time

from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition import keras_import
from number_recognition import training

SEED_EPOCHS = 10


def seed_model_result(keras, x_train, y_train, x_test, y_test, epochs, seed):
    """Fit the seed's MLP exactly as the seed did and measure it."""

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(
        x_train / 255.0,
        keras.utils.to_categorical(y_train, 10),
        epochs=epochs,
        batch_size=128,
        validation_split=0.2,
        verbose=0,
    )
    fit_seconds = time.perf_counter() - started
    accuracy = float((model.predict(x_test / 255.0, verbose=0).argmax(1) == y_test).mean())
    return {
        "model": "seed MLP 128-64 (plain Keras)",
        "test_accuracy": round(accuracy, 4),
        "fit_seconds": round(fit_seconds, 1),
        "epochs": epochs,
        "parameters": model.count_params(),
    }


def main(argv=None):
    parser = cli.parser(__doc__)
    cli.add_data_argument(parser)
    parser.add_argument(
        "--arch",
        choices=config.ARCHITECTURES,
        default=config.DEFAULT_ARCHITECTURE,
        help="architecture of the project's model",
    )
    parser.add_argument("--augment", action="store_true", help="train the project's model with --augment")
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs of both models (default: each one's own default)"
    )
    cli.add_seed_argument(parser, config.MLPConfig().seed)
    arguments = parser.parse_args(argv)
    settings = config.make_config(
        arguments.arch, epochs=arguments.epochs, augment=arguments.augment or None, seed=arguments.seed
    )
    with cli.reporting_errors():
        (x_train, y_train), (x_test, y_test) = data.load_mnist(arguments.data)
    keras = keras_import.import_keras()
    epochs = settings.epochs
    model, history = training.train(x_train, y_train, settings, verbose=0)
    accuracy = float((model.predict(data.to_inputs(x_test), verbose=0).argmax(1) == y_test).mean())
    name = f"project {arguments.arch}" + (" --augment" if arguments.augment else "") + " (python train.py)"
    print(
        json.dumps(
            {
                "model": name,
                "test_accuracy": round(accuracy, 4),
                "fit_seconds": round(history["fit_seconds"], 1),
                "epochs": epochs,
                "best_epoch": history["best_epoch"],
                "parameters": model.count_params(),
            }
        )
    )
    print(
        json.dumps(
            seed_model_result(keras, x_train, y_train, x_test, y_test, arguments.epochs or SEED_EPOCHS, arguments.seed)
        )
    )


if __name__ == "__main__":
    main()
