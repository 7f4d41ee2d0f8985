"""Plot the MNIST data: label counts of train and test, sample digits, and the mean image of each digit."""

import argparse
import os

import numpy as np

from number_recognition import cli
from number_recognition import data
from number_recognition import plots

SAMPLE_COUNT = 40


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=cli.HelpFormatter)
    cli.add_data_argument(parser)
    cli.add_out_argument(parser)
    cli.add_seed_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        (x_train, y_train), (x_test, y_test) = data.load_mnist(arguments.data)
    except data.DataError as error:
        cli.fail(str(error))
    train_counts = np.bincount(y_train, minlength=10)
    test_counts = np.bincount(y_test, minlength=10)
    print("digit    train    test")
    for digit in range(10):
        print(f"{digit:>5}  {train_counts[digit]:>7,}  {test_counts[digit]:>6,}")
    print(f"total  {train_counts.sum():>7,}  {test_counts.sum():>6,}")
    os.makedirs(arguments.out, exist_ok=True)
    samples = np.random.default_rng(arguments.seed).choice(len(x_train), size=min(SAMPLE_COUNT, len(x_train)), replace=False)
    written = [
        plots.label_distribution(y_train, y_test, os.path.join(arguments.out, "label_distribution.png")),
        plots.sample_grid(x_train[samples], y_train[samples], os.path.join(arguments.out, "sample_digits.png")),
        plots.class_means(x_train, y_train, os.path.join(arguments.out, "class_means.png")),
    ]
    print("wrote " + ", ".join(written))


if __name__ == "__main__":
    main()
