"""The steps for hard images on small synthetic pictures: 1-pixel strokes, lines across the paper, and
saying when unsure."""

import hypothesis
import hypothesis.extra.numpy
import hypothesis.strategies
import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import pytest

from number_recognition.reading import command
from number_recognition.reading import ink
from number_recognition.reading import normalize
from number_recognition.reading import recognition
from number_recognition.reading import segmentation


def drawn(size, lines, width=1, dark_ink=True, antialiased=False):
    """A grey float image of ``size`` (width, height) with polylines drawn ``width`` pixels wide."""
    scale = 4 if antialiased else 1
    image = PIL.Image.new("L", (size[0] * scale, size[1] * scale), 255 if dark_ink else 0)
    draw = PIL.ImageDraw.Draw(image)
    for points in lines:
        draw.line([(x * scale, y * scale) for x, y in points], fill=0 if dark_ink else 255, width=width * scale)
    if antialiased:
        image = image.reduce(scale)
    return np.asarray(image, dtype=np.float32) / 255.0


SEVEN = [[(0.2, 0.15), (0.8, 0.15), (0.4, 0.9)]]


def seven(side, **options):
    return drawn((side, side), [[(x * side, y * side) for x, y in SEVEN[0]]], **options)


def test_denoise_keeps_a_1_pixel_stroke_but_removes_specks():
    grey = seven(200)
    specked = grey.copy()
    specked[[20, 120, 180], [180, 30, 100]] = 0.0  # isolated dark specks on the white ground
    cleaned = ink.denoise(specked)
    stroke = grey < 0.5
    assert np.count_nonzero(cleaned[stroke] < 0.5) >= 0.9 * np.count_nonzero(stroke)
    assert (cleaned[[20, 120, 180], [180, 30, 100]] > 0.5).all()


def test_a_plain_median_filter_would_have_erased_the_stroke():
    # The reason for the shape test: the 3x3 median of a 1-pixel line is the ground.
    grey = seven(200)
    median = np.asarray(PIL.Image.fromarray(grey).filter(PIL.ImageFilter.MedianFilter(3)))
    assert np.count_nonzero(median < 0.5) < 0.1 * np.count_nonzero(grey < 0.5)


@hypothesis.settings(deadline=None, max_examples=12)
@hypothesis.given(
    side=hypothesis.strategies.sampled_from([28, 40, 120, 400, 1000]),
    dark_ink=hypothesis.strategies.booleans(),
    antialiased=hypothesis.strategies.booleans(),
)
def test_a_1_pixel_seven_is_one_digit_in_the_mask_at_any_size(side, dark_ink, antialiased):
    grey = seven(side, dark_ink=dark_ink, antialiased=antialiased)
    region, _, _ = ink.focus_on_ink(grey)
    _, mask = ink.extract_ink(ink.denoise(region))
    pieces = segmentation.find_digits(mask, max(region.shape))
    assert len(pieces) == 1
    # The input has full-strength strokes, as MNIST's do.
    image = normalize.normalize_digit(*ink.extract_ink(ink.denoise(region))[:1], pieces[0].box, pieces[0].members)
    assert image.max() == 1.0 and np.count_nonzero(image > 0.5) >= 25


def pencil_six(side):
    """A 6 drawn with a 1-pixel pencil as a hand moves it: a stem curving into a loop, many short segments."""
    stem_steps = np.linspace(0, 1, 25)
    stem = np.stack([0.62 - 0.27 * np.sin(stem_steps * np.pi / 2), 0.12 + 0.5 * stem_steps], 1)
    angles = np.linspace(np.pi, 3 * np.pi, 50)
    loop = np.stack([0.52 + 0.17 * np.cos(angles), 0.7 + 0.17 * np.sin(angles)], 1)
    picture = PIL.Image.new("L", (side, side), 255)
    PIL.ImageDraw.Draw(picture).line([tuple(point) for point in np.concatenate([stem, loop]) * side], fill=0)
    return np.asarray(picture, dtype=np.float32) / 255.0


