"""Accuracy of saved models on the MNIST test set and on a jittered copy of it.

The jittered copy (``augmentation.jittered_test_set``, fixed seed) rotates, shifts, scales, shears and
thickens or thins every test digit at random: a stand-in for real digits that are tilted, off-centre
or drawn with another pen. Train models with and without ``--augment`` and pass them all here to
see what augmentation buys. Prints one JSON line per model.
"""

import json

from number_recognition import augmentation
from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition.reading import inference
from number_recognition.reading import model_file


def main(argv=None):
    parser = cli.parser(__doc__)
    cli.add_data_argument(parser)
    parser.add_argument(
        "--model",
        metavar="PATH",
        nargs="+",
        default=None,
        help="one or more .keras models to measure (default: the one recognize.py uses)",
    )
    parser.add_argument("--seed", type=int, default=config.JITTER_SEED, help="seed of the jittered test set")
    arguments = parser.parse_args(argv)
    arguments.model = arguments.model or [model_file.default_model_path()]
    with cli.reporting_errors():
        _, (x_test, y_test) = data.load_mnist(arguments.data)
        predictors = [inference.load_predictor(path) for path in arguments.model]
    clean = data.to_inputs(x_test)
    jittered = augmentation.jittered_test_set(clean, seed=arguments.seed)
    for path, predictor in zip(arguments.model, predictors):
        print(
            json.dumps(
                {
                    "model": path,
                    "test_accuracy": round(float((predictor.predict(clean).argmax(1) == y_test).mean()), 4),
                    "jittered_test_accuracy": round(float((predictor.predict(jittered).argmax(1) == y_test).mean()), 4),
                    "test_samples": len(y_test),
                }
            )
        )


if __name__ == "__main__":
    main()
