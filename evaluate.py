"""Evaluate a saved model on the 10,000 MNIST test digits: accuracy, loss, per-class scores and plots."""

import os

from number_recognition import cli
from number_recognition import data
from number_recognition import evaluation
from number_recognition import files
from number_recognition import plots
from number_recognition.reading import inference
from number_recognition.reading import model_file

# The gallery of most confidently misclassified digits shows this many (4 rows of 6).
GALLERY_SIZE = 24


def parse_arguments(argv):
    parser = cli.parser(__doc__)
    cli.add_data_argument(parser)
    parser.add_argument(
        "--model",
        metavar="PATH",
        default=None,
        help=f"the .keras model to evaluate (default: {model_file.MODEL_ORDER})",
    )
    cli.add_out_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    model_path = arguments.model or model_file.default_model_path()
    with cli.reporting_errors():
        files.check_output_folder(arguments.out)
        _, (x_test, y_test) = data.load_mnist(arguments.data)
        predictor = inference.load_predictor(model_path)
        probabilities = predictor.predict(data.to_inputs(x_test))
        report = evaluation.metrics_report(probabilities, y_test)
        report["model"] = model_path
        metrics_path = os.path.join(arguments.out, "metrics.json")
        files.write_json(metrics_path, report)
        confusion_path = plots.confusion_matrix(
            report["confusion_matrix"], os.path.join(arguments.out, "confusion_matrix.png")
        )
        worst = evaluation.most_confident_errors(probabilities, y_test, GALLERY_SIZE)
        predictions = probabilities.argmax(axis=1)
        gallery_path = plots.misclassified_gallery(
            x_test[worst],
            y_test[worst],
            predictions[worst],
            probabilities[worst, predictions[worst]],
            os.path.join(arguments.out, "misclassified.png"),
        )
    print(f"test accuracy {report['test_accuracy']:.4f} on {report['test_samples']:,} digits ({model_path})")
    print(f"test loss {report['test_loss']:.4f} (plain cross-entropy; training's loss adds label smoothing)")
    print("digit  precision  recall  f1")
    for row in report["per_class"]:
        print(f"{row['class']:>5}  {row['precision']:>9.4f}  {row['recall']:>6.4f}  {row['f1']:.4f}")
    print(f"wrote {metrics_path}, {confusion_path} and {gallery_path}")


if __name__ == "__main__":
    main()
