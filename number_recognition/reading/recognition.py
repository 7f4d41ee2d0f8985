"""Reading the digit, or the whole number, in a person's image: the project's Python API.

``recognize(source, predictor)`` takes a file path, the file's bytes or an array and returns a
``Reading``: the digits found left to right, each with its probabilities, its box in the input's
pixels and the 28x28 image the model saw. ``recognize_many`` does the same for many sources,
predicting in batches, and reports a bad input as a ``Reading`` with an ``error`` instead of stopping.

    >>> predictor = inference.load_predictor("models/mnist_cnn.keras")
    >>> reading = recognize("year.png", predictor)
    >>> reading.prediction, round(reading.confidence, 2)
    ('2024', 0.91)
"""

import collections
import concurrent.futures
import contextlib
import dataclasses
import gc
import itertools
import multiprocessing
import os
import signal
import sys
import time

import numpy as np

from number_recognition import config
from number_recognition.reading import decode
from number_recognition.reading import ink
from number_recognition.reading import normalize
from number_recognition.reading import segmentation
from number_recognition.reading import splitting

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
# Results waiting for a batch are given out at least this often, so a slow folder still shows progress.
MAX_WAIT_SECONDS = 1.0
# From this many sources on, a pool of processes reads them; fewer are read in this process, so that
# one image does not pay for starting processes.
POOL_MIN_SOURCES = 64
# Sources handed to a pool process at a time, their inputs predicted in one call: enough to make
# passing them between processes cheap (a folder of MNIST digits took 8-10% less CPU than with 16).
SOURCES_PER_TASK = 32
# Images whose pieces are found wait for the model's first reading of them together, holding at most
# this many bytes of ink and piece masks: a few working-size photos, or hundreds of small digits.
MAX_HELD_BYTES = 16 * 2**20
# Tasks queued or running per pool process: enough to keep the pool busy while this process gives out
# readings, and a bound on how many readings wait in memory.
TASKS_PER_WORKER = 8
# glibc's mallopt parameters (malloc.h) and the size of blocks a pool process keeps when freed, rather
# than returning them to the system: 32 MB, the largest mmap threshold glibc accepts, is more than any
# temporary of a task's prediction.
MALLOC_TRIM_THRESHOLD = -1
MALLOC_MMAP_THRESHOLD = -3
MALLOC_KEEP_BYTES = 32 * 2**20
# Two pieces closer than this fraction of their height may be one digit drawn in two strokes; they
# are joined when the model reads the joined piece this much more surely than the less sure piece.
JOIN_GAP_FRACTION = 0.12
JOIN_CONFIDENCE_MARGIN = 0.2
# Two pieces are side by side on one line when they share this fraction of the shorter one's height.
JOIN_VERTICAL_OVERLAP = 0.5
# A digit is uncertain when its two most probable digits are closer than this. Chosen by
# bench/uncertainty.py on the validation split (the last 10% of MNIST's training set, which training
# holds out) for the bundled convnet: the lowest margin whose sure digits are right 99.8% of the
# time there; on the test set it marks 1.12% of digits uncertain, the sure ones 99.90% right.
# docs/uncertainty.png shows the trade-off.
UNCERTAIN_MARGIN = 0.441
# Pieces that are no digit are marked uncertain whatever the model says. Of MNIST's training digits,
# 99.9% are at most 1.67 times as wide as tall and have at most 29% of their 28x28 input above half
# ink; a piece past these is a plot's curve, a texture, a smudge. An image with more pieces than
# MAX_DIGITS is text or a texture rather than a number: all its digits are uncertain.
MAX_DIGIT_ASPECT = 1.7
MAX_INK_FRACTION = 0.3
INK_LEVEL = 0.5
MAX_DIGITS = 10


