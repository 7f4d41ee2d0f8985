"""How the default MLP was chosen: candidate widths, dropout and label smoothing, judged on the validation split.

Each candidate trains as ``python train.py`` would (10 epochs, batch 128, Adam with cosine decay,
the last 20% of the training set held out) and is scored on that held-out split only: the test set
is never looked at here. Prints one JSON line per candidate with its best validation accuracy and
fit seconds; the default must stay under 90 s of fit on a 2-core machine.
"""

import json

from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition import training

# (hidden widths, dropout, label smoothing)
CANDIDATES = (
    ((1024, 1024), 0.3, 0.1),
    ((1024, 1024), 0.3, 0.0),
    ((1024, 1024), 0.2, 0.1),
    ((1024, 512), 0.3, 0.1),
    ((1024, 512), 0.2, 0.1),
    ((800, 800), 0.3, 0.1),
    ((512, 512), 0.2, 0.1),
)


def main(argv=None):
    parser = cli.parser(__doc__)
    cli.add_data_argument(parser)
    parser.add_argument("--epochs", type=int, default=config.MLPConfig().epochs, help="epochs per candidate")
    parser.add_argument("--limit", type=int, default=None, help="train on only the first N training images")
    cli.add_seed_argument(parser, config.MLPConfig().seed)
    arguments = parser.parse_args(argv)
    with cli.reporting_errors():
        (x_train, y_train), _ = data.load_mnist(arguments.data)
    x_train, y_train = x_train[: arguments.limit], y_train[: arguments.limit]
    for hidden_units, dropout, label_smoothing in CANDIDATES:
        settings = config.MLPConfig(
            epochs=arguments.epochs,
            hidden_units=hidden_units,
            dropout=dropout,
            label_smoothing=label_smoothing,
            seed=arguments.seed,
        )
        _, history = training.train(x_train, y_train, settings, verbose=0)
        print(
            json.dumps(
                {
                    "hidden": list(hidden_units),
                    "dropout": dropout,
                    "label_smoothing": label_smoothing,
                    "best_validation_accuracy": round(max(history["val_accuracy"]), 4),
                    "best_epoch": history["best_epoch"],
                    "fit_seconds": round(history["fit_seconds"], 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