@pytest.mark.parametrize("side", [32, 48, 100])
def test_denoise_keeps_a_small_pencil_drawing_whose_line_is_a_large_part_of_it(side):
    # On a 32-pixel canvas the line is 6% of the pixels, more than a clean ground's share at 100 pixels;
    # its doubled pixels where segments meet survive the median and break it into short dashes.
    grey = pencil_six(side)
    stroke = grey < 0.5
    cleaned = ink.denoise(grey)
    assert np.count_nonzero(cleaned[stroke] < 0.5) >= 0.95 * np.count_nonzero(stroke)
    assert segmentation.label_components(ink.extract_ink(cleaned)[1])[1] == 1


def test_a_thin_stroke_shrunk_from_a_big_crop_stays_full_strength():
    crop = np.zeros((1000, 700), np.float32)
    crop[100:900, 350] = 1.0
    image = normalize.normalize_digit(crop)
    assert image.max() == 1.0 and np.count_nonzero(image > 0.5) >= 20


def test_widened_equals_a_maximum_filter():
    values = np.random.default_rng(0).random((30, 40)).astype(np.float32)
    for pixels in (2, 4):
        padded = PIL.Image.fromarray(np.pad(values, pixels)).filter(PIL.ImageFilter.MaxFilter(pixels + 1))
        np.testing.assert_array_equal(
            normalize.widened(values, pixels), np.asarray(padded)[pixels:-pixels, pixels:-pixels]
        )


def test_a_ruled_line_across_a_number_does_not_make_it_one_piece():
    grey = drawn((300, 120), [[(40, 20), (40, 100)], [(120, 20), (120, 100)], [(200, 20), (200, 100)]], width=6)
    # A faint ruled line right across the page, through all three strokes.
    grey[60:62, :] = np.minimum(grey[60:62, :], 0.75)
    _, mask = ink.extract_ink(ink.denoise(grey))
    assert len(segmentation.find_digits(mask, 300)) == 3


def reading(margins, box=None, crowded=False, image=None):
    """A reading of digits 3 whose margins over the runner-up 5 are ``margins``, each input ``image`` or a 1."""
    box = box or segmentation.Box(0, 0, 10, 20)
    digits = []
    for margin in margins:
        probabilities = np.full(10, 0.01)
        probabilities[3] = 0.9
        probabilities[5] = 0.9 - margin
        if image is None:
            image = np.zeros((28, 28), np.float32)
            image[4:24, 12:15] = 1.0
        digits.append(recognition.DigitReading(probabilities, box, image, crowded=crowded))
    return recognition.Reading("year.png", digits)


def test_uncertain_digits_are_marked_in_json_and_with_a_question_mark():
    result = reading([0.8, 0.1, 0.8])
    assert [digit.uncertain for digit in result.digits] == [False, True, False]
    assert result.as_json()["uncertain"] is True
    assert [digit["uncertain"] for digit in result.as_json()["digits"]] == [False, True, False]
    assert command.format_line(result, 0).startswith("year.png: 33?3 (min ")
    assert reading([0.8]).as_json()["uncertain"] is False


def test_pieces_that_are_no_digit_are_uncertain_however_sure_the_model_is():
    assert reading([0.8], box=segmentation.Box(0, 0, 100, 20)).uncertain  # far wider than any digit
    assert reading([0.8], crowded=True).uncertain
    assert reading([0.8], image=np.ones((28, 28), np.float32)).uncertain
    axes = np.zeros((28, 28), np.float32)
    axes[4:24, 5] = axes[23, 5:24] = 1.0  # a plot's axes, read as a 4
    axes[10:23, 12] = axes[14:23, 18] = 1.0  # and two of its bars
    assert reading([0.8], image=axes).uncertain


def mask_of(rows):
    return np.array([[character == "#" for character in row] for row in rows])


@pytest.mark.parametrize(
    "rows, framed",
    [
        (["#.....", "#..#..", "#..#.#", "######"], True),  # axes and bars
        (["######", "#....#", "######"], True),  # a box
        (["######", "....#.", "...#..", "..#..."], False),  # a 7: a full top, no full side
        (["##", "##", "##", "##", "##", "##"], False),  # a thick 1: its box is the stroke itself
        ([".##.", "#..#", "#..#", ".##."], False),  # a 0
    ],
)
def test_only_ink_along_a_whole_row_and_column_of_its_box_is_a_frame(rows, framed):
    assert segmentation.is_framed(mask_of(rows)) is framed


