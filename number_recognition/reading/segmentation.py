"""Finding the digits in an ink mask: connected components, merged per digit, ordered left to right.

This module holds the whole rule of what counts as a digit: pieces of ink are merged when stacked
(the bar of a 5, a broken stroke), and dust, specks, solid blobs and marks too small for the image
are dropped. Connected components are found on runs of ink along rows (a run-length union-find,
vectorised with NumPy), which is fast for the few thousand runs a page of handwriting has.
"""

import functools
import typing

import numpy as np

from number_recognition import config
from number_recognition.reading import normalize

# Pieces smaller than this fraction of the largest piece are dust, not strokes.
DUST_AREA_FRACTION = 0.02
# Two pieces whose horizontal extents overlap by this fraction of the narrower one are one digit.
MERGE_OVERLAP_FRACTION = 0.5
# A piece shorter than this fraction of the tallest digit is a fragment if it touches a neighbour.
FRAGMENT_HEIGHT_FRACTION = 0.6
# A group both shorter and lighter than these fractions of the largest group is a speck, not a digit.
SPECK_HEIGHT_FRACTION = 0.3
SPECK_AREA_FRACTION = 0.15
# A digit must be at least this tall, in working pixels and as a fraction of the image's longer side.
MIN_DIGIT_PIXELS = 6
MIN_DIGIT_FRACTION = 0.012
# A spot filling more than this fraction of its box, and less elongated than this, is a blob.
BLOB_FILL = 0.85
BLOB_ELONGATION = 2.0
# A piece more than DASH_MIN_ASPECT times as wide as tall and at most DASH_MAX_STROKES of its own
# stroke width tall is a dash lying down (a minus sign, a stray stroke): a digit is several strokes tall.
DASH_MIN_ASPECT = 2.0
DASH_MAX_STROKES = 2.5
# Ink along a whole horizontal and a whole vertical side of its box (FULL_SIDE of each) is the corner
# of a frame, a plot's axes or a solid bar. Of MNIST's 60,000 training digits only 10 do that, all of
# them 1s whose box is the stroke itself, narrower than FRAME_MIN_ASPECT times their height.
FULL_SIDE = 0.95
FRAME_MIN_ASPECT = 0.45
# Ink wider than SOLID_MIN_ASPECT times its height whose strokes are wider than SOLID_STROKE_FRACTION
# of its height is a filled shape (a disc, a polygon): of MNIST's 70,000 digits none is, the thickest
# reaching 0.56. Narrower ink is a 1, as thick as its box allows; but a painted bar wider than
# BAR_MAX_WIDTH of 28 pixels fills its box whole, where a pen's 1 that wide misses its box's corners:
# none of MNIST's fills BAR_FILL of it, raw or through the reader (the fullest, 94%).
SOLID_MIN_ASPECT = 0.5
SOLID_STROKE_FRACTION = 0.6
BAR_FILL = 0.97
BAR_MAX_WIDTH = 4
# A box drawn round other ink (a plot's axes, with its title above and tick labels below them): ink
# along FRAME_LINE of the width in two rows at least half the height apart and along FRAME_LINE of the
# height in two columns at least half the width apart, the box at most FRAME_MAX_FILL ink. Of MNIST's
# 70,000 digits none is: the squarest 0s and 8s that have such rows and columns are 44% ink or more.
FRAME_LINE = 0.75
FRAME_MAX_FILL = 0.3
# A piece stacked from this many bands of ink, one above the other with blank rows between, each at
# least TEXT_LINE_FRACTION of the piece's height, is lines of writing (a paragraph of text, whose
# letters stack into columns): a digit in pieces has at most two (a 5 and its flag).
TEXT_MIN_LINES = 3
TEXT_LINE_FRACTION = 0.1
# So is a piece of TEXT_MANY_LINES or more bands of any height: small text, many lines to the piece.
TEXT_MANY_LINES = 5