@dataclasses.dataclass
class DigitReading:
    """One digit read: the model's probabilities, its box in the input's pixels, and the 28x28 input."""

    probabilities: np.ndarray
    box: segmentation.Box
    image: np.ndarray
    # One of more pieces than a line of digits holds, or of an image with lines of text or of solid
    # shapes: a page, a texture, a photo of objects.
    crowded: bool = False
    # Read unsure as it came and read again stood upright (``_upright_where_unsure``), ``image`` then
    # the upright input. It stays uncertain: calling the upright readings sure made MNIST's sure test
    # digits right 99.69% of the time instead of 99.71%, and named shapes in pictures without digits.
    stood_upright: bool = False
    # True when the model hesitates between two digits, or the piece is hardly a digit at all. Judged
    # once, where the reading is made (in a pool process for a folder), not each time it is looked at.
    uncertain: bool = dataclasses.field(init=False)

    def __post_init__(self):
        self.uncertain = self.margin < UNCERTAIN_MARGIN or self.crowded or self.stood_upright or not self.digit_shaped

    @property
    def digit(self):
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self):
        return float(np.max(self.probabilities))

    @property
    def margin(self):
        """How much more probable the most probable digit is than the runner-up."""
        return splitting.margin(self.probabilities)

    @property
    def digit_shaped(self):
        """Shaped like a handwritten digit: no wider or fuller than MNIST's, no frame, no filled shape."""
        if self.box.width > MAX_DIGIT_ASPECT * self.box.height:
            return False
        inked = self.image > INK_LEVEL
        if np.count_nonzero(inked) > MAX_INK_FRACTION * inked.size:
            return False
        inked = segmentation.cropped(inked)
        return not segmentation.is_framed(inked) and not segmentation.is_painted(inked)

    def as_json(self):
        return {
            "digit": self.digit,
            "confidence": self.confidence,
            "uncertain": self.uncertain,
            "probabilities": [round(float(value), 6) for value in self.probabilities],
            "box": [int(value) for value in self.box],
        }


@dataclasses.dataclass
class Reading:
    """What one image says: its digits left to right, or the error that kept it from being read."""

    path: str = None
    digits: list = dataclasses.field(default_factory=list)
    error: str = None
    # The model file that read the digits, so every answer says where it came from.
    model: str = None

    @property
    def prediction(self):
        """The digits as a string, or None when the image holds none."""
        return "".join(str(digit.digit) for digit in self.digits) or None

    @property
    def confidence(self):
        """The least confident digit's confidence (a number is as sure as its weakest digit)."""
        return min((digit.confidence for digit in self.digits), default=None)

    @property
    def uncertain(self):
        """True when any digit is uncertain: the number as a whole may be wrong."""
        return any(digit.uncertain for digit in self.digits)

    @property
    def inputs(self):
        """The 28x28 images the model saw, one per digit, as one array."""
        size = config.IMAGE_SIZE
        return np.array([digit.image for digit in self.digits], dtype=np.float32).reshape(-1, size, size)

    def as_json(self):
        """The JSON object ``recognize.py --json`` prints for this image."""
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        return {
            "path": self.path,
            "model": self.model,
            "prediction": self.prediction,
            "confidence": self.confidence,
            "uncertain": self.uncertain,
            "digits": [digit.as_json() for digit in self.digits],
        }


def image_paths(path):
    """The images a command-line PATH names: the file itself, or a folder's image files, sorted."""
    if not os.path.isdir(path):
        return [path]
    try:
        names = sorted(name for name in os.listdir(path) if name.lower().endswith(IMAGE_SUFFIXES))
    except OSError as error:
        raise decode.ImageError(f"cannot list the folder ({error.strerror})") from None
    if not names:
        raise decode.ImageError(f"the folder has no image files ({', '.join(IMAGE_SUFFIXES)})")
    return [os.path.join(path, name) for name in names]


def to_grey(source):
    """A path, the bytes of an image file, or an array, as a float32 grey image in [0, 1]."""
    if isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        return decode.image_to_grey(decode.open_image(source))
    return decode.array_to_grey(source)


def prepare(source, single=False, predictor=None):
    """Preprocess a source into ``(inputs, boxes)``: one 28x28 input and one box (input pixels) per digit.

    With a ``predictor``, neighbouring pieces that it reads much more surely as one digit are joined,
    and a piece holding touching digits is cut into them.
    """
    return find_pieces(source, single).prepared(single, predictor)


