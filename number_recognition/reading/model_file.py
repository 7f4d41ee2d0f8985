"""The ``.keras`` file, read as something a stranger may have sent: which model to use, and opening it safely.

A ``.keras`` file is a zip archive holding ``config.json`` (the architecture), ``model.weights.h5``
(the variables, HDF5) and ``metadata.json``. ``open_model`` checks all of it before anything large is
allocated, and both the NumPy forward pass (``inference``) and the Keras fallback start there:

- the archive: a few members, stored or deflated, not encrypted, each declaring a sensible size
  (``zipfile`` never inflates more than a member declares), ``config.json`` read with a bound;
- the config: JSON nested at most ``MAX_CONFIG_DEPTH`` deep, describing a model;
- the weights: HDF5 objects reached by one plain link each, every dataset an array of numbers
  stored inside the file (no external files, no virtual datasets), the model's variables declaring
  at most ``MAX_VARIABLE_BYTES`` together. A weights member compressed in the zip is inflated into a
  temporary file, never into memory.

Keras allocates every layer its config describes before it reads a single weight, so
``load_keras_model`` also bounds the config itself (``check_keras_config``) before Keras starts. The
2 KB file of ``Flatten -> Dense(500000) -> Dense(10)`` whose weights were never written is refused
with one line and no allocation:

    cannot read the model m.keras (Dense 'dense' sets units=500000, more than the 65,536 any digit
    model needs): run python train.py to make a new one
"""

import contextlib
import io
import json
import math
import os
import shutil
import tempfile
import zipfile
import zlib

from number_recognition import config
from number_recognition import errors
from number_recognition import keras_import

CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"
# Keras can also store the variables as .npz, whose arrays are read whole; only the default HDF5 is read.
NPZ_WEIGHTS_MEMBER = "model.weights.npz"
TRAIN_ADVICE = "run python train.py to make a new one"

# Keras writes three members (metadata.json, config.json, model.weights.h5); the rest leaves room for assets.
MAX_MEMBERS = 16
# zipfile reads the whole central directory on opening; MAX_MEMBERS entries with long names fit in this.
MAX_CENTRAL_DIRECTORY_BYTES = 64 * 2**10
# The end-of-central-directory record is 22 bytes, followed by a comment of at most 65,535 bytes.
END_RECORD_SEARCH_BYTES = 22 + 65_535
# A digit model's config.json is a few kilobytes; json.loads needs about ten times the text's size.
MAX_CONFIG_BYTES = 4 * 2**20
# Keras nests a model's config about a dozen deep, and its deserializer recurses several frames a level.
MAX_CONFIG_DEPTH = 64
# The model's variables: config.MAX_PARAMETERS float32 values.
MAX_VARIABLE_BYTES = 4 * config.MAX_PARAMETERS
# The whole weights member: the variables, an optimizer's state (Adam keeps two more copies), HDF5's layout.
MAX_WEIGHTS_BYTES = 4 * MAX_VARIABLE_BYTES
# A chunk of a chunked dataset is read (and inflated) whole, however little of it holds data; Keras
# writes contiguous datasets.
MAX_CHUNK_BYTES = 16 * 2**20
# A digit model's weights file holds a few dozen objects; walking a hostile one stops here.
MAX_HDF5_OBJECTS = 10_000
# Keras stores one short name per group as an attribute, and none on a float32 dataset. Neither path
# reads the names: reading a variable-length string from a damaged file can make HDF5 loop forever.
MAX_ATTRIBUTES = 16
MAX_ATTRIBUTE_BYTES = 64 * 2**10
# The top-level group of the optimizer's state, which inference never reads (Keras skips it with compile=False).
OPTIMIZER_GROUP = "optimizer"

