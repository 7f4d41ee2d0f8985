"""The shortcuts that make reading a folder fast give exactly what the plain ways of computing the same thing give."""

import numpy as np
import PIL.Image
import PIL.ImageDraw

from number_recognition.reading import decode
from number_recognition.reading import ink
from number_recognition.reading import normalize
from number_recognition.reading import recognition
from number_recognition.reading import segmentation


def random_values(rng, size):
    """Float32 values with many ties (as 8-bit levels give) or none, so both kinds of partition are probed."""
    if rng.random() < 0.5:
        return (rng.integers(0, 6, size) / 5).astype(np.float32)
    return rng.standard_normal(size).astype(np.float32)


def test_median_and_percentile_are_numpys():
    rng = np.random.default_rng(0)
    for _ in range(3000):
        values = random_values(rng, int(rng.integers(1, 200)))
        q = float(rng.choice([0, 10, 50, 90, 100, rng.uniform(0, 100)]))
        pairs = ((ink.median(values), np.median(values)), (ink.percentile(values, q), np.percentile(values, q)))
        for mine, numpys in pairs:
            assert mine == numpys and mine.dtype == numpys.dtype


def test_median_does_not_reorder_its_input():
    values = np.array([[3, 1], [2, 0]], dtype=np.float32)
    ink.median(values)
    ink.percentile(values, 90)
    assert values.tolist() == [[3, 1], [2, 0]]


def test_hysteresis_by_growing_is_hysteresis_by_labelling(monkeypatch):
    rng = np.random.default_rng(2)
    masks = []
    for _ in range(300):
        height, width = (int(size) for size in rng.integers(1, 40, 2))
        weak = rng.random((height, width)) < rng.random()
        masks.append((weak & (rng.random((height, width)) < 0.1), weak))
    grown = [ink.hysteresis(strong, weak) for strong, weak in masks]
    # With no growth step allowed, every mask is labelled instead.
    monkeypatch.setattr(ink, "MAX_GROWTH_STEPS", 0)
    for (strong, weak), by_growing in zip(masks, grown):
        labels, _ = segmentation.label_components(weak)
        expected = np.isin(labels, labels[strong]) & weak
        assert np.array_equal(ink.hysteresis(strong, weak), expected)
        assert np.array_equal(by_growing, expected)


def test_stroke_width_and_grow_mask_are_their_padded_definitions():
    rng = np.random.default_rng(3)
    for _ in range(300):
        height, width = (int(size) for size in rng.integers(1, 30, 2))
        mask = rng.random((height, width)) < rng.random()
        padded = np.pad(mask, 1)
        interior = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
        boundary = np.count_nonzero(mask & ~interior)
        assert normalize.stroke_width(mask) == 2.0 * np.count_nonzero(mask) / max(boundary, 1)
        square = np.zeros_like(mask)
        for row_shift in range(3):
            for column_shift in range(3):
                square |= padded[row_shift : row_shift + height, column_shift : column_shift + width]
        assert np.array_equal(normalize.grow_mask(mask), square)


def test_scaling_to_the_size_an_image_has_is_pillows_resize():
    rng = np.random.default_rng(4)
    for _ in range(100):
        height, width = (int(size) for size in rng.integers(1, 30, 2))
        # Lanczos overshoot leaves values past [0, 1]; the scaling clips them and lifts the peak to 1.
        image = rng.uniform(-0.2, 1.2, (height, width)).astype(np.float32)
        original = image.copy()
        resized = np.asarray(PIL.Image.fromarray(image).resize((width, height), PIL.Image.Resampling.LANCZOS))
        expected = np.minimum(np.maximum(resized, 0.0), 1.0)
        expected /= expected.max()
        scaled = normalize._scaled(image, max(height, width))
        assert scaled.dtype == np.float32 and np.array_equal(scaled, expected)
        assert np.array_equal(image, original)


def test_8_bit_levels_are_scaled_as_every_unsigned_type_is():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    expected = (levels.astype(np.float64) / 255).astype(np.float32)
    grey = decode.array_to_grey(levels)
    assert grey.dtype == np.float32 and np.array_equal(grey, expected)