@pytest.mark.parametrize(
    "rows, lines",
    [
        (["#.#", "...", "##.", "...", ".##", "...", "#.#"], True),  # letters of four lines stacked
        (["###", "#..", "...", "#..", "###", "..#", "###"], False),  # a 5 whose flag floats: two bands
        (["#.#", "###", "..#", "..#"], False),  # a 4 in one piece
        # A column of tick labels, 10 bands each far shorter than a tenth of the piece.
        ((["##", "##", "..", "..", "..", "..", "..", "..", "..", "..", "..", ".."] * 10)[:-10], True),
    ],
)
def test_a_piece_stacked_from_three_or_more_bands_is_lines_of_text(rows, lines):
    assert segmentation.is_lines_of_text(mask_of(rows)) is lines


def ellipse(width, height, ring=None):
    """A 28x28 mask of a filled ellipse ``width`` by ``height`` pixels centred in it, or a ring ``ring`` pixels wide."""
    rows, columns = np.indices((28, 28)) + 0.5
    distance = ((columns - 14) / (width / 2)) ** 2 + ((rows - 14) / (height / 2)) ** 2
    if ring is None:
        return distance <= 1
    inner = ((columns - 14) / (width / 2 - ring)) ** 2 + ((rows - 14) / (height / 2 - ring)) ** 2
    return (distance <= 1) & (inner > 1)


