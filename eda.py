"""Plot the MNIST data: label counts of train and test, sample digits, and the mean image of each digit."""

import os

import numpy as np

from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition import files
from number_recognition import plots

# The grid of sample training digits shows this many (4 rows of 10).
SAMPLE_COUNT = 40


def parse_arguments(argv):
    parser = cli.parser(__doc__)
    cli.add_data_argument(parser)
    cli.add_out_argument(parser)
    cli.add_seed_argument(parser, config.MLPConfig().seed)
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    with cli.reporting_errors():
        files.check_output_folder(arguments.out)
        (x_train, y_train), (x_test, y_test) = data.load_mnist(arguments.data)
        train_counts = np.bincount(y_train, minlength=config.NUM_CLASSES)
        test_counts = np.bincount(y_test, minlength=config.NUM_CLASSES)
        print("digit    train    test")
        for digit in range(config.NUM_CLASSES):
            print(f"{digit:>5}  {train_counts[digit]:>7,}  {test_counts[digit]:>6,}")
        print(f"total  {train_counts.sum():>7,}  {test_counts.sum():>6,}")
        rng = np.random.default_rng(arguments.seed)
        samples = rng.choice(len(x_train), size=min(SAMPLE_COUNT, len(x_train)), replace=False)
        written = [
            plots.label_distribution(y_train, y_test, os.path.join(arguments.out, "label_distribution.png")),
            plots.sample_grid(x_train[samples], y_train[samples], os.path.join(arguments.out, "sample_digits.png")),
            plots.class_means(x_train, y_train, os.path.join(arguments.out, "class_means.png")),
        ]
    print("wrote " + ", ".join(written))


if __name__ == "__main__":
    main()