def test_grouping_a_mask_is_grouping_its_labelled_components():
    # group_digits skips the label image of a mask in one piece, and finds each group's pixels by a
    # lookup table: both must give what grouping the labelled components gives, np.isin included.
    rng = np.random.default_rng(4)
    one_piece = 0
    for _ in range(400):
        height, width = (int(size) for size in rng.integers(1, 40, 2))
        mask = rng.random((height, width)) < rng.uniform(0.02, 0.6)
        labels, count = segmentation.label_components(segmentation.bridge_thin_gaps(mask))
        one_piece += count == 1
        labelled = np.where(mask, labels, 0)
        for single in (False, True):
            pieces = segmentation.group_digits(mask, single=single)
            expected = segmentation._grouped_components(labelled, count, single) if count else []
            assert [piece.box for piece in pieces] == [piece.box for piece in expected]
            for piece, other in zip(pieces, expected):
                assert piece.members.dtype == bool and np.array_equal(piece.members, other.members)
                assert np.array_equal(piece.members, np.isin(labelled, np.unique(labelled[piece.members])))
    assert one_piece > 50


class ProjectionModel:
    """A stand-in model whose readings depend on every pixel, each image read on its own: a batch changes nothing."""

    path = "projection"

    def __init__(self):
        self.weights = np.random.default_rng(0).standard_normal((28 * 28, 10)).astype(np.float32) / 2
        self.images_read = 0

    def predict(self, images):
        images = np.asarray(images, dtype=np.float32)
        self.images_read += len(images)
        logits = np.array([image.ravel() @ self.weights for image in images]).reshape(-1, 10)
        exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)


def drawn_numbers(count, seed=0):
    """Lines of 1 to 4 strokes (rings, bars, hooks), some touching or overlapping their neighbour."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        picture = PIL.Image.new("L", (200, 64), 255)
        draw = PIL.ImageDraw.Draw(picture)
        left = 8
        for _ in range(int(rng.integers(1, 5))):
            width, top, kind = int(rng.integers(14, 34)), int(rng.integers(4, 12)), rng.integers(3)
            if kind == 0:
                draw.ellipse((left, top, left + width, top + 44), outline=0, width=4)
            elif kind == 1:
                draw.line((left + width // 2, top, left + width // 2, top + 44), fill=0, width=4)
            else:
                draw.line((left, top, left, top + 28, left + width, top + 28), fill=0, width=4)
                draw.line((left + width, top, left + width, top + 44), fill=0, width=4)
            left += width + int(rng.integers(-4, 10))
        yield np.asarray(picture)


def test_a_batch_is_read_as_its_images_are_one_by_one():
    # Reading a batch asks the model about all its pieces at once and remembers the answers; the
    # joins, cuts and probabilities must be those of preparing and predicting each image alone.
    images = list(drawn_numbers(40))
    model = ProjectionModel()
    readings = list(recognition.recognize_many(images, model))
    read_in_batch, model.images_read = model.images_read, 0
    changed = 0
    for image, reading in zip(images, readings):
        inputs, boxes = recognition.prepare(image, predictor=model)
        expected = model.predict(inputs)
        assert [digit.box for digit in reading.digits] == boxes
        assert np.array_equal(reading.inputs, inputs)
        assert np.array_equal(np.reshape([digit.probabilities for digit in reading.digits], (-1, 10)), expected)
        changed += len(inputs) != len(recognition.find_pieces(image).inputs)
    # Some pieces were joined or cut, which the model was asked about; the batch read fewer inputs.
    assert changed >= 3
    assert read_in_batch < model.images_read


def test_remembered_readings_are_the_models():
    model = ProjectionModel()
    remembering = recognition._RememberingPredictor(model)
    images = np.random.default_rng(5).random((6, 28, 28)).astype(np.float32)
    first = remembering.predict(images[:4])
    again = remembering.predict(np.concatenate([images[2:], images[:1], images[2:3]]))
    assert np.array_equal(first, model.predict(images[:4]))
    assert np.array_equal(again, model.predict(np.concatenate([images[2:], images[:1], images[2:3]])))
    # Each distinct image was read once by the model (and twice more here, for the expected values).
    assert model.images_read == 6 + 4 + 6
    assert remembering.predict(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)