@dataclasses.dataclass
class FoundPieces:
    """The pieces of ink found in an image and their inputs, before the model is asked to join or cut any."""

    strokes: np.ndarray
    pieces: list
    inputs: list
    # Where the region the ink was found in lies in the input image, and how much it was shrunk.
    origin: tuple
    scale: float
    shape: tuple
    # The pieces are not a line of handwriting: some piece is lines of text stacked into a column
    # (``segmentation.is_lines_of_text``), or they are solid shapes (``splitting.is_among_objects``).
    among_other_things: bool = False

    @property
    def nbytes(self):
        """The memory held: the ink image and a mask the size of it per piece."""
        return self.strokes.nbytes + sum(piece.members.nbytes for piece in self.pieces)

    def prepared(self, single=False, predictor=None):
        """``prepare``'s ``(inputs, boxes)``: pieces joined and cut as the ``predictor`` reads them, if one is given."""
        pieces, inputs = self.pieces, self.inputs
        if predictor is not None and len(pieces) > 1:
            pieces, inputs = _join_split_digits(self.strokes, pieces, inputs, predictor)
        if predictor is not None and not single:
            pieces, inputs = splitting.split_touching(self.strokes, pieces, inputs, predictor)
        size = config.IMAGE_SIZE
        boxes = [self.input_box(piece.box) for piece in pieces]
        return np.array(inputs, dtype=np.float32).reshape(-1, size, size), boxes

    def input_box(self, box):
        """A box of the region, in the input image's pixels."""
        (left, top), scale, (height, width) = self.origin, self.scale, self.shape
        return segmentation.Box(
            min(width, left + round(box.left / scale)),
            min(height, top + round(box.top / scale)),
            min(width, left + round(box.right / scale)),
            min(height, top + round(box.bottom / scale)),
        )


def find_pieces(source, single=False):
    """The ``FoundPieces`` of a source: ink found, pieces grouped into digits, each normalised to a 28x28 input."""
    grey = to_grey(source)
    region, origin, scale = ink.focus_on_ink(grey)
    strokes, mask = splitting.without_crossing_line(*ink.extract_ink(ink.denoise(region)))
    # Sizes are judged against the whole image, not the region the ink was found in.
    image_side = min(ink.WORKING_SIZE, scale * max(grey.shape))
    pieces = segmentation.find_digits(splitting.without_ruled_lines(mask), image_side, single=single)
    if not single:
        pieces = splitting.without_stray_marks(pieces)
    inputs = [normalize.normalize_digit(strokes, piece.box, piece.members) for piece in pieces]
    # A number is one line of pen strokes; a piece stacked from lines of writing, or solid shapes in a
    # photo of objects, make every digit found suspect.
    among_other_things = splitting.is_among_objects(pieces) or any(
        segmentation.is_lines_of_text(piece.members[piece.box.top : piece.box.bottom]) for piece in pieces
    )
    return FoundPieces(strokes, pieces, inputs, origin, scale, grey.shape, among_other_things)


def _join_split_digits(strokes, pieces, inputs, predictor):
    """Join neighbouring pieces the model reads far more surely as one digit; return new pieces and inputs.

    An open 4 or a 5 whose strokes do not touch arrives as two pieces side by side, which look just
    like two digits written close together; only reading them tells the two cases apart.
    """
    pieces, inputs = list(pieces), list(inputs)
    confidences = list(predictor.predict(np.array(inputs)).max(axis=1))
    index = 0
    while index < len(pieces) - 1:
        first, second = pieces[index], pieces[index + 1]
        gap = second.box.left - first.box.right
        vertical_overlap = min(first.box.bottom, second.box.bottom) - max(first.box.top, second.box.top)
        tallest, shortest = sorted((first.box.height, second.box.height), reverse=True)
        if gap <= JOIN_GAP_FRACTION * tallest and vertical_overlap >= JOIN_VERTICAL_OVERLAP * shortest:
            joined = segmentation.Piece(first.box.union(second.box), first.members | second.members)
            joined_input = normalize.normalize_digit(strokes, joined.box, joined.members)
            confidence = float(predictor.predict(joined_input[None]).max())
            if confidence >= min(confidences[index], confidences[index + 1]) + JOIN_CONFIDENCE_MARGIN:
                pieces[index : index + 2] = [joined]
                inputs[index : index + 2] = [joined_input]
                confidences[index : index + 2] = [confidence]
                continue
        index += 1
    return pieces, inputs


