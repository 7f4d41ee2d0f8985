"""Touching digits, paper lines and stray marks on small synthetic masks, and a property test that
splitting never loses or invents ink."""

import hypothesis
import hypothesis.extra.numpy
import hypothesis.strategies
import numpy as np
import pytest

from number_recognition.reading import normalize
from number_recognition.reading import segmentation
from number_recognition.reading import splitting


class RingReader:
    """A stand-in model: sure of a 0 when the input's ink is a ring of a 0's proportions, unsure otherwise."""

    def __init__(self):
        self.calls = 0

    def predict(self, images):
        self.calls += 1
        rows = []
        for image in images:
            ink_rows, ink_columns = np.nonzero(image > 0.5)
            if len(ink_rows) == 0:
                rows.append(np.full(10, 0.1))
                continue
            aspect = (np.ptp(ink_columns) + 1) / (np.ptp(ink_rows) + 1)
            hollow = image[14, 14] < 0.5
            sure = 0.5 <= aspect <= 1.0 and hollow
            rows.append([0.9] + [0.1 / 9] * 9 if sure else [0.2, 0.15] + [0.65 / 8] * 8)
        return np.array(rows, dtype=np.float32)


def ring(mask, centre_column, half_width=13, inner=0.62):
    """Draw a ring 40 rows tall and ``2 * half_width`` columns wide at ``centre_column``, about 4 pixels
    thick (thicker for a smaller ``inner``, the inner edge's squared radius as a fraction of the outer's)."""
    rows, columns = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
    distance = ((rows - 24) / 20) ** 2 + ((columns - centre_column) / half_width) ** 2
    mask |= (distance <= 1.0) & (distance >= inner)


def two_touching_zeros():
    mask = np.zeros((48, 70), bool)
    ring(mask, 20)
    ring(mask, 45)  # the rings share a column or two at mid-height
    return mask


def piece_of(mask):
    return segmentation.Piece(segmentation.bounding_box(mask), mask)


def strokes_of(mask):
    return mask.astype(np.float32)


def inputs_of(mask, pieces):
    return [normalize.normalize_digit(strokes_of(mask), piece.box, piece.members) for piece in pieces]


def test_two_touching_zeros_are_one_piece_split_into_two():
    mask = two_touching_zeros()
    (piece,) = segmentation.find_digits(mask, 70)
    pieces, inputs = splitting.split_touching(strokes_of(mask), [piece], inputs_of(mask, [piece]), RingReader())
    assert len(pieces) == len(inputs) == 2
    assert pieces[0].box.right <= pieces[1].box.left + 3
    np.testing.assert_array_equal(pieces[0].members | pieces[1].members, mask)
    assert not (pieces[0].members & pieces[1].members).any()


def test_every_candidate_part_is_read_in_one_batch():
    mask = two_touching_zeros()
    reader = RingReader()
    splitting.split_touching(strokes_of(mask), [piece_of(mask)], inputs_of(mask, [piece_of(mask)]), reader)
    # One call for the pieces as they are, one for every part of every cut.
    assert reader.calls == 2


def test_a_piece_read_surely_as_one_digit_is_never_cut():
    # A wide 0, 1.5 times as wide as tall: wide enough to be tried.
    rows, columns = np.mgrid[0:48, 0:80]
    distance = ((rows - 24) / 20) ** 2 + ((columns - 40) / 30) ** 2
    wide = (distance <= 1.0) & (distance >= 0.7)
    piece = piece_of(wide)
    assert splitting.is_handwriting(piece)

    class SureReader:
        """Sure of a 0 whatever it is shown, the whole or any part of it."""

        calls = 0

        def predict(self, images):
            self.calls += 1
            return np.tile(np.array([[0.95] + [0.05 / 9] * 9], np.float32), (len(images), 1))

    reader, image = SureReader(), np.zeros((28, 28), np.float32)
    pieces, inputs = splitting.split_touching(strokes_of(wide), [piece], [image], reader)
    assert pieces == [piece] and inputs[0] is image
    # The whole was read, and no cut was even tried.
    assert reader.calls == 1


