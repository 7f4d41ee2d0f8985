"""Generate a labelled test set of the kinds of images people really hand to a digit reader.

Every image shows one digit, or one number of 2 to 6 digits on a line, and ``labels.csv`` lists
``file,kind,label`` with every field quoted so that a label such as "07" keeps its leading zero.
The kinds are:

* ``photo``: a phone photo of paper (off-white or grey, maybe squared or ruled), written in blue or
  black pen, with uneven light, slight perspective, blur, sensor noise and JPEG compression; some
  are stored sideways with an EXIF orientation tag that only an EXIF-aware loader honours.
* ``paint``: dark or coloured strokes on a wide white paint-app canvas, the digit small somewhere.
* ``transparent``: an RGBA PNG whose strokes live in the alpha channel; the hidden colour of the
  transparent pixels is black for half of them and white for the other half, and a few have white
  strokes meant for a dark interface.
* ``inverted``: a light digit on a black or dark canvas, as a drawing widget saves it.
* ``scan``: a USPS-like 16x16 or 32x32 grey digit filling its frame, sometimes upsampled, with
  scanner noise; some are printed digits in matplotlib's bundled DejaVu fonts.
* ``noisy``: a low-contrast digit with salt-and-pepper specks and heavy JPEG artefacts.
* ``number``: 2 to 6 digits on one line drawn in the photo, paint, transparent or inverted style.
* ``thin``: a digit drawn with a 1-pixel pencil, aliased or anti-aliased, dark on light or light on
  dark, on a canvas of 28 to 1,000 pixels.
* ``touching``: 2 to 6 digits whose neighbours touch or overlap by a few pixels, as in quick writing.
* ``ruled``: a photo of 2 to 4 digits on ruled or squared paper whose lines are dark enough to cross
  and join the strokes.
* ``stray``: a number or a digit with a stray mark (a dash, a dot, a curl) well away from it.
* ``tilted``: a digit turned 15 to 30 degrees either way.
* ``nodigit``: no handwriting at all: a matplotlib plot, a screenshot of text, a synthetic scene of
  shapes, a texture, a gradient or noise. Its label is empty: the right answer is no digit, or only
  uncertain ones.

The handwriting comes from two independent sources: MNIST *test* digits (never the training split),
upscaled smoothly with their grey level used as ink coverage, and hand-made stroke templates of 0-9
drawn with jittered control points, slant and pen width. Each image has its own random generator
seeded by ``(seed, kind, index)``, so a set is reproducible and a small set is the start of a large one.
"""

import csv
import math
import pathlib

import numpy as np
from matplotlib import font_manager
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFilter
from PIL import ImageFont

from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition.reading import normalize

# New kinds go at the end: each image's generator is seeded by its kind's place in this tuple, so
# the images of the older kinds stay the same.
KINDS = (
    "photo",
    "paint",
    "transparent",
    "inverted",
    "scan",
    "noisy",
    "number",
    "thin",
    "touching",
    "ruled",
    "stray",
    "tilted",
    "nodigit",
)
# The kinds whose label is a number of several digits (the others hold one digit, or none).
NUMBER_KINDS = ("number", "touching", "ruled", "stray")
LABELS_FILE = "labels.csv"
LABEL_COLUMNS = ("file", "kind", "label")
# The set the README's figures come from.
DEFAULT_SEED = 2026
DEFAULT_OUT = str(pathlib.Path(config.OUTPUT_DIR) / "real_images")
DEFAULT_COUNT = 50

# How likely each source of ink is for a single digit of each kind; numbers use MNIST or strokes.
SOURCE_WEIGHTS = {
    "photo": {"mnist": 0.5, "strokes": 0.5},
    "paint": {"mnist": 0.3, "strokes": 0.7},
    "transparent": {"mnist": 0.4, "strokes": 0.6},
    "inverted": {"mnist": 0.5, "strokes": 0.5},
    "scan": {"mnist": 0.45, "strokes": 0.3, "font": 0.25},
    "noisy": {"mnist": 0.5, "strokes": 0.5},
    "number": {"mnist": 0.5, "strokes": 0.5},
    "touching": {"mnist": 0.5, "strokes": 0.5},
    "ruled": {"mnist": 0.5, "strokes": 0.5},
    "stray": {"mnist": 0.5, "strokes": 0.5},
    "tilted": {"mnist": 0.5, "strokes": 0.5},
}
# Canvases of the thin kind range over these sides, in pixels.
THIN_CANVAS = (28, 1000)
# Tilted digits are turned by this many degrees, either way.
TILT_DEGREES = (15.0, 30.0)
# Ruled numbers have this many digits.
RULED_LENGTHS = (2, 4)
# Touching neighbours overlap by up to this fraction of the height (0: they just touch), and by at most
# this fraction of their strokes' width: quick writing runs strokes into each other, it never draws
# a digit over its neighbour (a thin 1 overlapped by a whole stroke width vanishes into the next digit).
TOUCH_OVERLAP = 0.08
TOUCH_OVERLAP_STROKES = 0.5
# Neighbours touch along at most this fraction of the line's height: two upright strokes side by side
# (a 1 before a 5's stem) pushed together would otherwise fuse over their whole length into one thick stroke.
TOUCH_MAX_CONTACT = 0.12
# The pictures without handwriting, by what they show.
NO_DIGIT_SUBJECTS = ("plot", "text", "photo", "texture", "gradient", "noise")
# Words for text screenshots: no digits, since reading a printed digit would be right, not a false alarm.
WORDS = (
    "the quick brown fox jumps over lazy dog Settings File Edit View Help Open Save Cancel "
    "Meeting notes agenda budget review Project status update Dear team Thanks Best regards "
    "Welcome back Sign in Password Search results Download complete Error Warning OK"
).split()
NUMBER_STYLES = ("photo", "paint", "transparent", "inverted")
NUMBER_LENGTHS = (2, 6)

# The printed faces of the scan kind, as (family, style, weight) for matplotlib's font lookup.
FONT_FACES = (
    ("DejaVu Sans", "normal", "normal"),
    ("DejaVu Sans", "normal", "bold"),
    ("DejaVu Sans", "oblique", "normal"),
    ("DejaVu Sans", "oblique", "bold"),
    ("DejaVu Serif", "normal", "normal"),
    ("DejaVu Serif", "normal", "bold"),
    ("DejaVu Serif", "italic", "normal"),
    ("DejaVu Sans Mono", "normal", "normal"),
)

# Pen colours as RGB: ballpoint blues, black inks, paint-app palette colours and dark UI colours.
BLUE_PENS = ((28, 45, 140), (40, 60, 170), (22, 35, 110), (55, 75, 160))
BLACK_PENS = ((25, 25, 30), (40, 40, 45), (15, 15, 20))
PAINT_COLOURS = ((237, 28, 36), (63, 72, 204), (34, 177, 76), (163, 73, 164), (255, 127, 39), (90, 90, 90))
DARK_INKS = ((20, 20, 80), (60, 60, 60), (90, 10, 10), (10, 60, 30))