@dataclasses.dataclass
class _Pending:
    """An image on its way to its reading: its pieces found, then its inputs prepared, then predicted in a batch."""

    path: str
    found: FoundPieces = None
    inputs: np.ndarray = None
    boxes: list = None
    error: str = None
    among_other_things: bool = False


def _source_name(source):
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else None


@contextlib.contextmanager
def _failure_kept(entry):
    """Make whatever reading the image of ``entry`` raises its error message instead of an exception."""
    try:
        yield
    except decode.ImageError as error:
        entry.error = str(error)
    except MemoryError:
        entry.error = "reading the image ran out of memory"
    except Exception as error:  # One strange image must not end a run over a whole folder.
        entry.error = f"the image could not be read ({type(error).__name__}: {error})"


def _find_or_error(source, single):
    """Find the pieces of one source; a failure becomes that source's error."""
    entry = _Pending(_source_name(source))
    with _failure_kept(entry):
        entry.found = find_pieces(source, single)
    return entry


class _RememberingPredictor:
    """A predictor that reads each distinct input once and answers again from memory.

    Preparing an image asks the model about its pieces (to join or cut them) before its batch is
    predicted. Reading the first inputs of a whole batch in one call answers those questions, and the
    batch's final prediction, without a call per image: a call costs far more per image on one image
    than on many (the MLP reads its 5 MB of weights at every call).
    """

    def __init__(self, predictor):
        self.predictor = predictor
        self.path = predictor.path
        self.readings = {}

    def predict(self, images):
        images = np.asarray(images, dtype=np.float32)
        keys = [image.tobytes() for image in images]
        # Each new input once, even when it comes twice (the same file twice in a folder).
        new = {key: index for index, key in enumerate(keys) if key not in self.readings}
        if new:
            self.readings.update(zip(new, self.predictor.predict(images[list(new.values())])))
        if not keys:
            return np.zeros((0, config.NUM_CLASSES), np.float32)
        return np.stack([self.readings[key] for key in keys])


def _read_found(pending, single, predictor):
    """The readings, in order, of images whose pieces were found: the model reads all their pieces in one call."""
    found = [entry for entry in pending if entry.error is None]
    remembering = _RememberingPredictor(predictor)
    size = config.IMAGE_SIZE
    if found:
        remembering.predict(np.concatenate([np.reshape(entry.found.inputs, (-1, size, size)) for entry in found]))
    for entry in found:
        with _failure_kept(entry):
            entry.inputs, entry.boxes = entry.found.prepared(single, remembering)
        entry.among_other_things = entry.found.among_other_things
        entry.found = None
    return _predict_pending(pending, remembering)


def _predict_pending(pending, predictor):
    """Predict all inputs of the pending images in one call and give out their readings in order."""
    inputs = [entry.inputs for entry in pending if entry.error is None]
    size = config.IMAGE_SIZE
    stacked = np.concatenate(inputs) if inputs else np.zeros((0, size, size), np.float32)
    probabilities = predictor.predict(stacked) if len(stacked) else np.zeros((0, config.NUM_CLASSES), np.float32)
    stacked, probabilities, stood_upright = _upright_where_unsure(stacked, probabilities, predictor)
    start = 0
    for entry in pending:
        if entry.error is not None:
            yield Reading(entry.path, error=entry.error, model=predictor.path)
            continue
        end = start + len(entry.inputs)
        crowded = entry.among_other_things or len(entry.inputs) > MAX_DIGITS
        readings = zip(probabilities[start:end], entry.boxes, stacked[start:end], stood_upright[start:end].tolist())
        digits = [DigitReading(*digit, crowded=crowded, stood_upright=upright) for *digit, upright in readings]
        start = end
        yield Reading(entry.path, digits, model=predictor.path)