# Config keys whose values are sizes: whole numbers (or lists of them, None for the batch) that
# Keras turns into shapes. Widths train.py accepts stay below MAX_WIDTH; larger numbers only serve
# to build a giant layer or to overflow size arithmetic.
SIZE_KEYS = frozenset(
    {
        "units",
        "filters",
        "kernel_size",
        "strides",
        "pool_size",
        "dilation_rate",
        "size",
        "target_shape",
        "dims",
        "n",
        "batch_shape",
        "batch_input_shape",
        "build_input_shape",
        "input_shape",
        "shape",
        "input_dim",
        "output_dim",
        "num_heads",
        "key_dim",
        "value_dim",
        "depth_multiplier",
    }
)
MAX_WIDTH = 65_536
# The sizes that multiply a layer's parameters with the width of its input (Dense units, Conv filters,
# attention heads, ...), and the widths of one attention head, of which the wider counts.
WIDTH_KEYS = ("units", "filters", "output_dim", "num_heads", "depth_multiplier")
HEAD_WIDTH_KEYS = ("key_dim", "value_dim")
# Recurrent layers hold up to four matrices per unit (an LSTM's gates); the estimate allows that many
# for every layer, so it errs high, never low, for the layers a digit model uses.
GATES = 4
# One image's values in any layer (float32): 16 MB. The project's convnet needs at most 0.2 M.
MAX_SAMPLE_VALUES = 2**22
IMAGE_SHAPES = ([config.IMAGE_SIZE, config.IMAGE_SIZE], [config.IMAGE_SIZE, config.IMAGE_SIZE, 1])


class ModelFileError(errors.UserError):
    """A model file is missing or cannot be read; the message says what to do."""


# The model shipped inside the package (see docs/model_card.md), used when the user has trained none.
PACKAGE_FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED_MODEL = os.path.join(PACKAGE_FOLDER, "pretrained", "mnist_cnn.keras")
BUNDLED_NOTICE = (
    "using the bundled model (docs/model_card.md); train your own with: python train.py --arch cnn --augment"
)
MODEL_ORDER = f"{config.MODEL_PATHS['cnn']} if you trained it, else {config.MODEL_PATHS['mlp']}, else the bundled model"


def default_model_path():
    """The model used when none is named: the user's convnet, else the user's MLP, else the bundled one."""
    for path in (config.MODEL_PATHS["cnn"], config.MODEL_PATHS["mlp"]):
        if os.path.isfile(path):
            return path
    return BUNDLED_MODEL


def damaged(path, reason):
    """The error for a model file that is not what it should be."""
    return ModelFileError(f"cannot read the model {path} ({reason}): {TRAIN_ADVICE}")


def not_a_digit_model(path, reason):
    """The error for a model that cannot read digits (wrong shapes, no probabilities, NaN weights)."""
    return ModelFileError(f"{path} is not a digit model: {reason}; {TRAIN_ADVICE}")


def check_model_file(path):
    """Raise ``ModelFileError`` unless ``path`` is an existing ``.keras`` archive."""
    if not os.path.isfile(path):
        if os.path.exists(path):
            raise ModelFileError(f"{path} is not a model file but a folder, device or pipe: give a .keras file")
        raise ModelFileError(f"no model at {path}: run python train.py first")
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as error:
        raise damaged(path, error.strerror) from None
    if not is_zip:
        raise ModelFileError(f"{path} is not a .keras model file (corrupt or another format): {TRAIN_ADVICE}")


@contextlib.contextmanager
def open_model(path):
    """Yield ``(config, weights)``: the parsed ``config.json`` and the open ``h5py.File`` of the weights.

    Every check of the module docstring passes first; otherwise, and for any error reading the
    archive or the weights inside the ``with`` block, ``ModelFileError`` names the file and the reason.
    """
    check_model_file(path)
    # Only loading needs h5py, so importing this module does not pay for it.
    import h5py

    try:
        with open_archive(path) as archive:
            model_config = read_config(path, archive)
            with open_weights(path, archive) as stream, h5py.File(stream, "r") as weights:
                check_weights(path, weights)
                yield model_config, weights
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise damaged(path, f"{type(error).__name__}: {error}") from error


