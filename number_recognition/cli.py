"""What the scripts share: one flag vocabulary and one way to report a user's mistake."""

import argparse
import os
import sys

from number_recognition import defaults


def fail(message, exit_code=2):
    """Print ``message`` as one line on stderr and exit with ``exit_code``, without a traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(exit_code)


def default_model_path():
    """The model evaluate.py and recognize.py use by default: the convnet if trained, else the MLP."""
    cnn_path = defaults.MODEL_PATHS["cnn"]
    return cnn_path if os.path.isfile(cnn_path) else defaults.MODEL_PATHS["mlp"]


def add_data_argument(parser):
    parser.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help=f"MNIST in Keras' .npz format (x_train, y_train, x_test, y_test); "
        f"default: ${defaults.DATA_ENV_VAR}, else download with Keras",
    )


def add_out_argument(parser):
    parser.add_argument("--out", metavar="DIR", default=defaults.OUTPUT_DIR, help="folder for plots and reports")


def add_seed_argument(parser):
    parser.add_argument("--seed", type=int, default=defaults.SEED, help="random seed")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, except None and False, whose meaning the help text itself explains."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)
