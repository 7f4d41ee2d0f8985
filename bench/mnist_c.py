"""MNIST-C: read 15 corruptions of MNIST test digits as PNG files, through recognize and by the bare model.

MNIST-C (Mu & Gilmer 2019, "MNIST-C: A Robustness Benchmark for Computer Vision") corrupts MNIST's
test digits in 15 ways: noise, blur, affine changes, brightness, inverted stripes, fog, mud
spatter, lines drawn across, and edges only. This module makes them itself, following the
definitions and parameters of google-research/mnist-c ``corruptions.py`` at the severities that
built the published data set (each function's default there), with NumPy instead of scikit-image,
SciPy, OpenCV and ImageMagick. ``CORRUPTIONS`` maps each name to a function
``(uint8 (28, 28) image, numpy Generator) -> uint8 (28, 28) image``, the same for the same seed:

    >>> empty = np.zeros((28, 28), np.uint8)
    >>> striped = CORRUPTIONS["stripe"](empty, np.random.default_rng(0))  # columns 0-6 and 21-27 inverted
    >>> int(striped[:, :7].min()), int(striped[:, 7:21].max()), int(striped[:, 21:].min())
    (255, 0, 255)

The published code's quirks are kept, since they shape the data set: glass blur blurs along the rows
direction only and moves pixels only up and left; impulse noise never touches the last row or column.
The blur, the affine warps and the Canny detector here give SciPy's ``gaussian_filter`` and
``map_coordinates`` and skimage 0.14's ``canny`` to within 1e-15 (0 edge pixels differing) on 200
MNIST digits, checked once against SciPy while writing them.

For every corruption the bench writes the first ``--count`` test digits, corrupted, as PNG files
into ``--out/<corruption>/`` (file ``<test index>_<label>.png``), reads the files back with
``recognition.recognize_many`` as ``recognize.py`` does, and prints one JSON line: the fraction read
exactly right (the prediction string equals the label; "no digit found" is wrong), the bare model's
accuracy on the same pixels (``model.predict(x / 255)``, no preprocessing, which PNG keeps
losslessly), and the time taken. Then a summary line (means, the worst corruption) and a Markdown
table for the README. The images read wrongly are listed in ``--out/mnist_c_failures.csv``.

    python bench/mnist_c.py --data $MNIST_NPZ --count 1000 --out /tmp/mnist_c
"""

import csv
import functools
import json
import pathlib
import resource
import time

import numpy as np
import PIL.Image

from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition import files
from number_recognition.reading import inference
from number_recognition.reading import model_file
from number_recognition.reading import recognition
from number_recognition.reading import segmentation

DEFAULT_COUNT = 1000
DEFAULT_SEED = 0
DEFAULT_OUT = "outputs/mnist_c"
FAILURES_FILE = "mnist_c_failures.csv"
SIZE = config.IMAGE_SIZE
# The centre of a 28x28 image, which the affine corruptions keep fixed (13.5 in corruptions.py).
CENTRE = (SIZE - 1) / 2
# SciPy's gaussian_filter (behind skimage.filters.gaussian) cuts its kernel at this many sigmas.
GAUSSIAN_TRUNCATE = 4.0

# name -> corruption, in the order of corruptions.py's CORRUPTIONS list (filled by @corruption).
CORRUPTIONS = {}


def corruption(function):
    """Register ``function(x, rng)``, x a float image in [0, 1], as ``CORRUPTIONS[name]`` on uint8 images.

    The result is rounded back to uint8, as the published data set was (``np.round(x).astype(np.uint8)``).
    """

    @functools.wraps(function)
    def corrupt(image, rng):
        image = np.asarray(image)
        if image.shape != (SIZE, SIZE) or image.dtype != np.uint8:
            raise ValueError(f"a corruption takes a uint8 ({SIZE}, {SIZE}) image, got {image.dtype} {image.shape}")
        corrupted = function(image / 255.0, rng)
        return np.round(np.clip(corrupted, 0.0, 1.0) * 255).astype(np.uint8)

    CORRUPTIONS[function.__name__] = corrupt
    return corrupt