def open_archive(path):
    """Open the zip archive at ``path`` once its directory and every member's declared size are sensible."""
    members, directory_bytes = _central_directory(path)
    if members > MAX_MEMBERS or directory_bytes > MAX_CENTRAL_DIRECTORY_BYTES:
        raise damaged(path, f"the archive lists {members:,} members in {directory_bytes:,} bytes; a .keras has 3")
    archive = zipfile.ZipFile(path)
    for member in archive.infolist():
        limit = MAX_WEIGHTS_BYTES if member.filename == WEIGHTS_MEMBER else MAX_CONFIG_BYTES
        problem = None
        if member.flag_bits & 0x1:
            problem = "is encrypted"
        elif member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            problem = f"uses compression method {member.compress_type}, not stored or deflated"
        elif member.file_size > limit:
            problem = f"would inflate to {member.file_size:,} bytes, more than the {limit:,} it may hold"
        if problem:
            archive.close()
            raise damaged(path, f"{member.filename} {problem}")
    return archive


def _central_directory(path):
    """The member count and directory size that the archive's end record declares (PKWARE APPNOTE 4.3.16)."""
    with open(path, "rb") as handle:
        size = handle.seek(0, io.SEEK_END)
        handle.seek(max(0, size - END_RECORD_SEARCH_BYTES))
        tail = handle.read()
    end = tail.rfind(b"PK\x05\x06")
    record = tail[end : end + 22]
    if end < 0 or len(record) < 22:
        raise zipfile.BadZipFile("no end of central directory record")
    # subtle: a ZIP64 archive stores 0xFFFF and 0xFFFFFFFF here, which the limits refuse; Python
    # writes ZIP64 records only past 65,535 members or 2 GiB, beyond any digit model.
    return int.from_bytes(record[10:12], "little"), int.from_bytes(record[12:16], "little")


def read_config(path, archive):
    """Return the parsed ``config.json`` of an open ``.keras`` archive, checked to describe a model."""
    if CONFIG_MEMBER not in archive.namelist():
        raise damaged(path, f"no {CONFIG_MEMBER} inside")
    with archive.open(CONFIG_MEMBER) as member:
        # subtle: zipfile stops at the declared size (checked in open_archive), and this read stops at
        # the limit whatever the header says.
        content = member.read(MAX_CONFIG_BYTES + 1)
    if len(content) > MAX_CONFIG_BYTES:
        raise damaged(path, f"{CONFIG_MEMBER} is larger than {MAX_CONFIG_BYTES:,} bytes")
    too_deep = f"{CONFIG_MEMBER} is nested more than {MAX_CONFIG_DEPTH} deep"
    try:
        model_config = json.loads(content)
    except RecursionError:
        # The json module gives up past Python's recursion limit, long before memory runs out.
        raise damaged(path, too_deep) from None
    except ValueError as error:  # Bad JSON, bad UTF-8, or an integer of thousands of digits.
        raise damaged(path, f"{CONFIG_MEMBER} is not valid JSON: {error}") from None
    if nesting_depth(model_config) > MAX_CONFIG_DEPTH:
        raise damaged(path, too_deep)
    if (
        not isinstance(model_config, dict)
        or not isinstance(model_config.get("class_name"), str)
        or not isinstance(model_config.get("config"), dict)
    ):
        raise damaged(path, f"{CONFIG_MEMBER} does not describe a model")
    layers = model_config["config"].get("layers")
    if layers is not None and not (isinstance(layers, list) and all(map(_is_serialized_object, layers))):
        raise damaged(path, f"{CONFIG_MEMBER} lists layers that are not layer configs")
    return model_config


