"""Decoding a person's image into one grey float array in [0, 1], whatever its format, mode or transparency.

Only the raster formats listed in ``FORMATS`` are opened, recognised by their first bytes rather
than their file name: a file that says ``.png`` but holds PostScript never reaches a plugin that
would hand it to Ghostscript. Sizes are checked before anything is allocated: the file's bytes,
then the pixel count its header declares.

Colour becomes grey by the same rule for files and arrays (ITU-R BT.601 luma, the weights of
Pillow's ``convert("L")``, kept in float), so one picture gives the same grey levels either way:

    >>> array_to_grey(numpy.array([[[255, 0, 0]]], dtype=numpy.uint8))  # pure red
    array([[0.299]], dtype=float32)
"""

import io
import math
import os
import stat
import warnings

import numpy as np
import PIL.Image
import PIL.ImageOps

from number_recognition import errors

# The formats people's digit images come in, as Pillow names them, with the first bytes of each.
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"P1", "PPM"),
    (b"P2", "PPM"),
    (b"P3", "PPM"),
    (b"P4", "PPM"),
    (b"P5", "PPM"),
    (b"P6", "PPM"),
)
FORMAT_NAMES = "PNG, JPEG, BMP, GIF, TIFF, WebP or PPM/PGM/PBM"
# No digit photo needs more pixels; a decompression bomb (a small file that decodes to gigabytes)
# is refused from its header before decoding.
MAX_PIXELS = 50_000_000
# No digit photo is a bigger file; a larger one is refused before it is read.
MAX_FILE_BYTES = 100 * 2**20
# JPEGs larger than this on their longer side decode straight to a reduced scale, which makes big
# phone photos cheap; the ink is then found at this resolution or finer (see ink.focus_on_ink).
DRAFT_SIZE = 1024
# ITU-R BT.601 luma weights, the ones Pillow's convert("L") uses.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Pixels at least this opaque show the strokes' own colour in a transparent image.
OPAQUE = 0.5
# Every 8-bit level as a float in [0, 1], computed as ``_scale_to_unit`` computes any unsigned type:
# looking the levels up is the same result at a fraction of the cost, on the most common images.
UINT8_LEVELS = (np.arange(256) / 255).astype(np.float32)
TOO_LARGE = (
    f"the image has more than {MAX_PIXELS // 1_000_000} megapixels, more than a digit photo needs: crop or shrink it"
)


class ImageError(errors.UserError):
    """The input cannot be read as an image; the message names the problem."""


def sniff_format(header):
    """The Pillow format name that a file's first bytes announce, or None when it is not one we open."""
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "WEBP"
    for signature, name in SIGNATURES:
        if header.startswith(signature):
            return name
    return None


