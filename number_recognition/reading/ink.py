"""Finding the ink in a grey image: the ground (paper or canvas) removed, strokes bright on a dark ground.

Whatever the original looks like (black pen on white paper in a shadowed photo, a white brush on a
black canvas, a faint pencil scan), ``extract_ink`` returns the same kind of picture as MNIST's: the
ground at 0 and full-strength strokes at 1, plus a mask of the pixels that are surely ink, from which
``segmentation`` finds the digits. ``focus_on_ink`` first cuts a big image down to the part that holds
ink, at the finest resolution the working size allows.

A 28x28 digit costs a fraction of a millisecond here, so NumPy's fixed cost per call counts as much
as the pixels: ``median`` and ``percentile`` give what ``np.median`` and ``np.percentile`` give from
one ``np.partition``, without their tens of microseconds of generality per call.
"""

import functools
import math

import numpy as np
import PIL.Image
import PIL.ImageFilter

from number_recognition.reading import normalize
from number_recognition.reading import segmentation

# Images are analysed with their longer side at most this many pixels, which keeps a digit drawn
# small in a corner of a big canvas tens of pixels tall while bounding the work per image.
WORKING_SIZE = 1024
# Ink must differ from the ground by at least this much (on a 0..1 scale) to count as a digit.
MIN_CONTRAST = 0.12
# Pixels count as surely ink (for finding digits) only above this fraction of the stroke level.
MASK_FLOOR = 0.4
# The mask of thin strokes also takes pixels down to this fraction of the threshold, when they are
# joined to surely-ink ones (hysteresis).
THIN_MASK_FRACTION = 0.5
# The ground's noise is cut off at most this high, so the faint anti-aliased edges of strokes stay.
NOISE_FLOOR_CAP = 0.5 * MASK_FLOOR
# The median absolute deviation times this is the standard deviation of normally distributed noise.
MAD_TO_SIGMA = 1.4826
# Noise is cut at the ground's median plus this many standard deviations.
NOISE_SIGMAS = 3
# The region cut around the ink of a big image keeps a margin of this fraction of the ink's size
# (plus a few pixels), so strokes that were too faint to find at working size are not cut off.
FOCUS_MARGIN_FRACTION = 0.25
FOCUS_MARGIN_PIXELS = 2
# Images smaller than this on their shorter side are median-filtered only when they are sprinkled with
# specks: a 28x28 digit has none, and the filter would cost more than the rest of its preparation.
DENOISE_MIN_SIZE = 32
# A speck is a pixel brighter than all its 8 neighbours by more than this (of 1), or darker on a light image, ...
SPECK_CONTRAST = 0.5
# ... and a small image holding at least this many is sprinkled with them (salt and pepper noise,
# dust on a scan). None of MNIST's first 2000 test digits has one; a thin stroke's pixel always has
# a neighbour along the stroke.
MIN_SPECKS = 5
# A pixel with at least this many of its 8 neighbours like it may be part of a stroke, not a speck.
STROKE_NEIGHBOURS = 2
# Pixels the median filter would change by more than this (of 1) are looked at as possible lines,
# and kept when they join into a piece at least this many pixels long: specks, even smeared by
# JPEG, are smaller; the strokes of a digit tall enough to read are longer.
LINE_MIN_CONTRAST = 0.1
LINE_MIN_EXTENT = 10
# An image the median filter changes in at most this fraction of its pixels has a clean ground: its
# changed pixels are strokes and specks (0.1% to 6% on the bench's pencil drawings, a median of 0.8%),
# not the grain of a noisy photo (0.6% to 17%, a median of 5%). A small drawing's pencil line is a
# large fraction of it, but no more pixels than CLEAN_MAX_CHANGED_PER_SIDE times the image's longer
# side (at most 2.6 on the bench's pencil drawings), where grain grows with the image's area (a
# median of 11 times its side on the bench's noisy photos).
CLEAN_MAX_CHANGED = 0.02
CLEAN_MAX_CHANGED_PER_SIDE = 3.0
# The ground is the median of a border band 1/BORDER_DIVISOR of the shorter side wide.
BORDER_DIVISOR = 50
# Images smaller than this on their shorter side have one ground level, not one per tile, unless
# their border shows an uneven ground (fog, a shadow): its levels spread over more than this (of 1),
# changing smoothly, by at most UNEVEN_MAX_STEP of the spread between neighbouring pixels. A stroke
# running off a tightly cropped digit changes it in one step (a quarter to nearly all of the spread
# in the real-image sets' small scans; in MNIST-C's fog, 99% of steps are under 0.29).
LOCAL_GROUND_MIN_SIZE = 64
UNEVEN_GROUND_SPREAD = 0.1
UNEVEN_MAX_STEP = 0.25
# The uneven ground of a photo is estimated on this many tiles each way, each at least this many
# pixels wide (the 3x3 tiles around a pixel then span more than a stroke of a small digit).
GROUND_TILES = 8
MIN_TILE_PIXELS = 3
# A ground in bands of two levels (a white canvas with black strips, paper half in a hard shadow,
# with strokes on both) shows at the border as two levels at least this far apart (of 1), ...
BANDED_CONTRAST = 0.5
# ... each holding at least this fraction of the border, and together nearly all of it: pixels
# within BANDED_TOLERANCE of either level.
BANDED_MIN_FRACTION = 0.2
BANDED_TOLERANCE = 0.15
BANDED_FRACTION = 0.9
# The band of the level less common on the border must hold at least this fraction of pixels that
# differ from it as strokes do (MNIST-C's striped digits: 10% to 25%).
BANDED_MIN_INK_FRACTION = 0.05
# Hysteresis grows the mask into the fainter pixels at most this many steps (a small digit's thin strokes
# need one or two) before it labels the pieces of fainter pixels instead, at a cost that does not
# depend on how far they reach.
MAX_GROWTH_STEPS = 3
# The strokes' full strength is this percentile of the strong ink pixels.
STROKE_LEVEL_PERCENTILE = 90
# Strokes drawn as their outlines (an edge detector's output, hollow "bubble" digits) are lines with
# no interior: every pixel of their mask lies on its boundary, which makes its stroke width (twice
# the area over the boundary) exactly 2. Of MNIST's first 2000 test digits, 4 masks are that thin.
HOLLOW_MAX_STROKE_WIDTH = 2.0
# A hole enclosed by such lines and at most this many times as wide as they are is the inside of a
# stroke, and is filled. The loops of a digit written with a pencil are many strokes wide; the
# slivers where strokes nearly meet are harmless to fill.
HOLLOW_STROKE_RATIO = 1.5