# The stroke templates of 0-9 in a unit box (x to the right, y downwards), several variants per
# digit. A stroke is one pen-down path made of segments: ("line", points) continues the path
# through the points, ("arc", (cx, cy, rx, ry, start, end)) follows an ellipse from angle start
# to angle end in degrees, counter-clockwise on screen (90 degrees is the top).
STROKE_TEMPLATES = {
    0: (
        ((("arc", (0.5, 0.5, 0.45, 0.5, 100, 475)),),),
        ((("arc", (0.5, 0.5, 0.42, 0.5, 80, -290)),),),
    ),
    1: (
        ((("line", ((0.5, 0.0), (0.5, 1.0))),),),
        ((("line", ((0.22, 0.25), (0.55, 0.0), (0.55, 1.0))),),),
        ((("line", ((0.22, 0.25), (0.55, 0.0), (0.55, 1.0))),), (("line", ((0.2, 1.0), (0.88, 1.0))),)),
    ),
    2: (
        ((("arc", (0.5, 0.28, 0.42, 0.28, 165, -30)), ("line", ((0.05, 1.0), (0.95, 1.0)))),),
        ((("arc", (0.5, 0.3, 0.44, 0.3, 155, -50)), ("line", ((0.08, 0.98), (0.98, 0.94)))),),
    ),
    3: (
        ((("arc", (0.48, 0.25, 0.4, 0.25, 150, -90)), ("arc", (0.48, 0.74, 0.45, 0.26, 90, -155))),),
        ((("line", ((0.1, 0.0), (0.85, 0.0), (0.4, 0.42))), ("arc", (0.48, 0.7, 0.45, 0.3, 100, -155))),),
    ),
    4: (
        ((("line", ((0.7, 0.0), (0.05, 0.68), (0.97, 0.68))),), (("line", ((0.72, 0.25), (0.72, 1.0))),)),
        ((("line", ((0.15, 0.0), (0.08, 0.6), (0.95, 0.6))),), (("line", ((0.75, 0.05), (0.72, 1.0))),)),
    ),
    5: (
        ((("line", ((0.9, 0.02), (0.22, 0.0), (0.16, 0.45))), ("arc", (0.5, 0.7, 0.42, 0.3, 150, -150))),),
        (
            (("line", ((0.2, 0.0), (0.14, 0.47))), ("arc", (0.5, 0.7, 0.42, 0.3, 150, -150))),
            (("line", ((0.2, 0.0), (0.9, 0.0))),),
        ),
    ),
    6: (
        ((("arc", (0.75, 0.62, 0.65, 0.62, 90, 180)), ("arc", (0.5, 0.72, 0.42, 0.28, 180, 540))),),
        ((("line", ((0.7, 0.0), (0.15, 0.6))), ("arc", (0.5, 0.74, 0.4, 0.26, 160, 520))),),
    ),
    7: (
        ((("line", ((0.05, 0.0), (0.95, 0.0), (0.35, 1.0))),),),
        ((("line", ((0.05, 0.05), (0.95, 0.0), (0.4, 1.0))),), (("line", ((0.3, 0.52), (0.8, 0.48))),)),
    ),
    8: (
        ((("arc", (0.5, 0.25, 0.33, 0.25, 0, 360)),), (("arc", (0.5, 0.72, 0.42, 0.28, 0, 360)),)),
        ((("arc", (0.5, 0.25, 0.35, 0.25, -90, 270)),), (("arc", (0.5, 0.73, 0.4, 0.27, 90, 450)),)),
    ),
    9: (
        ((("arc", (0.5, 0.3, 0.42, 0.3, 0, 370)), ("line", ((0.88, 1.0),))),),
        ((("arc", (0.5, 0.3, 0.42, 0.3, 0, 370)), ("arc", (0.35, 0.3, 0.57, 0.7, 0, -90))),),
    ),
}


class Picture:
    """One finished image with the file extension and the Pillow save options it needs."""

    def __init__(self, image, extension, save_options=None):
        self.image = image
        self.extension = extension
        self.save_options = save_options or {}


class Hand:
    """How one writer draws strokes: slant, width of the digits, pen width and shakiness."""

    def __init__(self, rng):
        self.slant_degrees = rng.uniform(-12.0, 20.0)
        self.width_ratio = rng.uniform(0.55, 0.8)
        # Pen widths are spread evenly on a log scale from a fine pen to a fat brush.
        self.pen_fraction = math.exp(rng.uniform(math.log(0.04), math.log(0.2)))
        self.jitter = rng.uniform(0.015, 0.045)


