"""Normalising one digit the way MNIST was made: crop, even out the strokes, scale into 20x20, centre by mass in 28x28.

MNIST's digits were scaled (aspect kept) so their longer side is 20 pixels, anti-aliased, and placed
in a 28x28 frame with their centre of mass at the centre. A person's digit may be drawn with a
1-pixel pencil on a 1000-pixel canvas or with a marker filling a phone photo, so its strokes are
first brought near MNIST's width relative to the digit's size.
"""

import math

import numpy as np
import PIL.Image
import PIL.ImageFilter

from number_recognition import config

# Digits larger than this are shrunk to it before their strokes are evened out, which keeps the
# rank filters small.
STROKE_WORKING_SIZE = 100
# MNIST's strokes are about 0.13 of the digit's longer side (0.10 to 0.20 for 90% of the test set);
# strokes far outside that range are thickened or thinned towards it.
STROKE_RANGE = (0.08, 0.26)
STROKE_TARGET = (0.11, 0.20)
# Thinning never removes more than this fraction of the stroke width, so no stroke disappears.
MAX_THINNING_FRACTION = 0.6
# Strokes at most this wide (in mask pixels, as stroke_width measures) are thin: their 1-pixel gaps
# are anti-aliasing, not the space between two digits.
THIN_STROKE_PIXELS = 2.5
# Pixels above this (of 1) count as stroke when measuring its width.
STROKE_MASK_LEVEL = 0.5
# Ink whose rows spread less than this (a variance, in pixels squared) is a flat dash: it has no slant.
MIN_ROW_VARIANCE = 1.0
# Digits leaning further than this (columns per row, tan 45 degrees) are not stood upright: they lie down.
MAX_SLANT = 1.0
# Digits leaning less than this (17 degrees) are left as they are: half of MNIST's digits lean 0.2 or
# more, and reading a slightly leaning digit again upright is a coin toss. Of the unsure MNIST test
# digits the upright reading was surer for, it turned 11 right of 21 into 16 for those leaning 0.3 or
# more, 34 of 50 into 38 from 0.1, 49 of 70 into 51 from 0; on the generated images from 0.1, it
# righted tilted digits but wronged a 5 of a number and a 6 next to a stray mark, both leaning 0.1-0.2.
MIN_SLANT = 0.3


def stroke_width(mask):
    """Mean stroke width of a boolean mask in pixels: twice the area over the boundary length.

    The boundary is the mask's pixels that are not interior; a pixel is interior when it and its
    four neighbours are all in the mask, which no pixel on the image's edge is.
    """
    interior = mask[1:-1, 1:-1] & mask[:-2, 1:-1]
    for neighbour in (mask[2:, 1:-1], mask[1:-1, :-2], mask[1:-1, 2:]):
        np.logical_and(interior, neighbour, out=interior)
    area = np.count_nonzero(mask)
    return 2.0 * area / max(area - np.count_nonzero(interior), 1)


def has_thin_strokes(mask):
    """True when a non-empty mask's strokes are at most ``THIN_STROKE_PIXELS`` wide: a pencil line."""
    # An empty mask has width 0, any other a positive one.
    return 0 < stroke_width(mask) <= THIN_STROKE_PIXELS


