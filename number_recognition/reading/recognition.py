"""Reading the digit, or the whole number, in a person's image: the project's Python API.

``recognize(source, predictor)`` takes a file path, the file's bytes or an array and returns a
``Reading``: the digits found left to right, each with its probabilities, its box in the input's
pixels and the 28x28 image the model saw. ``recognize_many`` does the same for many sources,
predicting in batches, and reports a bad input as a ``Reading`` with an ``error`` instead of stopping.

    >>> predictor = inference.load_predictor("models/mnist_cnn.keras")
    >>> reading = recognize("year.png", predictor)
    >>> reading.prediction, round(reading.confidence, 2)
    ('2024', 0.91)
"""

import dataclasses
import os
import time

import numpy as np

from number_recognition import config
from number_recognition.reading import decode
from number_recognition.reading import ink
from number_recognition.reading import normalize
from number_recognition.reading import segmentation

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
# Results waiting for a batch are given out at least this often, so a slow folder still shows progress.
MAX_WAIT_SECONDS = 1.0
# Two pieces closer than this fraction of their height may be one digit drawn in two strokes; they
# are joined when the model reads the joined piece this much more surely than the less sure piece.
JOIN_GAP_FRACTION = 0.12
JOIN_CONFIDENCE_MARGIN = 0.2
# Two pieces are side by side on one line when they share this fraction of the shorter one's height.
JOIN_VERTICAL_OVERLAP = 0.5


@dataclasses.dataclass
class DigitReading:
    """One digit read: the model's probabilities, its box in the input's pixels, and the 28x28 input."""

    probabilities: np.ndarray
    box: segmentation.Box
    image: np.ndarray

    @property
    def digit(self):
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self):
        return float(np.max(self.probabilities))

    def as_json(self):
        return {
            "digit": self.digit,
            "confidence": self.confidence,
            "probabilities": [round(float(value), 6) for value in self.probabilities],
            "box": [int(value) for value in self.box],
        }


@dataclasses.dataclass
class Reading:
    """What one image says: its digits left to right, or the error that kept it from being read."""

    path: str = None
    digits: list = dataclasses.field(default_factory=list)
    error: str = None
    # The model file that read the digits, so every answer says where it came from.
    model: str = None

    @property
    def prediction(self):
        """The digits as a string, or None when the image holds none."""
        return "".join(str(digit.digit) for digit in self.digits) or None

    @property
    def confidence(self):
        """The least confident digit's confidence (a number is as sure as its weakest digit)."""
        return min((digit.confidence for digit in self.digits), default=None)

    @property
    def inputs(self):
        """The 28x28 images the model saw, one per digit, as one array."""
        size = config.IMAGE_SIZE
        return np.array([digit.image for digit in self.digits], dtype=np.float32).reshape(-1, size, size)

    def as_json(self):
        """The JSON object ``recognize.py --json`` prints for this image."""
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        return {
            "path": self.path,
            "model": self.model,
            "prediction": self.prediction,
            "confidence": self.confidence,
            "digits": [digit.as_json() for digit in self.digits],
        }


def image_paths(path):
    """The images a command-line PATH names: the file itself, or a folder's image files, sorted."""
    if not os.path.isdir(path):
        return [path]
    try:
        names = sorted(name for name in os.listdir(path) if name.lower().endswith(IMAGE_SUFFIXES))
    except OSError as error:
        raise decode.ImageError(f"cannot list the folder ({error.strerror})") from None
    if not names:
        raise decode.ImageError(f"the folder has no image files ({', '.join(IMAGE_SUFFIXES)})")
    return [os.path.join(path, name) for name in names]


def to_grey(source):
    """A path, the bytes of an image file, or an array, as a float32 grey image in [0, 1]."""
    if isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        return decode.image_to_grey(decode.open_image(source))
    return decode.array_to_grey(source)


def prepare(source, single=False, predictor=None):
    """Preprocess a source into ``(inputs, boxes)``: one 28x28 input and one box (input pixels) per digit.

    With a ``predictor``, neighbouring pieces that it reads much more surely as one digit are joined.
    """
    grey = to_grey(source)
    original_height, original_width = grey.shape
    region, (region_left, region_top), scale = ink.focus_on_ink(grey)
    strokes, mask = ink.extract_ink(ink.denoise(region))
    # Sizes are judged against the whole image, not the region the ink was found in.
    image_side = min(ink.WORKING_SIZE, scale * max(grey.shape))
    pieces = segmentation.find_digits(mask, image_side, single=single)
    inputs = [normalize.normalize_digit(strokes, piece.box, piece.members) for piece in pieces]
    if predictor is not None and len(pieces) > 1:
        pieces, inputs = _join_split_digits(strokes, pieces, inputs, predictor)

    def to_input_pixels(box):
        return segmentation.Box(
            min(original_width, region_left + round(box.left / scale)),
            min(original_height, region_top + round(box.top / scale)),
            min(original_width, region_left + round(box.right / scale)),
            min(original_height, region_top + round(box.bottom / scale)),
        )

    size = config.IMAGE_SIZE
    return np.array(inputs, dtype=np.float32).reshape(-1, size, size), [to_input_pixels(piece.box) for piece in pieces]


