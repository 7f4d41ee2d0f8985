"""Accuracy of saved models on the MNIST test set and on a jittered copy of it.

The jittered copy (``augmentation.jittered_test_set``, fixed seed) rotates, shifts, scales, shears and
thickens or thins every test digit at random: a stand-in for real digits that are tilted, off-centre
or drawn with another pen. Train models with and without ``--augment`` and pass them all here to
see what augmentation buys. Prints one JSON line per model.
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from number_recognition import augmentation  # noqa: E402
from number_recognition import cli  # noqa: E402
from number_recognition import data  # noqa: E402
from number_recognition import defaults  # noqa: E402
from number_recognition import inference  # noqa: E402
from number_recognition import models  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=cli.HelpFormatter)
    cli.add_data_argument(parser)
    parser.add_argument("--model", metavar="PATH", nargs="+", default=[cli.default_model_path()],
                        help="one or more .keras models to measure")
    parser.add_argument("--seed", type=int, default=defaults.JITTER_SEED, help="seed of the jittered test set")
    arguments = parser.parse_args(argv)
    try:
        _, (x_test, y_test) = data.load_mnist(arguments.data)
        predictors = [inference.load_predictor(path) for path in arguments.model]
    except (data.DataError, models.ModelFileError) as error:
        cli.fail(str(error))
    clean = data.to_inputs(x_test)
    jittered = augmentation.jittered_test_set(clean, seed=arguments.seed)
    for path, predictor in zip(arguments.model, predictors):
        print(json.dumps({
            "model": path,
            "test_accuracy": round(float((predictor.predict(clean).argmax(1) == y_test).mean()), 4),
            "jittered_test_accuracy": round(float((predictor.predict(jittered).argmax(1) == y_test).mean()), 4),
            "test_samples": len(y_test),
        }))


if __name__ == "__main__":
    main()