def test_a_narrow_piece_or_a_solid_one_is_not_tried():
    narrow = np.zeros((40, 20), bool)
    narrow[:, 8:12] = True
    solid = np.zeros((40, 80), bool)
    solid[5:35, 5:75] = True
    assert not splitting.is_handwriting(piece_of(narrow))
    assert not splitting.is_handwriting(piece_of(solid))
    assert splitting.is_handwriting(piece_of(two_touching_zeros()))


def sheared(mask, lean):
    """The mask with each row moved ``lean`` columns right per row down, on a canvas wide enough for all of it."""
    height, width = mask.shape
    shifts = np.round(lean * np.arange(height)).astype(int)
    shifts -= shifts.min()
    result = np.zeros((height, width + shifts.max()), bool)
    for row, shift in enumerate(shifts):
        result[row, shift : shift + width] = mask[row]
    return result


def leaning_stroke(lean):
    """A stroke 60 rows tall and 20 columns thick, leaning ``lean`` columns per row: a 1 turned far over."""
    upright = np.zeros((70, 30), bool)
    upright[5:65, 5:25] = True
    return sheared(upright, lean)


@pytest.mark.parametrize("lean", [-0.9, 0.6])
def test_a_leaning_digit_is_as_wide_as_it_is_stood_upright(lean):
    piece = piece_of(leaning_stroke(lean))
    assert piece.box.width >= splitting.SQUARE_MIN_ASPECT * piece.box.height
    assert splitting.aspect(piece) == pytest.approx(20 / 60, abs=0.03)


def test_touching_digits_leaning_together_stay_two_digits_wide():
    upright = piece_of(two_touching_zeros())
    leaning = piece_of(sheared(two_touching_zeros(), 0.6))
    assert abs(normalize.slant(leaning.members.astype(np.float32))) >= splitting.UPRIGHT_MIN_SLANT
    assert leaning.box.width > upright.box.width
    assert splitting.aspect(leaning) == pytest.approx(splitting.aspect(upright), rel=0.08)
    assert splitting.aspect(leaning) >= splitting.SPLIT_MIN_ASPECT


def test_a_piece_leaning_a_little_is_measured_by_its_box():
    piece = piece_of(sheared(two_touching_zeros(), 0.25))
    assert splitting.aspect(piece) == piece.box.width / piece.box.height


def test_a_digit_turned_far_over_is_not_tried_for_touching_digits():
    # As wide as two touching digits in its box, but one stroke stood upright.
    piece = piece_of(leaning_stroke(1.0))
    assert piece.box.width >= splitting.SPLIT_MIN_ASPECT * piece.box.height

    class OnesReader:
        """Sure of a 1 whatever it is shown: it would cut the stroke into narrow 1s if asked."""

        calls = 0

        def predict(self, images):
            self.calls += 1
            return np.tile(np.array([[0.05 / 9, 0.95] + [0.05 / 9] * 8], np.float32), (len(images), 1))

    reader, image = OnesReader(), np.zeros((28, 28), np.float32)
    pieces, inputs = splitting.split_touching(strokes_of(piece.members), [piece], [image], reader)
    assert pieces == [piece] and inputs[0] is image
    # The whole was read, and no cut was even tried.
    assert reader.calls == 1


class UnsureReader:
    """A stand-in model unsure of everything: a 0 and a 6 nearly tied, whatever it is shown."""

    def predict(self, images):
        row = np.array([0.3, 0.02, 0.02, 0.02, 0.02, 0.02, 0.26, 0.02, 0.02, 0.3], np.float32)
        row[9] = 0.04
        row[1] = 0.28
        return np.tile(row / row.sum(), (len(images), 1))


