"""The preprocessing steps for corrupted images, each on a small synthetic digit: specks, outlines, stripes, fog.

Each test corrupts an MNIST-sized digit the way MNIST-C does (and a person's image can: a dusty scan,
an edge-detected drawing, a canvas with dark strips, a shadow) and checks that the model would see
nearly what it sees for the clean digit, and that the clean digit takes the path it always took.
"""

import numpy as np
import PIL.Image
import PIL.ImageDraw
import pytest

from number_recognition.reading import ink
from number_recognition.reading import recognition
from number_recognition.reading import splitting


def seven(width=3):
    """A white '7' on a black 28x28 canvas, as MNIST's digits are, in [0, 1]."""
    image = PIL.Image.new("L", (28, 28), 0)
    PIL.ImageDraw.Draw(image).line([(8, 6), (20, 6), (12, 23)], fill=255, width=width, joint="curve")
    return np.asarray(image, dtype=np.float32) / 255


def only_input(grey):
    inputs, _ = recognition.prepare(grey)
    assert inputs.shape == (1, 28, 28), f"expected one digit, found {len(inputs)}"
    return inputs[0]


def mean_difference(grey, reference):
    return float(np.abs(only_input(grey) - only_input(reference)).mean())


def test_a_clean_small_digit_has_no_specks_and_is_not_filtered():
    digit = seven()
    assert not ink.is_speckled(digit)
    assert ink.denoise(digit) is digit


@pytest.mark.parametrize("dark_ground", [True, False])
def test_salt_and_pepper_specks_are_removed(dark_ground):
    rng = np.random.default_rng(0)
    digit = seven()
    speckled = digit.copy()
    for level in (1.0, 0.0):
        rows, columns = rng.integers(0, 27, size=(2, 60))
        speckled[rows, columns] = level
    if not dark_ground:
        digit, speckled = 1.0 - digit, 1.0 - speckled
    assert ink.is_speckled(speckled)
    _, mask = ink.extract_ink(ink.denoise(speckled))
    _, clean_mask = ink.extract_ink(digit)
    # No speck is left far from the strokes: every pixel of the mask is at most one pixel off the clean one.
    grown = clean_mask.copy()
    grown[1:] |= clean_mask[:-1]
    grown[:-1] |= clean_mask[1:]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    assert not (mask & ~grown).any()
    assert mean_difference(speckled, digit) < 0.08


def test_a_few_specks_leave_a_small_image_as_it_is():
    digit = seven()
    # One speck fewer than MIN_SPECKS, each a bright pixel alone on the ground.
    for index in range(ink.MIN_SPECKS - 1):
        digit[2, 2 + 3 * index] = 1.0
    assert not ink.is_speckled(digit)
    digit[25, 3] = 1.0
    assert ink.is_speckled(digit)
    digit[25, 3] = 0.0
    assert ink.denoise(digit) is digit


def outline(mask):
    """The pixels of ``mask`` with a 4-neighbour outside it: the shape drawn as its 1-pixel outline."""
    padded = np.pad(mask, 1)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~interior


def test_a_digit_drawn_as_its_outline_is_filled():
    solid = seven(width=5) > 0.5
    hollow = outline(solid)
    assert (solid & ~hollow).any()
    _, mask = ink.extract_ink(hollow.astype(np.float32))
    # The inside of the strokes is filled (but for a pixel or two where the 2x2 closing shut a
    # narrow end), and the closing adds at most a pixel along the outline.
    assert np.count_nonzero(mask[solid]) >= 0.97 * np.count_nonzero(solid)
    assert np.count_nonzero(mask & ~solid) <= 0.25 * np.count_nonzero(solid)
    assert mean_difference(hollow.astype(np.float32), solid.astype(np.float32)) < 0.06


def test_the_loop_of_a_zero_drawn_with_a_pencil_stays_open():
    image = PIL.Image.new("L", (28, 28), 0)
    PIL.ImageDraw.Draw(image).ellipse((7, 4, 20, 23), outline=255, width=1)
    ring = np.asarray(image, dtype=np.float32) / 255
    _, mask = ink.extract_ink(ring)
    assert not mask[10:18, 11:17].any()
    assert ink.hollow_insides(ring > 0.5) is None


def test_a_striped_ground_gives_the_digit_back():
    digit = seven()
    striped = digit.copy()
    striped[:, :7] = 1.0 - striped[:, :7]
    striped[:, 21:] = 1.0 - striped[:, 21:]
    assert ink.banded_ground(striped, ink.border(striped)) is not None
    assert mean_difference(striped, digit) < 0.02


