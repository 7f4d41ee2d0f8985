"""Run a saved ``.keras`` model with NumPy alone, so that reading a digit does not start TensorFlow.

Importing TensorFlow takes seconds and hundreds of megabytes, far more than the forward pass of a
small MNIST model. A ``.keras`` file is a zip archive holding ``config.json`` (the architecture) and
``model.weights.h5`` (the variables), so this module reads both and runs the forward pass in float32
NumPy. It understands ``Sequential`` models and ``Functional`` models that are a plain chain, built
from the layers the project uses (see ``LAYER_BUILDERS``). Anything else raises
``UnsupportedModelError``, and ``load_predictor`` then falls back to Keras, so every valid model
still works, only slower.

The weights file does not use the layer names of the config: Keras stores each layer under the
snake_case of its class name, made unique per model in layer order (``dense``, ``dense_1``, ...), as
``layers/<that name>/vars/<index>``. A Sequential model leaves its InputLayer out of that list, a
Functional model does not. Every variable's shape is checked against the config before use.
"""

import io
import json
import re
import zipfile
import zlib

import numpy as np

from number_recognition import models

CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"
# Keras can also store the variables as .npz; this path does not read that layout, Keras does.
NPZ_WEIGHTS_MEMBER = "model.weights.npz"

# Images are pushed through the whole network in chunks so that the largest temporary array (the
# im2col matrix of a convolution) stays near this size, whatever the number of images. Chunks of a
# few megabytes also stay in cache: on one core the convnet ran faster with 16 MB than with 32 MB.
CHUNK_BYTES = 16 * 2**20
MAX_CHUNK_IMAGES = 1024

# Config keys that do not change what a trained layer computes: its name, its dtype (checked on its
# own), and what only matters for training (initializers, regularizers, constraints, momentum,
# dropout rates and seeds). Inference may ignore whatever value they hold.
IGNORED_KEYS = frozenset(
    {
        "name",
        "trainable",
        "dtype",
        "kernel_initializer",
        "bias_initializer",
        "beta_initializer",
        "gamma_initializer",
        "moving_mean_initializer",
        "moving_variance_initializer",
        "kernel_regularizer",
        "bias_regularizer",
        "beta_regularizer",
        "gamma_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "bias_constraint",
        "beta_constraint",
        "gamma_constraint",
        "momentum",
        "renorm_momentum",
        "synchronized",
        "rate",
        "seed",
        "noise_shape",
    }
)


class UnsupportedModelError(ValueError):
    """The model uses a layer, option or graph shape the NumPy forward pass does not implement."""


class InputShapeError(ValueError):
    """The images given to ``predict`` do not have the shape the model takes."""


class NumpyModel:
    """A ``.keras`` model evaluated with NumPy: ``NumpyModel.from_file(path).predict(images)``."""

    def __init__(self, path, input_shape, output_shape, steps, chunk_images):
        self.path = path
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.steps = steps
        self.chunk_images = chunk_images

    @classmethod
    def from_file(cls, path):
        """Read ``path``; raise ``models.ModelFileError`` if it is damaged, ``UnsupportedModelError`` if it is exotic."""
        models.check_model_file(path)
        # Only loading needs h5py, so importing this module does not pay for it.
        import h5py

        try:
            with zipfile.ZipFile(path) as archive:
                model_config = _read_config(path, archive)
                with _open_weights(path, archive) as weights_stream, h5py.File(weights_stream, "r") as weights_file:
                    return cls(path, *_build_network(model_config, weights_file))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise _damaged(path, f"{type(error).__name__}: {error}") from error

    def predict(self, images):
        """Return float32 class probabilities, one row per image, for float32 images in [0, 1]."""
        images = np.asarray(images, dtype=np.float32)
        if images.shape[1:] != self.input_shape:
            raise InputShapeError(
                f"the model takes images of shape (n, {', '.join(map(str, self.input_shape))}), got {images.shape}"
            )
        outputs = np.empty((len(images),) + self.output_shape, dtype=np.float32)
        for start in range(0, len(images), self.chunk_images):
            values = images[start : start + self.chunk_images]
            for step in self.steps:
                values = step(values)
            outputs[start : start + self.chunk_images] = values
        return outputs


