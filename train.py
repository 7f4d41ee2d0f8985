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
        "--arch",
        choices=config.ARCHITECTURES,
        default=config.DEFAULT_ARCHITECTURE,
        help="model architecture: a dense MLP or a small convnet",
    )
    parser.add_argument(
        "--model", metavar="PATH", default=None, help="where to save the model (default: models/mnist_<arch>.keras)"
    )
    cli.add_out_argument(parser)
    mlp, cnn = config.MLPConfig(), config.CNNConfig()
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"training epochs (default: {mlp.epochs} for mlp, {cnn.epochs} for cnn)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help=f"samples per gradient step (default: {mlp.batch_size})"
    )
    parser.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=None,
        metavar="UNITS",
        help=f"widths of the MLP's hidden layers (default: {' '.join(map(str, mlp.hidden_units))}; mlp only)",
    )
    parser.add_argument(
        "--dropout",
        type=float,
        default=None,
        help=f"dropout rate (default: {mlp.dropout} for mlp, {cnn.dropout} for cnn)",
    )
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help=f"initial learning rate of Adam, decayed to 0 along a cosine (default: {mlp.learning_rate})",
    )
    parser.add_argument(
        "--label-smoothing",
        type=float,
        default=None,
        help=f"label smoothing of the cross-entropy loss, in [0, 1) (default: {mlp.label_smoothing})",
    )
    parser.add_argument(
        "--validation-split",
        type=float,
        default=None,
        help=f"fraction of the training set held out to pick the best epoch (default: {mlp.validation_split})",
    )
    parser.add_argument(
        "--augment",
        action="store_true",
        default=None,
        help="train on randomly rotated, shifted, scaled, sheared and thickened digits",
    )
    parser.add_argument("--seed", type=int, default=None, help=f"random seed (default: {mlp.seed})")
    arguments = parser.parse_args(argv)
    try:
        arguments.settings = config.make_config(
            arguments.arch,
            epochs=arguments.epochs,
            batch_size=arguments.batch_size,
            hidden_units=None if arguments.hidden is None else tuple(arguments.hidden),
            dropout=arguments.dropout,
            learning_rate=arguments.lr,
            label_smoothing=arguments.label_smoothing,
            validation_split=arguments.validation_split,
            augment=arguments.augment,
            seed=arguments.seed,
        )
    except ValueError as error:
        parser.error(str(error).replace("hidden_units does not apply", "--hidden does not apply"))
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