def even_out_strokes(crop, mask):
    """Thicken very thin or thin very thick strokes towards MNIST's stroke width (relative to size)."""
    size = max(crop.shape)
    ratio = stroke_width(mask) / size
    if STROKE_RANGE[0] <= ratio <= STROKE_RANGE[1]:
        return crop
    target = STROKE_TARGET[0] if ratio < STROKE_RANGE[0] else STROKE_TARGET[1]
    # A k x k maximum (minimum) filter widens (narrows) a stroke by about k - 1 pixels.
    change = int(round(abs(target - ratio) * size))
    if change < 1:
        return crop
    kernel = 2 * (change // 2) + 1
    image = PIL.Image.fromarray(np.pad(crop, kernel))
    if ratio < STROKE_RANGE[0]:
        image = image.filter(PIL.ImageFilter.MaxFilter(kernel))
    else:
        kernel = min(kernel, 2 * int(stroke_width(mask) * MAX_THINNING_FRACTION / 2) + 1)
        if kernel < 3:
            return crop
        image = image.filter(PIL.ImageFilter.MinFilter(kernel))
    return np.asarray(image)


def widened(image, pixels):
    """``image`` with its bright strokes widened by ``pixels``: a maximum over a square, done row- then column-wise.

    The same as Pillow's MaxFilter of size ``pixels + 1`` (made odd), at the cost of 2 x ``pixels``
    array maxima instead of a rank filter's per-pixel sort, which matters on a 1000-pixel crop.
    """
    before, after = pixels // 2, pixels - pixels // 2
    padded = np.pad(image, ((before, after), (before, after)))
    height, width = image.shape
    rows = padded[:, :width].copy()
    for shift in range(1, pixels + 1):
        np.maximum(rows, padded[:, shift : shift + width], out=rows)
    widest = rows[:height].copy()
    for shift in range(1, pixels + 1):
        np.maximum(widest, rows[shift : shift + height], out=widest)
    return widest


def center_in_frame(digit, size=config.IMAGE_SIZE):
    """Place an image of at most ``size`` pixels each way in a square frame, its centre of mass in the middle."""
    height, width = digit.shape
    total = float(digit.sum())
    if total <= 0:
        row_centre, column_centre = (height - 1) / 2, (width - 1) / 2
    else:
        row_centre = float((digit.sum(axis=1) * np.arange(height)).sum() / total)
        column_centre = float((digit.sum(axis=0) * np.arange(width)).sum() / total)
    # MNIST's centres of mass sit at pixel (14, 14), half a pixel past the geometric centre 13.5.
    top = int(round(size / 2 - row_centre))
    left = int(round(size / 2 - column_centre))
    # The shift may push part of a lopsided digit out; keep the whole bounding box in the frame.
    top = min(max(top, 0), size - height)
    left = min(max(left, 0), size - width)
    frame = np.zeros((size, size), dtype=np.float32)
    frame[top : top + height, left : left + width] = digit
    return frame


def slant(digit):
    """How far the digit leans: the columns its ink moves right per row down, from its second moments.

    ``mu11 / mu02``, the covariance of the ink's columns and rows over the variance of its rows: the
    slope of the line that best fits the ink column by row. An upright 1 has slant 0; a 1 whose top
    leans right by 30 degrees has about -tan(30 degrees) = -0.58 (its columns fall as rows grow).
    """
    total = float(digit.sum())
    if total <= 0:
        return 0.0
    rows, columns = np.indices(digit.shape)
    row_mean = float((rows * digit).sum()) / total
    column_mean = float((columns * digit).sum()) / total
    row_variance = float(((rows - row_mean) ** 2 * digit).sum())
    if row_variance < MIN_ROW_VARIANCE * total:
        # A flat dash has no rows to lean over.
        return 0.0
    lean = float(((rows - row_mean) * (columns - column_mean) * digit).sum()) / row_variance
    # A stroke lying flatter than MAX_SLANT is a dash, not a digit leaning: shearing it would fold it into a dot.
    return lean if abs(lean) <= MAX_SLANT else 0.0


def deslanted(digit, size=config.IMAGE_SIZE):
    """The 28x28 ``digit`` sheared until it stands upright, then scaled into 20x20 and centred again like MNIST.

    OpenCV's digits sample deskews this way: each row moves sideways by ``slant`` times its distance
    from the centre of mass, which turns a leaning 1 into an upright one. A digit leaning less than
    ``MIN_SLANT`` is returned as it is. The shear is done on a frame wide enough that no ink falls off.
    """
    lean = slant(digit)
    if abs(lean) < MIN_SLANT:
        return digit
    total = float(digit.sum())
    row_mean = float((np.arange(size) * digit.sum(axis=1)).sum()) / total
    margin = int(math.ceil(abs(lean) * size))
    wide = np.pad(digit, ((0, 0), (margin, margin)))
    # subtle: Pillow's affine transform maps each output pixel (x, y) to the input pixel
    # (x + lean * (y - row_mean), y), so the output's rows are shifted back by the lean.
    sheared = PIL.Image.fromarray(wide).transform(
        (wide.shape[1], size),
        PIL.Image.Transform.AFFINE,
        (1.0, lean, -lean * row_mean, 0.0, 1.0, 0.0),
        resample=PIL.Image.Resampling.BILINEAR,
    )
    return _framed_like_mnist(np.asarray(sheared), size)


def normalize_digit(ink, box=None, members=None):
    """One digit's MNIST input: crop ``ink`` to ``box``, even out strokes, scale to 20 px, centre by mass.

    ``members`` (a mask the size of ``ink``) keeps only this digit's pixels, so a neighbour reaching
    into the box does not leak in. Returns a float32 (28, 28) array in [0, 1].
    """
    if box is None:
        rows, columns = np.nonzero(ink > 0)
        if len(rows) == 0:
            return np.zeros((config.IMAGE_SIZE, config.IMAGE_SIZE), dtype=np.float32)
        box = (columns.min(), rows.min(), columns.max() + 1, rows.max() + 1)
    left, top, right, bottom = box
    crop = ink[top:bottom, left:right]
    if members is not None:
        grown = grow_mask(members[top:bottom, left:right])
        crop = np.where(grown, crop, np.float32(0.0)).astype(np.float32, copy=False)
    if max(crop.shape) > STROKE_WORKING_SIZE:
        # Strokes are evened out on a copy of bounded size, which keeps the rank filters small.
        # Shrinking would dim a stroke thinner than the shrink factor into a faint broken line, so
        # such a stroke is first widened to the factor (a 1-pixel pencil on a 1000-pixel canvas).
        factor = max(crop.shape) / STROKE_WORKING_SIZE
        width = stroke_width(crop > STROKE_MASK_LEVEL)
        if width < factor:
            crop = widened(crop, int(math.ceil(factor - width)))
        crop = _scaled(crop, STROKE_WORKING_SIZE)
    return _framed_like_mnist(even_out_strokes(crop, crop > STROKE_MASK_LEVEL))


def _framed_like_mnist(image, size=config.IMAGE_SIZE):
    """The ink of ``image`` (some of it lit) cropped to its box, scaled into 20x20 and centred by mass in ``size``."""
    # The box of the ink: the first and last rows and columns holding any.
    inked = image > 0
    rows, columns = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    crop = image[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    return center_in_frame(_scaled(crop, config.DIGIT_BOX), size)


def _scaled(image, longer_side):
    """``image`` resized (Lanczos, aspect kept) to ``longer_side`` pixels on its longer side, peak at 1."""
    height, width = image.shape
    scale = longer_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        # Already that size, as MNIST-style digits are: Pillow's resize would return a copy, and the
        # trip through a Pillow image costs more than the rest of this function.
        resized = np.maximum(image, np.float32(0.0))
    else:
        resized = np.maximum(np.asarray(PIL.Image.fromarray(image).resize(size, PIL.Image.Resampling.LANCZOS)), 0.0)
    # Lanczos overshoots past the range at sharp edges; clipped in place (np.clip costs more on small images).
    np.minimum(resized, 1.0, out=resized)
    peak = float(resized.max())
    # Scaling down thin strokes dims them; MNIST's strokes reach full intensity.
    if peak > 0:
        resized /= peak
    return resized


def grow_mask(mask):
    """The mask grown by one pixel in all eight directions, so a digit's soft anti-aliased edge comes with it.

    Growing into the 3x3 square around each pixel is growing up and down, then left and right.
    """
    tall = mask.copy()
    tall[1:] |= mask[:-1]
    tall[:-1] |= mask[1:]
    grown = tall.copy()
    grown[:, 1:] |= tall[:, :-1]
    grown[:, :-1] |= tall[:, 1:]
    return grown
