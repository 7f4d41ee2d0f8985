"""Train a digit classifier on MNIST, save it as a .keras model and plot its training history."""

import argparse
import json
import os

from number_recognition import cli
from number_recognition import data
from number_recognition import defaults
from number_recognition import plots
from number_recognition import training


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=cli.HelpFormatter)
    cli.add_data_argument(parser)
    parser.add_argument("--arch", choices=defaults.ARCHITECTURES, default=defaults.DEFAULT_ARCHITECTURE,
                        help="model architecture: a dense MLP or a small convnet")
    parser.add_argument("--model", metavar="PATH", default=None,
                        help="where to save the model (default: models/mnist_<arch>.keras)")
    cli.add_out_argument(parser)
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"training epochs (default: {defaults.EPOCHS} for mlp, {defaults.CNN_EPOCHS} for cnn)")
    parser.add_argument("--batch-size", type=int, default=defaults.BATCH_SIZE, help="samples per gradient step")
    parser.add_argument("--hidden", type=int, nargs="+", default=list(defaults.HIDDEN_UNITS), metavar="UNITS",
                        help="widths of the MLP's hidden layers")
    parser.add_argument("--dropout", type=float, default=None,
                        help=f"dropout rate (default: {defaults.DROPOUT} for mlp, {defaults.CNN_DROPOUT} for cnn)")
    parser.add_argument("--lr", type=float, default=defaults.LEARNING_RATE,
                        help="initial learning rate of Adam, decayed to 0 along a cosine")
    parser.add_argument("--label-smoothing", type=float, default=defaults.LABEL_SMOOTHING,
                        help="label smoothing of the cross-entropy loss")
    parser.add_argument("--validation-split", type=float, default=defaults.VALIDATION_SPLIT,
                        help="fraction of the training set held out to pick the best epoch")
    parser.add_argument("--augment", action="store_true",
                        help="train on randomly rotated, shifted, scaled, sheared and thickened digits")
    cli.add_seed_argument(parser)
    arguments = parser.parse_args(argv)
    if arguments.epochs is None:
        arguments.epochs = defaults.CNN_EPOCHS if arguments.arch == "cnn" else defaults.EPOCHS
    if arguments.model is None:
        arguments.model = defaults.MODEL_PATHS[arguments.arch]
    if arguments.epochs < 1 or arguments.batch_size < 1 or min(arguments.hidden) < 1:
        parser.error("--epochs, --batch-size and --hidden must be positive")
    if not 0.0 <= arguments.validation_split < 1.0:
        parser.error("--validation-split must be in [0, 1)")
    if arguments.dropout is not None and not 0.0 <= arguments.dropout < 1.0:
        parser.error("--dropout must be in [0, 1)")
    return arguments


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        (x_train, y_train), _ = data.load_mnist(arguments.data)
        model, history = training.train(
            x_train, y_train, architecture=arguments.arch, epochs=arguments.epochs,
            batch_size=arguments.batch_size, hidden_units=tuple(arguments.hidden), dropout=arguments.dropout,
            learning_rate=arguments.lr, label_smoothing=arguments.label_smoothing,
            validation_split=arguments.validation_split, augment=arguments.augment, seed=arguments.seed)
        training.save_model_atomically(model, arguments.model)
    except data.DataError as error:
        cli.fail(str(error))
    except KeyboardInterrupt:
        cli.fail(f"interrupted: no model was saved; the previous model at {arguments.model} is left intact", 130)
    except (OSError, ValueError) as error:
        cli.fail(f"training failed ({error}); the previous model at {arguments.model} is left intact", 1)
    os.makedirs(arguments.out, exist_ok=True)
    history_path = os.path.join(arguments.out, "history.json")
    with open(history_path, "w") as handle:
        json.dump({"architecture": arguments.arch, "augment": arguments.augment, **history}, handle, indent=2)
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
