"""Turning a person's image into the 28x28 inputs an MNIST model expects, the way MNIST was made.

The steps, each a small function: decode with Pillow (any mode, EXIF orientation applied, refusing
decompression bombs before decoding); flatten transparency and colour to grey; make the ink bright on
a dark ground whatever the original polarity; remove the background (even an uneven one) and noise;
and, per digit, crop to the ink, even out the stroke width, scale the longer side to 20 pixels and
place the result in 28x28 with its centre of mass at the centre.
"""

import os
import warnings

import numpy as np
import PIL.Image
import PIL.ImageFilter
import PIL.ImageOps

from number_recognition import defaults

# Larger images are refused before decoding: no digit photo needs more, and a decompression bomb
# (a small file that decodes to gigabytes) would exhaust memory.
MAX_PIXELS = 50_000_000
# Images are analysed with their longer side at most this many pixels, which keeps a digit drawn
# small in a corner of a big canvas tens of pixels tall while bounding the work per image.
WORKING_SIZE = 1024
# Ink must differ from the ground by at least this much (on a 0..1 scale) to count as a digit.
MIN_CONTRAST = 0.12
# Pixels count as surely ink (for finding digits) only above this fraction of the stroke level.
MASK_FLOOR = 0.4
# A digit must be at least this tall, in working pixels and as a fraction of the image's longer side.
MIN_DIGIT_PIXELS = 6
MIN_DIGIT_FRACTION = 0.012
# Digits larger than this are shrunk to it before their strokes are evened out.
STROKE_WORKING_SIZE = 100
# A spot filling more than this fraction of its box, and less elongated than this, is a blob.
BLOB_FILL = 0.85
BLOB_ELONGATION = 2.0
# MNIST's strokes are about 0.13 of the digit's longer side (0.10 to 0.20 for 90% of the test set);
# strokes far outside that range are thickened or thinned towards it.
STROKE_RANGE = (0.08, 0.26)
STROKE_TARGET = (0.11, 0.20)


class ImageError(ValueError):
    """The input cannot be read as an image; the message names the problem."""


def open_image(path):
    """Decode an image file with Pillow, EXIF orientation applied, as a PIL image.

    Raises ``ImageError`` for a missing, empty, truncated or undecodable file and for an image with
    more than ``MAX_PIXELS`` pixels, which is refused from its header before any decoding.
    """
    if not os.path.exists(path):
        raise ImageError("no such file")
    if os.path.getsize(path) == 0:
        raise ImageError("the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            image = PIL.Image.open(path)
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageError(f"the image is {width}x{height} pixels, more than the {MAX_PIXELS // 1_000_000} "
                             "megapixels a digit photo needs: crop or shrink it")
        # JPEG can decode straight to a reduced scale, which makes big phone photos cheap.
        image.draft(None, (WORKING_SIZE, WORKING_SIZE))
        image.load()
        return PIL.ImageOps.exif_transpose(image)
    except ImageError:
        raise
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning) as error:
        raise ImageError(f"the image is too large to be a digit photo ({error})") from error
    except PIL.UnidentifiedImageError as error:
        raise ImageError("not an image Pillow can read") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"the image data is damaged or truncated ({error})") from error


