"""The shortcuts that make reading a folder fast give exactly what the plain ways of computing the same thing give."""

import numpy as np

from number_recognition.reading import decode
from number_recognition.reading import ink
from number_recognition.reading import normalize
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


def test_8_bit_levels_are_scaled_as_every_unsigned_type_is():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    expected = (levels.astype(np.float64) / 255).astype(np.float32)
    grey = decode.array_to_grey(levels)
    assert grey.dtype == np.float32 and np.array_equal(grey, expected)