class DigitSources:
    """Makes the ink coverage (float32 in [0, 1], tightly cropped) of one digit at a given height."""

    def __init__(self, test_images, test_labels):
        self.test_images = test_images
        self.indices_by_digit = [np.flatnonzero(test_labels == digit) for digit in range(config.NUM_CLASSES)]
        missing = [str(digit) for digit, indices in enumerate(self.indices_by_digit) if len(indices) == 0]
        if missing:
            raise ValueError(f"the MNIST test split has no image of the digit(s) {', '.join(missing)}")

    def coverage(self, rng, source, digit, height, hand):
        """Dispatch to the named source: 'mnist', 'strokes' or 'font'."""
        if source == "mnist":
            return self.mnist(rng, digit, height)
        if source == "strokes":
            return strokes_coverage(rng, digit, height, hand)
        if source == "font":
            return font_coverage(rng, digit, height)
        raise ValueError(f"unknown ink source {source!r}: choose mnist, strokes or font")

    def mnist(self, rng, digit, height):
        """A random MNIST test digit, upscaled with bicubic filtering and sharpened like pen ink."""
        image = self.test_images[rng.choice(self.indices_by_digit[digit])]
        rows = np.flatnonzero(image.max(axis=1))
        columns = np.flatnonzero(image.max(axis=0))
        crop = image[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
        scale = height / crop.shape[0]
        # A border of two empty pixels leaves room for the blur below to spread the ink into.
        padded = Image.fromarray(np.pad(crop, 2))
        resized = padded.resize((round(padded.width * scale), round(padded.height * scale)), Image.Resampling.BICUBIC)
        # Bicubic upscaling keeps the 28x28 pixel grid as ripples along the edges; a blur of about
        # half a source pixel smooths them away before the edges are sharpened again.
        if scale > 2:
            resized = resized.filter(ImageFilter.GaussianBlur(0.45 * scale))
        # A large upscale leaves wide grey ramps; stretching the ramp by a random amount gives
        # edges anywhere between a soft felt tip and a crisp pen.
        low = rng.uniform(0.0, 0.25)
        high = rng.uniform(0.55, 0.9)
        return crop_to_ink(np.clip((np.asarray(resized, np.float32) / 255.0 - low) / (high - low), 0.0, 1.0))


def arc_points(rng, parameters, jitter):
    """Points along one jittered elliptic arc of a stroke template."""
    centre_x, centre_y, radius_x, radius_y, start, end = parameters
    centre_x += rng.normal(0.0, jitter)
    centre_y += rng.normal(0.0, jitter)
    radius_x *= 1.0 + rng.normal(0.0, 1.5 * jitter)
    radius_y *= 1.0 + rng.normal(0.0, 1.5 * jitter)
    start += rng.normal(0.0, 8.0)
    end += rng.normal(0.0, 8.0)
    steps = max(8, int(abs(end - start) / 8))
    angles = np.radians(np.linspace(start, end, steps))
    return np.stack([centre_x + radius_x * np.cos(angles), centre_y - radius_y * np.sin(angles)], axis=1)


def wobble(rng, points, amplitude):
    """Resample a path every 0.02 units of length and bend it smoothly, as a hand never draws straight."""
    lengths = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    samples = np.linspace(0.0, lengths[-1], max(2, int(lengths[-1] / 0.02) + 1))
    dense = np.stack([np.interp(samples, lengths, points[:, axis]) for axis in (0, 1)], axis=1)
    for axis in (0, 1):
        for _ in range(2):
            frequency = rng.uniform(0.5, 2.5)
            dense[:, axis] += amplitude * np.sin(2 * math.pi * frequency * samples + rng.uniform(0, 2 * math.pi))
    return dense


def stroke_paths(rng, digit, hand):
    """The pen paths of one digit in the unit box, with jittered control points."""
    variants = STROKE_TEMPLATES[digit]
    paths = []
    for stroke in variants[rng.integers(len(variants))]:
        pieces = []
        for segment_kind, parameters in stroke:
            if segment_kind == "arc":
                pieces.append(arc_points(rng, parameters, hand.jitter))
            else:
                pieces.append(
                    np.asarray(parameters, dtype=np.float64) + rng.normal(0.0, hand.jitter, (len(parameters), 2))
                )
        paths.append(wobble(rng, np.concatenate(pieces), 0.5 * hand.jitter))
    return paths


def strokes_coverage(rng, digit, height, hand, pencil=None):
    """Draw a stroke template with PIL lines at ``height`` pixels, antialiased by supersampling.

    ``pencil`` "aliased" or "antialiased" draws with a 1-pixel pencil instead of the hand's pen.
    """
    paths = stroke_paths(rng, digit, hand)
    slant = math.tan(math.radians(hand.slant_degrees + rng.normal(0.0, 3.0)))
    width_ratio = hand.width_ratio * rng.uniform(0.92, 1.08)
    shaped = []
    for path in paths:
        x = (path[:, 0] - 0.5) * width_ratio
        y = path[:, 1] - 0.5
        # Slanted writing leans its top to the right, so x grows as y goes up.
        shaped.append(np.stack([x - y * slant, y], axis=1))
    everything = np.concatenate(shaped)
    low = everything.min(axis=0)
    extent = everything.max(axis=0) - low
    pen = 1.0 if pencil else max(1.0, hand.pen_fraction * height)
    # The scale makes the ink, pen width included, exactly ``height`` pixels tall.
    scale = max(1.0, height - pen) / max(extent[1], 1e-3)
    if pencil == "aliased":
        supersample = 1
    elif pencil == "antialiased":
        supersample = 4
    else:
        supersample = 4 if height <= 150 else 2 if height <= 500 else 1
    margin = pen / 2 + 2
    size = (
        int(math.ceil((extent[0] * scale + 2 * margin) * supersample)),
        int(math.ceil((extent[1] * scale + 2 * margin) * supersample)),
    )
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    pen_pixels = max(1, round(pen * supersample))
    for path in shaped:
        points = ((path - low) * scale + margin) * supersample
        draw.line([tuple(point) for point in points], fill=255, width=pen_pixels, joint="curve")
        if pen_pixels == 1:
            continue
        # PIL fills each segment of a wide line as its own polygon and leaves hairline seams
        # between them; a dot of the pen's size at every vertex closes them and rounds the ends.
        radius = pen_pixels / 2
        for point_x, point_y in points:
            draw.ellipse((point_x - radius, point_y - radius, point_x + radius, point_y + radius), fill=255)
    if supersample > 1:
        canvas = canvas.reduce(supersample)
    return crop_to_ink(np.asarray(canvas, dtype=np.float32) / 255.0)


def font_coverage(rng, digit, height):
    """A printed digit in a random DejaVu face bundled with matplotlib."""
    family, style, weight = FONT_FACES[rng.integers(len(FONT_FACES))]
    path = font_manager.findfont(
        font_manager.FontProperties(family=family, style=style, weight=weight), fallback_to_default=False
    )
    # DejaVu digits are about 0.73 em tall, so this font size makes them roughly ``height`` tall.
    font = ImageFont.truetype(path, size=max(4, round(height / 0.73)))
    canvas = Image.new("L", (2 * height + 8, 2 * height + 8), 0)
    ImageDraw.Draw(canvas).text((4, 4), str(digit), fill=255, font=font)
    return crop_to_ink(np.asarray(canvas, dtype=np.float32) / 255.0)


def crop_to_ink(coverage):
    """Cut a coverage map down to the bounding box of its ink."""
    rows = np.flatnonzero(coverage.max(axis=1) > 0.02)
    columns = np.flatnonzero(coverage.max(axis=0) > 0.02)
    if len(rows) == 0:
        raise ValueError("the digit has no ink: the requested height is too small")
    return coverage[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def resize_coverage(coverage, width, height):
    """Resize a coverage map with area-aware filtering, keeping values in [0, 1]."""
    resized = Image.fromarray(coverage, "F").resize((max(1, width), max(1, height)), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized), 0.0, 1.0).astype(np.float32)


def fit(coverage, max_height, max_width):
    """Shrink a coverage map, keeping its aspect, to at most ``max_height`` by ``max_width`` pixels."""
    height, width = coverage.shape
    scale = min(max_height / height, max_width / width)
    if scale >= 1.0:
        return coverage
    return resize_coverage(coverage, round(width * scale), round(height * scale))


def digit_ink(rng, sources, digit, source):
    """The ink of one digit as a function of (height, max_width), drawn when the style asks for it."""
    hand = Hand(rng)

    def ink(height, max_width):
        return fit(sources.coverage(rng, source, digit, height, hand), height, max_width)

    return ink


def number_ink(rng, sources, digits, source, spacing=None):
    """The ink of a number written on one line by one hand, as a function of (height, max_width).

    ``spacing`` is "touch" (neighbours touch or overlap), "close", "normal" or "wide"; by default
    one of the last three, drawn at random.
    """
    hand = Hand(rng)
    if spacing is None:
        spacing = rng.choice(["close", "normal", "wide"], p=[0.25, 0.55, 0.2])

    def ink(height, max_width):
        masks = [
            sources.coverage(rng, source, digit, max(8, round(height * rng.uniform(0.8, 1.0))), hand)
            for digit in digits
        ]
        # Gaps are fractions of the height; a "close" number nearly touches without overlapping.
        if spacing == "touch":
            gaps = -rng.uniform(0.0, TOUCH_OVERLAP, len(digits) - 1)
        elif spacing == "close":
            gaps = rng.uniform(0.02, 0.06, len(digits) - 1)
        elif spacing == "normal":
            gaps = rng.uniform(0.08, 0.3, len(digits) - 1)
        else:
            gaps = rng.uniform(0.35, 0.7, len(digits) - 1)
        # Digits stand on a common baseline, each dropped or raised a little.
        bottoms = height + np.clip(rng.normal(0.0, 0.04, len(digits)), -0.08, 0.08) * height
        tops = bottoms - [mask.shape[0] for mask in masks]
        natural_width = sum(mask.shape[1] for mask in masks) + gaps.sum() * height
        scale = min(1.0, 0.97 * max_width / natural_width, height / (bottoms.max() - tops.min()))
        if scale < 1.0:
            masks = [
                resize_coverage(mask, round(mask.shape[1] * scale), round(mask.shape[0] * scale)) for mask in masks
            ]
        heights = np.array([mask.shape[0] for mask in masks])
        tops = np.maximum(0, np.round((bottoms - tops.min()) * scale).astype(int) - heights)
        if spacing == "touch":
            line = touching_line(masks, tops, [round(-gap * height * scale) for gap in gaps])
        else:
            gap_pixels = [max(2, round(gap * height * scale)) for gap in gaps] + [0]
            line_width = sum(mask.shape[1] for mask in masks) + sum(gap_pixels)
            line = np.zeros(((tops + heights).max(), line_width), np.float32)
            left = 0
            for mask, top, gap in zip(masks, tops, gap_pixels):
                line[top : top + mask.shape[0], left : left + mask.shape[1]] = mask
                left += mask.shape[1] + gap
        return fit(line, height, max_width)

    return ink


def touching_line(masks, tops, overlaps):
    """Digits placed left to right so that each one's ink touches its left neighbour's, overlapping it
    by ``overlaps`` pixels (one per pair) but never by more than ``TOUCH_OVERLAP_STROKES`` of the thinner
    neighbour's stroke width, and along at most ``TOUCH_MAX_CONTACT`` of the rows; overlapping strokes are
    one layer of ink, not a sum."""
    strokes = [normalize.stroke_width(mask > 0.5) for mask in masks]
    overlaps = [
        min(overlap, int(TOUCH_OVERLAP_STROKES * min(strokes[index], strokes[index + 1])))
        for index, overlap in enumerate(overlaps)
    ]
    height = max(top + mask.shape[0] for mask, top in zip(masks, tops))
    line = np.zeros((height, sum(mask.shape[1] for mask in masks)), np.float32)
    right_edges = np.full(height, -1)
    left, end = 0, 0
    for index, (mask, top) in enumerate(zip(masks, tops)):
        rows = np.arange(top, top + mask.shape[0])
        inked = mask.max(axis=1) > 0.5
        if index > 0:
            # On every row both digits ink, the new one starts right after the old one's ink; the
            # closest such row decides where the new one touches.
            shared = inked & (right_edges[rows] >= 0)
            left_edges = np.argmax(mask > 0.5, axis=1)
            if shared.any():
                left = int((right_edges[rows][shared] + 1 - left_edges[shared]).max()) - overlaps[index - 1]
                # Where the two touch (a gap of 0 or less), on too many rows the new one moves right
                # until only the closest rows touch.
                gaps = np.sort(left + left_edges[shared] - right_edges[rows][shared] - 1)
                contact = max(1, int(TOUCH_MAX_CONTACT * height))
                if len(gaps) > contact and gaps[contact] <= 0:
                    left += 1 - int(gaps[contact])
            else:
                left = end - overlaps[index - 1]
            left = max(0, left)
        region = line[top : top + mask.shape[0], left : left + mask.shape[1]]
        np.maximum(region, mask[:, : region.shape[1]], out=region)
        last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1] > 0.5, axis=1)
        right_edges[rows[inked]] = np.maximum(right_edges[rows[inked]], left + last[inked])
        end = max(end, left + mask.shape[1])
    return line[:, :end]