def _upright_where_unsure(inputs, probabilities, predictor):
    """Read each uncertain digit again stood upright; return the inputs, readings and which were stood upright.

    A digit turned 15 to 30 degrees leans further than most of MNIST's, and a hooked 1 leaning that
    far looks like a 2 or a 7 to the model. For a digit read with a margin below
    ``UNCERTAIN_MARGIN`` its slant is undone (``normalize.deslanted``) and the model asked again; the
    upright input is kept when the model reads it more surely. Sure digits, nearly all of them, are
    not read twice, so an upright digit costs nothing and a slanted one that is read surely stays as
    MNIST's writers slanted it. A digit ``deslanted`` leaves as it is gets its first reading again,
    which ``predictor`` (a ``_RememberingPredictor``) answers from memory.
    """
    margins = _margins(probabilities)
    unsure = np.flatnonzero(margins < UNCERTAIN_MARGIN)
    stood_upright = np.zeros(len(inputs), dtype=bool)
    if len(unsure) == 0:
        return inputs, probabilities, stood_upright
    upright = np.array([normalize.deslanted(inputs[index]) for index in unsure], dtype=np.float32)
    again = predictor.predict(upright)
    surer = _margins(again) > margins[unsure]
    kept = unsure[surer]
    inputs, probabilities = inputs.copy(), probabilities.copy()
    inputs[kept], probabilities[kept], stood_upright[kept] = upright[surer], again[surer], True
    return inputs, probabilities, stood_upright


def _margins(probabilities):
    """``splitting.margin`` of each row: how much more probable its most probable digit is than the runner-up."""
    ordered = np.sort(probabilities, axis=1)
    return ordered[:, -1] - ordered[:, -2]


# What every task of a pool process shares, (single, predictor), set when the process starts.
_worker_arguments = None


def _start_worker(single, predictor):
    """Set up a pool process: keep the shared arguments; Ctrl-C and SIGTERM end it at once and quietly."""
    global _worker_arguments
    _worker_arguments = (single, predictor)
    # Ctrl-C reaches every process of the terminal's group. The parent reports it; a worker ends without
    # a traceback, and the parent, finding its pool broken, exits without waiting for queued tasks.
    # (The parent's handlers, from cli.reporting_errors, would raise KeyboardInterrupt here too.)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _keep_freed_memory()


