"""How the convnet recipe was chosen (issue 11): candidates timed against the keras.io convnet in the same run.

Every candidate is the project's convnet (``models.build_cnn``) with some ``CNNConfig`` settings changed,
trained by ``training.train`` exactly as ``train.py`` would train it: the held-out validation split
picks the best epoch, Adam with a cosine-decayed learning rate, label smoothing, and with ``augment``
freshly jittered batches every epoch. The anchor is the keras.io "Simple MNIST convnet" from
bench/accuracy.py. Only ``model.fit`` is timed, and each candidate's time is divided by the anchor's
from the same run, because the shared 2-core machine makes absolute seconds swing from run to run.
Validation accuracy chooses; test accuracy and accuracy on the jittered test set are printed alongside.

Prints one JSON line per model::

    python bench/convnet_choices.py --data mnist.npz --candidates default two_wide_blocks
"""

import json

import accuracy

from number_recognition import augmentation
from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition import keras_import
from number_recognition import training

# Each candidate: what it is, and the CNNConfig settings it changes.
CANDIDATES = {
    "default": ("16@28, 32@14, 2x64@7, dense 128 (the default)", {}),
    "fewer_epochs": ("the default, 10 epochs instead of 15", {"epochs": 10}),
    "large_batch": ("the default, batch 256 and twice the learning rate", {"batch_size": 256, "learning_rate": 2e-3}),
    "two_wide_blocks": ("32@28, 64@14, dense 128: wide at full resolution", {"blocks": ((32,), (64,))}),
    "previous": ("2x32@28, 2x64@14, dense 128: the convnet before issue 11", {"blocks": ((32, 32), (64, 64))}),
    "augmented": ("the default with --augment (jittered batches)", {"augment": True}),
}


def main(argv=None):
    parser = cli.parser(__doc__)
    cli.add_data_argument(parser)
    parser.add_argument(
        "--candidates",
        nargs="+",
        choices=sorted(CANDIDATES),
        default=sorted(CANDIDATES),
        help="candidates to train after the anchor",
    )
    parser.add_argument("--epochs", type=int, default=None, help="override every model's epochs")
    cli.add_seed_argument(parser, config.TrainingConfig().seed)
    arguments = parser.parse_args(argv)
    with cli.reporting_errors():
        candidates = {
            name: config.make_config(
                "cnn", **{**CANDIDATES[name][1], "epochs": arguments.epochs, "seed": arguments.seed}
            )
            for name in arguments.candidates
        }
        (x_train, y_train), (x_test, y_test) = data.load_mnist(arguments.data)
    keras = keras_import.import_keras()
    test_inputs = data.to_inputs(x_test)
    jittered_inputs = augmentation.jittered_test_set(test_inputs)

    def report(name, description, model, settings, fit_seconds, validation_accuracy):
        line = {
            "name": name,
            "description": description,
            "backend": keras.backend.backend(),
            "parameters": model.count_params(),
            "epochs": settings["epochs"],
            "batch_size": settings["batch_size"],
            "fit_seconds": round(fit_seconds, 1),
            "ratio_to_anchor": round(fit_seconds / anchor_seconds, 2),
            "val_accuracy": round(validation_accuracy, 4),
            "test_accuracy": round(accuracy.accuracy(model, test_inputs, y_test), 4),
            "jittered_test_accuracy": round(accuracy.accuracy(model, jittered_inputs, y_test), 4),
        }
        print(json.dumps(line), flush=True)

    epochs = arguments.epochs or accuracy.BASELINE_EPOCHS["cnn"]
    model, anchor_seconds = accuracy.baseline_result(keras, "cnn", x_train, y_train, epochs, arguments.seed)
    # subtle: the anchor's own validation split is the last tenth, so this re-scores that tenth.
    split_at = len(x_train) - round(accuracy.BASELINE_VALIDATION_SPLIT["cnn"] * len(x_train))
    anchor_validation = accuracy.accuracy(model, data.to_inputs(x_train[split_at:]), y_train[split_at:])
    report(
        "anchor",
        accuracy.BASELINE_NAMES["cnn"],
        model,
        {"epochs": epochs, "batch_size": 128},
        anchor_seconds,
        anchor_validation,
    )
    for name, settings in candidates.items():
        model, history = training.train(x_train, y_train, settings, verbose=0)
        report(
            name, CANDIDATES[name][0], model, settings.as_dict(), history["fit_seconds"], max(history["val_accuracy"])
        )


if __name__ == "__main__":
    main()
