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
# Images smaller than this on their shorter side are not median-filtered: a 28x28 digit has no specks.
DENOISE_MIN_SIZE = 32
# A pixel with at least this many of its 8 neighbours like it may be part of a stroke, not a speck.
STROKE_NEIGHBOURS = 2
# Pixels the median filter would change by more than this (of 1) are looked at as possible lines,
# and kept when they join into a piece at least this many pixels long: specks, even smeared by
# JPEG, are smaller; the strokes of a digit tall enough to read are longer.
LINE_MIN_CONTRAST = 0.1
LINE_MIN_EXTENT = 10
# The ground is the median of a border band 1/BORDER_DIVISOR of the shorter side wide.
BORDER_DIVISOR = 50
# Images smaller than this on their shorter side have one ground level, not one per tile.
LOCAL_GROUND_MIN_SIZE = 64
# The uneven ground of a photo is estimated on this many tiles each way.
GROUND_TILES = 8
# Hysteresis grows the mask into the fainter pixels at most this many steps (a small digit's thin strokes
# need one or two) before it labels the pieces of fainter pixels instead, at a cost that does not
# depend on how far they reach.
MAX_GROWTH_STEPS = 3
# The strokes' full strength is this percentile of the strong ink pixels.
STROKE_LEVEL_PERCENTILE = 90


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
    joined into a piece at least ``LINE_MIN_EXTENT`` pixels long. A stroke goes on at both sides of
    each of its pixels, for the length of the digit; a speck, even smeared by JPEG, is a small clump.

        speck . . .     line . . . . . . . .     median of both: the ground
              . X .          X X X X X X X X     the line is kept: 2 neighbours alike, 8 long
              . . .          . . . . . . . .
    """
    if min(grey.shape) < DENOISE_MIN_SIZE:
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
    candidates = (alike >= STROKE_NEIGHBOURS) & (np.abs(grey - median) > LINE_MIN_CONTRAST)
    labels, count = segmentation.label_components(candidates)
    if count == 0:
        return median
    boxes, _ = segmentation.component_boxes(labels, count)
    is_line = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= LINE_MIN_EXTENT
    return np.where(np.concatenate([[False], is_line])[labels], grey, median)


def ground_level(grey):
    """The level of the ground (paper or canvas): the median of the image's outer border."""
    height, width = grey.shape
    band = max(1, min(height, width) // BORDER_DIVISOR)
    border = np.concatenate((grey[:band], grey[-band:], grey[:, :band], grey[:, -band:]), axis=None)
    return float(median(border))


def ink_is_dark(grey, ground):
    """True when the ink is darker than the ground: the darkest pixel lies further from it than the lightest.

    Extremes rather than percentiles, because a small digit on a big canvas is a tiny fraction of
    the pixels; ``denoise`` has already removed the isolated specks that would fool an extreme.
    """
    return ground - float(grey.min()) > float(grey.max()) - ground


def local_ground(grey, dark_ink, ground, blocks=GROUND_TILES):
    """A smooth estimate of the ground under each pixel, for photos with uneven lighting.

    Each of ``blocks`` x ``blocks`` tiles gives a high (dark ink) or low (light ink) percentile of
    its pixels, the ground showing between strokes; a 3x3 maximum (or minimum) over neighbouring
    tiles covers tiles filled by a thick stroke; bilinear interpolation smooths it back to full size.
    Images too small to have an uneven ground get the one level ``ground`` everywhere.
    """
    height, width = grey.shape
    if min(height, width) < LOCAL_GROUND_MIN_SIZE:
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
    level = ground_level(grey)
    dark_ink = ink_is_dark(grey, level)
    ground = local_ground(grey, dark_ink, level)
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
    ink = np.where(above_noise, ink, np.float32(0.0)).astype(np.float32, copy=False)
    return ink, mask