def image_to_grey(image):
    """A PIL image of any mode as a float32 grey array in [0, 1], transparency flattened.

    Transparent pixels are composited onto a ground that contrasts with the visible strokes (white
    under dark strokes, black under light ones), so strokes kept only in the alpha channel survive
    whatever colour the transparent pixels happen to store.
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return array_to_grey(np.asarray(image))
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        image = image.convert("RGBA")
        rgba = np.asarray(image, dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        colour = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if alpha.min() > 0.99:
            return colour
        # The strokes' own colour, weighted by how opaque each pixel is, picks the ground.
        stroke_level = float(np.sum(colour * alpha) / max(float(alpha.sum()), 1e-6))
        ground = 1.0 if stroke_level < 0.5 else 0.0
        return colour * alpha + ground * (1.0 - alpha)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def array_to_grey(array):
    """Any numeric array (H, W) or (H, W, channels) as a float32 grey image in [0, 1].

    Unsigned integers are read on their type's full scale, floats already in [0, 1] as they are,
    and anything else (negative values, floats beyond 1) is stretched from its minimum to maximum.
    Raises ``ImageError`` for shapes that are no image, empty arrays and non-finite values.
    """
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise ImageError(f"expected a numeric array, got dtype {array.dtype}")
    if array.ndim == 3 and array.shape[2] in (1, 2, 3, 4):
        if array.shape[2] in (2, 4):
            return image_to_grey(PIL.Image.fromarray(_to_uint8(array)))
        array = array[..., :3].mean(axis=2) if array.shape[2] == 3 else array[..., 0]
    if array.ndim != 2:
        raise ImageError(f"expected an image of shape (height, width) or (height, width, 1-4 channels), got {array.shape}")
    if array.size == 0:
        raise ImageError(f"the image is empty (shape {array.shape})")
    values = array.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ImageError("the image holds NaN or infinite values")
    if array.dtype.kind == "b":
        return values.astype(np.float32)
    if array.dtype.kind == "u":
        return (values / np.iinfo(array.dtype).max).astype(np.float32)
    low, high = values.min(), values.max()
    if low >= 0.0 and high <= 1.0 and array.dtype.kind == "f":
        return values.astype(np.float32)
    if array.dtype.kind == "i" and low >= 0 and high <= 255:
        return (values / 255.0).astype(np.float32)
    if high == low:
        return np.zeros(array.shape, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def _to_uint8(array):
    grey_channels = [array_to_grey(array[..., channel]) for channel in range(array.shape[2])]
    return np.round(np.stack(grey_channels, axis=-1) * 255).astype(np.uint8)


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
    margin = max(rows.max() - rows.min(), columns.max() - columns.min()) // 4 + 2
    top, left = max(0, int((rows.min() - margin) / scale)), max(0, int((columns.min() - margin) / scale))
    bottom = min(grey.shape[0], int((rows.max() + 1 + margin) / scale) + 1)
    right = min(grey.shape[1], int((columns.max() + 1 + margin) / scale) + 1)
    region, region_scale = to_working_size(grey[top:bottom, left:right])
    return region, (left, top), region_scale


def denoise(grey):
    """A 3x3 median filter: removes salt-and-pepper specks and sensor noise but keeps strokes."""
    if min(grey.shape) < 32:
        return grey
    return np.asarray(PIL.Image.fromarray(grey).filter(PIL.ImageFilter.MedianFilter(3)))


def ground_level(grey):
    """The level of the ground (paper or canvas): the median of the image's outer border."""
    height, width = grey.shape
    band = max(1, min(height, width) // 50)
    border = np.concatenate([grey[:band].ravel(), grey[-band:].ravel(), grey[:, :band].ravel(), grey[:, -band:].ravel()])
    return float(np.median(border))


def ink_is_dark(grey, ground):
    """True when the ink is darker than the ground: the darkest pixel lies further from it than the lightest.

    Extremes rather than percentiles, because a small digit on a big canvas is a tiny fraction of
    the pixels; ``denoise`` has already removed the isolated specks that would fool an extreme.
    """
    return ground - float(grey.min()) > float(grey.max()) - ground


def local_ground(grey, dark_ink, ground, blocks=8):
    """A smooth estimate of the ground under each pixel, for photos with uneven lighting.

    Each of ``blocks`` x ``blocks`` tiles gives a high (dark ink) or low (light ink) percentile of
    its pixels, the ground showing between strokes; a 3x3 maximum (or minimum) over neighbouring
    tiles covers tiles filled by a thick stroke; bilinear interpolation smooths it back to full size.
    Images too small to have an uneven ground get the one level ``ground`` everywhere.
    """
    height, width = grey.shape
    if min(height, width) < 64:
        return np.full_like(grey, ground)
    row_edges = np.linspace(0, height, blocks + 1).astype(int)
    column_edges = np.linspace(0, width, blocks + 1).astype(int)
    percentile = 90 if dark_ink else 10
    tiles = np.array([[np.percentile(grey[row_edges[i]:row_edges[i + 1], column_edges[j]:column_edges[j + 1]], percentile)
                       for j in range(blocks)] for i in range(blocks)], dtype=np.float32)
    padded = np.pad(tiles, 1, mode="edge")
    reduce = np.maximum if dark_ink else np.minimum
    spread = tiles
    for row_shift in range(3):
        for column_shift in range(3):
            spread = reduce(spread, padded[row_shift:row_shift + blocks, column_shift:column_shift + blocks])
    return np.asarray(PIL.Image.fromarray(spread).resize((width, height), PIL.Image.Resampling.BILINEAR))


def otsu_threshold(values, bins=256):
    """Otsu's threshold of values in [0, 1]: the level that best separates two classes."""
    # np.bincount of the bin indices is the histogram of np.histogram(values, bins, (0, 1)), faster.
    histogram = np.bincount(np.minimum((np.asarray(values) * bins).astype(np.int64), bins - 1), minlength=bins)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(histogram)
    weight_high = weight_low[-1] - weight_low
    mass_low = np.cumsum(histogram * centres)
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[-1] - mass_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[np.argmax(between) + 1])


