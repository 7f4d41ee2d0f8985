"""Choose when a digit is marked uncertain, on validation data, and show the trade-off on the test set.

A reader that says "not sure" about a few digits lets people check those and trust the rest. Each
candidate score ranks the digits from least to most sure:

* ``max_probability``: the probability of the digit read;
* ``margin``: that probability minus the runner-up's;
* ``entropy``: minus the entropy of the probabilities.

The threshold is chosen on the validation split, the last 10% of MNIST's training set, which
``train.py`` holds out for both architectures, never on the test set: the lowest margin above which the
sure digits are right ``--target-accuracy`` (99.8%) of the time, but never marking more than
``--max-uncertain`` (2%, less a safety allowance) uncertain. The script prints, for each score, its
threshold and the fraction marked uncertain and the accuracy of the sure digits on validation and
test, names the score whose sure digits are right most often on validation, gives the same two
figures for the product's reading of the test digits (``recognize_many`` on the arrays, with the
margin in use), and plots accuracy of sure digits against fraction uncertain for every score as
``docs/uncertainty.png``. The margin in use is ``recognition.UNCERTAIN_MARGIN``.

    python bench/uncertainty.py --data $MNIST_NPZ --model models/mnist_mlp.keras
"""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as pyplot  # noqa: E402  (the backend must be chosen before pyplot loads)
import numpy as np  # noqa: E402

from number_recognition import cli  # noqa: E402
from number_recognition import config  # noqa: E402
from number_recognition import data  # noqa: E402
from number_recognition.reading import inference  # noqa: E402
from number_recognition.reading import model_file  # noqa: E402
from number_recognition.reading import recognition  # noqa: E402

DEFAULT_PLOT = "docs/uncertainty.png"
# The acceptance targets: at most this fraction of MNIST test digits uncertain, the sure ones right this often.
MAX_UNCERTAIN = 0.02
TARGET_ACCURACY = 0.998
# The validation split is not the test set: the threshold leaves this much of the 2% unused, so a
# test set slightly less sure than validation still stays under it.
SAFETY = 0.002


def scores(probabilities):
    """Each candidate score of every row of probabilities: higher means surer."""
    ordered = np.sort(probabilities, axis=1)
    clipped = np.clip(probabilities, 1e-12, 1.0)
    return {
        "max_probability": ordered[:, -1],
        "margin": ordered[:, -1] - ordered[:, -2],
        "entropy": (clipped * np.log(clipped)).sum(axis=1),
    }


def trade_off(score, right):
    """For every cut-off (from none uncertain to all but one): fraction uncertain and accuracy of the sure."""
    order = np.argsort(score, kind="stable")
    right_sorted = right[order].astype(np.float64)
    count = len(score)
    # Marking the k least sure uncertain leaves right_sorted[k:] as the sure ones.
    right_after = np.cumsum(right_sorted[::-1])[::-1]
    uncertain_counts = np.arange(count)
    return uncertain_counts / count, right_after / (count - uncertain_counts)


def figures(score, right, threshold):
    """Fraction marked uncertain and accuracy of the sure ones at ``threshold``."""
    sure = score >= threshold
    return {
        "uncertain_fraction": round(1 - float(sure.mean()), 4),
        "sure_accuracy": round(float(right[sure].mean()) if sure.any() else 1.0, 5),
    }


def choose_threshold(score, right, max_uncertain, target_accuracy):
    """The lowest threshold whose sure digits reach ``target_accuracy``, marking at most ``max_uncertain``.

    When no threshold reaches the target within the allowance, the one that marks ``max_uncertain``.
    """
    uncertain, accuracy = trade_off(score, right)
    ordered = np.sort(score)
    allowed = uncertain <= max_uncertain
    reaching = np.flatnonzero(allowed & (accuracy >= target_accuracy))
    cut = reaching[0] if len(reaching) else np.flatnonzero(allowed)[-1]
    # subtle: the threshold sits at the first sure digit's score, so exactly ``cut`` digits lie below it.
    return float(ordered[cut])