class Box(typing.NamedTuple):
    """A rectangle of pixels; ``right`` and ``bottom`` are exclusive, as in slicing."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self):
        return self.right - self.left

    @property
    def height(self):
        return self.bottom - self.top

    def union(self, other):
        return Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )


class Piece(typing.NamedTuple):
    """One digit found in a mask: its box, and the mask of its own pixels in the whole image."""

    box: Box
    members: np.ndarray


def _row_runs(mask):
    """The runs of True in each row: arrays of (row, start column, end column exclusive)."""
    height, width = mask.shape
    # Each row framed by a False at both ends: read as one line, the mask then changes from False to
    # True at the start of each run and back just after its end, alternately, never across rows.
    framed = np.zeros((height, width + 2), dtype=bool)
    framed[:, 1:-1] = mask
    line = framed.ravel()
    changes = np.flatnonzero(line[1:] != line[:-1]) + 1
    rows, starts = np.divmod(changes[0::2], width + 2)
    return rows, starts - 1, changes[1::2] - rows * (width + 2) - 1


# Graphs with at most this many edges (a digit's runs have a few dozen) are joined in plain Python:
# a loop over them costs less than the tens of NumPy calls of the vectorised union.
PYTHON_UNION_MAX_EDGES = 256


def _union_labels(count, first, second):
    """Label the nodes of an undirected graph by connected component (smallest node id of each)."""
    if len(first) <= PYTHON_UNION_MAX_EDGES:
        return _union_labels_in_python(count, first.tolist(), second.tolist())
    parent = np.arange(count)
    first_roots, second_roots = first, second
    while not np.array_equal(first_roots, second_roots):
        low = np.minimum(first_roots, second_roots)
        np.minimum.at(parent, first_roots, low)
        np.minimum.at(parent, second_roots, low)
        # Pointer jumping: each node's parent becomes its grandparent until all point at their roots.
        while True:
            grandparent = parent[parent]
            if (grandparent == parent).all():
                break
            parent = grandparent
        first_roots, second_roots = parent[first], parent[second]
    return parent


def _union_labels_in_python(count, first, second):
    """``_union_labels`` of a small graph: union-find, each tree's root its smallest node."""
    parent = list(range(count))
    for one, other in zip(first, second):
        while parent[one] != one:
            one = parent[one]
        while parent[other] != other:
            other = parent[other]
        if one < other:
            parent[other] = one
        else:
            parent[one] = other
    # A node's parent is smaller than it, so in increasing order each parent already points at its root.
    for node in range(count):
        parent[node] = parent[parent[node]]
    return np.array(parent)