def _keep_freed_memory():
    """Have glibc's malloc keep freed memory of up to ``MALLOC_KEEP_BYTES`` blocks for reuse, not give it back.

    A pool process alternates between preparing images (many small arrays) and predicting them
    (temporaries of megabytes). With glibc's adaptive defaults the big temporaries go back to the
    system after each task and come back page by page at the next: with the convnet that was 180
    page faults and 0.45 ms of system time per image, as much as preparing it. A C library without
    ``mallopt`` is left alone.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(MALLOC_TRIM_THRESHOLD, MALLOC_KEEP_BYTES)
    mallopt(MALLOC_MMAP_THRESHOLD, MALLOC_KEEP_BYTES)


def _read_in_worker(sources):
    single, predictor = _worker_arguments
    return _read_together(sources, single, predictor)


def _read_together(sources, single, predictor):
    """The readings of a few sources, read as one batch."""
    return list(_read_in_batches(sources, single, predictor, config.PREDICT_BATCH_SIZE))


def _read_in_pool(sources, single, predictor, workers):
    """Yield the reading of each source, in order, read by ``workers`` forked processes, ``SOURCES_PER_TASK`` at a time.

    Each process prepares its task's sources and predicts their inputs, so that both halves of the
    work spread over the cores; this process only hands out tasks and gives out their readings.
    """
    tasks = iter(lambda: list(itertools.islice(sources, SOURCES_PER_TASK)), [])
    # The objects made so far are set aside from garbage collection while the pool runs, as Python's
    # ``gc.freeze`` documentation advises before forking: a collection in a pool process would
    # otherwise write to every one of them and copy each memory page they share with this process.
    gc.freeze()
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker, initargs=(single, predictor)
    )

    def submit(task):
        try:
            return task, pool.submit(_read_in_worker, task)
        except concurrent.futures.BrokenExecutor:
            return task, None

    # A bounded queue of tasks, given out in the order they were queued.
    queued = collections.deque(submit(task) for task in itertools.islice(tasks, workers * TASKS_PER_WORKER))
    try:
        while queued:
            task, future = queued.popleft()
            try:
                readings = future.result() if future is not None else None
            except concurrent.futures.BrokenExecutor:
                readings = None
            # subtle: a pool whose process died (killed, out of memory) takes no more work; what it has
            # not given back is read here instead, as without a pool.
            if readings is None:
                readings = _read_together(task, single, predictor)
            following = next(tasks, None)
            if following is not None:
                queued.append(submit(following))
            yield from readings
    finally:
        # After Ctrl-C or when the caller stops early, queued tasks are dropped and the running ones,
        # a few images, are waited for. subtle: not waiting lets Python 3.11's exit race the pool's
        # own clean-up, which can print a traceback.
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


def _read_in_batches(sources, single, predictor, batch_size):
    """Yield the reading of each source, in order: pieces found here one by one, then read by the model in batches.

    A batch is read when it holds ``batch_size`` digits or ``MAX_HELD_BYTES`` of found pieces, or
    has waited ``MAX_WAIT_SECONDS``.
    """
    pending, digits, held, started = [], 0, 0, time.monotonic()
    for source in sources:
        entry = _find_or_error(source, single)
        pending.append(entry)
        if entry.found is not None:
            digits += len(entry.found.inputs)
            held += entry.found.nbytes
        if digits >= batch_size or held >= MAX_HELD_BYTES or time.monotonic() - started >= MAX_WAIT_SECONDS:
            yield from _read_found(pending, single, predictor)
            pending, digits, held, started = [], 0, 0, time.monotonic()
    yield from _read_found(pending, single, predictor)


def recognize_many(sources, predictor, single=False, batch_size=config.PREDICT_BATCH_SIZE):
    """Yield one ``Reading`` per source, in order; a source that fails has its ``error`` set.

    Inputs of many images are predicted together in batches, which is what makes a folder fast.
    Decoding and preprocessing take most of a folder's time and run in Python, one core per process:
    from ``POOL_MIN_SOURCES`` sources on, one forked process per core reads them (``_read_in_pool``).
    Forking costs milliseconds and gives every process the predictor without reloading it, but it is
    safe only on Linux and only while no Keras backend runs here: a forked copy of the threads of
    TensorFlow, JAX or PyTorch (or of macOS' system libraries) can hang. Fewer sources are read here,
    so that one image does not pay for starting processes.
    """
    sources = iter(sources)
    first = list(itertools.islice(sources, POOL_MIN_SOURCES))
    sources = itertools.chain(first, sources)
    workers = len(os.sched_getaffinity(0)) if sys.platform == "linux" else 1
    if len(first) < POOL_MIN_SOURCES or workers < 2 or "keras" in sys.modules:
        yield from _read_in_batches(sources, single, predictor, batch_size)
        return
    # Only the pool needs threadpoolctl, so reading one image does not import it.
    import threadpoolctl

    # Imported here once, not by every process at its first image.
    decode.import_decoders()

    # The pool has a process per core, so BLAS threads would only fight over the cores (OpenBLAS'
    # idle threads even spin): every process predicts on one thread. subtle: the pool's processes are
    # forked after this line and inherit the limit.
    with threadpoolctl.threadpool_limits(1):
        # Closing the pool at once, even when an exception leaves this function, stops it instead of
        # letting it finish every queued task first.
        with contextlib.closing(_read_in_pool(sources, single, predictor, workers)) as readings:
            yield from readings


def recognize(source, predictor, single=False):
    """Read one image (a path, the file's bytes, or an array); raises ``ImageError`` if it cannot be read."""
    reading = next(recognize_many([source], predictor, single=single))
    if reading.error is not None:
        raise decode.ImageError(reading.error)
    return reading
