"""Metrics that explain a model's test accuracy: loss, confusion matrix, per-class scores, worst errors."""

import numpy as np

from number_recognition import config


def cross_entropy(probabilities, labels):
    """Mean categorical cross-entropy of predicted probabilities against integer labels."""
    picked = probabilities[np.arange(len(labels)), labels]
    # Clipping keeps one zero probability from making the mean infinite, as Keras does.
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


def confusion_matrix(labels, predictions, num_classes=config.NUM_CLASSES):
    """Counts with true labels as rows and predicted labels as columns."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def per_class_scores(matrix):
    """Precision, recall, F1 and support for each class of a confusion matrix (0 where undefined)."""
    true_positives = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros_like(true_positives), where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros_like(true_positives), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return [
        {
            "class": digit,
            "precision": float(precision[digit]),
            "recall": float(recall[digit]),
            "f1": float(f1[digit]),
            "support": int(actual[digit]),
        }
        for digit in range(len(matrix))
    ]


def metrics_report(probabilities, labels):
    """Everything evaluate.py writes to metrics.json, computed from test-set probabilities."""
    labels = np.asarray(labels)
    predictions = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predictions)
    return {
        "test_accuracy": float(np.mean(predictions == labels)),
        "test_loss": cross_entropy(probabilities, labels),
        "test_samples": int(len(labels)),
        "per_class": per_class_scores(matrix),
        "confusion_matrix": matrix.tolist(),
    }


def most_confident_errors(probabilities, labels, count):
    """Indices of up to ``count`` misclassified samples, the most confidently wrong first."""
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != np.asarray(labels))
    confidence = probabilities[wrong, predictions[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:count]
