"""Recognition of the digit, or the whole number, in a person's image: the project's Python API.

``recognize(source, predictor)`` takes a file path or an array and returns a plain dict: the digit
string read left to right (``None`` when the image holds no digit), its confidence (the least
confident digit's), and per digit its probabilities and bounding box in the input's pixels.
``recognize_many`` does the same for many sources, predicting in batches, and reports a bad input as a
result with an ``error`` instead of stopping.
"""

import os

import numpy as np

from number_recognition import defaults
from number_recognition import preprocessing
from number_recognition import segmentation

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
BATCH_SIZE = 256


def image_paths(path):
    """The images a command-line PATH names: the file itself, or a folder's image files, sorted."""
    if os.path.isdir(path):
        names = sorted(name for name in os.listdir(path) if name.lower().endswith(IMAGE_SUFFIXES))
        if not names:
            raise preprocessing.ImageError(f"the folder has no image files ({', '.join(IMAGE_SUFFIXES)})")
        return [os.path.join(path, name) for name in names]
    return [path]


def prepare(source, single=False):
    """Preprocess a path or array into ``(inputs, boxes)``: one 28x28 input and one box per digit found."""
    if isinstance(source, (str, os.PathLike)):
        grey = preprocessing.image_to_grey(preprocessing.open_image(os.fspath(source)))
    else:
        grey = preprocessing.array_to_grey(source)
    original_height, original_width = grey.shape
    grey, scale = preprocessing.to_working_size(grey)
    ink, mask = preprocessing.extract_ink(preprocessing.denoise(grey))
    minimum_height = max(preprocessing.MIN_DIGIT_PIXELS, preprocessing.MIN_DIGIT_FRACTION * max(grey.shape))
    inputs, boxes = [], []
    for box, members in segmentation.group_digits(mask, single=single):
        left, top, right, bottom = box
        if bottom - top < minimum_height or preprocessing.is_blob(members[top:bottom, left:right]):
            continue
        inputs.append(preprocessing.normalize_digit(ink, box, members))
        boxes.append([min(original_width, round(left / scale)), min(original_height, round(top / scale)),
                      min(original_width, round(right / scale)), min(original_height, round(bottom / scale))])
    return np.array(inputs, dtype=np.float32).reshape(-1, defaults.IMAGE_SIZE, defaults.IMAGE_SIZE), boxes


def _result(name, inputs, boxes, probabilities):
    digits = [
        {"digit": int(np.argmax(row)), "confidence": float(np.max(row)),
         "probabilities": [round(float(value), 6) for value in row], "box": box}
        for row, box in zip(probabilities, boxes)
    ]
    return {
        "path": name,
        "prediction": "".join(str(digit["digit"]) for digit in digits) or None,
        "confidence": min((digit["confidence"] for digit in digits), default=None),
        "digits": digits,
        "inputs": inputs,
    }


def recognize_many(sources, predictor, single=False, batch_size=BATCH_SIZE):
    """Yield one result per source, in order; a source that fails yields ``{"path", "error"}``.

    Inputs of many images are predicted together in batches, which is what makes a folder fast.
    """
    pending = []

    def flush():
        inputs = [entry[1] for entry in pending if entry[1] is not None]
        stacked = np.concatenate(inputs) if inputs else np.zeros((0, defaults.IMAGE_SIZE, defaults.IMAGE_SIZE), np.float32)
        probabilities = predictor.predict(stacked) if len(stacked) else np.zeros((0, defaults.NUM_CLASSES), np.float32)
        start = 0
        for name, digit_inputs, boxes, error in pending:
            if error is not None:
                yield {"path": name, "error": error}
                continue
            count = len(digit_inputs)
            yield _result(name, digit_inputs, boxes, probabilities[start:start + count])
            start += count
        pending.clear()

    queued = 0
    for source in sources:
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        try:
            inputs, boxes = prepare(source, single=single)
            pending.append((name, inputs, boxes, None))
            queued += len(inputs)
        except preprocessing.ImageError as error:
            pending.append((name, None, None, str(error)))
        if queued >= batch_size:
            yield from flush()
            queued = 0
    yield from flush()


def recognize(source, predictor, single=False):
    """Recognize one image (a path or an array); raises ``ImageError`` if it cannot be read."""
    result = next(recognize_many([source], predictor, single=single))
    if "error" in result:
        raise preprocessing.ImageError(result["error"])
    return result


def as_json(result):
    """The JSON-ready part of a result (everything but the model inputs)."""
    return {key: value for key, value in result.items() if key != "inputs"}