def test_a_piece_too_wide_for_any_digit_is_cut_even_when_its_parts_read_unsurely():
    mask = np.zeros((48, 140), bool)
    for centre in (16, 42, 68, 94, 120):
        ring(mask, centre)
    (piece,) = segmentation.find_digits(mask, 140)
    assert piece.box.width > splitting.MAX_PART_ASPECT * piece.box.height
    reader = UnsureReader()
    pieces, inputs = splitting.split_touching(strokes_of(mask), [piece], inputs_of(mask, [piece]), reader)
    assert len(pieces) == len(inputs) >= 2
    # Every part is read unsurely, so recognition marks it uncertain.
    assert max(splitting.margin(row) for row in reader.predict(np.array(inputs))) < splitting.SPLIT_MIN_MARGIN
    np.testing.assert_array_equal(sum(part.members.astype(int) for part in pieces), mask.astype(int))


def test_a_piece_that_could_be_one_digit_stays_whole_when_its_parts_read_unsurely():
    mask = two_touching_zeros()
    piece = piece_of(mask)
    assert (
        splitting.SPLIT_MIN_ASPECT * piece.box.height <= piece.box.width <= splitting.MAX_PART_ASPECT * piece.box.height
    )
    image = np.zeros((28, 28), np.float32)
    pieces, inputs = splitting.split_touching(strokes_of(mask), [piece], [image], UnsureReader())
    assert pieces == [piece] and inputs[0] is image


def two_overlapping_zeros():
    """Two narrow rings overlapping by a stroke: together about as wide as tall, like a "00" written tightly."""
    mask = np.zeros((48, 50), bool)
    ring(mask, 14, half_width=11)
    ring(mask, 34, half_width=11)
    return mask


def test_a_nearly_square_piece_read_unsurely_is_cut_when_its_parts_read_surely():
    mask = two_overlapping_zeros()
    (piece,) = segmentation.find_digits(mask, 50)
    assert (
        splitting.SQUARE_MIN_ASPECT * piece.box.height
        <= piece.box.width
        < splitting.SPLIT_MIN_ASPECT * piece.box.height
    )
    pieces, inputs = splitting.split_touching(strokes_of(mask), [piece], inputs_of(mask, [piece]), RingReader())
    assert len(pieces) == 2
    np.testing.assert_array_equal(pieces[0].members | pieces[1].members, mask)


def test_a_nearly_square_piece_read_fairly_surely_as_one_digit_is_still_tried():
    """A "79" written narrow was read as a 3 with a margin of 0.6: not sure enough to keep it from being tried."""
    mask = two_overlapping_zeros()
    (piece,) = segmentation.find_digits(mask, 50)

    class FairlySureOfTheWhole(RingReader):
        """The ring reader, but what is no ring it reads as a 1 with a margin of 0.35 (once too sure to try)."""

        def predict(self, images):
            rows = super().predict(images)
            rows[rows[:, 0] < 0.5] = [0.02, 0.42] + [0.07] * 8
            return rows

    pieces, inputs = splitting.split_touching(
        strokes_of(mask), [piece], inputs_of(mask, [piece]), FairlySureOfTheWhole()
    )
    assert len(pieces) == len(inputs) == 2
    np.testing.assert_array_equal(pieces[0].members | pieces[1].members, mask)


def test_a_nearly_square_piece_is_not_cut_into_parts_read_only_fairly_surely():
    mask = two_overlapping_zeros()
    piece = piece_of(mask)

    class FairReader(RingReader):
        """The ring reader, but its sure readings have a margin of 0.6: below SQUARE_SPLIT_MARGIN."""

        def predict(self, images):
            rows = super().predict(images)
            sure = rows[:, 0] > 0.5
            rows[sure] = [0.7, 0.1] + [0.2 / 8] * 8
            return rows

    image = np.zeros((28, 28), np.float32)
    pieces, inputs = splitting.split_touching(strokes_of(mask), [piece], [image], FairReader())
    assert pieces == [piece] and inputs[0] is image


