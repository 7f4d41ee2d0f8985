"""Score digit reading on people's kinds of images: the naive baseline against the product.

For every image of a set made by ``bench/real_images.py`` (generated on the fly unless ``--images``
names one) this runs two readers through the same model:

* the baseline, what a first attempt does: ``Image.open(path).convert("L").resize((28, 28)) / 255``
  and the single most probable digit;
* the product, ``recognition.recognize(path, predictor)``, whose ``prediction`` is a digit string
  (``None`` when it finds no digit).

A reading is right when it equals the label exactly, so the baseline can never read a number. An
image without handwriting (an empty label) is read right by the product when it finds no digit or
marks every digit it finds uncertain, and never by the baseline, which always names a digit. The
script prints one JSON line per kind and a total line, and writes every image the product gets wrong
to ``real_image_failures.csv`` in ``--out`` so that people can look at what fails. Each line also
says how many of the product's answers were marked uncertain and how often the sure ones were right.
"""

import csv
import json
import pathlib

import numpy as np
import real_images
from PIL import Image

from number_recognition import cli
from number_recognition import config
from number_recognition.reading import inference
from number_recognition.reading import model_file
from number_recognition.reading import recognition

FAILURES_FILE = "real_image_failures.csv"
FAILURE_COLUMNS = ("file", "kind", "label", "prediction", "uncertain")


def baseline_input(path):
    """The naive reading of a file: the whole picture squashed to 28x28 grey, scaled to [0, 1]."""
    size = config.IMAGE_SIZE
    return np.asarray(Image.open(path).convert("L").resize((size, size)), dtype=np.float32) / 255.0


def baseline_predictions(paths, predictor):
    """The baseline's digit string for each path: the argmax of one prediction of the whole image."""
    probabilities = predictor.predict(np.stack([baseline_input(path) for path in paths]))
    return [str(int(np.argmax(row))) for row in probabilities]


def product_reading(path, predictor):
    """The product's reading of one path: ``(prediction, uncertain)``, or ``("error: ...", True)`` if it raised."""
    try:
        reading = recognition.recognize(str(path), predictor)
    except (
        Exception
    ) as error:  # One crash must not hide the scores of every other image; it counts as wrong and is listed.
        return f"error: {type(error).__name__}: {error}", True
    return reading.prediction, reading.uncertain


def is_right(label, prediction, uncertain):
    """A digit string must match exactly; an image without handwriting must give no sure digit."""
    if label == "":
        return prediction is None or uncertain
    return prediction == label


def score(rows, images_dir, predictor):
    """Read every labelled image both ways; return one dict per image with both readings."""
    paths = [pathlib.Path(images_dir) / row["file"] for row in rows]
    baselines = baseline_predictions(paths, predictor)
    results = []
    for row, path, baseline in zip(rows, paths, baselines):
        prediction, uncertain = product_reading(path, predictor)
        results.append(
            {
                "file": str(path),
                "kind": row["kind"],
                "label": row["label"],
                "baseline": baseline,
                "prediction": prediction,
                "uncertain": uncertain,
                "right": is_right(row["label"], prediction, uncertain),
            }
        )
    return results


def summary_line(kind, results):
    """The JSON-ready accuracy of both readers over ``results``."""
    count = len(results)
    sure = [result for result in results if not result["uncertain"]]
    return {
        "kind": kind,
        "n": count,
        "baseline_accuracy": round(sum(result["baseline"] == result["label"] for result in results) / max(count, 1), 4),
        "product_accuracy": round(sum(result["right"] for result in results) / max(count, 1), 4),
        "product_no_digit": sum(result["prediction"] is None for result in results),
        "product_errors": sum(str(result["prediction"]).startswith("error: ") for result in results),
        "uncertain_fraction": round(1 - len(sure) / max(count, 1), 4),
        "sure_accuracy": round(sum(result["right"] for result in sure) / max(len(sure), 1), 4),
    }


def summarize(results):
    """One summary line per kind, in the generator's order of kinds, then the total."""
    present = {result["kind"] for result in results}
    kinds = [kind for kind in real_images.KINDS if kind in present] + sorted(present - set(real_images.KINDS))
    lines = [summary_line(kind, [result for result in results if result["kind"] == kind]) for kind in kinds]
    return lines + [summary_line("total", results)]


def write_failures(results, path):
    """Write the images the product reads wrongly as a CSV of file, kind, label and prediction."""
    with open(path, "w", newline="") as failures_file:
        writer = csv.DictWriter(failures_file, fieldnames=FAILURE_COLUMNS, quoting=csv.QUOTE_ALL, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(
            dict(result, prediction="" if result["prediction"] is None else result["prediction"])
            for result in results
            if not result["right"]
        )


def build_parser():
    parser = cli.parser(__doc__.split("\n\n")[0])
    cli.add_data_argument(parser)
    parser.add_argument(
        "--model",
        metavar="PATH",
        default=None,
        help="the .keras model both readers use (default: the one recognize.py uses)",
    )
    parser.add_argument(
        "--images",
        metavar="DIR",
        default=None,
        help="a set made by bench/real_images.py; default: generate one into --out",
    )
    parser.add_argument(
        "--out", metavar="DIR", default=real_images.DEFAULT_OUT, help=f"folder for a generated set and {FAILURES_FILE}"
    )
    parser.add_argument("--count", type=int, default=real_images.DEFAULT_COUNT, help="images per kind when generating")
    cli.add_seed_argument(parser, real_images.DEFAULT_SEED)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    out_dir = pathlib.Path(args.out)
    try:
        predictor = inference.load_predictor(args.model or model_file.default_model_path())
        if args.images is None:
            real_images.generate(out_dir, args.count, args.seed, data_path=args.data)
        images_dir = out_dir if args.images is None else pathlib.Path(args.images)
        rows = real_images.read_labels(images_dir)
    except ValueError as error:
        cli.fail(str(error))
    if not rows:
        cli.fail(f"{images_dir / real_images.LABELS_FILE} lists no images")
    results = score(rows, images_dir, predictor)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures_path = out_dir / FAILURES_FILE
    write_failures(results, failures_path)
    lines = summarize(results)
    lines[-1]["failures_csv"] = str(failures_path)
    for line in lines:
        print(json.dumps(line))
    return lines


if __name__ == "__main__":
    main()