def product_test_figures(images, labels, predictor):
    """The product's reading of test digits: fraction of readings uncertain and accuracy of the sure ones."""
    readings = list(recognition.recognize_many(list(images), predictor))
    uncertain = np.array([reading.uncertain for reading in readings])
    right = np.array([reading.prediction == str(label) for reading, label in zip(readings, labels)])
    return {
        "uncertain_fraction": round(float(uncertain.mean()), 4),
        "sure_accuracy": round(float(right[~uncertain].mean()), 5),
        "accuracy": round(float(right.mean()), 5),
        "margin_in_use": recognition.UNCERTAIN_MARGIN,
    }


def plot(curves, chosen_score, chosen, path):
    """Accuracy of the sure digits against the fraction marked uncertain, one line per score and split."""
    figure, axes = pyplot.subplots(figsize=(7.5, 5))
    styles = {"validation": "--", "test": "-"}
    colours = dict(zip(curves["validation"], ("tab:blue", "tab:orange", "tab:green")))
    for split, by_score in curves.items():
        for name, (uncertain, accuracy) in by_score.items():
            shown = uncertain <= 0.1
            axes.plot(
                100 * uncertain[shown],
                100 * accuracy[shown],
                styles[split],
                color=colours[name],
                label=f"{name} ({split})",
            )
    axes.axvline(100 * MAX_UNCERTAIN, color="grey", linewidth=0.8)
    axes.axhline(100 * TARGET_ACCURACY, color="grey", linewidth=0.8)
    axes.plot(
        100 * chosen["uncertain_fraction"],
        100 * chosen["sure_accuracy"],
        "ko",
        label=f"threshold chosen on validation ({chosen_score}), on test",
    )
    axes.set_xlabel("digits marked uncertain (%)")
    axes.set_ylabel("accuracy of the digits marked sure (%)")
    axes.set_title("Saying when unsure on MNIST: the trade-off of each score")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.savefig(path, dpi=110, bbox_inches="tight")
    pyplot.close(figure)


def build_parser():
    parser = cli.parser(__doc__.split("\n\n")[0])
    cli.add_data_argument(parser)
    parser.add_argument("--model", metavar="PATH", default=None, help="the .keras model (default: recognize.py's)")
    parser.add_argument("--plot", metavar="PNG", default=DEFAULT_PLOT, help="where to draw the trade-off")
    parser.add_argument("--max-uncertain", type=float, default=MAX_UNCERTAIN, help="most digits to mark uncertain")
    parser.add_argument(
        "--target-accuracy", type=float, default=TARGET_ACCURACY, help="accuracy the sure digits should reach"
    )
    parser.add_argument(
        "--product-count", type=int, default=10000, help="test digits also read through recognize_many (0: none)"
    )
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    with cli.reporting_errors():
        (x_train, y_train), (x_test, y_test) = data.load_mnist(args.data)
        predictor = inference.load_predictor(args.model or model_file.default_model_path())
    # subtle: the last tenth is held out by both architectures' defaults (the MLP holds out a fifth), so no
    # default model has trained on these digits.
    held_out = min(settings().validation_split for settings in config.CONFIGS.values())
    _, (x_validation, y_validation) = data.split_validation(x_train, y_train, held_out)
    splits = {"validation": (x_validation, y_validation), "test": (x_test, y_test)}
    curves, lines, by_split = {}, [], {}
    for split, (images, labels) in splits.items():
        probabilities = predictor.predict(data.to_inputs(images))
        right = probabilities.argmax(axis=1) == labels
        by_split[split] = (scores(probabilities), right)
        curves[split] = {name: trade_off(score, right) for name, score in by_split[split][0].items()}
    validation_scores, validation_right = by_split["validation"]
    for name in validation_scores:
        threshold = choose_threshold(
            validation_scores[name], validation_right, args.max_uncertain - SAFETY, args.target_accuracy
        )
        line = {"score": name, "threshold": round(threshold, 4)}
        for split, (split_scores, right) in by_split.items():
            line[split] = figures(split_scores[name], right, threshold)
        lines.append(line)
        print(json.dumps(line))
    # The score whose sure digits are right most often on validation is the one to use.
    best = max(lines, key=lambda line: line["validation"]["sure_accuracy"])
    plot(curves, best["score"], best["test"], args.plot)
    if args.product_count:
        product = product_test_figures(x_test[: args.product_count], y_test[: args.product_count], predictor)
        print(json.dumps({"reader": "recognize_many on test digits", **product}))
    print(json.dumps({"best_score_on_validation": best["score"], "threshold": best["threshold"], "plot": args.plot}))


if __name__ == "__main__":
    main()
