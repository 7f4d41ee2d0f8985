"""Evaluate a saved model on the 10,000 MNIST test digits: accuracy, loss, per-class scores and plots."""

import argparse
import json
import os

from number_recognition import cli
from number_recognition import data
from number_recognition import evaluation
from number_recognition import models
from number_recognition import plots

GALLERY_SIZE = 24


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=cli.HelpFormatter)
    cli.add_data_argument(parser)
    parser.add_argument("--model", metavar="PATH", default=cli.default_model_path(),
                        help="the .keras model to evaluate (default: the convnet if trained, else the MLP)")
    cli.add_out_argument(parser)
    parser.add_argument("--batch-size", type=int, default=1000, help="test digits per prediction batch")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        _, (x_test, y_test) = data.load_mnist(arguments.data)
        model = models.load_model(arguments.model)
    except (data.DataError, models.ModelFileError) as error:
        cli.fail(str(error))
    probabilities = model.predict(data.to_inputs(x_test), batch_size=arguments.batch_size, verbose=0)
    report = evaluation.metrics_report(probabilities, y_test)
    report["model"] = arguments.model
    os.makedirs(arguments.out, exist_ok=True)
    metrics_path = os.path.join(arguments.out, "metrics.json")
    with open(metrics_path, "w") as handle:
        json.dump(report, handle, indent=2)
    confusion_path = plots.confusion_matrix(report["confusion_matrix"], os.path.join(arguments.out, "confusion_matrix.png"))
    worst = evaluation.most_confident_errors(probabilities, y_test, GALLERY_SIZE)
    predictions = probabilities.argmax(axis=1)
    gallery_path = plots.misclassified_gallery(
        x_test[worst], y_test[worst], predictions[worst], probabilities[worst, predictions[worst]],
        os.path.join(arguments.out, "misclassified.png"))
    print(f"test loss {report['test_loss']:.4f}, test accuracy {report['test_accuracy']:.4f} "
          f"on {report['test_samples']:,} digits ({arguments.model})")
    print("digit  precision  recall  f1")
    for row in report["per_class"]:
        print(f"{row['class']:>5}  {row['precision']:>9.4f}  {row['recall']:>6.4f}  {row['f1']:.4f}")
    print(f"wrote {metrics_path}, {confusion_path} and {gallery_path}")


if __name__ == "__main__":
    main()