def cheapest_paths_pixel_by_pixel(cost):
    """``splitting.cheapest_paths`` written out one pixel at a time, in float32 as it computes."""
    height, width = cost.shape
    totals, steps = np.zeros((height, width), np.float32), np.zeros((height, width), np.int64)
    totals[0] = cost[0]
    sidestep = np.float32(splitting.SIDESTEP_COST)
    for row in range(1, height):
        for column in range(width):
            options = [
                (totals[row - 1, column + step] + (sidestep if step else np.float32(0.0)), step)
                for step in (-1, 0, 1)
                if 0 <= column + step < width
            ]
            # The first of the cheapest: from the left, then straight down, then from the right.
            total, steps[row, column] = min(options, key=lambda option: option[0])
            totals[row, column] = total + cost[row, column]
    return totals, steps


@pytest.mark.parametrize("seed", range(4))
def test_cheapest_paths_match_the_dynamic_programme_written_out(seed):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 25, size=2)
    cost = (rng.random((height, width)) < rng.random()).astype(np.float32)
    totals, steps = splitting.cheapest_paths(cost)
    expected_totals, expected_steps = cheapest_paths_pixel_by_pixel(cost)
    np.testing.assert_array_equal(totals, expected_totals)
    np.testing.assert_array_equal(steps, expected_steps)


