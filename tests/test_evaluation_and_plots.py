"""Test-set metrics against hand computations and Keras' own metrics, and every plot as a real PNG."""

import numpy as np
import PIL.Image
import pytest

from number_recognition import evaluation
from number_recognition import keras_import
from number_recognition import plots


def test_confusion_matrix_and_scores_by_hand():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predictions = np.array([0, 1, 1, 1, 2, 0])
    matrix = evaluation.confusion_matrix(labels, predictions, num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    scores = evaluation.per_class_scores(matrix)
    assert scores[0]["precision"] == pytest.approx(0.5) and scores[0]["recall"] == pytest.approx(0.5)
    assert scores[1]["precision"] == pytest.approx(2 / 3) and scores[1]["recall"] == pytest.approx(1.0)
    assert scores[1]["f1"] == pytest.approx(0.8) and scores[2]["support"] == 2


def test_scores_match_keras_metrics():
    keras = keras_import.import_keras()
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=500).astype(np.float32)
    labels = rng.integers(0, 10, 500)
    report = evaluation.metrics_report(probabilities, labels)
    one_hot = np.eye(10)[labels]
    for digit in range(10):
        precision = keras.metrics.Precision(class_id=digit, top_k=1)
        recall = keras.metrics.Recall(class_id=digit, top_k=1)
        precision.update_state(one_hot, probabilities)
        recall.update_state(one_hot, probabilities)
        assert report["per_class"][digit]["precision"] == pytest.approx(float(precision.result()), abs=1e-6)
        assert report["per_class"][digit]["recall"] == pytest.approx(float(recall.result()), abs=1e-6)
    expected_loss = float(keras.losses.CategoricalCrossentropy()(one_hot, probabilities))
    assert report["test_loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert report["test_accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == labels))


def test_most_confident_errors_come_first():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = np.array([0, 0, 1, 0])
    assert evaluation.most_confident_errors(probabilities, labels, 5).tolist() == [1, 3, 2]
    assert evaluation.most_confident_errors(probabilities, labels, 1).tolist() == [1]


def assert_png(path, minimum_side=150):
    with PIL.Image.open(path) as image:
        image.verify()
    with PIL.Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) >= minimum_side
        # A real figure has ink on it, not one flat colour.
        assert len(np.unique(np.asarray(image.convert("L")))) > 5


def test_every_plot_writes_a_readable_png(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (30, 28, 28)).astype(np.uint8)
    labels = np.arange(30) % 10
    history = {
        "loss": [1.0, 0.5, 0.4],
        "val_loss": [0.9, 0.6, 0.5],
        "accuracy": [0.7, 0.8, 0.9],
        "val_accuracy": [0.72, 0.85, 0.84],
        "best_epoch": 2,
    }
    probabilities = rng.dirichlet(np.ones(10), size=3)
    written = [
        plots.label_distribution(labels, labels[:10], str(tmp_path / "labels.png")),
        plots.sample_grid(images[:20], labels[:20], str(tmp_path / "samples.png")),
        plots.class_means(images, labels, str(tmp_path / "means.png")),
        plots.training_history(history, "loss", str(tmp_path / "loss.png")),
        plots.training_history(history, "accuracy", str(tmp_path / "accuracy.png")),
        plots.confusion_matrix(evaluation.confusion_matrix(labels, labels[::-1]), str(tmp_path / "confusion.png")),
        plots.misclassified_gallery(
            images[:7], labels[:7], labels[1:8], probabilities[:, 0].tolist() * 3, str(tmp_path / "gallery.png")
        ),
        plots.misclassified_gallery(images[:0], [], [], [], str(tmp_path / "empty_gallery.png")),
        plots.recognition_inputs(images[:3] / 255.0, probabilities, "three digits", str(tmp_path / "inputs.png")),
    ]
    for path in written:
        assert_png(path)
