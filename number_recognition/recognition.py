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
# Two pieces closer than this fraction of their height may be one digit drawn in two strokes; they
# are joined when the model reads the joined piece this much more surely than the less sure piece.
JOIN_GAP_FRACTION = 0.12
JOIN_CONFIDENCE_MARGIN = 0.2


def image_paths(path):
    """The images a command-line PATH names: the file itself, or a folder's image files, sorted."""
    if os.path.isdir(path):
        names = sorted(name for name in os.listdir(path) if name.lower().endswith(IMAGE_SUFFIXES))
        if not names:
            raise preprocessing.ImageError(f"the folder has no image files ({', '.join(IMAGE_SUFFIXES)})")
        return [os.path.join(path, name) for name in names]
    return [path]


def prepare(source, single=False, predictor=None):
    """Preprocess a path or array into ``(inputs, boxes)``: one 28x28 input and one box per digit found.

    With a ``predictor``, neighbouring pieces that it reads much more surely as one digit are joined.
    """
    if isinstance(source, (str, os.PathLike)):
        grey = preprocessing.image_to_grey(preprocessing.open_image(os.fspath(source)))
    else:
        grey = preprocessing.array_to_grey(source)
    original_height, original_width = grey.shape
    region, (region_left, region_top), scale = preprocessing.focus_on_ink(grey)
    ink, mask = preprocessing.extract_ink(preprocessing.denoise(region))
    # Sizes are judged against the whole image, not the region the ink was found in.
    minimum_height = max(preprocessing.MIN_DIGIT_PIXELS,
                         preprocessing.MIN_DIGIT_FRACTION * min(preprocessing.WORKING_SIZE, scale * max(grey.shape)))
    digits = [(box, members) for box, members in segmentation.group_digits(mask, single=single)
              if box[3] - box[1] >= minimum_height and not preprocessing.is_blob(members[box[1]:box[3], box[0]:box[2]])]
    inputs = [preprocessing.normalize_digit(ink, box, members) for box, members in digits]
    if predictor is not None and len(digits) > 1:
        _join_split_digits(ink, digits, inputs, predictor)
    boxes = [[min(original_width, region_left + round(left / scale)), min(original_height, region_top + round(top / scale)),
              min(original_width, region_left + round(right / scale)), min(original_height, region_top + round(bottom / scale))]
             for (left, top, right, bottom), _ in digits]
    return np.array(inputs, dtype=np.float32).reshape(-1, defaults.IMAGE_SIZE, defaults.IMAGE_SIZE), boxes


def _join_split_digits(ink, digits, inputs, predictor):
    """Join, in place, neighbouring pieces the model reads far more surely as one digit.

    An open 4 or a 5 whose strokes do not touch arrives as two pieces side by side, which look just
    like two digits written close together; only reading them tells the two cases apart.
    """
    confidences = list(predictor.predict(np.array(inputs)).max(axis=1))
    index = 0
    while index < len(digits) - 1:
        (first, first_members), (second, second_members) = digits[index], digits[index + 1]
        heights = (first[3] - first[1], second[3] - second[1])
        gap = second[0] - first[2]
        vertical_overlap = min(first[3], second[3]) - max(first[1], second[1])
        if gap <= JOIN_GAP_FRACTION * max(heights) and vertical_overlap >= 0.5 * min(heights):
            box = (first[0], min(first[1], second[1]), max(first[2], second[2]), max(first[3], second[3]))
            members = first_members | second_members
            joined = preprocessing.normalize_digit(ink, box, members)
            confidence = float(predictor.predict(joined[None]).max())
            if confidence >= min(confidences[index], confidences[index + 1]) + JOIN_CONFIDENCE_MARGIN:
                digits[index:index + 2] = [(box, members)]
                inputs[index:index + 2] = [joined]
                confidences[index:index + 2] = [confidence]
                continue
        index += 1


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
            inputs, boxes = prepare(source, single=single, predictor=predictor)
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