def random_position(rng, canvas_height, canvas_width, coverage, margin, centred=False):
    """A random (top, left) that keeps the ink ``margin`` pixels inside the canvas.

    Positions are uniform, or with ``centred`` drawn from a Beta(2, 2) hump: someone aiming a camera
    puts the digit near the middle more often than near an edge, but not always.
    """
    height, width = coverage.shape
    room = np.array([max(0, canvas_height - height - 2 * margin), max(0, canvas_width - width - 2 * margin)])
    fractions = rng.beta(2.0, 2.0, 2) if centred else rng.random(2)
    top, left = margin + np.round(fractions * room).astype(int)
    return int(top), int(left)


def paint_over(array, coverage, top, left, colour):
    """Lay ink of ``colour`` over a uint8 image array where ``coverage`` says, as opaque paint does."""
    region = array[top : top + coverage.shape[0], left : left + coverage.shape[1]].astype(np.float32)
    weight = coverage[..., None] if region.ndim == 3 else coverage
    region = region * (1.0 - weight) + np.asarray(colour, np.float32) * weight
    array[top : top + coverage.shape[0], left : left + coverage.shape[1]] = np.round(region).astype(np.uint8)


def add_gaussian_noise(rng, array, sigma, grain=1):
    """Return a uint8 copy of ``array`` with Gaussian noise of standard deviation ``sigma`` added.

    With ``grain`` > 1 each noise value covers a ``grain`` x ``grain`` block, like a phone sensor's
    noise after demosaicing, and costs a fraction of the random numbers.
    """
    height, width = array.shape[:2]
    shape = (-(-height // grain), -(-width // grain)) + array.shape[2:]
    noise = rng.standard_normal(shape, dtype=np.float32) * sigma
    if grain > 1:
        noise = noise.repeat(grain, axis=0).repeat(grain, axis=1)[:height, :width]
    return np.clip(np.round(array.astype(np.float32) + noise), 0, 255).astype(np.uint8)


def perspective_coefficients(output_corners, input_corners):
    """The eight coefficients PIL's PERSPECTIVE transform needs to map output corners to input ones."""
    rows = []
    values = []
    for (x, y), (u, v) in zip(output_corners, input_corners):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        values.append(u)
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.append(v)
    return np.linalg.solve(np.asarray(rows, np.float64), np.asarray(values, np.float64))


def draw_paper_lines(rng, paper, digit_height, frame_origin, crossing=False):
    """Draw squared-grid or ruled lines on the paper, or none, in light blue or grey.

    With ``crossing`` the lines are always there, dark (a pencil rule, a strong print) and close
    enough that at least one crosses the digits.
    """
    if crossing:
        style = rng.choice(["squared", "ruled"])
        colour = tuple(int(value) for value in rng.choice([(70, 95, 175), (95, 95, 105), (120, 140, 200)]))
        spacing = digit_height * rng.uniform(0.3, 0.6)
        width = max(1, round(digit_height * rng.uniform(0.01, 0.03)))
    else:
        style = rng.choice(["plain", "squared", "ruled"], p=[0.35, 0.4, 0.25])
        if style == "plain":
            return
        colour = tuple(
            int(value)
            for value in (rng.choice([(160, 185, 230), (175, 200, 235), (180, 180, 185)]) + rng.integers(-10, 11, 3))
        )
        spacing = digit_height * (rng.uniform(0.3, 0.6) if style == "squared" else rng.uniform(0.7, 1.2))
        width = max(1, round(spacing * rng.uniform(0.02, 0.05)))
    draw = ImageDraw.Draw(paper)
    offset_x, offset_y = frame_origin + rng.uniform(0, spacing, 2)
    for y in np.arange(offset_y % spacing, paper.height, spacing):
        draw.line([(0, y), (paper.width, y)], fill=colour, width=width)
    if style == "squared":
        for x in np.arange(offset_x % spacing, paper.width, spacing):
            draw.line([(x, 0), (x, paper.height)], fill=colour, width=width)


def illumination(rng, height, width):
    """A smooth light field: a gradient across the page, a vignette and sometimes a soft shadow."""
    small_height, small_width = max(2, height // 8), max(2, width // 8)
    y, x = np.mgrid[0:small_height, 0:small_width].astype(np.float32)
    y /= small_height - 1
    x /= small_width - 1
    light = 1.0 + rng.uniform(-0.25, 0.25) * (x - 0.5) + rng.uniform(-0.25, 0.25) * (y - 0.5)
    light -= rng.uniform(0.0, 0.35) * ((x - 0.5) ** 2 + (y - 0.5) ** 2)
    if rng.random() < 0.4:
        # A phone or a hand held over the page casts a shadow with a soft straight edge.
        angle = rng.uniform(0, 2 * math.pi)
        distance = math.cos(angle) * (x - 0.5) + math.sin(angle) * (y - 0.5) - rng.uniform(0.1, 0.45)
        light -= rng.uniform(0.12, 0.35) / (1.0 + np.exp(-distance / rng.uniform(0.02, 0.1)))
    light = Image.fromarray(light.astype(np.float32), "F").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(light)


def photo(rng, ink, index, crossing_lines=False):
    """A phone photo of a digit on paper, saved as JPEG; every other one is stored sideways with EXIF.

    With ``crossing_lines`` the paper's lines are dark and cross the digits.
    """
    long_side = int(rng.integers(800, 1601) if rng.random() < 0.9 else rng.integers(2000, 3001))
    short_side = int(round(long_side / rng.choice([4 / 3, 16 / 9, 1.0])))
    width, height = (long_side, short_side) if rng.random() < 0.6 else (short_side, long_side)
    digit_height = int(round(height * rng.uniform(0.2, 0.6)))
    coverage = ink(digit_height, int(0.85 * width)) * rng.uniform(0.8, 1.0)
    # The page is larger than the frame so that tilting the camera never shows its edge.
    margin = int(0.1 * max(width, height))
    paper_colour = (
        rng.uniform(225, 250) + rng.uniform(-6, 6, 3)
        if rng.random() < 0.75
        else rng.uniform(165, 210) + rng.uniform(-5, 5, 3)
    )
    paper_colour = tuple(int(value) for value in np.clip(paper_colour, 0, 255))
    paper = Image.new("RGB", (width + 2 * margin, height + 2 * margin), paper_colour)
    draw_paper_lines(rng, paper, digit_height, np.array([margin, margin]), crossing=crossing_lines)
    page = np.asarray(paper).copy()
    top, left = random_position(rng, height, width, coverage, int(0.03 * min(width, height)), centred=True)
    pen = np.asarray(
        BLUE_PENS[rng.integers(len(BLUE_PENS))] if rng.random() < 0.5 else BLACK_PENS[rng.integers(len(BLACK_PENS))],
        np.float32,
    )
    # Ink on paper filters the light, so it multiplies the paper (and its grid) by the pen's colour.
    region = page[margin + top : margin + top + coverage.shape[0], margin + left : margin + left + coverage.shape[1]]
    filtered = region.astype(np.float32) * (1.0 - coverage[..., None] * (1.0 - pen / 255.0))
    region[...] = np.round(filtered).astype(np.uint8)
    corners = np.array([(0, 0), (width, 0), (width, height), (0, height)], np.float64)
    tilt = math.radians(rng.uniform(-4.0, 4.0))
    rotation = np.array([[math.cos(tilt), -math.sin(tilt)], [math.sin(tilt), math.cos(tilt)]])
    centre = np.array([width / 2, height / 2])
    source_corners = (corners - centre) @ rotation.T + centre + margin + rng.normal(0.0, 0.015 * width, (4, 2))
    image = Image.fromarray(page).transform(
        (width, height),
        Image.Transform.PERSPECTIVE,
        perspective_coefficients(corners, source_corners),
        Image.Resampling.BILINEAR,
        fillcolor=paper_colour,
    )
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.8) * width / 1000))
    lit = np.asarray(image, np.float32) * illumination(rng, height, width)[..., None]
    image = Image.fromarray(add_gaussian_noise(rng, lit, rng.uniform(2.0, 8.0), grain=2))
    options = {"quality": int(rng.integers(60, 91))}
    if index % 2 == 1:
        # Phones keep the sensor's landscape pixels and record the turn in the orientation tag; PIL's
        # exif_transpose undoes tag 6 with ROTATE_270 and tag 8 with ROTATE_90.
        orientation = 6 if index % 4 == 1 else 8
        image = image.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif
    return Picture(image, ".jpg", options)