def extract_ink(grey):
    """Ink as bright values on a zero ground, and the mask of pixels that are surely ink.

    Returns ``(ink, mask)``: ``ink`` in [0, 1] with the ground at 0 and full-strength strokes at 1,
    ``mask`` the pixels above Otsu's threshold. Both are empty (mask all False) when the image has
    too little contrast to hold a digit.
    """
    level = ground_level(grey)
    dark_ink = ink_is_dark(grey, level)
    ground = local_ground(grey, dark_ink, level)
    ink = np.clip(ground - grey if dark_ink else grey - ground, 0.0, None)
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        return np.zeros_like(grey), np.zeros(grey.shape, dtype=bool)
    # Full-strength strokes become 1, as in MNIST. Their level is taken among the strong pixels only,
    # because a small digit on a big canvas is a tiny fraction of all pixels.
    stroke_level = float(np.percentile(ink[ink > peak / 2], 90))
    ink = np.clip(ink / stroke_level, 0.0, 1.0)
    # The ground's own noise is cut off, but no more: the faint anti-aliased edges of strokes are
    # part of what an MNIST digit looks like, and its 20-pixel box is measured including them.
    median = float(np.median(ink))
    floor = min(median + 3 * 1.4826 * float(np.median(np.abs(ink - median))), 0.5 * MASK_FLOOR)
    # Otsu's level among what is above the noise separates strokes from fainter marks such as the
    # lines of squared or ruled paper; never below MASK_FLOOR, so faint lines cannot join the digit.
    threshold = max(otsu_threshold(ink[ink > floor]), MASK_FLOOR)
    mask = ink > threshold
    ink = np.where(ink > floor, ink, 0.0).astype(np.float32)
    return ink, mask


def is_blob(mask):
    """True for a solid, roundish spot (a dot or smudge), which no digit is: strokes leave gaps."""
    height, width = mask.shape
    fill = np.count_nonzero(mask) / mask.size
    return fill > BLOB_FILL and max(height, width) < BLOB_ELONGATION * min(height, width)


def stroke_width(mask):
    """Mean stroke width of a mask in pixels: twice the area over the boundary length."""
    padded = np.pad(mask, 1)
    interior = (padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    boundary = np.count_nonzero(mask & ~interior)
    return 2.0 * np.count_nonzero(mask) / max(boundary, 1)


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
        kernel = min(kernel, 2 * int(stroke_width(mask) * 0.6 / 2) + 1)
        if kernel < 3:
            return crop
        image = image.filter(PIL.ImageFilter.MinFilter(kernel))
    return np.asarray(image)


def center_in_frame(digit, size=defaults.IMAGE_SIZE):
    """Place an image of at most ``size`` pixels each way in a ``size`` x ``size`` frame, centre of mass in the middle."""
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
    frame[top:top + height, left:left + width] = digit
    return frame


def normalize_digit(ink, box=None, members=None):
    """One digit's MNIST input: crop ``ink`` to ``box``, even out strokes, scale to 20 px, centre by mass.

    ``members`` (a mask the size of ``ink``) keeps only this digit's pixels, so a neighbour reaching
    into the box does not leak in. Returns a float32 (28, 28) array in [0, 1].
    """
    if box is None:
        rows, columns = np.nonzero(ink > 0)
        if len(rows) == 0:
            return np.zeros((defaults.IMAGE_SIZE, defaults.IMAGE_SIZE), dtype=np.float32)
        box = (columns.min(), rows.min(), columns.max() + 1, rows.max() + 1)
    left, top, right, bottom = box
    crop = ink[top:bottom, left:right]
    if members is not None:
        crop = np.where(_grow(members[top:bottom, left:right]), crop, 0.0).astype(np.float32)
    if max(crop.shape) > STROKE_WORKING_SIZE:
        # Strokes are evened out on a copy of bounded size, which keeps the rank filters small.
        crop = _scaled(crop, STROKE_WORKING_SIZE)
    crop = even_out_strokes(crop, crop > 0.5)
    rows, columns = np.nonzero(crop > 0)
    crop = crop[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    return center_in_frame(_scaled(crop, defaults.DIGIT_BOX))


def _scaled(image, longer_side):
    """``image`` resized (Lanczos, aspect kept) to ``longer_side`` pixels on its longer side, peak at 1."""
    height, width = image.shape
    scale = longer_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.clip(np.asarray(PIL.Image.fromarray(image).resize(size, PIL.Image.Resampling.LANCZOS)), 0.0, 1.0)
    peak = float(resized.max())
    # Scaling down thin strokes dims them; MNIST's strokes reach full intensity.
    return resized / peak if peak > 0 else resized


def _grow(mask):
    """The mask grown by one pixel in all eight directions, so a digit's soft anti-aliased edge comes with it."""
    padded = np.pad(mask, 1)
    height, width = mask.shape
    grown = mask.copy()
    for row_shift in range(3):
        for column_shift in range(3):
            grown |= padded[row_shift:row_shift + height, column_shift:column_shift + width]
    return grown
