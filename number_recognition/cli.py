"""What the scripts share: one flag vocabulary, one help layout, and one way to report a problem.

Every script's ``main`` runs inside ``reporting_errors()``: a ``UserError`` becomes one line on
stderr and exit code 2, Ctrl-C (or SIGTERM) one line and exit code 130, never a traceback.
"""

import argparse
import contextlib
import signal
import sys

import number_recognition
from number_recognition import config
from number_recognition import errors


def fail(message, exit_code=2):
    """Print ``message`` as one line on stderr and exit with ``exit_code``, without a traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(exit_code)


def _interrupt(signal_number, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def reporting_errors(interrupted="interrupted"):
    """Run a script's work: user errors and interrupts end it with one line, SIGTERM counts as Ctrl-C."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    except errors.UserError as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail(interrupted, 130)


def parser(description):
    """An ``ArgumentParser`` with the project's help layout and ``--version``."""
    result = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    result.add_argument("--version", action="version", version=f"%(prog)s {number_recognition.__version__}")
    return result


def add_data_argument(parser):
    parser.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help=f"MNIST in Keras' .npz format (x_train, y_train, x_test, y_test); "
        f"default: ${config.DATA_ENV_VAR}, else download with Keras",
    )


def add_out_argument(parser):
    parser.add_argument("--out", metavar="DIR", default=config.OUTPUT_DIR, help="folder for plots and reports")


def add_seed_argument(parser, default):
    parser.add_argument("--seed", type=int, default=default, help="random seed")


def positive_int(text):
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default once, except None and False, whose meaning the help text itself explains."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)