def paint(rng, ink, index):
    """Strokes drawn in a paint app on a wide white canvas, the digit small somewhere."""
    width = int(rng.integers(800, 1921))
    height = int(rng.integers(600, min(1081, width + 1)))
    coverage = ink(int(rng.integers(40, 151)), int(0.9 * width))
    if rng.random() < 0.35:
        # A pencil tool draws without antialiasing.
        coverage = (coverage >= 0.5).astype(np.float32)
    colour = (0, 0, 0) if rng.random() < 0.65 else PAINT_COLOURS[rng.integers(len(PAINT_COLOURS))]
    canvas = np.full((height, width, 3), 255, np.uint8)
    paint_over(canvas, coverage, *random_position(rng, height, width, coverage, 2), colour)
    return Picture(Image.fromarray(canvas), ".png")


def transparent(rng, ink, index):
    """An RGBA PNG with the strokes in alpha; the hidden colour alternates between black and white."""
    width = int(rng.integers(200, 801))
    height = width if rng.random() < 0.6 else int(rng.integers(200, 801))
    coverage = ink(int(height * rng.uniform(0.4, 0.9)), int(0.95 * width))
    hidden = (0, 0, 0) if index % 2 == 0 else (255, 255, 255)
    if index % 5 == 4:
        # Light ink is what people draw for a dark interface.
        stroke = (255, 255, 255) if rng.random() < 0.7 else (235, 235, 240)
    elif rng.random() < 0.65:
        stroke = (0, 0, 0)
    else:
        stroke = DARK_INKS[rng.integers(len(DARK_INKS))]
    pixels = np.zeros((height, width, 4), np.uint8)
    pixels[..., :3] = hidden
    top, left = random_position(rng, height, width, coverage, 2)
    region = pixels[top : top + coverage.shape[0], left : left + coverage.shape[1]]
    region[..., 3] = np.round(coverage * 255).astype(np.uint8)
    # Drawing apps store straight (not premultiplied) colour, so every touched pixel has the
    # stroke's colour and only its alpha says how much of the pixel the stroke covers.
    region[region[..., 3] > 0, :3] = stroke
    return Picture(Image.fromarray(pixels, "RGBA"), ".png")


