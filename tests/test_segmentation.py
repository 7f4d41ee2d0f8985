"""Connected components against a flood-fill reference, and the grouping of pieces into digits."""

import collections

import numpy as np
import pytest

from number_recognition.reading import segmentation


def flood_fill_labels(mask):
    """A plain breadth-first 8-connected labelling, the reference for the vectorised one."""
    labels = np.zeros(mask.shape, dtype=int)
    count = 0
    for start in zip(*np.nonzero(mask)):
        if labels[start]:
            continue
        count += 1
        labels[start] = count
        queue = collections.deque([start])
        while queue:
            row, column = queue.popleft()
            for row_step in (-1, 0, 1):
                for column_step in (-1, 0, 1):
                    neighbour = (row + row_step, column + column_step)
                    if (
                        0 <= neighbour[0] < mask.shape[0]
                        and 0 <= neighbour[1] < mask.shape[1]
                        and mask[neighbour]
                        and not labels[neighbour]
                    ):
                        labels[neighbour] = count
                        queue.append(neighbour)
    return labels, count


@pytest.mark.parametrize("python_edges", [segmentation.PYTHON_UNION_MAX_EDGES, -1])
@pytest.mark.parametrize("seed", range(12))
def test_labels_match_a_flood_fill(monkeypatch, seed, python_edges):
    # -1 sends every graph, however small, to the vectorised union instead of the Python one.
    monkeypatch.setattr(segmentation, "PYTHON_UNION_MAX_EDGES", python_edges)
    rng = np.random.default_rng(seed)
    for _ in range(25):
        mask = rng.random((rng.integers(1, 40), rng.integers(1, 40))) < rng.uniform(0.05, 0.8)
        labels, count = segmentation.label_components(mask)
        reference, reference_count = flood_fill_labels(mask)
        # Both number the components in the row-major order of their first pixel.
        assert count == reference_count
        assert labels.dtype == np.int32 and np.array_equal(labels, reference)


def test_boxes_and_areas():
    mask = np.zeros((10, 12), bool)
    mask[1:4, 2:5] = True
    mask[6:9, 8] = True
    labels, count = segmentation.label_components(mask)
    boxes, areas = segmentation.component_boxes(labels, count)
    assert boxes.tolist() == [[2, 1, 5, 4], [8, 6, 9, 9]] and areas.tolist() == [9, 3]


def bar(mask, top, bottom, left, right):
    mask[top:bottom, left:right] = True


def test_digits_come_left_to_right_and_specks_and_dust_are_dropped():
    mask = np.zeros((60, 200), bool)
    bar(mask, 10, 50, 120, 126)  # a '1' on the right
    bar(mask, 10, 50, 20, 26)  # a '1' on the left
    bar(mask, 10, 50, 60, 90)  # a wide stroke in the middle
    bar(mask, 55, 57, 150, 152)  # a speck
    mask[2, 198] = True  # dust
    digits = segmentation.group_digits(mask)
    assert [box for box, _ in digits] == [(20, 10, 26, 50), (60, 10, 90, 50), (120, 10, 126, 50)]
    assert all(members.sum() == (box[2] - box[0]) * (box[3] - box[1]) for box, members in digits)


@pytest.mark.parametrize(
    "half_height, stroke, is_digit",
    [(3, 6, False), (5, 10, False), (9, 5, True)],
    ids=["a minus sign", "a thick dash", "a flat 0"],
)
def test_a_dash_lying_down_is_no_digit(half_height, stroke, is_digit):
    """A stroke much wider than tall and only a stroke or two tall is a dash; a digit is several strokes tall."""
    mask = np.zeros((60, 200), bool)
    bar(mask, 10, 50, 120, 126)  # a '1'
    # A ring 60 wide around (30, 70), tilted a little, ``stroke`` thick: filled when that is its height.
    rows, columns = np.mgrid[0:60, 0:200]
    rows = rows - 30 - 0.05 * (columns - 70)
    outer = (rows / half_height) ** 2 + ((columns - 70) / 30) ** 2 <= 1
    mask |= outer
    if half_height > stroke:
        mask &= ~((rows / (half_height - stroke)) ** 2 + ((columns - 70) / (30 - stroke)) ** 2 <= 1)
    assert len(segmentation.find_digits(mask, 200)) == 1 + is_digit


def test_pieces_stacked_above_one_another_are_one_digit():
    mask = np.zeros((60, 100), bool)
    bar(mask, 5, 9, 20, 45)  # the bar of a '5'
    bar(mask, 12, 50, 18, 44)  # its body, not touching the bar
    bar(mask, 10, 50, 70, 74)  # a '1' beside it
    digits = segmentation.group_digits(mask)
    assert [box for box, _ in digits] == [(18, 5, 45, 50), (70, 10, 74, 50)]


def test_a_broken_thin_stroke_is_one_digit():
    mask = np.zeros((28, 28), bool)
    bar(mask, 4, 14, 14, 15)
    bar(mask, 14, 24, 15, 16)  # touches the upper piece only diagonally...
    mask[14, 14] = False
    bar(mask, 4, 12, 14, 15)  # ...after a gap that thresholding left
    digits = segmentation.group_digits(mask)
    assert len(digits) == 1


def test_a_long_stroke_broken_where_it_thins_is_one_digit():
    """A wavy 1 drawn with a 1-pixel pencil, broken half way: its halves lean apart, one wholly above
    the other, their columns meeting in one; two digits side by side never lie so."""
    mask = np.zeros((140, 100), bool)
    rows = np.arange(10, 70)
    mask[rows, 30 + (rows - 10) // 3] = True  # the upper half leans right, to column 49
    rows = np.arange(74, 130)
    mask[rows, 49 + (rows - 74) // 2] = True  # the lower half starts 4 rows lower, leaning on
    digits = segmentation.group_digits(mask)
    assert [box for box, _ in digits] == [(30, 10, 77, 130)]


def test_a_7_whose_corner_faded_is_one_digit():
    """In a small tight scan the bar of a 7 ends one blank column before its stem."""
    mask = np.zeros((32, 32), bool)
    mask[1:5, 2:21] = True  # the bar, columns 2-20
    for row in range(2, 31):
        mask[row, 22 + max(0, 6 - row // 2) : 26 + max(0, 6 - row // 2)] = True  # the stem from column 22
    digits = segmentation.find_digits(mask, 32)
    assert [box for box, _ in digits] == [(2, 1, 31, 31)]


def test_single_keeps_every_piece_as_one_digit():
    mask = np.zeros((40, 100), bool)
    bar(mask, 5, 35, 10, 15)
    bar(mask, 5, 35, 60, 65)
    assert len(segmentation.group_digits(mask)) == 2
    ((box, members),) = segmentation.group_digits(mask, single=True)
    assert box == (10, 5, 65, 35) and members.sum() == 300


def test_empty_mask_has_no_digits():
    assert segmentation.group_digits(np.zeros((30, 30), bool)) == []


@pytest.mark.parametrize(
    "rows, expected",
    [
        (["....", ".#..", "..#.", "...."], ["#.", ".#"]),
        (["...", "..."], []),
    ],
)
def test_cropped_keeps_the_box_of_the_ink(rows, expected):
    mask = np.array([[character == "#" for character in row] for row in rows])
    cropped = segmentation.cropped(mask)
    assert ["".join("#" if value else "." for value in row) for row in cropped] == expected
    assert cropped.size == (0 if not expected else len(expected) * len(expected[0]))