def _partly_sorted(values, kth):
    """A flat copy of ``values`` with the elements at the indices ``kth`` where sorting would put them."""
    values = np.asarray(values).flatten()
    values.partition(kth)
    return values


def median(values):
    """``np.median(values)`` of a float array, computed the same way from one partial sort."""
    middle = np.size(values) // 2
    if np.size(values) % 2:
        return _partly_sorted(values, middle)[middle]
    low, high = _partly_sorted(values, (middle - 1, middle))[middle - 1 : middle + 1]
    # NumPy's median is the mean of the two middle values, in the values' own float type.
    return (low + high) / 2


def percentile(values, q):
    """``np.percentile(values, q)`` (its default, linear method) of a float array, from one partial sort.

    The q-th percentile of n values lies at index (n - 1) q / 100 of the sorted values, between the
    values just below and above it; NumPy interpolates from whichever of the two is nearer.
    """
    index = (np.size(values) - 1) * (q / 100)
    below = math.floor(index)
    above = min(below + 1, np.size(values) - 1)
    values = _partly_sorted(values, (below, above))
    low, high = values[below], values[above]
    fraction = index - below
    difference = high - low
    return high - difference * (1 - fraction) if fraction >= 0.5 else low + difference * fraction


def to_working_size(grey):
    """Shrink a grey image so its longer side is at most ``WORKING_SIZE``; return it and the scale used."""
    height, width = grey.shape
    scale = min(1.0, WORKING_SIZE / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        grey = np.asarray(PIL.Image.fromarray(grey).resize(size, PIL.Image.Resampling.BOX))
    return grey, scale


def focus_on_ink(grey):
    """The part of an image that holds its ink, at the finest resolution the working size allows.

    Returns ``(region, (left, top), scale)``: the region shrunk by ``scale`` and its origin in
    ``grey``. A big image is first searched at working size; when its ink covers only part of it
    (a small digit on a wide canvas), that part is cut from the full-resolution image, so thin
    strokes that shrinking would break up stay whole.
    """
    working, scale = to_working_size(grey)
    if scale == 1.0:
        return working, (0, 0), 1.0
    _, mask = extract_ink(denoise(working))
    rows, columns = np.nonzero(mask)
    if len(rows) == 0:
        return working, (0, 0), scale
    margin = (
        int(FOCUS_MARGIN_FRACTION * max(rows.max() - rows.min(), columns.max() - columns.min())) + FOCUS_MARGIN_PIXELS
    )
    top, left = max(0, int((rows.min() - margin) / scale)), max(0, int((columns.min() - margin) / scale))
    bottom = min(grey.shape[0], int((rows.max() + 1 + margin) / scale) + 1)
    right = min(grey.shape[1], int((columns.max() + 1 + margin) / scale) + 1)
    region, region_scale = to_working_size(grey[top:bottom, left:right])
    return region, (left, top), region_scale


def denoise(grey):
    """Remove salt-and-pepper specks and sensor noise but keep strokes, even 1 pixel wide ones.

    A 3x3 median filter removes specks, and with them every stroke 1 pixel wide. So the median is
    taken everywhere except on lines: pixels the median would change a lot, with at least
    ``STROKE_NEIGHBOURS`` of their eight neighbours like them (closer to them than to the median),
    joined into a piece at least ``LINE_MIN_EXTENT`` pixels long (across 1-pixel gaps, on an image
    with a clean ground). A stroke goes on at both sides of each of its pixels, for the length of the
    digit; a speck, even smeared by JPEG, is a small clump.

        speck . . .     line . . . . . . . .     median of both: the ground
              . X .          X X X X X X X X     the line is kept: 2 neighbours alike, 8 long
              . . .          . . . . . . . .
    """
    if min(grey.shape) < DENOISE_MIN_SIZE and not is_speckled(grey):
        return grey
    median = np.asarray(PIL.Image.fromarray(grey).filter(PIL.ImageFilter.MedianFilter(3)))
    height, width = grey.shape
    padded = np.pad(grey, 1, mode="edge")
    alike = np.zeros(grey.shape, dtype=np.uint8)
    for row_shift in range(3):
        for column_shift in range(3):
            if row_shift == column_shift == 1:
                continue
            neighbour = padded[row_shift : row_shift + height, column_shift : column_shift + width]
            alike += np.abs(neighbour - grey) <= np.abs(neighbour - median)
    changed = np.abs(grey - median) > LINE_MIN_CONTRAST
    candidates = (alike >= STROKE_NEIGHBOURS) & changed
    # subtle: where a steep anti-aliased line falls between two pixels, both are half-strength and
    # nearer the median than the line's full pixels, so the line's candidates come in dashes. On a
    # clean ground, dashes 1 pixel apart are measured as one piece, and every changed pixel of a
    # line's piece is kept; a noisy image's grain would join into lines that way.
    if np.count_nonzero(changed) <= max(
        CLEAN_MAX_CHANGED * changed.size, CLEAN_MAX_CHANGED_PER_SIDE * max(height, width)
    ):
        candidates = segmentation.bridge_gaps(candidates)
    labels, count = segmentation.label_components(candidates)
    if count == 0:
        return median
    boxes, _ = segmentation.component_boxes(labels, count)
    is_line = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= LINE_MIN_EXTENT
    return np.where(np.concatenate([[False], is_line])[labels] & changed, grey, median)


def is_speckled(grey):
    """True when at least ``MIN_SPECKS`` pixels stand out from all 8 of their neighbours by ``SPECK_CONTRAST``.

    Specks stand out from the ground: bright ones on a dark image, dark ones on a light one, told
    apart by the four corners (the ground shows there in nearly every image, and it costs four pixel
    reads instead of a mean). The image's edge is left out, and the 4 nearest neighbours are tried
    first: a clean digit has too few pixels standing out even from them, which settles it in a
    handful of array operations.
    """
    if grey[0, 0] + grey[0, -1] + grey[-1, 0] + grey[-1, -1] > 2:
        grey = 1.0 - grey
    centre = grey[1:-1, 1:-1]
    brightest = np.maximum(grey[:-2, 1:-1], grey[2:, 1:-1])
    np.maximum(brightest, grey[1:-1, :-2], out=brightest)
    np.maximum(brightest, grey[1:-1, 2:], out=brightest)
    brightest += SPECK_CONTRAST
    if np.count_nonzero(centre > brightest) < MIN_SPECKS:
        return False
    for neighbour in (grey[:-2, :-2], grey[:-2, 2:], grey[2:, :-2], grey[2:, 2:]):
        np.maximum(brightest, neighbour + SPECK_CONTRAST, out=brightest)
    return np.count_nonzero(centre > brightest) >= MIN_SPECKS


def border(grey):
    """The pixels of the image's outer border band, 1/BORDER_DIVISOR of its shorter side wide, as one array."""
    height, width = grey.shape
    band = max(1, min(height, width) // BORDER_DIVISOR)
    return np.concatenate((grey[:band], grey[-band:], grey[:, :band], grey[:, -band:]), axis=None)


def ground_level(edge):
    """The level of the ground (paper or canvas): the median of the image's border pixels ``edge``."""
    return float(median(edge))


def ink_is_dark(grey, ground):
    """True when the ink is darker than the ground: the darkest pixel lies further from it than the lightest.

    Extremes rather than percentiles, because a small digit on a big canvas is a tiny fraction of
    the pixels; ``denoise`` has already removed the isolated specks that would fool an extreme.
    """
    return ground - float(grey.min()) > float(grey.max()) - ground


def has_uneven_ground(grey, edge):
    """True when the border ``edge`` of ``grey`` changes level smoothly over more than ``UNEVEN_GROUND_SPREAD``."""
    spread = float(edge.max()) - float(edge.min())
    # An image 1 pixel wide or tall has no neighbouring border pixels to compare, and no room for tiles.
    if spread <= UNEVEN_GROUND_SPREAD or min(grey.shape) < 2:
        return False
    step = max(float(np.abs(np.diff(line)).max()) for line in (grey[0], grey[-1], grey[:, 0], grey[:, -1]))
    return step <= UNEVEN_MAX_STEP * spread


def banded_ground(grey, edge):
    """The ground under each pixel when it lies in bands of two levels, else None.

    One median level fits neither band, and ink is dark on the light band but light on the dark one
    (a white canvas with black strips, the strokes inverted on them). When the border ``edge`` holds
    two levels far apart and little else, the ground varies along the border that changes most, and
    the opposite border agrees with it: in columns (vertical bands) each column's ground runs from
    its top pixel to its bottom one, and likewise for rows. The band of the less common level must
    hold strokes of its own, else it is ink itself (a thick stroke running off a tight crop). The ink
    is then whatever differs from the ground under it, either way:

        border row   1 1 0 0 0 1 1      ground of each column from the top and bottom rows:
        a stroke     1 0 1 1 1 0 1  ->  ink   0 1 1 1 1 1 0, dark on white, light on black
    """
    low, high = float(edge.min()), float(edge.max())
    if high - low < BANDED_CONTRAST:
        return None
    near_low = np.count_nonzero(edge <= low + BANDED_TOLERANCE) / edge.size
    near_high = np.count_nonzero(edge >= high - BANDED_TOLERANCE) / edge.size
    if min(near_low, near_high) < BANDED_MIN_FRACTION or near_low + near_high < BANDED_FRACTION:
        return None
    height, width = grey.shape
    top, bottom, left, right = grey[0], grey[-1], grey[:, 0], grey[:, -1]
    in_columns = np.ptp(top) + np.ptp(bottom) >= np.ptp(left) + np.ptp(right)
    first, last = (top, bottom) if in_columns else (left, right)
    # subtle: bands cross the image, so the two opposite borders agree; a thick stroke that runs off
    # a tightly cropped digit's edge also makes two levels, but at different places on the two sides.
    if np.count_nonzero(np.abs(first - last) <= BANDED_TOLERANCE) < BANDED_FRACTION * first.size:
        return None
    if in_columns:
        along = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
        ground = (1 - along) * top + along * bottom
    else:
        along = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
        ground = (1 - along) * left[:, None] + along * right[:, None]
    # A band is ground, not ink, only when it holds strokes of its own: a tightly cropped thick 1 or
    # the bar of a 7 running off the edges makes bands too, but of even ink with nothing on them.
    level = median(edge)
    other_band = np.abs(ground - level) > BANDED_CONTRAST / 2
    strokes_on_it = other_band & (np.abs(grey - ground) > BANDED_CONTRAST)
    if np.count_nonzero(strokes_on_it) < BANDED_MIN_INK_FRACTION * np.count_nonzero(other_band):
        return None
    return ground


def local_ground(grey, dark_ink, ground, blocks=GROUND_TILES):
    """A smooth estimate of the ground under each pixel, for photos with uneven lighting.

    Each of ``blocks`` x ``blocks`` tiles (fewer on a small image, each at least ``MIN_TILE_PIXELS``
    wide) gives a high (dark ink) or low (light ink) percentile of its pixels, the ground showing
    between strokes; a 3x3 maximum (or minimum) over neighbouring tiles covers tiles filled by a
    thick stroke; bilinear interpolation smooths it back to full size. An image too small for three
    tiles each way gets the one level ``ground`` everywhere.
    """
    height, width = grey.shape
    blocks = min(blocks, min(height, width) // MIN_TILE_PIXELS)
    if blocks < 3:
        return np.full_like(grey, ground)
    row_edges = np.linspace(0, height, blocks + 1).astype(int)
    column_edges = np.linspace(0, width, blocks + 1).astype(int)
    level = 90 if dark_ink else 10
    tiles = np.array(
        [
            [
                percentile(grey[row_edges[i] : row_edges[i + 1], column_edges[j] : column_edges[j + 1]], level)
                for j in range(blocks)
            ]
            for i in range(blocks)
        ],
        dtype=np.float32,
    )
    padded = np.pad(tiles, 1, mode="edge")
    reduce = np.maximum if dark_ink else np.minimum
    spread = tiles
    for row_shift in range(3):
        for column_shift in range(3):
            spread = reduce(spread, padded[row_shift : row_shift + blocks, column_shift : column_shift + blocks])
    return np.asarray(PIL.Image.fromarray(spread).resize((width, height), PIL.Image.Resampling.BILINEAR))


@functools.cache
def _bin_edges_and_centres(bins):
    """The edges and centres of ``bins`` equal bins over [0, 1], made once per number of bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return edges, (edges[:-1] + edges[1:]) / 2


def otsu_threshold(values, bins=256):
    """Otsu's threshold of values in [0, 1]: the level that best separates two classes."""
    # np.bincount of the bin indices is the histogram of np.histogram(values, bins, (0, 1)), faster.
    histogram = np.bincount(np.minimum((np.asarray(values) * bins).astype(np.int64), bins - 1), minlength=bins)
    edges, centres = _bin_edges_and_centres(bins)
    weight_low = np.cumsum(histogram)
    weight_high = weight_low[-1] - weight_low
    mass_low = np.cumsum(histogram * centres)
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[-1] - mass_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[np.argmax(between) + 1])


def hysteresis(strong, weak):
    """The 8-connected pieces of the mask ``weak`` that hold a pixel of the mask ``strong``.

    The strong pixels are grown within the weak ones until they stop growing; when that takes more
    than ``MAX_GROWTH_STEPS`` steps, the pieces of ``weak`` are labelled and those with a strong pixel kept.
    """
    grown = strong & weak
    size = np.count_nonzero(grown)
    for _ in range(MAX_GROWTH_STEPS):
        wider = normalize.grow_mask(grown) & weak
        # subtle: growing never loses a pixel, so the same count means the same mask.
        wider_size = np.count_nonzero(wider)
        if wider_size == size:
            return grown
        grown, size = wider, wider_size
    labels, count = segmentation.label_components(weak)
    # A lookup table of the weak pieces that hold a strong pixel (label 0 is the ground).
    holds_strong = np.zeros(count + 1, dtype=bool)
    holds_strong[labels[strong]] = True
    holds_strong[0] = False
    return holds_strong[labels]


def extract_ink(grey):
    """Ink as bright values on a zero ground, and the mask of pixels that are surely ink.

    Returns ``(ink, mask)``: ``ink`` in [0, 1] with the ground at 0 and full-strength strokes at 1,
    ``mask`` the pixels above Otsu's threshold. Both are empty (mask all False) when the image has
    too little contrast to hold a digit.
    """
    edge = border(grey)
    ground = banded_ground(grey, edge)
    if ground is not None:
        ink = np.abs(grey - ground)
    else:
        level = ground_level(edge)
        dark_ink = ink_is_dark(grey, level)
        if min(grey.shape) >= LOCAL_GROUND_MIN_SIZE or has_uneven_ground(grey, edge):
            ground = local_ground(grey, dark_ink, level)
        else:
            ground = level
        ink = ground - grey if dark_ink else grey - ground
        np.maximum(ink, 0.0, out=ink)
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        return np.zeros_like(grey), np.zeros(grey.shape, dtype=bool)
    # Full-strength strokes become 1, as in MNIST. Their level is taken among the strong pixels only,
    # because a small digit on a big canvas is a tiny fraction of all pixels.
    stroke_level = float(percentile(ink[ink > peak / 2], STROKE_LEVEL_PERCENTILE))
    ink = np.minimum(ink / stroke_level, 1.0)
    # The ground's own noise is cut off, but no more: the faint anti-aliased edges of strokes are
    # part of what an MNIST digit looks like, and its 20-pixel box is measured including them.
    ground_median = float(median(ink))
    # The ink is never negative, so when its median is 0 (a ground without noise) so is its deviation from it.
    deviation = float(median(np.abs(ink - ground_median))) if ground_median > 0 else 0.0
    floor = min(ground_median + NOISE_SIGMAS * MAD_TO_SIGMA * deviation, NOISE_FLOOR_CAP)
    above_noise = ink > floor
    # Otsu's level among what is above the noise separates strokes from fainter marks such as the
    # lines of squared or ruled paper; never below MASK_FLOOR, so faint lines cannot join the digit.
    threshold = max(otsu_threshold(ink[above_noise]), MASK_FLOOR)
    mask = ink > threshold
    if normalize.has_thin_strokes(mask):
        # A 1-pixel anti-aliased stroke falls between two pixels in places, each too faint for the
        # mask, and would arrive as dashes. Fainter pixels joined to surely-ink ones complete it.
        mask = hysteresis(mask, ink > max(THIN_MASK_FRACTION * threshold, floor))
        inside = hollow_insides(mask) if normalize.stroke_width(mask) <= HOLLOW_MAX_STROKE_WIDTH else None
        if inside is not None:
            mask |= inside
            above_noise |= inside
            ink[inside] = 1.0
    ink = np.where(above_noise, ink, np.float32(0.0)).astype(np.float32, copy=False)
    return ink, mask


def hollow_insides(mask):
    """The insides of strokes drawn as their outlines, or None when there are none.

    An outlined stroke is two thin lines with a narrow hole between them, closed at its ends. The
    holes are the pieces of ground that do not reach the image's edge, once the mask is grown by a
    2x2 square (which closes the diagonal steps of a 1-pixel line that the ground could slip
    through). A hole is narrow when its width (twice its area over its boundary's length, as
    ``normalize.stroke_width`` measures) is at most ``HOLLOW_STROKE_RATIO`` stroke widths:

        # # # # # # # #      the hole of an outlined 1 is 1 pixel wide and is filled;
        # . . . . . . #      the hole of a 0 written with a pencil is as wide as the 0
        # # # # # # # #      and stays.
    """
    closed = segmentation.bridge_gaps(mask)
    labels, count = segmentation.label_components(~closed)
    # Pieces of ground touching the image's edge are the ground around the digits, not holes.
    is_hole = np.ones(count + 1, dtype=bool)
    is_hole[0] = False
    is_hole[labels[[0, -1], :]] = False
    is_hole[labels[:, [0, -1]]] = False
    if not is_hole.any():
        return None
    # A hole's boundary: its pixels with a 4-neighbour outside it (the holes never touch the edge).
    inner = labels[1:-1, 1:-1]
    interior = (inner == labels[:-2, 1:-1]) & (inner == labels[2:, 1:-1])
    interior &= (inner == labels[1:-1, :-2]) & (inner == labels[1:-1, 2:])
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    interior_areas = np.bincount(inner[interior], minlength=count + 1)
    widths = 2.0 * areas / np.maximum(areas - interior_areas, 1)
    is_hole &= widths <= HOLLOW_STROKE_RATIO * normalize.stroke_width(mask)
    if not is_hole.any():
        return None
    inside = is_hole[labels]
    # The 2x2 growth that closed the outline belongs to the filled stroke, where it borders a hole.
    return inside | (closed & ~mask & normalize.grow_mask(inside))