def inverted(rng, ink, index):
    """A light digit on a black or dark canvas, as a drawing widget saves it."""
    size = int(rng.integers(200, 601))
    height, width = (size, size) if rng.random() < 0.7 else (size, int(rng.integers(200, 601)))
    coverage = ink(int(height * rng.uniform(0.4, 0.85)), int(0.95 * width))
    if rng.random() < 0.6:
        canvas = np.full((height, width), int(rng.integers(0, 41)), np.uint8)
        colour = int(rng.integers(215, 256))
    else:
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[...] = rng.choice([(20, 24, 35), (0, 0, 0), (35, 35, 40), (10, 30, 20)])
        colour = rng.choice([(255, 255, 255), (250, 240, 160), (200, 230, 255), (230, 230, 230)])
    paint_over(canvas, coverage, *random_position(rng, height, width, coverage, 2), colour)
    return Picture(Image.fromarray(canvas), ".png")


def scan(rng, ink, index):
    """A USPS-like grey digit that fills a 16x16 or 32x32 frame, sometimes upsampled, with scanner noise."""
    frame = 16 if rng.random() < 0.5 else 32
    coverage = ink(4 * frame, 16 * frame)
    natural_width = coverage.shape[1] * frame / coverage.shape[0]
    # USPS digits are size-normalised to fill the frame; a thin 1 is widened, but only so far.
    if rng.random() < 0.6:
        width = min(frame, round(natural_width * 2.0))
    else:
        width = min(frame, max(1, round(natural_width)))
    shrunk = resize_coverage(coverage, width, frame)
    background = rng.uniform(200, 255)
    ink_level = rng.uniform(0, 70)
    canvas = np.full((frame, frame), background, np.float32)
    left = (frame - width) // 2
    canvas[:, left : left + width] -= (background - ink_level) * shrunk
    image = Image.fromarray(add_gaussian_noise(rng, canvas, rng.uniform(2.0, 10.0)))
    if rng.random() < 0.5:
        size = int(rng.integers(64, 129))
        image = image.resize(
            (size, size), Image.Resampling.BILINEAR if rng.random() < 0.5 else Image.Resampling.NEAREST
        )
    return Picture(image, ".png")


def noisy(rng, ink, index):
    """A low-contrast digit with salt-and-pepper specks, saved as a heavily compressed JPEG."""
    width = int(rng.integers(100, 501))
    height = int(width * rng.uniform(0.8, 1.25))
    coverage = ink(int(height * rng.uniform(0.5, 0.85)), int(0.9 * width))
    if rng.random() < 0.8:
        background = rng.uniform(140, 230)
        ink_level = background - rng.uniform(35, 90)
    else:
        background = rng.uniform(30, 110)
        ink_level = background + rng.uniform(35, 90)
    canvas = np.full((height, width, 3), background, np.float32) * rng.uniform(0.9, 1.1, 3)
    top, left = random_position(rng, height, width, coverage, 2)
    region = canvas[top : top + coverage.shape[0], left : left + coverage.shape[1]]
    region += (ink_level - background) * coverage[..., None]
    pixels = add_gaussian_noise(rng, canvas, rng.uniform(5.0, 20.0))
    specks = rng.random((height, width)) < rng.uniform(0.005, 0.04)
    pixels[specks] = np.where(rng.random(int(specks.sum())) < 0.5, 0, 255)[:, None]
    image = Image.fromarray(pixels)
    if rng.random() < 0.5:
        image = image.convert("L")
    return Picture(image, ".jpg", {"quality": int(rng.integers(10, 31))})


def thin(rng, ink, index):
    """A digit drawn with a 1-pixel pencil on a square or wide canvas of 28 to 1,000 pixels, either polarity."""
    height = int(round(math.exp(rng.uniform(math.log(THIN_CANVAS[0]), math.log(THIN_CANVAS[1])))))
    width = height if rng.random() < 0.5 else min(THIN_CANVAS[1], int(height * rng.uniform(1.0, 1.6)))
    coverage = ink(max(12, int(height * rng.uniform(0.5, 0.85))), int(0.95 * width))
    if rng.random() < 0.5:
        canvas, colour = np.full((height, width, 3), 255, np.uint8), (0, 0, 0)
    else:
        canvas, colour = np.zeros((height, width, 3), np.uint8), (255, 255, 255)
    paint_over(canvas, coverage, *random_position(rng, height, width, coverage, 1), colour)
    return Picture(Image.fromarray(canvas), ".png")


def ruled(rng, ink, index):
    """A photo of digits on paper whose dark ruled or squared lines cross the strokes."""
    return photo(rng, ink, index, crossing_lines=True)


def tilted(rng, ink, index, style):
    """A digit turned 15 to 30 degrees either way, in the paint, transparent, inverted or photo ``style``."""
    degrees = rng.uniform(*TILT_DEGREES) * rng.choice([-1.0, 1.0])

    def turned(height, max_width):
        coverage = Image.fromarray(ink(height, max_width), "F").rotate(
            degrees, resample=Image.Resampling.BICUBIC, expand=True
        )
        return fit(crop_to_ink(np.clip(np.asarray(coverage), 0.0, 1.0)), height, max_width)

    return STYLES[style](rng, turned, index)