def nesting_depth(value):
    """How deeply lists and dicts nest in a parsed JSON value (1 for ``[]``), walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _is_serialized_object(value):
    """Whether ``value`` has the shape Keras gives every saved layer: a class name and a config dict."""
    return (
        isinstance(value, dict) and isinstance(value.get("class_name"), str) and isinstance(value.get("config"), dict)
    )


def open_weights(path, archive):
    """Return a seekable binary stream of ``model.weights.h5`` for h5py.

    Keras stores the weights uncompressed, so h5py can read them in place and fetch only the layer
    variables: a compiled model's file also holds the optimizer's state, often twice their size. A
    compressed member is inflated into a temporary file, at most its declared size (``open_archive``
    bounds it), so memory stays small whatever the archive claims.
    """
    names = archive.namelist()
    if WEIGHTS_MEMBER not in names:
        if NPZ_WEIGHTS_MEMBER in names:
            raise damaged(path, f"the weights are stored as {NPZ_WEIGHTS_MEMBER}; this program reads {WEIGHTS_MEMBER}")
        raise damaged(path, f"no {WEIGHTS_MEMBER} inside")
    member = archive.getinfo(WEIGHTS_MEMBER)
    if member.compress_type == zipfile.ZIP_STORED:
        return StoredMember(path, member)
    inflated = tempfile.TemporaryFile()
    try:
        with archive.open(member) as source:
            shutil.copyfileobj(source, inflated)
    except BaseException:
        inflated.close()
        raise
    inflated.seek(0)
    return inflated


class StoredMember(io.RawIOBase):
    """A read-only, seekable view of one uncompressed member of a zip archive.

    ``zipfile``'s own member stream (before Python 3.12) rereads the member from its start on every
    backward seek, which HDF5's scattered reads would make quadratic.
    """

    def __init__(self, path, member):
        super().__init__()
        self.file = open(path, "rb")
        # The member's data follows its local header: 30 fixed bytes, then its name and extra field,
        # whose lengths are the little-endian 16-bit numbers at offsets 26 and 28 (PKWARE APPNOTE 4.3.7).
        self.file.seek(member.header_offset)
        header = self.file.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            self.file.close()
            raise zipfile.BadZipFile(f"bad local header for {member.filename}")
        name_length, extra_length = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
        self.start = member.header_offset + 30 + name_length + extra_length
        self.size = member.file_size
        self.position = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        origin = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, origin + offset)
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        wanted = max(0, min(len(buffer), self.size - self.position))
        if wanted == 0:
            # A damaged file can ask for an address too large for a file offset.
            return 0
        self.file.seek(self.start + self.position)
        count = self.file.readinto(memoryview(buffer).cast("B")[:wanted])
        self.position += count
        return count

    def close(self):
        self.file.close()
        super().close()


def check_weights(path, weights):
    """Refuse a weights file that could make reading it costly or reach outside it.

    Every object must be a group or a dataset reached by exactly one hard link (so a budget counted
    per name is a budget per array), with few small attributes. Every dataset must hold plain
    numbers stored in this file, in chunks of at most ``MAX_CHUNK_BYTES``. The model's variables
    (all but the optimizer's state) may declare ``MAX_VARIABLE_BYTES`` together. Nothing is read.
    """
    import h5py

    try:
        _walk_weights(path, weights, h5py)
    except ModelFileError:
        raise
    except (KeyError, RuntimeError, ValueError) as error:  # h5py's errors for damaged objects and names.
        raise damaged(path, f"its weights file is damaged ({type(error).__name__}: {error})") from error


def _walk_weights(path, weights, h5py):
    variable_bytes, objects = 0, 0
    _check_attributes(path, weights)
    groups = [weights]
    while groups:
        group = groups.pop()
        objects += len(group)
        if objects > MAX_HDF5_OBJECTS:
            raise damaged(path, f"its weights file holds more than {MAX_HDF5_OBJECTS:,} objects")
        for name in group:
            where = f"{group.name.rstrip('/')}/{name}"
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                target = "another file" if isinstance(link, h5py.ExternalLink) else "another name"
                raise damaged(path, f"{where} in its weights is a link to {target}")
            item = group[name]
            names = h5py.h5o.get_info(item.id).rc
            if names != 1:
                raise damaged(path, f"{where} in its weights is reachable by {names} names")
            _check_attributes(path, item)
            if isinstance(item, h5py.Group):
                groups.append(item)
            elif isinstance(item, h5py.Dataset):
                size = _dataset_bytes(path, where, item)
                if where.split("/")[1] != OPTIMIZER_GROUP:
                    variable_bytes += size
            else:
                raise damaged(path, f"{where} in its weights is a {type(item).__name__}, not an array")
            if variable_bytes > MAX_VARIABLE_BYTES:
                raise damaged(
                    path,
                    f"its weights declare more than {MAX_VARIABLE_BYTES:,} bytes of variables, "
                    f"the {config.MAX_PARAMETERS:,} parameters any digit model needs",
                )


def _check_attributes(path, item):
    attributes = item.attrs
    if len(attributes) > MAX_ATTRIBUTES:
        raise damaged(path, f"{item.name} in its weights has {len(attributes):,} attributes")
    for name in attributes:
        if attributes.get_id(name).get_storage_size() > MAX_ATTRIBUTE_BYTES:
            raise damaged(path, f"the attribute {name!r} of {item.name} in its weights is too large")


def _dataset_bytes(path, where, dataset):
    """The bytes a dataset declares, once it is known to hold plain numbers stored in this file."""
    if dataset.is_virtual:
        raise damaged(path, f"{where} in its weights is a virtual dataset, made of other files")
    if dataset.external:
        raise damaged(path, f"{where} in its weights keeps its data in the external file {dataset.external[0][0]!r}")
    if "dtype" in dataset.attrs:
        # Keras marks bfloat16 variables so, and reads the mark: a variable-length string (see MAX_ATTRIBUTES).
        raise damaged(path, f"{where} in its weights carries a dtype attribute, which this program does not read")
    try:
        dtype = dataset.dtype
    except TypeError:  # An HDF5 type with no NumPy equivalent.
        dtype = None
    if dtype is None or dtype.kind not in "fiub" or dtype.fields or dtype.subdtype:
        raise damaged(path, f"{where} in its weights holds {dtype} values, not plain numbers")
    if dataset.chunks and math.prod(dataset.chunks) * dtype.itemsize > MAX_CHUNK_BYTES:
        raise damaged(path, f"{where} in its weights is stored in chunks of {dataset.chunks}, too large to read")
    return (0 if dataset.shape is None else math.prod(dataset.shape)) * dtype.itemsize


def check_keras_config(path, model_config):
    """Refuse a config that would make Keras allocate more than a digit model needs, before Keras starts.

    Keras builds every layer from its config, with the input shape its ``build_config`` records,
    before it reads a single weight. So the bounds come from the config: every size (``SIZE_KEYS``)
    a whole number of at most ``MAX_WIDTH``, dtype policies of the shape Keras writes, the model's
    inputs 28x28, each layer's input at most ``MAX_SAMPLE_VALUES`` values per image, and the layers'
    estimated parameters (``_parameter_estimate``) at most ``config.MAX_PARAMETERS`` together.
    Returns that estimate.
    """
    for layer in model_config["config"].get("layers") or []:
        if layer["class_name"] == "InputLayer":
            shape = layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
            if isinstance(shape, list) and shape[1:] not in IMAGE_SHAPES:
                raise not_a_digit_model(path, f"it takes images of shape {tuple(shape[1:])}, not (28, 28)")
    # A model that ends in a Dense layer shows its outputs in the config: they are refused here rather
    # than after Keras, which costs hundreds of megabytes to import, has built the model.
    last = (model_config["config"].get("layers") or [None])[-1]
    if isinstance(last, dict) and last.get("class_name") == "Dense" and isinstance(last.get("config"), dict):
        units, activation = last["config"].get("units"), last["config"].get("activation")
        # A units that is no whole number is refused below, with the other sizes.
        if isinstance(units, int) and units != config.NUM_CLASSES:
            raise not_a_digit_model(path, f"it gives outputs of shape ({units},), not 10 digits")
        if isinstance(units, int) and activation != "softmax":
            raise not_a_digit_model(path, "its last layer is not a softmax, so it gives no probabilities")
    parameters = 0
    # Each value is walked with the layer it belongs to, in the file's order, so a refusal names the
    # first layer at fault ("Dense 'dense'").
    stack = [(model_config, CONFIG_MEMBER)]
    while stack:
        item, owner = stack.pop()
        if isinstance(item, list):
            stack.extend((child, owner) for child in reversed(item))
            continue
        if not isinstance(item, dict):
            continue
        if _is_serialized_object(item) and isinstance(item["config"].get("name"), str):
            owner = f"{item['class_name']} {item['config']['name']!r}"
        for key, value in item.items():
            if key in SIZE_KEYS:
                _check_sizes(path, owner, key, value)
            elif key == "dtype" and not _is_dtype(value):
                raise damaged(path, f"{owner} sets dtype={value!r:.60}, which is no dtype policy")
        if _is_serialized_object(item):
            parameters += _parameter_estimate(path, owner, item)
        stack.extend((child, owner) for child in reversed(list(item.values())))
    if parameters > config.MAX_PARAMETERS:
        raise damaged(
            path,
            f"its layers would hold about {parameters:,} parameters, more than the {config.MAX_PARAMETERS:,} "
            "any digit model needs",
        )
    return parameters


def _check_sizes(path, owner, key, value):
    """Refuse a size that is not a whole number (or a list of them, None allowed) up to ``MAX_WIDTH``."""
    for size in _numbers(value):
        if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
            raise damaged(path, f"{owner} sets {key}={value!r:.60}, which is not a size")
        if size is not None and size > MAX_WIDTH:
            raise damaged(path, f"{owner} sets {key}={size}, more than the {MAX_WIDTH:,} any digit model needs")


def _numbers(value):
    """The items of a possibly nested list (depth bounded by MAX_CONFIG_DEPTH), or the value itself."""
    if not isinstance(value, list):
        return [value]
    return [number for item in value for number in _numbers(item)]


def _is_dtype(value):
    """Whether ``value`` is a dtype as Keras writes it: None, a name, or a serialized policy."""
    return value is None or isinstance(value, str) or _is_serialized_object(value)


def _parameter_estimate(path, owner, layer):
    """An upper estimate of the parameters one serialized layer makes Keras allocate.

    A Dense, convolution, embedding, recurrent or attention layer holds at most
    ``GATES * kernel area * (widest input + width) * width`` values, where width is the product of
    its ``WIDTH_KEYS`` and its widest ``HEAD_WIDTH_KEYS``; a normalisation at most ``GATES`` per
    input value. The input shapes come from the ``build_config`` Keras writes for every built layer;
    a layer without one is assumed to take inputs ``MAX_WIDTH`` wide. Objects without sizes
    (initializers, dtype policies) count 0.
    """
    layer_config = layer["config"]
    shapes = _shapes(layer.get("build_config"))
    input_values = [math.prod(size for size in shape if isinstance(size, int)) for shape in shapes]
    if max(input_values, default=0) > MAX_SAMPLE_VALUES:
        raise damaged(
            path,
            f"{owner} takes {max(input_values):,} values per image, more than the "
            f"{MAX_SAMPLE_VALUES:,} any digit model needs",
        )
    widths = [size for key in WIDTH_KEYS for size in _numbers(layer_config.get(key)) if isinstance(size, int)]
    head_widths = [size for key in HEAD_WIDTH_KEYS for size in _numbers(layer_config.get(key)) if isinstance(size, int)]
    if not widths and not head_widths and not shapes:
        return 0
    width = math.prod(widths) * max(head_widths, default=1)
    kernel_area = math.prod(size for size in _numbers(layer_config.get("kernel_size")) if isinstance(size, int))
    input_sizes = [size for shape in shapes for size in shape if isinstance(size, int)]
    input_sizes += [size for size in _numbers(layer_config.get("input_dim")) if isinstance(size, int)]
    widest_input = max(input_sizes, default=0) if shapes else MAX_WIDTH
    return GATES * (kernel_area * (widest_input + width) * width + sum(input_values))


def _shapes(value):
    """The shapes in a build_config, however nested: ``{"input_shape": [[None, 784], [None, 784]]}`` gives both."""
    if isinstance(value, dict):
        return [shape for item in value.values() for shape in _shapes(item)]
    if not isinstance(value, list):
        return []
    if value and all(not isinstance(item, (list, dict)) for item in value):
        return [value]
    return [shape for item in value for shape in _shapes(item)]


def load_keras_model(path):
    """Load a ``.keras`` model with Keras (safe mode, inference only) once ``check_keras_config`` accepts it."""
    with open_model(path) as (model_config, _):
        check_keras_config(path, model_config)
    keras = keras_import.import_keras()
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a damaged archive; all mean the same here.
        raise ModelFileError(f"cannot load the model {path} ({type(error).__name__}): {TRAIN_ADVICE}") from error
