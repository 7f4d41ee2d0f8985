"""Train a digit classifier on MNIST, save it as a .keras model and plot its training history."""

import os
import sys

from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition import files
from number_recognition import plots
from number_recognition import training


def parse_arguments(argv):
    parser = cli.parser(__doc__)
    cli.add_data_argument(parser)
    parser.add_argument(
        "--model", metavar="PATH", default=None, help="where to save the model (default: models/mnist_<arch>.keras)"
    )
    cli.add_out_argument(parser)
    cli.add_training_arguments(parser)
    arguments = parser.parse_args(argv)
    arguments.settings = cli.training_config(parser, arguments)
    arguments.model = arguments.model or config.MODEL_PATHS[arguments.arch]
    return arguments


def main(argv=None):
    arguments = parse_arguments(argv)
    interrupted = f"interrupted: no model was saved; the previous model at {arguments.model} is left intact"
    with cli.reporting_errors(interrupted):
        files.check_output_file(arguments.model)
        files.check_output_folder(arguments.out)
        (x_train, y_train), _ = data.load_mnist(arguments.data)
        # A progress bar is for a terminal; a file or pipe gets one plain line per epoch.
        verbose = 1 if sys.stdout.isatty() else 2
        model, history = training.train(x_train, y_train, arguments.settings, verbose=verbose)
        try:
            training.save_model_atomically(model, arguments.model)
        except OSError as error:
            cli.fail(f"could not save the model ({error}); the previous model at {arguments.model} is left intact", 1)
        history_path = os.path.join(arguments.out, "history.json")
        files.write_json(history_path, history)
        loss_plot = plots.training_history(history, "loss", os.path.join(arguments.out, "history_loss.png"))
        accuracy_plot = plots.training_history(history, "accuracy", os.path.join(arguments.out, "history_accuracy.png"))
    best = history["best_epoch"]
    validation = history.get("val_accuracy")
    kept = f", validation accuracy {validation[best - 1]:.4f}" if validation else ""
    print(f"fit took {history['fit_seconds']:.1f} s; kept the weights of epoch {best}{kept}")
    print(f"saved the model to {arguments.model}")
    print(f"wrote {history_path}, {loss_plot} and {accuracy_plot}")


if __name__ == "__main__":
    main()