def with_stray_mark(rng, ink):
    """``ink`` with a stray mark (a dash, a dot or a curl) one to three digit heights away from it."""
    shape = rng.choice(["dash", "dot", "curl"])
    side = rng.choice(["above", "below", "left", "right"])
    distance = rng.uniform(1.0, 3.0)
    size = rng.uniform(0.2, 0.6)
    angle = math.radians(rng.uniform(-25.0, 25.0))

    def marked(height, max_width):
        number = ink(height, max_width)
        pen = max(1, round(0.1 * number.shape[0]))
        length = max(pen + 2, round(size * number.shape[0]))
        mark = Image.new("L", (length + 2 * pen, length + 2 * pen), 0)
        draw = ImageDraw.Draw(mark)
        centre = length / 2 + pen
        if shape == "dash":
            dx, dy = 0.5 * length * math.cos(angle), 0.5 * length * math.sin(angle)
            draw.line([(centre - dx, centre - dy), (centre + dx, centre + dy)], fill=255, width=pen)
        elif shape == "dot":
            draw.ellipse((centre - pen, centre - pen, centre + pen, centre + pen), fill=255)
        else:
            draw.arc((pen, pen, pen + length, pen + length // 2), 0, 300, fill=255, width=pen)
        mark = crop_to_ink(np.asarray(mark, np.float32) / 255.0)
        gap = round(distance * number.shape[0])
        rows = number.shape[0] + (gap + mark.shape[0] if side in ("above", "below") else 0)
        columns = number.shape[1] + (gap + mark.shape[1] if side in ("left", "right") else 0)
        rows, columns = max(rows, mark.shape[0]), max(columns, mark.shape[1])
        canvas = np.zeros((rows, columns), np.float32)
        number_top = rows - number.shape[0] if side == "above" else 0
        number_left = columns - number.shape[1] if side == "left" else 0
        canvas[number_top : number_top + number.shape[0], number_left : number_left + number.shape[1]] = number
        mark_top = {"above": 0, "below": rows - mark.shape[0]}.get(side, (number.shape[0] - mark.shape[0]) // 2)
        mark_left = {"left": 0, "right": columns - mark.shape[1]}.get(side, (columns - mark.shape[1]) // 2)
        region = canvas[mark_top : mark_top + mark.shape[0], mark_left : mark_left + mark.shape[1]]
        np.maximum(region, mark, out=region)
        return fit(canvas, height, max_width)

    return marked


def no_digit(rng, subject, index):
    """A picture without handwriting: a plot, a text screenshot, a photo-like scene, a texture, a gradient or noise."""
    width, height = int(rng.integers(200, 1201)), int(rng.integers(200, 901))
    if subject == "plot":
        return Picture(plot_picture(rng, width, height), ".png")
    if subject == "text":
        return Picture(text_picture(rng, width, height), ".png")
    if subject == "photo":
        image = Image.fromarray(scene_pixels(rng, width, height)).filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2)))
        return Picture(Image.fromarray(add_gaussian_noise(rng, np.asarray(image), rng.uniform(2, 8))), ".jpg")
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if subject == "texture":
        # Wood grain, cloth or a wall: smooth noise bent by sine waves, in one or two colours.
        field = smooth_noise(rng, height, width, rng.integers(4, 30))
        frequency = rng.uniform(0.02, 0.2)
        grain = np.sin(frequency * (x * math.cos(rng.uniform(0, math.pi)) + y) + 6 * field)
        values = 0.5 + 0.5 * (0.6 * grain + 0.4 * smooth_noise(rng, height, width, 80))
    elif subject == "gradient":
        angle = rng.uniform(0, 2 * math.pi)
        values = (x * math.cos(angle) + y * math.sin(angle)) / max(width, height)
        if rng.random() < 0.4:
            values = np.hypot(x - rng.uniform(0, width), y - rng.uniform(0, height)) / max(width, height)
        values = (values - values.min()) / max(float(np.ptp(values)), 1e-6)
    else:
        values = rng.random((height, width)) if rng.random() < 0.5 else smooth_noise(rng, height, width, 5)
    low, high = rng.integers(0, 256, (2, 3))
    pixels = low + values[..., None] * (high.astype(np.float32) - low)
    return Picture(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), ".png")