def bar(width):
    mask = np.zeros((28, 28), bool)
    mask[4:24, 14 - width // 2 : 14 - width // 2 + width] = True
    return mask


@pytest.mark.parametrize(
    "mask, solid",
    [
        (ellipse(20, 10), True),  # a disc seen at a slant
        (ellipse(14, 20), True),  # an egg
        (bar(8), True),  # a painted bar
        (ellipse(14, 20, ring=3), False),  # a 0 drawn with a marker
        (bar(3), False),  # a 1
        (bar(4), False),  # a thick 1
        (ellipse(7, 20), False),  # a thicker 1, its ends round
    ],
)
def test_filled_shapes_are_painted_and_pen_strokes_are_not(mask, solid):
    assert segmentation.is_painted(segmentation.cropped(mask)) is solid


def test_a_filled_shape_is_uncertain_however_sure_the_model_is():
    disc = PIL.Image.new("L", (300, 200), 230)
    PIL.ImageDraw.Draw(disc).ellipse((70, 50, 230, 150), fill=40)  # no wider than a digit may be
    assert recognition.recognize(np.asarray(disc), SureReader()).uncertain
    one = PIL.Image.new("L", (300, 200), 230)
    PIL.ImageDraw.Draw(one).line([(150, 30), (140, 170)], fill=40, width=14)
    assert not recognition.recognize(np.asarray(one), SureReader()).uncertain


class SureReader:
    """A stand-in model sure of a 3 whatever it is shown."""

    path = "sure.keras"

    def predict(self, images):
        probabilities = np.full((len(images), 10), 0.01, np.float32)
        probabilities[:, 3] = 0.91
        return probabilities


def test_every_digit_of_an_image_with_lines_of_text_is_uncertain():
    picture = PIL.Image.new("L", (200, 130), 255)
    draw = PIL.ImageDraw.Draw(picture)
    # Pillow's own font, so the test needs no font installed.
    font = PIL.ImageFont.load_default(size=24)
    for line, text in enumerate(["Dear Bob,", "see you", "at noon"]):
        draw.text((10, 10 + 34 * line), text, fill=0, font=font)
    text = recognition.recognize(np.asarray(picture), SureReader())
    # Fewer pieces than a number may have: only the stacked lines tell that this is no number.
    assert 0 < len(text.digits) <= recognition.MAX_DIGITS
    assert all(digit.uncertain for digit in text.digits)
    number = np.full((100, 160), 255, np.uint8)
    number[20:80, 30:38] = number[20:80, 90:98] = 0  # "11", one line of writing
    assert not recognition.recognize(number, SureReader()).uncertain


def test_every_digit_of_a_photo_of_solid_shapes_is_uncertain():
    rows, columns = np.mgrid[0:200, 0:300]
    ellipse = ((rows - 100) / 40) ** 2 + ((columns - 80) / 20) ** 2 <= 1
    disc = np.hypot(rows - 105, columns - 200) <= 25
    shapes = np.full((200, 300), 230, np.uint8)
    shapes[ellipse | disc] = 40  # a dark ellipse, read as a 0 or a 1, and a dark disc
    read = recognition.recognize(shapes, SureReader())
    assert len(read.digits) == 2 and all(digit.uncertain for digit in read.digits)
    # The same outlines drawn with a pen are a number.
    strokes = np.full((200, 300), 230, np.uint8)
    inside = (((rows - 100) / 32) ** 2 + ((columns - 80) / 12) ** 2 <= 1) | (np.hypot(rows - 105, columns - 200) <= 19)
    strokes[(ellipse | disc) & ~inside] = 40
    assert not recognition.recognize(strokes, SureReader()).uncertain


def test_a_plots_framed_axes_are_no_digit():
    mask = np.zeros((120, 160), bool)
    mask[10:110, 20] = mask[109, 20:150] = mask[10, 20:150] = mask[10:110, 149] = True  # the axes' frame
    mask[60:109, 50:58] = mask[40:109, 90:98] = True  # two bars standing on it
    assert segmentation.find_digits(mask, 160) == []


def test_a_plots_axes_between_its_title_and_tick_labels_are_no_digit():
    mask = np.zeros((140, 180), bool)
    mask[5:12, 40:140] = True  # the title
    mask[20:111, 20] = mask[20:111, 169] = mask[20, 20:170] = mask[110, 20:170] = True  # the axes' frame
    mask[113:123, 12:22] = mask[113:123, 90:100] = mask[113:123, 165:175] = True  # tick labels, past the frame
    columns = np.arange(25, 165)
    mask[(65 + 30 * np.sin(columns / 15)).astype(int), columns] = True  # a curve
    assert segmentation.is_framed(segmentation.cropped(mask))
    assert segmentation.find_digits(mask, 180) == []


def test_denoise_keeps_a_steep_antialiased_1_pixel_line_whole():
    # Where a steep anti-aliased line falls between two pixels, both are half-strength and nearer
    # the median than the line: the line's own pixels then come in dashes, which must still count as a line.
    grey = drawn((120, 200), [[(60, 10), (48, 190)]], antialiased=True)
    cleaned = ink.denoise(grey)
    line = grey < 0.75
    # Without joining the dashes, 264 of its 300 pixels were kept.
    assert np.count_nonzero(np.abs(cleaned[line] - grey[line]) < 1e-6) >= 0.93 * np.count_nonzero(line)
    _, mask = ink.extract_ink(cleaned)
    assert segmentation.label_components(mask)[1] == 1


class UprightReader:
    """A stand-in model sure of a 1 when shown an upright stroke and torn between 2 and 7 when it leans."""

    path = "upright.keras"

    def __init__(self):
        self.shown = []

    def predict(self, images):
        self.shown.extend(images)
        probabilities = np.full((len(images), 10), 0.01, np.float32)
        for row, image in zip(probabilities, images):
            if abs(normalize.slant(image)) < 0.1:
                row[1] = 0.91
            else:
                row[2], row[7] = 0.5, 0.41
        return probabilities


@pytest.mark.parametrize("degrees", [0, 20, -30])
def test_an_unsure_leaning_digit_is_read_again_upright_and_stays_uncertain(degrees):
    picture = PIL.Image.new("L", (200, 200), 255)
    PIL.ImageDraw.Draw(picture).line([(100, 30), (100, 170)], fill=0, width=12)
    picture = picture.rotate(degrees, resample=PIL.Image.Resampling.BICUBIC, fillcolor=255)
    reader = UprightReader()
    result = recognition.recognize(np.asarray(picture), reader)
    assert result.prediction == "1"
    (digit,) = result.digits
    assert digit.stood_upright is (degrees != 0) and digit.uncertain is (degrees != 0)
    assert abs(normalize.slant(digit.image)) < 0.1
    # A sure digit is read once; an unsure one twice, upright the second time.
    assert len(reader.shown) == (1 if degrees == 0 else 2)