class KerasModel:
    """The same ``predict`` as ``NumpyModel``, computed by Keras; used for models NumPy cannot run."""

    def __init__(self, path, reason=None):
        self.path = path
        # Why the NumPy path was not used, so a slow start can be explained to the user.
        self.reason = reason
        self.model = models.load_model(path)

    def predict(self, images):
        """Return float32 class probabilities, one row per image, for float32 images in [0, 1]."""
        images = np.asarray(images, dtype=np.float32)
        # Keras cannot predict on an empty batch, yet a picture without digits gives exactly that.
        if len(images) == 0:
            return np.zeros((0,) + tuple(self.model.output_shape[1:]), dtype=np.float32)
        return np.asarray(self.model.predict(images, verbose=0), dtype=np.float32)


def load_predictor(path):
    """Return a ``NumpyModel`` for ``path``, or a ``KerasModel`` when the model is beyond NumPy's reach."""
    models.check_model_file(path)
    try:
        return NumpyModel.from_file(path)
    except UnsupportedModelError as error:
        return KerasModel(path, reason=str(error))


def _damaged(path, reason):
    return models.ModelFileError(f"cannot read the model {path} ({reason}): run python train.py to make a new one")


def _read_config(path, archive):
    """Return the parsed ``config.json`` of an open ``.keras`` archive."""
    if CONFIG_MEMBER not in archive.namelist():
        raise _damaged(path, f"no {CONFIG_MEMBER} inside")
    try:
        model_config = json.loads(archive.read(CONFIG_MEMBER))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _damaged(path, f"{CONFIG_MEMBER} is not valid JSON: {error}") from error
    if not isinstance(model_config, dict) or not isinstance(model_config.get("config"), dict):
        raise _damaged(path, f"{CONFIG_MEMBER} does not describe a model")
    return model_config


def _open_weights(path, archive):
    """Return a seekable binary stream of ``model.weights.h5`` for h5py.

    Keras stores the weights uncompressed, so h5py can read them in place and fetch only the layer
    variables: a compiled model's file also holds the optimizer's state, often twice their size.
    """
    names = archive.namelist()
    if WEIGHTS_MEMBER not in names:
        if NPZ_WEIGHTS_MEMBER in names:
            raise UnsupportedModelError(f"{path} stores its weights as {NPZ_WEIGHTS_MEMBER}")
        raise _damaged(path, f"no {WEIGHTS_MEMBER} inside")
    member = archive.getinfo(WEIGHTS_MEMBER)
    if member.compress_type != zipfile.ZIP_STORED:
        # A compressed member cannot be read in place, so it is decompressed into memory.
        return io.BytesIO(archive.read(WEIGHTS_MEMBER))
    return _StoredMember(path, member)


class _StoredMember(io.RawIOBase):
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
        self.file.seek(self.start + self.position)
        count = self.file.readinto(memoryview(buffer).cast("B")[:wanted])
        self.position += count
        return count

    def close(self):
        self.file.close()
        super().close()