def test_cut_paths_slip_between_overlapping_strokes():
    # Two strokes leaning right, the second starting under the first's top: no straight column separates them.
    mask = np.zeros((40, 40), bool)
    for row in range(40):
        mask[row, 4 + row // 2 : 8 + row // 2] = True
        mask[row, 14 + row // 2 : 18 + row // 2] = True
    mask[0, 8:14] = True  # the first one's top runs into the second
    boundaries, crossings = splitting.cut_boundaries(mask)
    inner = boundaries[1:-1]
    assert any(((cut > 7 + np.arange(40) // 2) & (cut <= 14 + np.arange(40) // 2))[1:].all() for cut in inner)
    # Such a cut crosses only where they join, a pixel, less than a stroke width.
    assert min(crossings[1:-1]) < 1.0


def test_a_narrow_1_between_its_neighbours_can_be_cut_on_both_sides():
    # Three bars 2 pixels wide, 4 columns apart and joined along the top row: "111" written with a fine
    # pen, each a twentieth of its height wide. A cut must fall in each of the two gaps.
    mask = np.zeros((40, 14), bool)
    bars = [slice(2, 4), slice(6, 8), slice(10, 12)]
    for bar in bars:
        mask[:, bar] = True
    mask[0, 2:12] = True
    boundaries, _ = splitting.cut_boundaries(mask, straight=False)
    # Below the top row, a boundary parting two bars runs between them: all of the left one on its left.
    for left_bar, right_bar in zip(bars, bars[1:]):
        assert any(((cut[1:] >= left_bar.stop) & (cut[1:] <= right_bar.start)).all() for cut in boundaries[1:-1])


def test_straight_cuts_lean_with_the_strokes_they_part():
    # Two bars leaning 0.4 columns per row, overlapping in columns, joined at mid-height by a bridge
    # as thick as a stroke: a line leaning with them parts them, crossing the bridge alone.
    first, second = np.zeros((40, 50), bool), np.zeros((40, 50), bool)
    for row in range(40):
        lean = round(0.4 * (row - 20))
        first[row, 14 + lean : 18 + lean] = True
        second[row, 28 + lean : 32 + lean] = True
    mask = first | second
    mask[18:22, 18:28] = True
    columns = np.arange(50)

    def parts_them(cut):
        return not (first & (columns >= cut[:, None])).any() and not (second & (columns < cut[:, None])).any()

    assert any(parts_them(cut) for cut in splitting.line_cuts(mask, limit=4 * normalize.stroke_width(mask)))
    # cut_boundaries keeps such a cut, ordered by the ink left of it, crossing about a stroke width of ink.
    boundaries, crossings = splitting.cut_boundaries(mask)
    lefts = [np.count_nonzero(mask & (columns < cut[:, None])) for cut in boundaries]
    assert lefts == sorted(lefts)
    parting = [index for index, cut in enumerate(boundaries) if parts_them(cut)]
    assert parting and min(crossings[index] for index in parting) <= 1.5


def test_two_lines_close_together_are_no_trouble():
    """Found by the property test below: a line fitted through both ran between them, over no ink."""
    mask = np.zeros((84, 150), bool)
    mask[79] = mask[83] = True
    cleaned = splitting.without_ruled_lines(mask)
    assert not (cleaned & ~mask).any()


@hypothesis.settings(deadline=None, max_examples=60)
@hypothesis.given(
    mask=hypothesis.extra.numpy.arrays(
        bool, hypothesis.strategies.tuples(hypothesis.strategies.integers(8, 30), hypothesis.strategies.integers(8, 60))
    ),
    seed=hypothesis.strategies.integers(0, 2**16),
)
def test_splitting_never_loses_or_invents_ink(mask, seed):
    hypothesis.assume(mask.any())
    # A margin of paper around the ink, as around a number on a page.
    mask = np.pad(mask, 2)
    rng = np.random.default_rng(seed)

    class RandomReader:
        def predict(self, images):
            return rng.dirichlet(np.full(10, 0.3), size=len(images)).astype(np.float32)

    piece = piece_of(mask)
    # A piece read as no one digit is cut along paths and straight lines both.
    cuts = splitting.Cuts(strokes_of(mask), piece, whole=False)
    # Any chain of parts from the left edge to the right one partitions the piece's ink exactly...
    last, chain = len(cuts.boundaries) - 1, [0]
    while chain[-1] != last:
        chain.append(int(rng.choice([end for end in range(chain[-1] + 1, last + 1) if cuts.follows(chain[-1], end)])))
    total = sum(cuts.mask(part).astype(int) for part in zip(chain, chain[1:]))
    np.testing.assert_array_equal(total, cuts.members.astype(int))
    # ... and so do the pieces the splitter returns, whatever the model says.
    pieces, inputs = splitting.split_touching(
        strokes_of(mask), [piece], [np.zeros((28, 28), np.float32)], RandomReader()
    )
    assert len(pieces) == len(inputs)
    np.testing.assert_array_equal(sum(part.members.astype(int) for part in pieces), mask.astype(int))


def number_on_ruled_paper(line_rows=(30, 60, 90), crossing=True):
    """Three upright strokes (digits 1) 40 rows tall on a page 300 wide with thin paper lines."""
    mask = np.zeros((120, 300), bool)
    for column in (90, 150, 210):
        mask[40:80, column : column + 6] = True
    for row in line_rows:
        mask[row : row + 2, :] = True
    if not crossing:
        mask[60:62, :] = False
    return mask


def test_a_ruled_line_across_a_number_is_removed_but_not_the_strokes_it_crosses():
    mask = number_on_ruled_paper()
    cleaned = splitting.without_ruled_lines(mask)
    assert not cleaned[30:32].any() and not cleaned[90:92].any()
    assert not cleaned[60:62, :80].any()
    # Where a stroke crosses the line, its ink goes on.
    assert cleaned[40:80, 90:96].all() and cleaned[40:80, 210:216].all()
    assert len(segmentation.find_digits(mask, 300)) == 1
    assert len(segmentation.find_digits(cleaned, 300)) == 3


def test_squared_paper_on_a_turned_page():
    mask = np.zeros((120, 300), bool)
    for column in (90, 150, 210):
        mask[40:80, column : column + 6] = True
    columns = np.arange(300)
    for start in (10, 40, 70, 100):  # lines falling 8 rows across the page
        rows = (start + 0.027 * columns).astype(int)
        mask[rows[rows < 119], columns[rows < 119]] = True
        mask[rows[rows < 119] + 1, columns[rows < 119]] = True
    for column in (40, 120, 260):
        mask[:, column : column + 2] = True
    assert len(segmentation.find_digits(mask, 300)) == 1
    assert len(segmentation.find_digits(splitting.without_ruled_lines(mask), 300)) == 3


def ruled_page(
    line_rows=(20, 50, 80, 110, 140), width=320, slope=0.0, converging=0.0, fade=1.0, fading_rows=(80,), thickness=2
):
    """Paper lines ``thickness`` pixels thick on a page 160 rows tall, falling ``slope`` rows per column,
    each next one ``converging`` more (a photo's perspective); the lines at ``fading_rows`` fade out in a
    shadow at ``fade`` of the page's width."""
    mask = np.zeros((160, width), bool)
    columns = np.arange(width)
    for index, row in enumerate(line_rows):
        rows = np.round(row + (slope + index * converging) * columns).astype(int)
        drawn = columns < fade * width if row in fading_rows else np.ones(width, bool)
        for offset in range(thickness):
            inside = (rows + offset >= 0) & (rows + offset < 160) & drawn
            mask[rows[inside] + offset, columns[inside]] = True
    return mask


def upright_strokes(crossed_row):
    """Three strokes crossing the line at ``crossed_row``, which must stay."""
    ink = np.zeros((160, 320), bool)
    for column in (100, 170, 240):
        ink[crossed_row - 20 : crossed_row + 20, column : column + 6] = True
    return ink


def digit_at_the_frame():
    """A digit touching the page's left side, and strokes crossing the line at row 80."""
    ink = upright_strokes(80)
    ink[60:100, 0:6] = True
    ink[60:64, 0:30] = True
    return ink


@pytest.mark.parametrize(
    "page, ink",
    [
        (ruled_page(fade=0.7), upright_strokes(80)),
        (ruled_page(line_rows=(0, 30, 60, 90), slope=0.098, converging=0.004), upright_strokes(80)),
        (ruled_page(), digit_at_the_frame()),
        (ruled_page(fade=0.8, fading_rows=(20, 50, 80, 110, 140)), upright_strokes(80)),
        (ruled_page(line_rows=(10, 40, 70, 100, 130), thickness=4), upright_strokes(70)),
    ],
    ids=["fading in a shadow", "steep photo", "digit at the frame", "all fading in a shadow", "thick lines"],
)
def test_the_lines_of_a_ruled_page_go_together(page, ink):
    """A line that alone would not pass for a paper line goes with the parallel lines of its page."""
    cleaned = splitting.without_ruled_lines(page | ink)
    assert np.count_nonzero(cleaned & page & ~ink) <= 0.05 * np.count_nonzero(page & ~ink)
    assert np.count_nonzero(cleaned & ink) >= 0.95 * np.count_nonzero(ink)


def test_a_lone_line_fading_before_the_frame_is_no_paper_line():
    mask = np.zeros((160, 320), bool)
    mask[80:82, :220] = True  # one line, ending 100 pixels from the right side: the bar of a digit?
    mask[60:100, 100:106] = True
    np.testing.assert_array_equal(splitting.without_ruled_lines(mask), mask)


def test_a_digit_bar_across_the_whole_canvas_is_no_paper_line():
    # A 7 filling its canvas: its bar runs edge to edge, and so does the digit.
    mask = np.zeros((100, 100), bool)
    mask[2:5, :] = True
    for row in range(5, 98):
        column = 97 - (row - 5) * 60 // 93
        mask[row, column : column + 3] = True
    np.testing.assert_array_equal(splitting.without_ruled_lines(mask), mask)


def test_a_texture_of_thin_stripes_is_left_alone():
    mask = np.zeros((120, 300), bool)
    mask[::4] = True  # stripes with no blank paper around them
    np.testing.assert_array_equal(splitting.without_ruled_lines(mask), mask)


def digit_strokes(mask, left, top=60, height=60, width=36):
    """A 0-like box of strokes 4 pixels thick."""
    mask[top : top + height, left : left + 4] = True
    mask[top : top + height, left + width - 4 : left + width] = True
    mask[top : top + 4, left : left + width] = True
    mask[top + height - 4 : top + height, left : left + width] = True


def test_a_dot_far_above_a_digit_does_not_change_its_crop():
    mask = np.zeros((200, 200), bool)
    digit_strokes(mask, 80)
    mask[2:10, 95:103] = True  # a dot 50 rows above, over the digit's middle
    (piece,) = segmentation.find_digits(mask, 200)
    assert piece.box.top == 2  # segmentation merges what is stacked
    (kept,) = splitting.without_stray_marks([piece])
    assert kept.box == segmentation.Box(80, 60, 116, 120)
    assert not kept.members[:20].any()


def test_a_dash_far_above_two_digits_no_longer_joins_them():
    mask = np.zeros((200, 200), bool)
    digit_strokes(mask, 50)
    digit_strokes(mask, 100)
    mask[2:8, 70:120] = True  # a dash 50 rows above, over both digits
    (piece,) = segmentation.find_digits(mask, 200)
    kept = splitting.without_stray_marks([piece])
    assert [part.box for part in kept] == [segmentation.Box(50, 60, 86, 120), segmentation.Box(100, 60, 136, 120)]


def test_a_mark_far_beside_a_number_is_dropped_but_a_close_small_piece_is_kept():
    mask = np.zeros((200, 400), bool)
    digit_strokes(mask, 40)
    digit_strokes(mask, 90)
    mask[85:89, 330:360] = True  # a dash 3.5 digit heights to the right
    mask[100:104, 135:150] = True  # a small piece right next to the second digit
    pieces = segmentation.find_digits(mask, 400)
    kept = splitting.without_stray_marks(pieces)
    assert [piece.box.left for piece in kept] == [piece.box.left for piece in pieces if piece.box.left < 300]


@pytest.mark.parametrize("solid_digits", [1, 2], ids=["a bold 1 alone", "a number with a bold 0"])
def test_a_mark_far_from_bold_digits_is_dropped(solid_digits):
    """A bold 1 nearly fills its box, as does a bold 0 with a small loop; neither makes the image a photo of objects."""
    mask = np.zeros((48, 400), bool)
    rows, columns = np.mgrid[0:48, 0:400]
    # A bold 1: a pen stroke 10 pixels wide with round ends, leaning a little.
    along = np.clip((rows - 9) / 30, 0, 1)
    mask |= np.hypot(rows - (9 + 30 * along), columns - (27 - 4 * along)) <= 5
    if solid_digits == 2:
        ring(mask, 60)
        ring(mask, 100)
        mask |= ((rows - 24) / 20) ** 2 + ((columns - 140) / 13) ** 2 <= 1.0  # a 0, its loop filled in
    small_ring = np.hypot(rows - 24, columns - 308)
    mask |= (small_ring <= 8) & (small_ring >= 4)  # a curl far to the right
    pieces = segmentation.find_digits(mask, 400)
    assert pieces[-1].box.left == 300  # the curl is a piece of its own
    kept = splitting.without_stray_marks(pieces)
    assert kept == pieces[:-1]


@pytest.mark.parametrize(
    ("strip_column", "strip_width", "dropped"),
    [(0, 1, True), (199, 1, True), (170, 1, False), (0, 8, False)],
    ids=["a thin strip at the left edge", "at the right edge", "inside the frame", "a bold 1 at the edge"],
)
def test_a_thin_strip_along_the_frame_is_dropped(strip_column, strip_width, dropped):
    """A strip of the paper's edge is drawn far thinner than the digits; a thin digit inside the frame is kept."""
    mask = np.zeros((48, 200), bool)
    ring(mask, 60, half_width=20, inner=0.3)
    ring(mask, 110, half_width=20, inner=0.3)  # two 0s written with a pen about 10 pixels wide
    mask[4:44, strip_column : strip_column + strip_width] = True
    pieces = segmentation.find_digits(mask, 200)
    assert len(pieces) == 3
    kept = splitting.without_stray_marks(pieces)
    zeros = [piece.box for piece in pieces if piece.box.left in (40, 90)]
    assert [piece.box for piece in kept] == (zeros if dropped else [piece.box for piece in pieces])


def test_a_line_left_running_into_the_frame_does_not_make_the_digits_stray_marks():
    """A paper line that fades into a shadow half way is left by the line search; it is no digit, and
    the digits are not judged small beside it."""
    mask = np.zeros((300, 200), bool)
    ring(mask, 60, half_width=20, inner=0.3)
    ring(mask, 110, half_width=20, inner=0.3)
    mask[:, 180:184] = False
    mask[0:130, 180:183] = True  # from the top edge to 130 rows down, three times as long as the digits are tall
    pieces = segmentation.find_digits(mask, 300)
    assert len(pieces) == 3
    kept = splitting.without_stray_marks(pieces)
    assert [piece.box.left for piece in kept] == [40, 90]


@pytest.mark.parametrize(
    ("second_shape", "among_objects"),
    [("solid", True), ("strokes", False), (None, False), ("bars", False)],
    ids=["two solid shapes", "a solid shape beside a digit", "one solid shape alone (a bold digit)", "bold 1s"],
)
def test_only_solid_shapes_and_nothing_else_are_a_photo_of_objects(second_shape, among_objects):
    shapes = [np.zeros((200, 300), bool) for _ in range(2)]
    rows, columns = np.mgrid[0:200, 0:300]
    shapes[0][((rows - 90) / 40) ** 2 + ((columns - 60) / 20) ** 2 <= 1] = True  # an ellipse
    if second_shape == "solid":
        shapes[1][50:125, 150:200] = True
    elif second_shape == "strokes":
        digit_strokes(shapes[1], 150)
    elif second_shape == "bars":
        shapes = [np.zeros((200, 300), bool) for _ in range(2)]
        shapes[0][40:140, 50:70] = shapes[1][40:140, 150:170] = True
    pieces = [piece_of(shape) for shape in shapes if shape.any()]
    assert splitting.is_among_objects(pieces) is among_objects


def test_nothing_is_dropped_beside_a_solid_shape():
    mask = np.zeros((200, 400), bool)
    mask[60:120, 40:70] = True  # a solid rectangle, not pen strokes
    mask[85:89, 330:360] = True
    pieces = segmentation.find_digits(mask, 400)
    assert splitting.without_stray_marks(pieces) == pieces


@hypothesis.settings(deadline=None, max_examples=60)
@hypothesis.given(
    mask=hypothesis.extra.numpy.arrays(
        bool,
        hypothesis.strategies.tuples(hypothesis.strategies.integers(1, 90), hypothesis.strategies.integers(1, 160)),
        elements=hypothesis.strategies.sampled_from([False, False, False, True]),
    ),
    lines=hypothesis.strategies.lists(hypothesis.strategies.integers(0, 89), max_size=4),
)
def test_line_and_mark_removal_only_ever_take_ink_away(mask, lines):
    for row in lines:
        mask[min(row, mask.shape[0] - 1)] = True
    cleaned = splitting.without_ruled_lines(mask)
    assert cleaned.shape == mask.shape and not (cleaned & ~mask).any()
    pieces = segmentation.find_digits(cleaned, max(mask.shape))
    for piece in splitting.without_stray_marks(pieces):
        assert not (piece.members & ~cleaned).any()
