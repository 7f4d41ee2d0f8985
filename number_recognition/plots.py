"""One function per figure, each writing a PNG for people to read: titles, axis labels, legible digits.

matplotlib runs with the Agg backend, so the plots work on machines without a screen.
"""

import os

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as pyplot  # noqa: E402  (the backend must be chosen before pyplot loads)
import numpy as np  # noqa: E402

DPI = 110
# Accuracy ticks for the logit-scaled history plot: readable percentages, dense near 100%.
ACCURACY_TICKS = (0.1, 0.2, 0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999)


def _save(figure, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    pyplot.close(figure)
    return path


def _grid_shape(count, columns):
    columns = max(1, min(columns, count))
    return max(1, -(-count // columns)), columns


def label_distribution(train_labels, test_labels, path):
    """Bars of how many train and test images each digit has, side by side, with the counts on top."""
    digits = np.arange(10)
    train_counts = np.bincount(train_labels, minlength=10)
    test_counts = np.bincount(test_labels, minlength=10)
    figure, axes = pyplot.subplots(figsize=(11, 4.5))
    width = 0.4
    for offset, counts, name in ((-width / 2, train_counts, "train"), (width / 2, test_counts, "test")):
        bars = axes.bar(digits + offset, counts, width, label=f"{name} ({counts.sum():,} images)")
        axes.bar_label(bars, labels=[f"{count:,}" for count in counts], fontsize=7, padding=2)
    axes.set_xticks(digits)
    axes.set_xlabel("digit")
    axes.set_ylabel("number of images")
    axes.set_title("MNIST label distribution")
    axes.legend()
    axes.margins(y=0.12)
    return _save(figure, path)


def _digit_grid(images, titles, heading, path, columns, cell_height):
    """Digits in a grid, each with its own title: the shared layout of the sample and error galleries."""
    rows, columns = _grid_shape(len(images), columns)
    figure, axes = pyplot.subplots(rows, columns, figsize=(1.9 * columns, cell_height * rows + 0.5), squeeze=False)
    for index, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if index < len(images):
            axis.imshow(images[index], cmap="gray_r")
            axis.set_title(titles[index], fontsize=9)
    figure.suptitle(heading)
    return _save(figure, path)


def sample_grid(images, labels, path, columns=10):
    """A grid of digit images, each titled with its label."""
    return _digit_grid(images, [f"label {label}" for label in labels], "Sample training digits", path, columns, 1.5)


def class_means(images, labels, path):
    """The mean image of each digit class."""
    figure, axes = pyplot.subplots(2, 5, figsize=(10, 4.6))
    for digit, axis in enumerate(axes.ravel()):
        axis.imshow(images[labels == digit].mean(axis=0), cmap="magma")
        axis.set_title(f"digit {digit} (n={np.sum(labels == digit):,})", fontsize=9)
        axis.axis("off")
    figure.suptitle("Mean training image of each digit")
    return _save(figure, path)


def training_history(history, metric, path):
    """Training and validation ``metric`` ('loss' or 'accuracy') per epoch, marking the kept epoch."""
    epochs = np.arange(1, len(history[metric]) + 1)
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    axes.plot(epochs, history[metric], marker="o", label=f"training {metric}")
    if f"val_{metric}" in history:
        axes.plot(epochs, history[f"val_{metric}"], marker="o", label=f"validation {metric}")
    best = history.get("best_epoch")
    if best:
        axes.axvline(best, color="grey", linestyle="--", label=f"kept weights: epoch {best}")
    axes.set_xlabel("epoch")
    axes.set_xticks(epochs)
    if metric == "accuracy":
        # A logit scale spreads out 0.98 to 0.995, where good models differ, and still shows a poor first epoch.
        axes.set_yscale("logit")
        values = [value for key in (metric, f"val_{metric}") for value in history.get(key, [])]
        ticks = [tick for tick in ACCURACY_TICKS if min(values) - 0.05 <= tick <= max(values) + 0.003]
        axes.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
        axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:.1%}"))
        axes.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        axes.set_ylabel("accuracy (logit scale)")
    else:
        # Smoothed targets put a floor under the loss well above zero, so the label names the smoothing.
        smoothing = history.get("config", {}).get("label_smoothing", 0)
        axes.set_ylabel(f"cross-entropy with label smoothing {smoothing}" if smoothing else "cross-entropy")
    axes.set_title(f"Training history: {metric}")
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)


def confusion_matrix(matrix, path):
    """The confusion matrix as a heat map with the count in every cell."""
    matrix = np.asarray(matrix)
    figure, axes = pyplot.subplots(figsize=(7.5, 6.5))
    image = axes.imshow(matrix, cmap="Blues", norm=matplotlib.colors.LogNorm(vmin=1, vmax=max(2, matrix.max())))
    threshold = np.sqrt(max(2, matrix.max()))
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axes.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if count > threshold else "black",
            )
    axes.set_xticks(range(len(matrix)))
    axes.set_yticks(range(len(matrix)))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    axes.set_title(f"Confusion matrix on {matrix.sum():,} test digits (accuracy {accuracy:.2%})")
    figure.colorbar(image, ax=axes, label="count (log scale)")
    return _save(figure, path)


def misclassified_gallery(images, labels, predictions, confidences, path, columns=6):
    """The given misclassified digits with their true label, prediction and confidence."""
    if len(images) == 0:
        figure, axes = pyplot.subplots(figsize=(5, 2))
        axes.axis("off")
        axes.text(0.5, 0.5, "no misclassified test digits", ha="center", va="center")
        return _save(figure, path)
    titles = [
        f"true {label}, read {prediction}\n{confidence:.1%} sure"
        for label, prediction, confidence in zip(labels, predictions, confidences)
    ]
    return _digit_grid(images, titles, "Most confidently misclassified test digits", path, columns, 2.2)


def recognition_inputs(inputs, probabilities, title, path):
    """Each 28x28 input the model saw beside a bar chart of its ten probabilities."""
    count = len(inputs)
    figure, axes = pyplot.subplots(
        count,
        2,
        figsize=(7, 2.2 * count + 0.6),
        squeeze=False,
        gridspec_kw={"width_ratios": [1, 2.2]},
        layout="constrained",
    )
    for index in range(count):
        image_axis, bar_axis = axes[index]
        image_axis.imshow(inputs[index], cmap="gray", vmin=0, vmax=1)
        image_axis.set_title(f"model input {index + 1} (28x28)", fontsize=9)
        image_axis.axis("off")
        best = int(np.argmax(probabilities[index]))
        colours = ["tab:orange" if digit == best else "tab:blue" for digit in range(10)]
        bar_axis.bar(range(10), probabilities[index], color=colours)
        bar_axis.set_xticks(range(10))
        bar_axis.set_ylim(0, 1)
        bar_axis.set_xlabel("digit")
        bar_axis.set_ylabel("probability")
        bar_axis.set_title(f"digit {index + 1} read as {best} ({probabilities[index][best]:.1%})", fontsize=9)
    figure.suptitle(title)
    return _save(figure, path)