def _build_network(model_config, weights_file):
    """Turn a model config and its weights into (input shape, output shape, steps, chunk size)."""
    _check_dtype("the model", model_config["config"].get("dtype"))
    layers = _layer_chain(model_config)
    input_shape = shape = _input_shape(model_config, [layer for _, layer in layers])
    weight_groups = weights_file.get("layers")
    stored_names = set(weight_groups.keys()) if weight_groups is not None else set()
    known_names = {stored_name for stored_name, _ in layers if stored_name is not None}
    if not stored_names <= known_names:
        raise UnsupportedModelError(f"the weights hold layers the config does not name: {sorted(stored_names - known_names)}")
    steps = []
    largest_temporary = 1
    for stored_name, layer in layers:
        name = layer["config"]["name"]
        builder = LAYER_BUILDERS.get(layer.get("class_name"))
        if builder is None or layer.get("registered_name") is not None:
            raise UnsupportedModelError(f"layer {name!r} is a {layer.get('class_name')}, which the NumPy path does not implement")
        _check_dtype(f"layer {name!r}", layer["config"].get("dtype"))
        weights = _layer_weights(weights_file, stored_name, name) if stored_name is not None else []
        try:
            step, shape, temporary = builder(name, layer["config"], shape, weights)
        except (KeyError, TypeError, IndexError) as error:
            raise UnsupportedModelError(f"layer {name!r} has a config the NumPy path cannot read ({error!r})") from error
        if min(shape, default=1) < 1:
            raise UnsupportedModelError(f"layer {name!r} would output the empty shape {shape}")
        if step is not None:
            steps.append(step)
        largest_temporary = max(largest_temporary, temporary, int(np.prod(shape)))
    chunk_images = max(1, min(MAX_CHUNK_IMAGES, CHUNK_BYTES // (4 * largest_temporary)))
    return input_shape, shape, steps, chunk_images


def _layer_chain(model_config):
    """Return ``(stored name, layer config)`` in layer order; the stored name is None when Keras saves none."""
    class_name = model_config.get("class_name")
    layers = model_config["config"].get("layers")
    if class_name not in ("Sequential", "Functional") or not isinstance(layers, list) or not layers:
        raise UnsupportedModelError(f"the model is a {class_name}; the NumPy path runs Sequential and Functional models")
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict) or "name" not in layer["config"]:
            raise UnsupportedModelError(f"the model lists a layer the NumPy path cannot read: {layer!r:.80}")
    if class_name == "Functional":
        _check_chain(model_config["config"])
    used_names = {}
    chain = []
    for layer in layers:
        # Sequential.layers, which Keras walks to name the weight groups, leaves out the InputLayer.
        if class_name == "Sequential" and layer.get("class_name") == "InputLayer":
            chain.append((None, layer))
            continue
        base = _snake_case(str(layer.get("class_name")))
        if base in used_names:
            used_names[base] += 1
            chain.append((f"{base}_{used_names[base]}", layer))
        else:
            used_names[base] = 0
            chain.append((base, layer))
    return chain


def _snake_case(class_name):
    """Keras' ``naming.to_snake_case``, which names the weight groups: ``MaxPooling2D`` -> ``max_pooling2d``."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _single_reference(references):
    """Reduce Keras' ``input_layers``/``output_layers`` (one ``[name, 0, 0]`` or a list of them) to one name."""
    if isinstance(references, list) and len(references) == 1 and isinstance(references[0], list):
        references = references[0]
    if not (isinstance(references, list) and len(references) == 3 and references[1:] == [0, 0]):
        raise UnsupportedModelError(f"the model has several inputs or outputs ({references}); the NumPy path runs single chains")
    return references[0]


def _check_chain(config):
    """Refuse a Functional model unless each layer's one input is the previous layer's output."""
    layers = config["layers"]
    if layers[0].get("class_name") != "InputLayer" or _single_reference(config.get("input_layers")) != layers[0]["config"]["name"]:
        raise UnsupportedModelError("the Functional model does not start with its InputLayer")
    for previous, layer in zip(layers, layers[1:]):
        if _caller(layer) != [previous["config"]["name"], 0, 0]:
            raise UnsupportedModelError(f"layer {layer['config']['name']!r} does not simply take the previous layer's output: the model is not a plain chain")
    if _single_reference(config.get("output_layers")) != layers[-1]["config"]["name"]:
        raise UnsupportedModelError("the Functional model's output is not its last layer")


def _caller(layer):
    """The ``[layer name, node, tensor]`` a layer is called on, or None unless it is called once on one tensor."""
    nodes = layer.get("inbound_nodes")
    if not (isinstance(nodes, list) and len(nodes) == 1 and isinstance(nodes[0], dict)):
        return None
    arguments, keyword_arguments = nodes[0].get("args"), nodes[0].get("kwargs", {})
    # Keras records some call arguments even when unused (BatchNormalization's mask=None,
    # Dropout's training=False); one that is switched on changes what the layer computes.
    if not isinstance(keyword_arguments, dict) or any(value not in (None, False) for value in keyword_arguments.values()):
        return None
    if not (isinstance(arguments, list) and len(arguments) == 1 and isinstance(arguments[0], dict)):
        return None
    return arguments[0].get("config", {}).get("keras_history")


def _input_shape(model_config, layers):
    """The shape of one input sample, from the InputLayer (or a Sequential's build shape)."""
    first = layers[0]
    if first.get("class_name") == "InputLayer":
        batch_shape = first["config"].get("batch_shape") or first["config"].get("batch_input_shape")
    else:
        batch_shape = model_config["config"].get("build_input_shape")
    if not isinstance(batch_shape, list) or len(batch_shape) < 2 or not all(isinstance(size, int) for size in batch_shape[1:]):
        raise UnsupportedModelError(f"the model's input shape {batch_shape} is not a fixed sample shape")
    return tuple(batch_shape[1:])


def _check_dtype(owner, dtype):
    """Refuse anything but float32 computation (mixed precision would round differently)."""
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    if dtype not in (None, "float32"):
        raise UnsupportedModelError(f"{owner} computes in {dtype}; the NumPy path computes in float32")


def _layer_weights(weights_file, stored_name, name):
    """Return the float32 variables stored for a layer, in index order."""
    layer_group = weights_file.get(f"layers/{stored_name}")
    if layer_group is None:
        return []
    # A layer with inner layers or other saved state keeps it next to "vars"; none of ours has any.
    if set(layer_group.keys()) - {"vars"}:
        raise UnsupportedModelError(f"layer {name!r} saves more state than variables: {sorted(layer_group.keys())}")
    group = layer_group.get("vars")
    if group is None:
        return []
    # Keras 3 records the config name of the layer next to its variables; when it does, it must match.
    recorded = group.attrs.get("name")
    if isinstance(recorded, bytes):
        recorded = recorded.decode()
    if recorded is not None and recorded != name:
        raise UnsupportedModelError(f"the weights stored as {stored_name!r} belong to {recorded!r}, not to layer {name!r}")
    if set(group.keys()) != {str(index) for index in range(len(group))}:
        raise UnsupportedModelError(f"layer {name!r} has weights named {sorted(group.keys())}, not 0, 1, ...")
    weights = []
    for index in range(len(group)):
        dataset = group[str(index)]
        if dataset.dtype.kind != "f":
            raise UnsupportedModelError(f"layer {name!r} stores {dataset.dtype} weights (quantized?)")
        weights.append(np.asarray(dataset[()], dtype=np.float32))
    return weights


def _check_weights(name, weights, expected_shapes):
    """Refuse a layer whose stored variables are not exactly the ones its config implies."""
    shapes = [weight.shape for weight in weights]
    if shapes != [tuple(shape) for shape in expected_shapes]:
        raise UnsupportedModelError(f"layer {name!r} stores weights of shapes {shapes}, but its config implies {expected_shapes}")


def _options(name, config, understood):
    """Refuse a layer that switches on an option this module does not implement.

    Keys in ``IGNORED_KEYS`` may hold anything; any other key outside ``understood`` is accepted only
    when it is switched off (None, False or 0), since that is how Keras leaves an optional feature unused.
    """
    for key, value in config.items():
        if key not in understood and key not in IGNORED_KEYS and value not in (None, False, 0):
            raise UnsupportedModelError(f"layer {name!r} sets {key}={value!r}, which the NumPy path does not implement")


def _require(name, config, key, allowed):
    """Return ``config[key]``, refusing values outside ``allowed``."""
    value = config[key]
    if isinstance(value, list):
        value = tuple(value)
    if value not in allowed:
        raise UnsupportedModelError(f"layer {name!r} has {key}={value!r}; the NumPy path supports {allowed}")
    return value


def _pair(value):
    """Keras writes 2-D sizes as a pair, but older configs may hold one integer for both axes."""
    return (value, value) if isinstance(value, int) else tuple(value)


def _sigmoid(values):
    # Splitting by sign keeps exp() from overflowing for large negative inputs.
    exponential = np.exp(-np.abs(values))
    return np.where(values >= 0, 1 / (1 + exponential), exponential / (1 + exponential))


def _silu(values):
    return values * _sigmoid(values)


def _softmax(values):
    exponential = np.exp(values - values.max(axis=-1, keepdims=True))
    return exponential / exponential.sum(axis=-1, keepdims=True)


ACTIVATIONS = {
    "linear": None,
    "relu": lambda values: np.maximum(values, 0),
    "softmax": _softmax,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    # Keras 3 writes "silu" for both names; older configs may still say "swish".
    "silu": _silu,
    "swish": _silu,
}


def _activation(name, config):
    """Return the function of a layer's ``activation`` (None for linear)."""
    activation = config.get("activation", "linear")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise UnsupportedModelError(f"layer {name!r} uses the activation {activation!r}; the NumPy path supports {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[activation]


def _same_padding(size, window, stride):
    """TensorFlow's 'same' padding of one axis: (output size, padding before, padding after)."""
    output = -(-size // stride)
    total = max((output - 1) * stride + window - size, 0)
    return output, total // 2, total - total // 2


def _windows(name, config, input_shape, window_key):
    """Shared geometry of Conv2D and pooling: window, strides, output size and padding of both axes."""
    if len(input_shape) != 3:
        raise UnsupportedModelError(f"layer {name!r} needs (height, width, channels) inputs, got {input_shape}")
    _require(name, config, "data_format", ("channels_last", None))
    padding = _require(name, config, "padding", ("valid", "same"))
    window = _pair(config[window_key])
    strides = _pair(config.get("strides") or window)
    height, width, _ = input_shape
    if padding == "valid":
        sizes = ((height - window[0]) // strides[0] + 1, (width - window[1]) // strides[1] + 1)
        pads = ((0, 0), (0, 0))
    else:
        rows, columns = _same_padding(height, window[0], strides[0]), _same_padding(width, window[1], strides[1])
        sizes = (rows[0], columns[0])
        pads = (rows[1:], columns[1:])
    if min(sizes) < 1:
        raise UnsupportedModelError(f"layer {name!r} has a {window} window larger than its {input_shape[:2]} input")
    return window, strides, sizes, pads


def _sliding(values, pads, window, strides, fill):
    """Pad ``values`` (n, h, w, c) with ``fill`` and return the strided window view (n, oh, ow, c, kh, kw)."""
    if pads != ((0, 0), (0, 0)):
        values = np.pad(values, ((0, 0),) + pads + ((0, 0),), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(values, window, axis=(1, 2))
    return view[:, :: strides[0], :: strides[1]]


def _build_dense(name, config, input_shape, weights):
    _options(name, config, {"units", "activation", "use_bias"})
    units = config["units"]
    use_bias = config["use_bias"]
    _check_weights(name, weights, [(input_shape[-1], units)] + ([(units,)] if use_bias else []))
    kernel = weights[0]
    bias = weights[1] if use_bias else None
    activation = _activation(name, config)

    def dense(values):
        outputs = values @ kernel
        if bias is not None:
            outputs += bias
        return outputs if activation is None else activation(outputs)

    return dense, input_shape[:-1] + (units,), 0


def _build_conv2d(name, config, input_shape, weights):
    _options(name, config, {"filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups", "activation", "use_bias"})
    _require(name, config, "dilation_rate", ((1, 1), 1))
    _require(name, config, "groups", (1,))
    kernel_size, strides, sizes, pads = _windows(name, config, input_shape, "kernel_size")
    channels, filters, use_bias = input_shape[2], config["filters"], config["use_bias"]
    _check_weights(name, weights, [kernel_size + (channels, filters)] + ([(filters,)] if use_bias else []))
    kernel = weights[0].reshape(-1, filters)
    bias = weights[1] if use_bias else None
    activation = _activation(name, config)

    def conv2d(values):
        # Reordering the windows to (kernel rows, kernel columns, channels) matches the kernel's
        # layout, and keeps the channels innermost, which makes the im2col copy below fast.
        windows = _sliding(values, pads, kernel_size, strides, 0.0).transpose(0, 1, 2, 4, 5, 3)
        rows = windows.reshape(-1, kernel.shape[0])
        outputs = (rows @ kernel).reshape(windows.shape[:3] + (filters,))
        if bias is not None:
            outputs += bias
        return outputs if activation is None else activation(outputs)

    im2col_size = sizes[0] * sizes[1] * channels * kernel_size[0] * kernel_size[1]
    return conv2d, sizes + (filters,), im2col_size


def _build_max_pooling2d(name, config, input_shape, weights):
    _options(name, config, {"pool_size", "strides", "padding", "data_format"})
    _check_weights(name, weights, [])
    pool_size, strides, sizes, pads = _windows(name, config, input_shape, "pool_size")

    # Padding with -inf leaves the maximum of the real pixels, as TensorFlow's 'same' pooling does.
    def max_pooling(values):
        return _sliding(values, pads, pool_size, strides, -np.inf).max(axis=(4, 5))

    return max_pooling, sizes + input_shape[2:], 0


def _build_average_pooling2d(name, config, input_shape, weights):
    _options(name, config, {"pool_size", "strides", "padding", "data_format"})
    _check_weights(name, weights, [])
    pool_size, strides, sizes, pads = _windows(name, config, input_shape, "pool_size")
    # TensorFlow's 'same' average divides by the number of real pixels in each window, not by its area.
    pixels = np.ones((1,) + input_shape[:2] + (1,), np.float32)
    counts = _sliding(pixels, pads, pool_size, strides, 0.0).sum(axis=(4, 5))[0]

    def average_pooling(values):
        return _sliding(values, pads, pool_size, strides, 0.0).sum(axis=(4, 5)) / counts

    return average_pooling, sizes + input_shape[2:], 0


def _build_batch_normalization(name, config, input_shape, weights):
    _options(name, config, {"axis", "epsilon", "center", "scale"})
    _require(name, config, "axis", (-1, len(input_shape), (-1,), (len(input_shape),)))
    center, scale = config["center"], config["scale"]
    channels = (input_shape[-1],)
    _check_weights(name, weights, [channels] * (2 + center + scale))
    gamma = weights[0] if scale else None
    beta = weights[int(scale)] if center else None
    moving_mean, moving_variance = weights[-2], weights[-1]
    # The same folding as tf.nn.batch_normalization: x * (gamma / sqrt(var + eps)) + (beta - mean * that).
    multiplier = 1 / np.sqrt(moving_variance + np.float32(config["epsilon"]))
    if gamma is not None:
        multiplier *= gamma
    offset = -moving_mean * multiplier
    if beta is not None:
        offset += beta
    return lambda values: values * multiplier + offset, input_shape, 0


def _build_relu(name, config, input_shape, weights):
    _options(name, config, {"max_value", "negative_slope", "threshold"})
    _check_weights(name, weights, [])
    max_value, negative_slope, threshold = config["max_value"], np.float32(config["negative_slope"]), np.float32(config["threshold"])

    # The same formula as keras.activations.relu with these three parameters.
    def relu(values):
        outputs = np.where(values > threshold, values, np.float32(0)) if threshold else np.maximum(values, 0)
        if max_value is not None:
            outputs = np.minimum(outputs, np.float32(max_value))
        if negative_slope:
            outputs -= negative_slope * np.maximum(threshold - values, 0)
        return outputs

    return relu, input_shape, 0


def _build_activation(name, config, input_shape, weights):
    _options(name, config, {"activation"})
    _check_weights(name, weights, [])
    return _activation(name, config), input_shape, 0


def _build_input_layer(name, config, input_shape, weights):
    _options(name, config, {"batch_shape", "batch_input_shape", "optional"})
    _check_weights(name, weights, [])
    return None, input_shape, 0


def _build_dropout(name, config, input_shape, weights):
    _options(name, config, set())
    _check_weights(name, weights, [])
    return None, input_shape, 0


def _build_flatten(name, config, input_shape, weights):
    _options(name, config, {"data_format"})
    _require(name, config, "data_format", ("channels_last", None))
    _check_weights(name, weights, [])
    return lambda values: values.reshape(len(values), -1), (int(np.prod(input_shape)),), 0


def _build_reshape(name, config, input_shape, weights):
    _options(name, config, {"target_shape"})
    _check_weights(name, weights, [])
    target = tuple(config["target_shape"])
    size = int(np.prod(input_shape))
    known = int(np.prod([dimension for dimension in target if dimension != -1]))
    if target.count(-1) == 1 and known > 0:
        target = tuple(size // known if dimension == -1 else dimension for dimension in target)
    if int(np.prod(target)) != size:
        raise UnsupportedModelError(f"layer {name!r} cannot reshape {input_shape} to {config['target_shape']}")
    return lambda values: values.reshape((len(values),) + target), target, 0


def _build_global_average_pooling2d(name, config, input_shape, weights):
    _options(name, config, {"data_format", "keepdims"})
    _require(name, config, "data_format", ("channels_last", None))
    _check_weights(name, weights, [])
    if len(input_shape) != 3:
        raise UnsupportedModelError(f"layer {name!r} needs (height, width, channels) inputs, got {input_shape}")
    keepdims = bool(config.get("keepdims"))
    output_shape = (1, 1, input_shape[2]) if keepdims else input_shape[2:]
    return lambda values: values.mean(axis=(1, 2), keepdims=keepdims), output_shape, 0


# Each builder takes (layer name, layer config, input sample shape, stored weights) and returns
# (function on a batch or None for the identity, output sample shape, largest temporary per sample).
LAYER_BUILDERS = {
    "InputLayer": _build_input_layer,
    "Dense": _build_dense,
    "Conv2D": _build_conv2d,
    "MaxPooling2D": _build_max_pooling2d,
    "AveragePooling2D": _build_average_pooling2d,
    "BatchNormalization": _build_batch_normalization,
    "ReLU": _build_relu,
    "Activation": _build_activation,
    "Dropout": _build_dropout,
    "Flatten": _build_flatten,
    "Reshape": _build_reshape,
    "GlobalAveragePooling2D": _build_global_average_pooling2d,
}
