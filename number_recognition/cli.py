"""What the scripts share: one flag vocabulary, one help layout, and one way to report a problem.

Every script's ``main`` runs inside ``reporting_errors()``: a ``UserError`` becomes one line on
stderr and exit code 2, Ctrl-C (or SIGTERM) one line and exit code 130, output whose reader went
away (a pipe into ``head``) exit code 1 in silence, never a traceback.
"""

import argparse
import contextlib
import os
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
    """Run a script's work: user errors and interrupts end it with one line, SIGTERM counts as Ctrl-C.

    A reader of the output that stops early ends the script quietly, with exit code 1.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    except errors.UserError as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail(interrupted, 130)
    except BrokenPipeError:
        # The output's reader went away (``recognize.py FOLDER | head``): stop quietly, as ``cat`` does.
        # subtle: what is left in stdout's buffer would fail again when Python flushes it at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None


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


# The training flags of train.py and the benches: (flag, config field, type, help). Their defaults
# are the configs' own, so they are stated once, in config.py.
TRAINING_FLAGS = (
    ("--epochs", "epochs", int, "training epochs"),
    ("--batch-size", "batch_size", int, "samples per gradient step"),
    ("--hidden", "hidden_units", int, "widths of the MLP's hidden layers"),
    ("--dropout", "dropout", float, "dropout rate"),
    ("--lr", "learning_rate", float, "initial learning rate of Adam, decayed to 0 along a cosine"),
    ("--label-smoothing", "label_smoothing", float, "label smoothing of the cross-entropy loss, in [0, 1)"),
    ("--shift", "shift_pixels", int, "shift each training digit by up to N whole pixels at random; 0 for none"),
    ("--validation-split", "validation_split", float, "fraction of the training set held out to pick the best epoch"),
    ("--seed", "seed", int, "random seed"),
)


def _describe_defaults(field):
    """'10 for mlp, 12 for cnn', one value when every architecture shares it, or '1024 512; mlp only'."""
    shown = {}
    for name, settings_class in config.CONFIGS.items():
        value = getattr(settings_class(), field, None)
        if value is not None:
            shown[name] = " ".join(map(str, value)) if isinstance(value, tuple) else str(value)
    if len(shown) < len(config.CONFIGS):
        return "; ".join(f"{value}; {name} only" for name, value in shown.items())
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{value} for {name}" for name, value in shown.items())


def add_training_arguments(parser):
    """The flags that make a training config: --arch, --augment and ``TRAINING_FLAGS``."""
    parser.add_argument(
        "--arch",
        choices=config.ARCHITECTURES,
        default=config.DEFAULT_ARCHITECTURE,
        help="model architecture: a dense MLP or a small convnet",
    )
    for flag, field, kind, text in TRAINING_FLAGS:
        parser.add_argument(
            flag,
            dest=field,
            type=kind,
            nargs="+" if field == "hidden_units" else None,
            default=None,
            metavar={int: "N", float: "R"}[kind],
            help=f"{text} (default: {_describe_defaults(field)})",
        )
    parser.add_argument(
        "--augment",
        action="store_true",
        default=None,
        help="train on randomly rotated, shifted, scaled, sheared and thickened digits",
    )


def training_config(parser, arguments):
    """The validated config the training flags describe; a setting that cannot train is a usage error."""
    given = {field: getattr(arguments, field) for _, field, _, _ in TRAINING_FLAGS}
    if given["hidden_units"] is not None:
        given["hidden_units"] = tuple(given["hidden_units"])
    try:
        return config.make_config(arguments.arch, augment=arguments.augment, **given)
    except ValueError as error:
        message = str(error)
        for flag, field, _, _ in TRAINING_FLAGS:
            if message.startswith(f"{field} "):
                # The config names its fields; the user typed a flag, and needs no list of the config's fields.
                message = message.replace(field, flag, 1).split(";")[0]
        parser.error(message)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default once, except None and False, whose meaning the help text itself explains."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)