def smooth_noise(rng, height, width, cells):
    """Random values on a coarse grid of about ``cells`` cells across, smoothly enlarged to the image, in [0, 1]."""
    cells = int(max(2, cells))
    coarse = rng.random((max(2, cells * height // width), cells)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((width, height), Image.Resampling.BICUBIC)).clip(0, 1)


def plot_picture(rng, width, height):
    """A matplotlib figure: lines, scatter or bars with axes, ticks, a title and a legend."""
    # subtle: the Agg canvas renders without pyplot, so no window or global state is touched.
    from matplotlib import figure
    from matplotlib.backends import backend_agg

    dpi = 100
    plot = figure.Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    backend_agg.FigureCanvasAgg(plot)
    axes = plot.add_subplot()
    x = np.linspace(0, rng.uniform(1, 50), 60)
    chart = rng.choice(["line", "scatter", "bar"])
    for series in range(int(rng.integers(1, 4))):
        y = np.cumsum(rng.normal(0, 1, len(x))) + series
        if chart == "line":
            axes.plot(x, y, label=f"series {chr(97 + series)}")
        elif chart == "scatter":
            axes.scatter(x, y, s=8, label=f"series {chr(97 + series)}")
        else:
            axes.bar(np.arange(8) + 0.25 * series, np.abs(y[:8]), width=0.25, label=f"series {chr(97 + series)}")
    axes.set_title(" ".join(rng.choice(WORDS, 3)))
    axes.legend()
    plot.tight_layout()
    plot.canvas.draw()
    return Image.fromarray(np.asarray(plot.canvas.buffer_rgba())[..., :3].copy())


def text_picture(rng, width, height):
    """A screenshot of a few lines of text in a DejaVu face, dark on light or light on dark."""
    family, style, weight = FONT_FACES[rng.integers(len(FONT_FACES))]
    path = font_manager.findfont(
        font_manager.FontProperties(family=family, style=style, weight=weight), fallback_to_default=False
    )
    size = int(rng.integers(12, 41))
    font = ImageFont.truetype(path, size=size)
    dark = rng.random() < 0.7
    image = Image.new("RGB", (width, height), (250, 250, 250) if dark else (30, 30, 35))
    draw = ImageDraw.Draw(image)
    for line in range(int(rng.integers(1, max(2, height // (size * 2))))):
        text = " ".join(rng.choice(WORDS, int(rng.integers(2, 9))))
        draw.text((10, 10 + line * size * 1.5), text, fill=(20, 20, 20) if dark else (220, 220, 220), font=font)
    return image


def scene_pixels(rng, width, height):
    """A photo-like scene: a sky and ground gradient with filled shapes (houses, trees, furniture) of many colours."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    sky, ground = rng.integers(60, 256, (2, 3)).astype(np.float32)
    horizon = rng.uniform(0.3, 0.8)
    pixels = np.where(y < horizon, sky * (0.7 + 0.3 * y / horizon), ground * (1.1 - 0.3 * y))
    image = Image.fromarray(np.clip(np.broadcast_to(pixels, (height, width, 3)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 15))):
        colour = tuple(int(value) for value in rng.integers(0, 256, 3))
        left, top = rng.uniform(0, width), rng.uniform(0, height)
        box = (left, top, left + rng.uniform(0.05, 0.4) * width, top + rng.uniform(0.05, 0.4) * height)
        shape = rng.choice(["rectangle", "ellipse", "polygon"])
        if shape == "rectangle":
            draw.rectangle(box, fill=colour)
        elif shape == "ellipse":
            draw.ellipse(box, fill=colour)
        else:
            corners = rng.uniform((box[0], box[1]), (box[2], box[3]), (5, 2))
            draw.polygon([tuple(point) for point in corners], fill=colour)
    return np.asarray(image)


STYLES = {
    "photo": photo,
    "paint": paint,
    "transparent": transparent,
    "inverted": inverted,
    "scan": scan,
    "noisy": noisy,
    "thin": thin,
    "ruled": ruled,
}


def choose_source(rng, kind):
    """Pick where the ink of one image comes from, with the weights of its kind."""
    weights = SOURCE_WEIGHTS[kind]
    return str(rng.choice(list(weights), p=list(weights.values())))


def random_digits(rng, lengths):
    """A list of random digits, as many as a random length from ``lengths`` (inclusive)."""
    return [int(digit) for digit in rng.integers(0, config.NUM_CLASSES, rng.integers(lengths[0], lengths[1] + 1))]


def make_image(rng, sources, kind, index):
    """Make one image of ``kind``; return (picture, label, file name stem)."""
    if kind == "nodigit":
        subject = str(NO_DIGIT_SUBJECTS[index % len(NO_DIGIT_SUBJECTS)])
        return no_digit(rng, subject, index), "", f"{kind}_{index:04d}_{subject}"
    if kind == "thin":
        digit = int(rng.integers(0, config.NUM_CLASSES))
        pencil = str(rng.choice(["aliased", "antialiased"]))
        hand = Hand(rng)

        def pencil_ink(height, max_width):
            return fit(strokes_coverage(rng, digit, height, hand, pencil=pencil), height, max_width)

        return thin(rng, pencil_ink, index), str(digit), f"{kind}_{index:04d}_{pencil}"
    source = choose_source(rng, kind)
    if kind in ("number", "touching"):
        digits = random_digits(rng, NUMBER_LENGTHS)
        style = str(rng.choice(NUMBER_STYLES))
        spacing = "touch" if kind == "touching" else None
        picture = STYLES[style](rng, number_ink(rng, sources, digits, source, spacing), index)
        return picture, "".join(str(digit) for digit in digits), f"{kind}_{index:04d}_{style}"
    if kind == "ruled":
        digits = random_digits(rng, RULED_LENGTHS)
        picture = ruled(rng, number_ink(rng, sources, digits, source), index)
        return picture, "".join(str(digit) for digit in digits), f"{kind}_{index:04d}_photo"
    if kind == "stray":
        digits = random_digits(rng, (1, 4))
        style = str(rng.choice(["photo", "transparent", "inverted"]))
        if len(digits) > 1:
            ink = number_ink(rng, sources, digits, source)
        else:
            ink = digit_ink(rng, sources, digits[0], source)
        picture = STYLES[style](rng, with_stray_mark(rng, ink), index)
        return picture, "".join(str(digit) for digit in digits), f"{kind}_{index:04d}_{style}"
    digit = int(rng.integers(0, config.NUM_CLASSES))
    if kind == "tilted":
        style = str(rng.choice(["paint", "transparent", "inverted", "photo"]))
        picture = tilted(rng, digit_ink(rng, sources, digit, source), index, style)
        return picture, str(digit), f"{kind}_{index:04d}_{style}"
    return STYLES[kind](rng, digit_ink(rng, sources, digit, source), index), str(digit), f"{kind}_{index:04d}"


def generate(out_dir, count_per_kind, seed, data_path=None, kinds=KINDS):
    """Write ``count_per_kind`` images of every kind and ``labels.csv`` into ``out_dir``; return the rows.

    ``data_path`` is MNIST's .npz (else $MNIST_NPZ, else a Keras download); only its test split is used.
    """
    if int(count_per_kind) != count_per_kind or count_per_kind < 1:
        raise ValueError(f"count_per_kind must be a positive integer, got {count_per_kind!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"the seed must be a non-negative integer, got {seed!r}")
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise ValueError(f"unknown kind(s) {', '.join(unknown)}: choose from {', '.join(KINDS)}")
    _, (test_images, test_labels) = data.load_mnist(data_path)
    sources = DigitSources(test_images, test_labels)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for kind in kinds:
        for index in range(int(count_per_kind)):
            rng = np.random.default_rng([seed, KINDS.index(kind), index])
            picture, label, stem = make_image(rng, sources, kind, index)
            file_name = stem + picture.extension
            picture.image.save(out_dir / file_name, **picture.save_options)
            rows.append({"file": file_name, "kind": kind, "label": label})
    with open(out_dir / LABELS_FILE, "w", newline="") as labels_file:
        writer = csv.DictWriter(labels_file, fieldnames=LABEL_COLUMNS, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def read_labels(images_dir):
    """Read ``labels.csv`` of a generated folder as a list of dicts with string labels."""
    path = pathlib.Path(images_dir) / LABELS_FILE
    if not path.is_file():
        raise ValueError(
            f"no {LABELS_FILE} in {images_dir}: generate the set with python bench/real_images.py --out {images_dir}"
        )
    with open(path, newline="") as labels_file:
        rows = list(csv.DictReader(labels_file))
    if rows and set(LABEL_COLUMNS) - set(rows[0]):
        raise ValueError(f"{path} must have the columns {', '.join(LABEL_COLUMNS)}")
    return rows


def build_parser():
    parser = cli.parser(__doc__.split("\n\n")[0])
    cli.add_data_argument(parser)
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help="folder for the images and labels.csv (files of an earlier, larger set are not removed)",
    )
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="images per kind")
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=KINDS,
        default=list(KINDS),
        metavar="KIND",
        help=f"which kinds to generate, of {', '.join(KINDS)}",
    )
    cli.add_seed_argument(parser, DEFAULT_SEED)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        rows = generate(args.out, args.count, args.seed, data_path=args.data, kinds=args.kinds)
    except ValueError as error:
        cli.fail(str(error))
    print(f"wrote {len(rows)} images and {LABELS_FILE} to {args.out}")


if __name__ == "__main__":
    main()