def _join_split_digits(strokes, pieces, inputs, predictor):
    """Join neighbouring pieces the model reads far more surely as one digit; return new pieces and inputs.

    An open 4 or a 5 whose strokes do not touch arrives as two pieces side by side, which look just
    like two digits written close together; only reading them tells the two cases apart.
    """
    pieces, inputs = list(pieces), list(inputs)
    confidences = list(predictor.predict(np.array(inputs)).max(axis=1))
    index = 0
    while index < len(pieces) - 1:
        first, second = pieces[index], pieces[index + 1]
        gap = second.box.left - first.box.right
        vertical_overlap = min(first.box.bottom, second.box.bottom) - max(first.box.top, second.box.top)
        tallest, shortest = sorted((first.box.height, second.box.height), reverse=True)
        if gap <= JOIN_GAP_FRACTION * tallest and vertical_overlap >= JOIN_VERTICAL_OVERLAP * shortest:
            joined = segmentation.Piece(first.box.union(second.box), first.members | second.members)
            joined_input = normalize.normalize_digit(strokes, joined.box, joined.members)
            confidence = float(predictor.predict(joined_input[None]).max())
            if confidence >= min(confidences[index], confidences[index + 1]) + JOIN_CONFIDENCE_MARGIN:
                pieces[index : index + 2] = [joined]
                inputs[index : index + 2] = [joined_input]
                confidences[index : index + 2] = [confidence]
                continue
        index += 1
    return pieces, inputs


@dataclasses.dataclass
class _Pending:
    """An image prepared and waiting for its batch to be predicted."""

    path: str
    inputs: np.ndarray = None
    boxes: list = None
    error: str = None


def _source_name(source):
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else None


def _prepare_or_error(source, single, predictor):
    """Prepare one source; any failure becomes that source's error message instead of an exception."""
    name = _source_name(source)
    try:
        inputs, boxes = prepare(source, single=single, predictor=predictor)
        return _Pending(name, inputs, boxes)
    except decode.ImageError as error:
        return _Pending(name, error=str(error))
    except MemoryError:
        return _Pending(name, error="reading the image ran out of memory")
    except Exception as error:  # One strange image must not end a run over a whole folder.
        return _Pending(name, error=f"the image could not be read ({type(error).__name__}: {error})")


def _predict_pending(pending, predictor):
    """Predict all inputs of the pending images in one call and give out their readings in order."""
    inputs = [entry.inputs for entry in pending if entry.error is None]
    size = config.IMAGE_SIZE
    stacked = np.concatenate(inputs) if inputs else np.zeros((0, size, size), np.float32)
    probabilities = predictor.predict(stacked) if len(stacked) else np.zeros((0, config.NUM_CLASSES), np.float32)
    start = 0
    for entry in pending:
        if entry.error is not None:
            yield Reading(entry.path, error=entry.error, model=predictor.path)
            continue
        rows = probabilities[start : start + len(entry.inputs)]
        start += len(entry.inputs)
        digits = [DigitReading(*digit) for digit in zip(rows, entry.boxes, entry.inputs)]
        yield Reading(entry.path, digits, model=predictor.path)


def recognize_many(sources, predictor, single=False, batch_size=config.PREDICT_BATCH_SIZE):
    """Yield one ``Reading`` per source, in order; a source that fails has its ``error`` set.

    Inputs of many images are predicted together in batches, which is what makes a folder fast;
    a batch is given out when it holds ``batch_size`` digits or has waited ``MAX_WAIT_SECONDS``.
    """
    pending, queued, started = [], 0, time.monotonic()
    for source in sources:
        entry = _prepare_or_error(source, single, predictor)
        pending.append(entry)
        queued += 0 if entry.inputs is None else len(entry.inputs)
        if queued >= batch_size or time.monotonic() - started >= MAX_WAIT_SECONDS:
            yield from _predict_pending(pending, predictor)
            pending, queued, started = [], 0, time.monotonic()
    yield from _predict_pending(pending, predictor)


def recognize(source, predictor, single=False):
    """Read one image (a path, the file's bytes, or an array); raises ``ImageError`` if it cannot be read."""
    reading = next(recognize_many([source], predictor, single=single))
    if reading.error is not None:
        raise decode.ImageError(reading.error)
    return reading