def label_components(mask):
    """Label the 8-connected components of a boolean mask.

    Returns ``(labels, count)``: an int32 image with 0 for background and 1..count for the
    components, numbered in order of their first pixel in row-major order.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {mask.shape}")
    runs = _labelled_runs(mask)
    return _label_image(mask.shape, runs), runs.count


class _Runs(typing.NamedTuple):
    """The runs of True along the rows of a mask, each with the label of its 8-connected component."""

    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    labels: np.ndarray
    count: int


def _labelled_runs(mask):
    """The runs of a 2-D boolean mask (see ``_row_runs``), each labelled as ``label_components`` labels its pixels."""
    height, width = mask.shape
    rows, starts, ends = _row_runs(mask)
    if len(rows) == 0:
        return _Runs(rows, starts, ends, rows, 0)
    # Keys place every run on one line so that the runs of the next row touching a run form a
    # contiguous slice found by binary search: 8-connectivity means start <= other end, end >= other start.
    stride = width + 2
    start_keys, end_keys = rows * stride + starts, rows * stride + ends
    low = np.searchsorted(end_keys, start_keys + stride, side="left")
    high = np.searchsorted(start_keys, end_keys + stride, side="right")
    counts = np.maximum(high - low, 0)
    first = np.repeat(np.arange(len(rows)), counts)
    second = np.arange(len(first)) + np.repeat(low - (np.cumsum(counts) - counts), counts)
    roots = _union_labels(len(rows), first, second)
    # Components are numbered in the order of their roots, each one's first run in row-major order.
    is_root = roots == np.arange(len(rows))
    run_labels = np.cumsum(is_root, dtype=np.int32)[roots]
    return _Runs(rows, starts, ends, run_labels, int(np.count_nonzero(is_root)))


def _label_image(shape, runs):
    """The label image of ``label_components`` painted from its labelled runs."""
    height, width = shape
    stride = width + 2
    # Each run adds its label at its first pixel and takes it away just after its last: the running
    # sum along the rows, framed as in _row_runs, is the label image.
    steps = np.zeros(height * stride, dtype=np.int32)
    steps[runs.rows * stride + runs.starts + 1] = runs.labels
    steps[runs.rows * stride + runs.ends + 1] = -runs.labels
    labels = np.cumsum(steps, dtype=np.int32).reshape(height, stride)[:, 1:-1]
    return np.ascontiguousarray(labels)


def component_boxes(labels, count):
    """Per component: (left, top, right, bottom) with right and bottom exclusive, and the pixel area."""
    rows, columns = np.nonzero(labels)
    ids = labels[rows, columns] - 1
    boxes = np.zeros((count, 4), dtype=np.int64)
    boxes[:, 0] = boxes[:, 1] = np.iinfo(np.int64).max
    np.minimum.at(boxes[:, 0], ids, columns)
    np.minimum.at(boxes[:, 1], ids, rows)
    np.maximum.at(boxes[:, 2], ids, columns + 1)
    np.maximum.at(boxes[:, 3], ids, rows + 1)
    return boxes, np.bincount(ids, minlength=count)


def find_digits(mask, image_side, single=False):
    """The digits of an ink mask, left to right, as ``Piece``s: ``group_digits`` without blobs and tiny marks.

    A mark shorter than ``MIN_DIGIT_FRACTION`` of ``image_side`` (the image's longer side, in the
    mask's pixels) or than ``MIN_DIGIT_PIXELS`` is no digit, and neither is a solid blob, a dash or a frame.
    A frame is looked for here only around pieces larger than MNIST's digit box: shrunk to it, their
    1-pixel lines (a plot's axes) would fade, where a smaller piece's stay for ``recognition`` to see.
    """
    minimum_height = max(MIN_DIGIT_PIXELS, MIN_DIGIT_FRACTION * image_side)
    digits = []
    for piece in group_digits(mask, single=single):
        if piece.box.height < minimum_height:
            continue
        crop = piece.members[piece.box.top : piece.box.bottom, piece.box.left : piece.box.right]
        if is_blob(crop) or is_dash(crop) or (max(crop.shape) > config.DIGIT_BOX and is_framed(crop)):
            continue
        digits.append(piece)
    return digits


def group_digits(mask, single=False):
    """Split an ink mask into pieces that are one digit each, left to right.

    Dust is dropped first; pieces overlapping horizontally are merged (the bar of a 5, a broken
    stroke); specks much smaller than the largest digit are dropped. With ``single`` every remaining
    piece is one digit.
    """
    runs = _labelled_runs(bridge_thin_gaps(mask))
    if runs.count == 0:
        return []
    if runs.count == 1:
        # One piece of ink is one digit whatever the rules below say, and its pixels are the whole
        # mask's: most images of one digit need no label image at all.
        return [Piece(bounding_box(mask), mask.astype(bool))]
    # subtle: bridged gaps join pieces but are no ink; only the mask's own pixels keep their label.
    labels = np.where(mask, _label_image(mask.shape, runs), 0)
    return _grouped_components(labels, runs.count, single)


def _grouped_components(labels, count, single):
    """``group_digits`` of a mask whose pixels carry their component's label, 1..``count``."""
    boxes, areas = component_boxes(labels, count)
    kept = np.flatnonzero(areas >= DUST_AREA_FRACTION * areas.max())
    groups = [[index] for index in kept[np.argsort(boxes[kept, 0], kind="stable")].tolist()]
    # Plain Python boxes and areas: a few groups are cheaper to combine without NumPy.
    boxes, areas = [Box(*box) for box in boxes.tolist()], areas.tolist()
    if single:
        groups = [sum(groups, [])]
    else:
        groups = _merge_overlapping(groups, boxes)
    group_boxes = [_union_box(boxes, group) for group in groups]
    group_areas = [sum(areas[index] for index in group) for group in groups]
    tallest = max(box.height for box in group_boxes)
    largest = max(group_areas)
    pieces = []
    for group, box, area in zip(groups, group_boxes, group_areas):
        if box.height >= SPECK_HEIGHT_FRACTION * tallest or area >= SPECK_AREA_FRACTION * largest:
            # The group's pixels, looked up by label (label 0, the ground, is in no group).
            in_group = np.zeros(count + 1, dtype=bool)
            in_group[np.asarray(group) + 1] = True
            pieces.append(Piece(box, in_group[labels]))
    return pieces


def bounding_box(mask):
    """The ``Box`` of a non-empty mask's True pixels."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return Box(int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1)


def bridge_thin_gaps(mask):
    """The mask with its 1-pixel gaps filled when its strokes are thin, else the mask itself.

    A 1-pixel anti-aliased stroke falls between pixels in places, where both halves are too faint
    for the mask: the stroke arrives as dashes. A 2x2 dilation joins pieces 1 pixel apart (in
    any direction) and no further, so neighbouring digits of thick strokes stay apart.
    """
    if not normalize.has_thin_strokes(mask):
        return mask
    return bridge_gaps(mask)


def bridge_gaps(mask):
    """The mask grown by a 2x2 square: pieces 1 pixel apart, in any direction, join."""
    bridged = mask.copy()
    bridged[1:, :] |= mask[:-1, :]
    bridged[:, 1:] |= bridged[:, :-1]
    return bridged


def is_blob(mask):
    """True for a solid, roundish spot (a dot or smudge), which no digit is: strokes leave gaps."""
    height, width = mask.shape
    fill = np.count_nonzero(mask) / mask.size
    return fill > BLOB_FILL and max(height, width) < BLOB_ELONGATION * min(height, width)


def is_dash(mask):
    """True for a pen's dash: one stroke lying down, no taller than ``DASH_MAX_STROKES`` of its stroke width.

    A bar filling its box as a blob does (``BLOB_FILL``) is no pen stroke but a shape (an object in a
    photo), left for the model to be unsure of.
    """
    height, width = mask.shape
    if width <= DASH_MIN_ASPECT * height or np.count_nonzero(mask) > BLOB_FILL * mask.size:
        return False
    return height <= DASH_MAX_STROKES * normalize.stroke_width(mask)


def cropped(mask):
    """``mask`` cropped to the box of its True pixels (empty when it has none)."""
    if not mask.any():
        return mask[:0, :0]
    box = bounding_box(mask)
    return mask[box.top : box.bottom, box.left : box.right]


def is_framed(inked):
    """True when the ink of a mask ``cropped`` to it runs along a whole horizontal and a whole vertical side.

    # # # # # #      the corner of a plot's axes: its left and bottom sides are full;
    # . . # . .      a 7's bar fills the top side, but no side column runs its whole height
    # . . # . .
    # # # # # #
    """
    if is_box_drawn(inked):
        return True
    height, width = inked.shape
    if height < 3 or width < FRAME_MIN_ASPECT * height:
        return False
    full_row = max(inked[0].mean(), inked[-1].mean()) >= FULL_SIDE
    return bool(full_row and max(inked[:, 0].mean(), inked[:, -1].mean()) >= FULL_SIDE)


def is_painted(inked):
    """True when the ink of a 28x28 mask, ``cropped`` to it, fills its box like a painted shape rather than pen strokes.

    A pen draws strokes about as wide all along, much thinner than a digit is wide; a filled ellipse,
    a triangle or a bar in a photo is as thick as its box allows (``#`` ink)::

        . # # # .      an ellipse: its "stroke" (twice its area over its outline) is 0.7 of its height,
        # # # # #      where the ring of a 0 drawn that size has strokes about 0.2 of it.
        . # # # .
    """
    height, width = inked.shape
    if height == 0:
        return False
    if width > SOLID_MIN_ASPECT * height:
        # stroke_width counts ink on the crop's edge as outline, as it is.
        return bool(normalize.stroke_width(inked) > SOLID_STROKE_FRACTION * min(width, height))
    return bool(width > BAR_MAX_WIDTH and inked.mean() >= BAR_FILL)


def is_box_drawn(inked):
    """True when a mask cropped to its ink holds the four sides of a box, hollow, wherever other ink reaches.

    # # # # # # #      a plot's axes (a sketch): two rows and two columns run along most of the box,
    . # . . . # .      while the title and the tick labels around them keep them off its sides. The
    . # . # . # .      axes' 1-pixel lines leave a real plot's box mostly empty; a 0 drawn square
    . # # # # # .      enough to have such rows and columns is mostly ink.
    . . # . # . .
    """
    height, width = inked.shape
    if height < 3 or width < 3 or inked.mean() > FRAME_MAX_FILL:
        return False
    rows = np.flatnonzero(inked.mean(axis=1) >= FRAME_LINE)
    columns = np.flatnonzero(inked.mean(axis=0) >= FRAME_LINE)
    return bool(
        len(rows) and len(columns) and rows[-1] - rows[0] >= height / 2 and columns[-1] - columns[0] >= width / 2
    )


def is_lines_of_text(mask):
    """True when ``mask`` is ``TEXT_MIN_LINES`` or more bands of ink stacked with blank rows between them.

    A screenshot of a paragraph: the letters of its lines stack into columns that grouping merges,
    each column one tall piece made of short bands (``#`` the rows with ink, ``.`` the blank ones)::

        #  e r r o r       "e", "a", "b" and "S" stack into one column: four bands, lines of text;
        .                  a 5 whose flag floats above it has two, and stays a digit.
        #  a g e n d a
        .
        #  b u d g e t
        .
        #  S e a r c h
    """
    inked_rows = mask.any(axis=1)
    # A piece's rows hold ink from its first to its last for nearly every digit: one band.
    if inked_rows.all():
        return False
    # Where a band starts and ends: the changes of the row profile, padded with blank rows.
    changes = np.flatnonzero(np.diff(np.concatenate(([False], inked_rows, [False])).astype(np.int8)))
    heights = changes[1::2] - changes[::2]
    if len(heights) >= TEXT_MANY_LINES:
        return True
    return bool(np.count_nonzero(heights >= TEXT_LINE_FRACTION * len(inked_rows)) >= TEXT_MIN_LINES)


def _union_box(boxes, group):
    """The box around the boxes of a group of components."""
    return functools.reduce(Box.union, (boxes[index] for index in group))


def _horizontal_overlap(first, second):
    """Columns two boxes share, counting boxes that touch diagonally as sharing one."""
    return min(first.right, second.right) - max(first.left, second.left) + 1


def _merge_overlapping(groups, boxes):
    """Merge groups (sorted by left edge) that are pieces of one digit.

    Digits on a line stand side by side, so pieces stacked above one another belong together:
    neighbours whose horizontal extents overlap by half the narrower one are merged, and so are
    neighbours lying wholly one above the other whose columns meet at all (a long stroke broken where
    it thins, its halves leaning apart), and a short fragment (a stroke broken off by thresholding)
    that overlaps its neighbour at all. ``boxes`` holds the ``Box`` of each component a group lists.
    """
    merged = [groups[0]]
    for group in groups[1:]:
        current, piece = _union_box(boxes, merged[-1]), _union_box(boxes, group)
        overlap = _horizontal_overlap(current, piece)
        stacked = current.bottom <= piece.top or piece.bottom <= current.top
        if overlap >= MERGE_OVERLAP_FRACTION * min(current.width, piece.width) or (stacked and overlap > 0):
            merged[-1] = merged[-1] + group
        else:
            merged.append(group)
    tallest = max(_union_box(boxes, group).height for group in merged)
    index = 0
    while index < len(merged) and len(merged) > 1:
        box = _union_box(boxes, merged[index])
        if box.height < FRAGMENT_HEIGHT_FRACTION * tallest:
            neighbours = [other for other in (index - 1, index + 1) if 0 <= other < len(merged)]
            overlaps = {other: _horizontal_overlap(box, _union_box(boxes, merged[other])) for other in neighbours}
            best = max(overlaps, key=overlaps.get)
            # subtle: a fragment one blank column short of its neighbour counts too: the bar of a 7
            # whose corner faded in a small scan ends a column before its stem.
            if overlaps[best] >= 0:
                low, high = sorted((index, best))
                merged[low : high + 1] = [merged[low] + merged[high]]
                index = low
                continue
        index += 1
    return merged