def test_a_thick_seven_running_off_a_tight_crop_is_ink_not_a_band():
    # A scanned 7 cropped to its strokes: its bar is a dark band along the top, from edge to edge,
    # which the left and right borders agree on; but nothing is written on it.
    image = PIL.Image.new("L", (28, 28), 230)
    draw = PIL.ImageDraw.Draw(image)
    draw.rectangle((0, 0, 27, 8), fill=25)
    draw.line([(22, 8), (9, 27)], fill=25, width=7)
    seven_crop = np.asarray(image, dtype=np.float32) / 255
    assert ink.banded_ground(seven_crop, ink.border(seven_crop)) is None
    assert not ink.has_uneven_ground(seven_crop, ink.border(seven_crop))
    _, mask = ink.extract_ink(seven_crop)
    np.testing.assert_array_equal(mask, seven_crop < 0.5)


@pytest.mark.parametrize(
    "image",
    [seven(), 1.0 - seven(), np.zeros((28, 28), np.float32), np.tile(np.linspace(0, 1, 28, dtype=np.float32), (28, 1))],
    ids=["digit", "inverted digit", "blank", "smooth ramp"],
)
def test_an_image_without_two_level_bands_keeps_one_ground(image):
    assert ink.banded_ground(image, ink.border(image)) is None


def test_a_small_digit_under_uneven_fog_gets_a_local_ground():
    digit = seven()
    rows, columns = np.indices(digit.shape)
    fog = 0.45 * (0.5 + 0.5 * np.sin(rows / 5.0) * np.cos(columns / 7.0))
    foggy = (0.25 * digit + fog).astype(np.float32)
    assert ink.has_uneven_ground(foggy, ink.border(foggy))
    _, mask = ink.extract_ink(foggy)
    strokes = digit > 0.5
    # The fog's bright patches are ground, not ink: the mask is the strokes, give or take their edges.
    assert np.count_nonzero(mask & strokes) >= 0.8 * np.count_nonzero(strokes)
    assert np.count_nonzero(mask & ~strokes) <= 0.2 * np.count_nonzero(strokes)


def one():
    """A white, slightly slanted '1' on a black 28x28 canvas, in [0, 1]."""
    image = PIL.Image.new("L", (28, 28), 0)
    PIL.ImageDraw.Draw(image).line([(15, 4), (12, 23)], fill=255, width=3)
    return np.asarray(image, dtype=np.float32) / 255


def crossed_by_zigzag(digit, row):
    """``digit`` with a thin zigzag line drawn across it, from column 2 to 25 around ``row``, as MNIST-C's zigzag."""
    image = PIL.Image.new("L", digit.shape[::-1], 0)
    corners = [(column, row + (2 if index % 2 else -2)) for index, column in enumerate(range(2, 26, 2))]
    PIL.ImageDraw.Draw(image).line(corners, fill=255, width=1)
    return np.maximum(digit, np.asarray(image, dtype=np.float32) / 255)


@pytest.mark.parametrize("row", [9, 14, 19])
def test_a_zigzag_line_across_a_digit_is_removed_and_the_digit_stays(row):
    digit = one()
    crossed = crossed_by_zigzag(digit, row)
    _, mask = splitting.without_crossing_line(*ink.extract_ink(crossed))
    _, clean_mask = ink.extract_ink(digit)
    # The line is gone but for a pixel or two where it touches the 1, whose stroke runs on unbroken.
    assert np.count_nonzero(mask & ~clean_mask) <= 2
    assert np.array_equal(mask & clean_mask, clean_mask)


def test_a_digit_that_does_not_reach_the_sides_takes_the_usual_path():
    strokes, mask = ink.extract_ink(seven())
    assert splitting.without_crossing_line(strokes, mask)[1] is mask


def test_the_bar_of_a_tightly_cropped_digit_is_not_a_crossing_line():
    # A 4 cropped to its strokes: its bar runs from side to side with strokes above and below it, but
    # it ends where the 4's other strokes do, and a line struck across the digit would run on past them.
    image = PIL.Image.new("L", (28, 28), 0)
    PIL.ImageDraw.Draw(image).line([(12, 0), (1, 17), (26, 17)], fill=255, width=3)
    PIL.ImageDraw.Draw(image).line([(20, 4), (20, 27)], fill=255, width=3)
    four_crop = np.asarray(image, dtype=np.float32) / 255
    _, mask = splitting.without_crossing_line(*ink.extract_ink(four_crop))
    np.testing.assert_array_equal(mask, four_crop > 0.5)