# The helpers: small NumPy equivalents of what corruptions.py borrows from its libraries.


def gaussian(image, sigma, mode="edge", axes=(0, 1)):
    """A Gaussian blur as SciPy's ``gaussian_filter`` does it: separable, truncated, the border padded by ``mode``.

    ``mode="edge"`` is skimage.filters.gaussian's default ('nearest'); Canny smooths with zeros around.
    Only the ``axes`` given are blurred.
    """
    radius = int(GAUSSIAN_TRUNCATE * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    for axis in axes:
        lines = np.swapaxes(image, 0, axis)
        padded = np.pad(lines, ((radius, radius), (0, 0)), mode=mode)
        blurred = sum(weight * padded[shift : shift + len(lines)] for shift, weight in enumerate(kernel))
        image = np.swapaxes(blurred, 0, axis)
    return image


def warp(x, matrix, shift=(0.0, 0.0)):
    """``x`` through an inverse affine map about the centre, as skimage's ``warp(x, inverse_map=...)``.

    Output pixel (row, column) takes the input at ``matrix @ (column, row)`` (both about the centre)
    plus ``shift`` (columns, rows), bilinearly interpolated; outside the image is 0.
    """
    rows, columns = np.mgrid[0:SIZE, 0:SIZE] - CENTRE
    source_columns = matrix[0][0] * columns + matrix[0][1] * rows + CENTRE + shift[0]
    source_rows = matrix[1][0] * columns + matrix[1][1] * rows + CENTRE + shift[1]
    top, left = np.floor(source_rows).astype(int), np.floor(source_columns).astype(int)
    down, right = source_rows - top, source_columns - left
    # subtle: indices clipped into a zero border read 0 for every neighbour outside the image.
    padded = np.pad(x, 1)

    def at(row, column):
        return padded[np.clip(row + 1, 0, SIZE + 1), np.clip(column + 1, 0, SIZE + 1)]

    return (1 - down) * ((1 - right) * at(top, left) + right * at(top, left + 1)) + down * (
        (1 - right) * at(top + 1, left) + right * at(top + 1, left + 1)
    )


def random_sign(rng):
    """-1 or 1, as corruptions.py's ``np.random.choice([-1, 1])``: the affine corruptions go either way."""
    return rng.choice((-1, 1))


def line_from_points(column0, row0, column1, row1):
    """A soft line between two points, as corruptions.py's ``line_from_points``.

    Intensity falls with the vertical distance d from the line as log(1 - d / 2.3) + 1 (0 from
    d = 2.3 on), and is 0 left of the first point's column and from the last one's on.
    """
    if column1 == column0:
        return np.zeros((SIZE, SIZE))
    columns, rows = np.arange(SIZE)[None, :], np.arange(SIZE)[:, None]
    slope = (row1 - row0) / (column1 - column0)
    distance = np.clip(np.abs(rows - (slope * (columns - column0) + row0)), 0, 2.3 - 1e-10)
    intensity = np.clip(np.log(1 - distance / 2.3) + 1, 0, 1)
    intensity[:, : int(np.floor(column0))] = 0
    intensity[:, int(np.ceil(column1)) :] = 0
    return intensity


def plasma_fractal(rng, wibble_decay, size=256):
    """A height map in [0, 1] by the diamond-square algorithm, as corruptions.py's ``plasma_fractal``.

    Each midpoint is the mean of its four neighbours plus noise of ``wibble`` times a uniform draw
    in [-wibble, wibble] (so the noise scales as wibble squared, as published); ``wibble`` starts at
    100 and is divided by ``wibble_decay`` at each finer step.
    """
    heights = np.zeros((size, size))
    step, wibble = size, 100.0
    while step >= 2:
        half = step // 2
        corners = heights[0:size:step, 0:size:step]
        square_sums = corners + np.roll(corners, -1, axis=0)
        square_sums += np.roll(square_sums, -1, axis=1)
        heights[half:size:step, half:size:step] = square_sums / 4 + wibble * rng.uniform(-wibble, wibble, corners.shape)
        centres = heights[half:size:step, half:size:step]
        for axis, target in ((0, np.s_[0:size:step, half:size:step]), (1, np.s_[half:size:step, 0:size:step])):
            diamond_sums = centres + np.roll(centres, 1, axis=axis) + corners + np.roll(corners, -1, axis=1 - axis)
            heights[target] = diamond_sums / 4 + wibble * rng.uniform(-wibble, wibble, corners.shape)
        step = half
        wibble /= wibble_decay
    heights -= heights.min()
    return heights / heights.max()


def canny(x, sigma=1.0, low=0.1, high=0.2):
    """The edges of ``x`` by skimage's ``feature.canny`` with its defaults (sigma 1, thresholds 0.1 and 0.2).

    Gaussian smoothing (normalised at the border), Sobel gradients, non-maximum suppression with
    the neighbours along the gradient interpolated between the axis and the diagonal, and hysteresis:
    weak edge pixels are kept when 8-connected to a strong one. The image's outer ring is never an edge.
    """
    smoothed = gaussian(x, sigma, "constant") / gaussian(np.ones_like(x), sigma, "constant")
    # scipy.ndimage.sobel: a central difference along one axis, [1, 2, 1] across it, 'reflect' border.
    padded = np.pad(smoothed, 1, mode="symmetric")
    down = padded[2:] - padded[:-2]
    across = padded[:, 2:] - padded[:, :-2]
    row_gradient = down[:, :-2] + 2 * down[:, 1:-1] + down[:, 2:]
    column_gradient = across[:-2] + 2 * across[1:-1] + across[2:]
    magnitude = np.hypot(row_gradient, column_gradient)
    mostly_rows = np.abs(row_gradient) >= np.abs(column_gradient)
    same_sign = row_gradient * column_gradient >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(
            mostly_rows, np.abs(column_gradient) / np.abs(row_gradient), np.abs(row_gradient) / np.abs(column_gradient)
        )
    padded_magnitude = np.pad(magnitude, 1)

    def neighbour(row_step, column_step):
        return padded_magnitude[1 + row_step : 1 + row_step + SIZE, 1 + column_step : 1 + column_step + SIZE]

    # The four sectors of gradient direction: the axis neighbour and the diagonal one on the gradient's side.
    sectors = (
        (same_sign & mostly_rows, (1, 0), (1, 1)),
        (same_sign & ~mostly_rows, (0, 1), (1, 1)),
        (~same_sign & ~mostly_rows, (0, 1), (-1, 1)),
        (~same_sign & mostly_rows, (1, 0), (1, -1)),
    )
    local_maximum = np.zeros(x.shape, dtype=bool)
    for sector, (axis_row, axis_column), (diagonal_row, diagonal_column) in sectors:
        ahead = weight * neighbour(diagonal_row, diagonal_column) + (1 - weight) * neighbour(axis_row, axis_column)
        behind = weight * neighbour(-diagonal_row, -diagonal_column) + (1 - weight) * neighbour(-axis_row, -axis_column)
        local_maximum |= sector & (magnitude >= ahead) & (magnitude >= behind)
    local_maximum[[0, -1], :] = local_maximum[:, [0, -1]] = False
    weak = local_maximum & (magnitude >= low)
    labels, _ = segmentation.label_components(weak)
    return np.isin(labels, labels[local_maximum & (magnitude >= high)]) & weak


# The 15 corruptions of MNIST-C, in corruptions.py's order, each at its published severity.


@corruption
def shot_noise(x, rng):
    """Poisson noise: x = Poisson(3 x) / 3 (severity 5, c = 3)."""
    return rng.poisson(x * 3) / 3


@corruption
def impulse_noise(x, rng):
    """Salt and pepper (severity 4, amount 0.17): 67 random pixels set to 1, then 67 to 0.

    skimage 0.14's ``random_noise(mode='s&p', amount=0.17)``, which made the data set, draws
    ceil(0.17 * 784 / 2) = 67 pixels for each, with replacement, and (its ``randint(0, 27)``)
    never in the last row or column: about 16% of the pixels become 0 or 1.
    """
    draws = int(np.ceil(0.17 * x.size * 0.5))
    for level in (1.0, 0.0):
        rows, columns = rng.integers(0, SIZE - 1, size=(2, draws))
        x[rows, columns] = level
    return x


@corruption
def glass_blur(x, rng):
    """Blur (sigma 0.7), swap pixels with a neighbour twice over, blur again (severity 1: 0.7, delta 1, 2 passes)."""
    # subtle: corruptions.py calls skimage's gaussian with multichannel=True on a 2-D image, which
    # takes the columns for colour channels: only the rows direction is blurred, as here.
    pixels = (gaussian(x, 0.7, axes=(0,)) * 255).astype(np.uint8)
    for _ in range(2):
        for row in range(SIZE - 1, 1, -1):
            for column in range(SIZE - 1, 1, -1):
                if rng.random() < 0.5:
                    # subtle: np.random.randint(-1, 1) excludes 1, so pixels only move up and left, as published.
                    column_step, row_step = rng.integers(-1, 1, size=2)
                    other = (row + row_step, column + column_step)
                    pixels[row, column], pixels[other] = pixels[other], pixels[row, column]
    return gaussian(pixels / 255.0, 0.7, axes=(0,))


@corruption
def motion_blur(x, rng):
    """ImageMagick's motion blur (severity 1: radius 10, sigma 3) at an angle uniform in [-45, 45] degrees.

    Each pixel is the weighted sum of the 21 pixels from it along the angle (one side only), with
    weights exp(-i^2 / (2 sigma^2)); pixels beyond the border repeat the edge.
    """
    angle = np.radians(rng.uniform(-45, 45))
    width = 2 * 10 + 1
    steps = np.arange(width)
    weights = np.exp(-(steps**2) / (2.0 * 3**2))
    weights /= weights.sum()
    column_offsets = np.ceil(steps * np.cos(angle) - 0.5).astype(int)
    row_offsets = np.ceil(steps * np.sin(angle) - 0.5).astype(int)
    rows, columns = np.mgrid[0:SIZE, 0:SIZE]
    return sum(
        weight * x[np.clip(rows + row_offset, 0, SIZE - 1), np.clip(columns + column_offset, 0, SIZE - 1)]
        for weight, row_offset, column_offset in zip(weights, row_offsets, column_offsets)
    )


@corruption
def shear(x, rng):
    """Shear by 0.4 radians either way about the centre (severity 2), skimage's AffineTransform(shear=c)."""
    angle = 0.4 * random_sign(rng)
    return warp(x, [[1, -np.sin(angle)], [0, np.cos(angle)]])


@corruption
def scale(x, rng):
    """Shrink to 0.7 about the centre (severity 3: the inverse map scales by 1 / 0.7)."""
    return warp(x, [[1 / 0.7, 0], [0, 1 / 0.7]])


@corruption
def rotate(x, rng):
    """Rotate by 0.4 radians (23 degrees) either way about the centre (severity 2)."""
    angle = 0.4 * random_sign(rng)
    return warp(x, [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


@corruption
def brightness(x, rng):
    """Add 0.5 to the HSV value (severity 5); for a grey pixel that is min(x + 0.5, 1)."""
    return np.minimum(x + 0.5, 1.0)


@corruption
def translate(x, rng):
    """Move by 3 pixels each way, each direction's sign at random (severity 3)."""
    return warp(x, [[1, 0], [0, 1]], shift=(3 * random_sign(rng), 3 * random_sign(rng)))


@corruption
def stripe(x, rng):
    """Invert columns 0-6 and 21-27."""
    x[:, :7] = 1 - x[:, :7]
    x[:, 21:] = 1 - x[:, 21:]
    return x


@corruption
def fog(x, rng):
    """Add 3 times a plasma fractal (wibble decay 1.4), rescaled to the digit's peak (severity 5: 3.0, 1.4)."""
    peak = x.max()
    x = x + 3.0 * plasma_fractal(rng, wibble_decay=1.4)[:SIZE, :SIZE]
    return x * peak / (peak + 3.0)


@corruption
def spatter(x, rng):
    """Mud: grey (63) blobs where smoothed noise is high (severity 4: N(0.65, 0.3), sigma 1, 0.65, sigma 1.5)."""
    liquid = gaussian(rng.normal(0.65, 0.3, x.shape), 1.0)
    mud = gaussian((liquid > 0.65).astype(np.float64), 1.5)
    mud[mud < 0.8] = 0
    return x * (1 - mud) + 63 / 255 * mud


@corruption
def dotted_line(x, rng):
    """A line from the left to the right edge between random rows, drawn in dashes of 2 columns."""
    row0, row1 = rng.integers(0, 27, size=2)
    dashes = line_from_points(0, row0, 27, row1)
    # corruptions.py blanks columns 0-1, 4-5, 8-9, ...: every other pair.
    dashes[:, (np.arange(SIZE) // 2) % 2 == 0] = 0
    return x + dashes


@corruption
def zigzag(x, rng):
    """A zigzag of teeth 2 long and 2 high from column 2 to 25, along a line rising or falling up to 5 rows."""
    tooth_length = tooth_height = 2.0
    column0, column1 = 2, 25
    row0 = rng.integers(0, 27)
    row1 = row0 + rng.integers(-5, 5)
    angle = np.arctan((row1 - row0) / (column1 - column0))
    length = (column1 - column0) / np.cos(angle)
    # The corners along a horizontal line from (0, 0), then turned by angle and moved to (column0, row0).
    corners = [(0.0, 0.0)]
    for index in range(int((length - tooth_length) // (2 * tooth_length)) + 1):
        corners.append(((2 * index + 1) * tooth_length, (-1) ** index * tooth_height))
    last_full = 2 * tooth_length * (length // (2 * tooth_length))
    if length != last_full:
        # As published: the last corner's height divided by twice the part-tooth's length.
        corners.append((length, corners[-1][1] / (2 * (length - last_full))))
    along, across = np.array(corners).T
    columns = np.cos(angle) * along - np.sin(angle) * across + column0
    rows = np.sin(angle) * along + np.cos(angle) * across + row0
    for index in range(1, len(corners)):
        x = np.clip(x + line_from_points(columns[index - 1], rows[index - 1], columns[index], rows[index]), 0, 1)
    return x


@corruption
def canny_edges(x, rng):
    """Only the edges of the digit, 1 pixel wide, by the Canny detector with skimage's defaults."""
    return canny(x).astype(np.float64)


# The bench.


def corrupted_set(name, images, seed):
    """``images`` under one corruption, from a generator seeded by ``seed`` and the corruption's place in the list."""
    # subtle: seeding by the corruption's index, not by the order they run in, gives the same images
    # whatever --corruptions selects.
    rng = np.random.default_rng([seed, list(CORRUPTIONS).index(name)])
    return np.stack([CORRUPTIONS[name](image, rng) for image in images])


def write_pngs(images, labels, indices, folder):
    """Write each image as ``<test index>_<label>.png`` in ``folder``; return the paths in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for image, label, index in zip(images, labels, indices):
        path = folder / f"{index:05d}_{label}.png"
        PIL.Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def cpu_seconds():
    """CPU seconds of this process and of its finished children (the pool that prepares the images)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(name, images, labels, predictor, out_dir, seed):
    """Corrupt, write and read one corruption's images; return its JSON line and its failures."""
    started, cpu_started = time.perf_counter(), cpu_seconds()
    corrupted = corrupted_set(name, images, seed)
    paths = write_pngs(corrupted, labels, range(len(images)), out_dir / name)
    readings = list(recognition.recognize_many([str(path) for path in paths], predictor))
    raw_right = predictor.predict(data.to_inputs(corrupted)).argmax(axis=1) == labels
    predictions = [reading.prediction if reading.error is None else f"error: {reading.error}" for reading in readings]
    right = [prediction == str(label) for prediction, label in zip(predictions, labels)]
    figures = {
        "corruption": name,
        "count": len(images),
        "recognize_accuracy": round(float(np.mean(right)), 4),
        "raw_accuracy": round(float(raw_right.mean()), 4),
        "no_digit": sum(prediction is None for prediction in predictions),
        "several_digits": sum(prediction is not None and len(prediction) > 1 for prediction in predictions),
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(cpu_seconds() - cpu_started, 2),
    }
    failures = [
        {"corruption": name, "file": str(path), "label": int(label), "prediction": prediction or ""}
        for path, label, prediction, is_right in zip(paths, labels, predictions, right)
        if not is_right
    ]
    return figures, failures


def summary(lines):
    """The mean of every figure over the corruptions, and the corruption read worst through recognize."""
    worst = min(lines, key=lambda figures: figures["recognize_accuracy"])
    means = {
        key: round(float(np.mean([figures[key] for figures in lines])), 4)
        for key in ("recognize_accuracy", "raw_accuracy", "seconds", "cpu_seconds")
    }
    return {
        "corruption": "mean",
        "corruptions": len(lines),
        **means,
        "worst": worst["corruption"],
        "worst_recognize_accuracy": worst["recognize_accuracy"],
    }


def markdown_table(lines, mean):
    """The README's table: each corruption's accuracy by the bare model and through recognize, then the mean."""
    rows = ["| corruption | raw model | through recognize |", "| --- | ---: | ---: |"]
    for figures in lines + [{**mean, "corruption": "**mean**"}]:
        rows.append("| {corruption} | {raw_accuracy:.1%} | {recognize_accuracy:.1%} |".format(**figures))
    return "\n".join(rows)


def write_failures(failures, path):
    with open(path, "w", newline="") as failures_file:
        writer = csv.DictWriter(failures_file, fieldnames=("corruption", "file", "label", "prediction"))
        writer.writeheader()
        writer.writerows(failures)


def build_parser():
    parser = cli.parser(__doc__.split("\n\n")[0])
    cli.add_data_argument(parser)
    parser.add_argument(
        "--model", metavar="PATH", default=None, help=f"the .keras model (default: {model_file.MODEL_ORDER})"
    )
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="test digits per corruption (the first N)")
    cli.add_seed_argument(parser, DEFAULT_SEED)
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"folder for the PNGs, a folder per corruption, and {FAILURES_FILE}",
    )
    parser.add_argument(
        "--corruptions",
        nargs="+",
        choices=list(CORRUPTIONS),
        default=list(CORRUPTIONS),
        metavar="NAME",
        help=f"the corruptions to run (default: all): {' '.join(CORRUPTIONS)}",
    )
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    out_dir = pathlib.Path(args.out)
    with cli.reporting_errors():
        files.check_output_folder(out_dir)
        _, (x_test, y_test) = data.load_mnist(args.data)
        predictor = inference.load_predictor(args.model or model_file.default_model_path())
        images, labels = x_test[: args.count], y_test[: args.count]
        names = [name for name in CORRUPTIONS if name in args.corruptions]
        lines, failures = [], []
        for name in names:
            figures, failed = measure(name, images, labels, predictor, out_dir, args.seed)
            print(json.dumps(figures), flush=True)
            lines.append(figures)
            failures += failed
        failures_path = out_dir / FAILURES_FILE
        write_failures(failures, failures_path)
        mean = summary(lines)
        print(json.dumps({**mean, "model": predictor.path, "failures_csv": str(failures_path)}))
        print(markdown_table(lines, mean))
    return lines, mean


if __name__ == "__main__":
    main()