def read_image_bytes(path):
    """The bytes of an image file, after checking it is a readable regular file of a sensible size."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(path))
        raise ImageError("no such file" if os.path.isdir(folder) else f"no such folder: {folder}") from None
    except PermissionError:
        raise ImageError("no permission to reach this file") from None
    except OSError as error:
        raise ImageError(f"cannot reach this file ({error.strerror})") from None
    if stat.S_ISDIR(status.st_mode):
        raise ImageError("this is a folder, not an image file")
    if not stat.S_ISREG(status.st_mode):
        raise ImageError("not a regular file (a device, pipe or socket): give an image file")
    if status.st_size == 0:
        raise ImageError("the file is empty (0 bytes)")
    if status.st_size > MAX_FILE_BYTES:
        raise ImageError(
            f"the file is {status.st_size / 2**20:.0f} MB, more than the {MAX_FILE_BYTES // 2**20} MB "
            "a digit photo needs: shrink it"
        )
    try:
        with open(path, "rb") as handle:
            # subtle: asking for the size found above, plus a byte, not for MAX_FILE_BYTES: Python
            # allocates what is asked for, and 100 MB per file is most of the time a small PNG takes.
            return handle.read(status.st_size + 1)
    except PermissionError:
        raise ImageError("no permission to read this file") from None
    except OSError as error:
        raise ImageError(f"cannot read this file ({error.strerror})") from None


def import_decoders():
    """Import Pillow's decoders of the common formats now rather than at the first image opened.

    Pillow imports them at its first ``open``; a pool process forked afterwards then has them
    already instead of spending tens of milliseconds of its first task importing them again.
    """
    PIL.Image.preinit()


def open_image(source):
    """Decode an image (a file path, or the file's bytes) with Pillow, EXIF orientation applied.

    Raises ``ImageError`` for a missing, unreadable, empty, oversized, truncated or undecodable
    file, and for a format outside ``FORMATS``.
    """
    content = read_image_bytes(os.fspath(source)) if isinstance(source, (str, os.PathLike)) else bytes(source)
    if not content:
        raise ImageError("the file is empty (0 bytes)")
    if len(content) > MAX_FILE_BYTES:
        raise ImageError(f"the image is more than the {MAX_FILE_BYTES // 2**20} MB a digit photo needs: shrink it")
    name = sniff_format(content[:16])
    if name is None:
        raise ImageError(f"not an image this program reads: give a {FORMAT_NAMES} file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            image = PIL.Image.open(io.BytesIO(content), formats=[name])
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"{TOO_LARGE} (it is {width}x{height})")
            image.draft(None, (DRAFT_SIZE, DRAFT_SIZE))
            image.load()
            # In place: an image needing no turn would otherwise be copied, for nothing.
            PIL.ImageOps.exif_transpose(image, in_place=True)
            return image
    except ImageError:
        raise
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        raise ImageError(TOO_LARGE) from None
    except PIL.UnidentifiedImageError:
        raise ImageError(f"the file starts like a {name} image but Pillow cannot decode it (damaged?)") from None
    except MemoryError:
        raise ImageError("decoding the image ran out of memory: the file is damaged or hostile") from None
    except Exception as error:  # Pillow's plugins raise many kinds for damaged data; all mean the same.
        raise ImageError(f"the image data is damaged or truncated ({type(error).__name__}: {error})") from None


def image_to_grey(image):
    """A PIL image of any mode as a float32 grey array in [0, 1], transparency flattened (see ``array_to_grey``)."""
    if image.mode in ("L", "I", "F") or image.mode.startswith("I;16"):
        return array_to_grey(np.asarray(image))
    if image.mode == "1":
        return array_to_grey(np.asarray(image.convert("L")))
    has_alpha = "A" in image.mode or "a" in image.mode or "transparency" in image.info
    try:
        converted = image.convert("RGBA" if has_alpha else "RGB")
    except ValueError:
        raise ImageError(
            f"the image's colour mode {image.mode} is not supported: save it as RGB or greyscale"
        ) from None
    return array_to_grey(np.asarray(converted))


def flatten_alpha(grey, alpha):
    """Composite grey strokes onto the ground that contrasts with them, wherever the image is transparent.

    The strokes' colour is read from the opaque pixels: whichever extreme of them (darkest or
    lightest) lies further from mid-grey is the ink, so a few anti-aliased edge pixels of the
    other tone do not flip the choice. Strokes kept only in the alpha channel survive whatever
    colour the transparent pixels happen to store.
    """
    if alpha.min() > 0.99:
        return grey
    opaque = grey[alpha >= OPAQUE]
    if opaque.size == 0:
        opaque = grey[alpha > 0] if np.any(alpha > 0) else np.zeros(1, np.float32)
    darkest, lightest = np.percentile(opaque, (10, 90))
    ground = 1.0 if 0.5 - darkest >= lightest - 0.5 else 0.0
    return (grey * alpha + ground * (1.0 - alpha)).astype(np.float32)


def array_to_grey(array):
    """Any numeric array (H, W) or (H, W, 1-4 channels) as a float32 grey image in [0, 1].

    Unsigned integers are read on their type's full scale, floats already in [0, 1] as they are,
    and anything else (negative values, floats beyond 1) is stretched from its minimum to maximum.
    Colour becomes grey by BT.601 luma; an alpha channel (2 or 4 channels) is flattened.
    Raises ``ImageError`` for shapes that are no image, empty arrays and non-finite values.
    """
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise ImageError(f"expected a numeric array, got dtype {array.dtype}")
    if array.ndim == 3 and array.shape[2] in (1, 2, 3, 4):
        colour_channels = 3 if array.shape[2] >= 3 else 1
        # The colour channels are scaled together, so their balance (and the luma) is kept.
        colour = _scale_to_unit(array[..., :colour_channels])
        grey = colour[..., 0] if colour_channels == 1 else np.tensordot(colour, LUMA, axes=1).astype(np.float32)
        if array.shape[2] in (2, 4):
            return flatten_alpha(grey, _scale_to_unit(array[..., -1]))
        return grey
    if array.ndim != 2:
        raise ImageError(
            f"expected an image of shape (height, width) or (height, width, 1-4 channels), got {array.shape}"
        )
    return _scale_to_unit(array)


def _scale_to_unit(array):
    """One channel as float32 in [0, 1] (see ``array_to_grey`` for the rules)."""
    if array.size == 0:
        raise ImageError(f"the image is empty (shape {array.shape})")
    if array.dtype == np.uint8:
        return UINT8_LEVELS[array]
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
    span = float(high) - float(low)
    if math.isinf(span):
        # subtle: values spanning more than float64 holds (one near its largest, one far below zero)
        # would overflow to NaN; halved, they cannot.
        values, low, span = values / 2, low / 2, float(high) / 2 - float(low) / 2
    return ((values - low) / span).astype(np.float32)
