"""Run a saved ``.keras`` model with NumPy alone, so that reading a digit does not start TensorFlow.

Importing TensorFlow takes seconds and hundreds of megabytes, far more than the forward pass of a
small MNIST model, so this module reads the archive (see ``model_file``) and runs the forward pass in
float32 NumPy. It understands ``Sequential`` models built from the layers the project's models use
(see ``LAYER_BUILDERS``) that map a (28, 28) or (28, 28, 1) image to 10 softmax probabilities.
Anything else raises ``UnsupportedModelError``, and ``load_predictor`` then falls back to Keras, so
every valid model still works, only slower.

The weights file does not use the layer names of the config: Keras stores each layer under the
snake_case of its class name, made unique per model in layer order (``dense``, ``dense_1``, ...), as
``layers/<that name>/vars/<index>``, leaving out the InputLayer. Every variable's declared shape is
checked against the config before it is read.
"""

import re
import zipfile
import zlib

import numpy as np

from number_recognition import config
from number_recognition.reading import model_file

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

    def __init__(self, path, input_shape, output_shape, steps, chunk_images, ends_in_softmax):
        self.path = path
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.steps = steps
        self.chunk_images = chunk_images
        self.ends_in_softmax = ends_in_softmax

    @classmethod
    def from_file(cls, path):
        """Read ``path``; raise ``ModelFileError`` if it is damaged, ``UnsupportedModelError`` if it is exotic."""
        model_file.check_model_file(path)
        # Only loading needs h5py, so importing this module does not pay for it.
        import h5py

        try:
            with zipfile.ZipFile(path) as archive:
                model_config = model_file.read_config(path, archive)
                try:
                    weights_stream = model_file.open_weights(path, archive)
                except model_file.NotNumpyReadable as error:
                    raise UnsupportedModelError(str(error)) from error
                with weights_stream, h5py.File(weights_stream, "r") as weights_file:
                    return cls(path, *_build_network(model_config, weights_file))
        except NonFiniteWeightsError as error:
            raise model_file.not_a_digit_model(path, str(error)) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise model_file.damaged(path, f"{type(error).__name__}: {error}") from error

    def predict(self, images):
        """Return float32 class probabilities, one row per image, for float32 images in [0, 1]."""
        images = np.asarray(images, dtype=np.float32)
        if images.shape[1:3] != self.input_shape[:2] or images.size != len(images) * np.prod(self.input_shape):
            raise InputShapeError(
                f"the model takes images of shape (n, {', '.join(map(str, self.input_shape))}), got {images.shape}"
            )
        images = images.reshape((len(images),) + self.input_shape)
        outputs = np.empty((len(images),) + self.output_shape, dtype=np.float32)
        for start in range(0, len(images), self.chunk_images):
            values = images[start : start + self.chunk_images]
            for step in self.steps:
                values = step(values)
            outputs[start : start + self.chunk_images] = values
        return outputs


class KerasModel:
    """The same ``predict`` as ``NumpyModel``, computed by Keras; used for models NumPy cannot run.

    Keras gives no reliable way to tell a final softmax from the outside, so every prediction is
    checked instead: finite probabilities that sum to 1, or the model is refused.
    """

    def __init__(self, path, reason=None):
        self.path = path
        # Why the NumPy path was not used, so a slow start can be explained to the user.
        self.reason = reason
        self.model = model_file.load_keras_model(path)
        self.input_shape = tuple(self.model.input_shape[1:])
        self.output_shape = tuple(self.model.output_shape[1:])
        self.ends_in_softmax = True

    def predict(self, images):
        """Return float32 class probabilities, one row per image, for float32 images in [0, 1]."""
        images = np.asarray(images, dtype=np.float32)
        # Keras cannot predict on an empty batch, yet a picture without digits gives exactly that.
        if len(images) == 0:
            return np.zeros((0,) + self.output_shape, dtype=np.float32)
        outputs = np.asarray(self.model.predict(images.reshape((-1,) + self.input_shape), verbose=0), np.float32)
        if not np.all(np.isfinite(outputs)) or not np.allclose(outputs.sum(axis=-1), 1.0, atol=1e-3):
            raise model_file.not_a_digit_model(
                self.path, "its outputs are not probabilities (NaN, or not summing to 1)"
            )
        return outputs


def load_predictor(path):
    """Return a ``NumpyModel`` for ``path``, or a ``KerasModel`` when the model is beyond NumPy's reach.

    Either way the model must map a (28, 28) or (28, 28, 1) image to 10 probabilities.
    """
    model_file.check_model_file(path)
    try:
        predictor = NumpyModel.from_file(path)
    except UnsupportedModelError as error:
        predictor = KerasModel(path, reason=str(error))
    size = config.IMAGE_SIZE
    if predictor.input_shape not in ((size, size), (size, size, 1)):
        raise model_file.not_a_digit_model(path, f"it takes images of shape {predictor.input_shape}, not (28, 28)")
    if predictor.output_shape != (config.NUM_CLASSES,):
        raise model_file.not_a_digit_model(path, f"it gives outputs of shape {predictor.output_shape}, not 10 digits")
    if not predictor.ends_in_softmax:
        raise model_file.not_a_digit_model(path, "its last layer is not a softmax, so it gives no probabilities")
    return predictor


def _build_network(model_config, weights_file):
    """Turn a model config and its weights into (input shape, output shape, steps, chunk size)."""
    _check_dtype("the model", model_config["config"].get("dtype"))
    layers = _layer_chain(model_config)
    input_shape = shape = _input_shape(model_config, [layer for _, layer in layers])
    weight_groups = weights_file.get("layers")
    stored_names = set(weight_groups.keys()) if weight_groups is not None else set()
    known_names = {stored_name for stored_name, _ in layers if stored_name is not None}
    if not stored_names <= known_names:
        raise UnsupportedModelError(
            f"the weights hold layers the config does not name: {sorted(stored_names - known_names)}"
        )
    steps = []
    largest_temporary = 1
    for stored_name, layer in layers:
        name = layer["config"]["name"]
        builder = LAYER_BUILDERS.get(layer.get("class_name"))
        if builder is None or layer.get("registered_name") is not None:
            raise UnsupportedModelError(
                f"layer {name!r} is a {layer.get('class_name')}, which the NumPy path does not implement"
            )
        _check_dtype(f"layer {name!r}", layer["config"].get("dtype"))
        weights = _layer_weights(weights_file, stored_name, name) if stored_name is not None else []
        try:
            step, shape, temporary = builder(name, layer["config"], shape, weights)
        except (KeyError, TypeError, IndexError) as error:
            raise UnsupportedModelError(
                f"layer {name!r} has a config the NumPy path cannot read ({error!r})"
            ) from error
        if min(shape, default=1) < 1:
            raise UnsupportedModelError(f"layer {name!r} would output the empty shape {shape}")
        if step is not None:
            steps.append(step)
        largest_temporary = max(largest_temporary, temporary, int(np.prod(shape)))
    chunk_images = max(1, min(MAX_CHUNK_IMAGES, CHUNK_BYTES // (4 * largest_temporary)))
    ends_in_softmax = layers[-1][1]["config"].get("activation") == "softmax"
    return input_shape, shape, steps, chunk_images, ends_in_softmax


class NonFiniteWeightsError(ValueError):
    """The model holds weights no trained model has (NaN or infinite)."""


def _layer_chain(model_config):
    """Return ``(stored name, layer config)`` in layer order; the stored name is None when Keras saves none."""
    class_name = model_config.get("class_name")
    layers = model_config["config"].get("layers")
    if class_name != "Sequential" or not isinstance(layers, list) or not layers:
        raise UnsupportedModelError(f"the model is a {class_name}; the NumPy path runs Sequential models")
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict) or "name" not in layer["config"]:
            raise UnsupportedModelError(f"the model lists a layer the NumPy path cannot read: {layer!r:.80}")
    used_names = {}
    chain = []
    for layer in layers:
        # Sequential.layers, which Keras walks to name the weight groups, leaves out the InputLayer.
        if layer.get("class_name") == "InputLayer":
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


def _input_shape(model_config, layers):
    """The shape of one input sample, from the InputLayer (or a Sequential's build shape)."""
    first = layers[0]
    if first.get("class_name") == "InputLayer":
        batch_shape = first["config"].get("batch_shape") or first["config"].get("batch_input_shape")
    else:
        batch_shape = model_config["config"].get("build_input_shape")
    if (
        not isinstance(batch_shape, list)
        or len(batch_shape) < 2
        or not all(isinstance(size, int) for size in batch_shape[1:])
    ):
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
        raise UnsupportedModelError(
            f"the weights stored as {stored_name!r} belong to {recorded!r}, not to layer {name!r}"
        )
    if set(group.keys()) != {str(index) for index in range(len(group))}:
        raise UnsupportedModelError(f"layer {name!r} has weights named {sorted(group.keys())}, not 0, 1, ...")
    datasets = [group[str(index)] for index in range(len(group))]
    for dataset in datasets:
        if not hasattr(dataset, "dtype") or dataset.dtype.kind != "f":
            raise UnsupportedModelError(f"layer {name!r} stores {getattr(dataset, 'dtype', 'non-array')} weights")
    return datasets


def _check_weights(name, datasets, expected_shapes):
    """Read a layer's variables as float32 arrays, once their declared shapes match what its config implies.

    The shapes are compared before anything is read, so a file declaring a huge variable costs nothing.
    """
    shapes = [tuple(dataset.shape) for dataset in datasets]
    if shapes != [tuple(shape) for shape in expected_shapes]:
        raise UnsupportedModelError(
            f"layer {name!r} stores weights of shapes {shapes}, but its config implies {expected_shapes}"
        )
    weights = [np.asarray(dataset[()], dtype=np.float32) for dataset in datasets]
    if not all(np.all(np.isfinite(weight)) for weight in weights):
        raise NonFiniteWeightsError(f"layer {name!r} holds NaN or infinite weights")
    return weights


def _options(name, layer_config, understood):
    """Refuse a layer that switches on an option this module does not implement.

    Keys in ``IGNORED_KEYS`` may hold anything; any other key outside ``understood`` is accepted only
    when it is switched off (None, False or 0), since that is how Keras leaves an optional feature unused.
    """
    for key, value in layer_config.items():
        if key not in understood and key not in IGNORED_KEYS and value not in (None, False, 0):
            raise UnsupportedModelError(f"layer {name!r} sets {key}={value!r}, which the NumPy path does not implement")


def _require(name, layer_config, key, allowed):
    """Return ``layer_config[key]``, refusing values outside ``allowed``."""
    value = layer_config[key]
    if isinstance(value, list):
        value = tuple(value)
    if value not in allowed:
        raise UnsupportedModelError(f"layer {name!r} has {key}={value!r}; the NumPy path supports {allowed}")
    return value


def _pair(value):
    """Keras writes 2-D sizes as a pair, but older configs may hold one integer for both axes."""
    return (value, value) if isinstance(value, int) else tuple(value)


def _softmax(values):
    exponential = np.exp(values - values.max(axis=-1, keepdims=True))
    return exponential / exponential.sum(axis=-1, keepdims=True)


ACTIVATIONS = {
    "linear": None,
    "relu": lambda values: np.maximum(values, 0),
    "softmax": _softmax,
}


def _activation(name, layer_config):
    """Return the function of a layer's ``activation`` (None for linear)."""
    activation = layer_config.get("activation", "linear")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise UnsupportedModelError(
            f"layer {name!r} uses the activation {activation!r}; the NumPy path supports {sorted(ACTIVATIONS)}"
        )
    return ACTIVATIONS[activation]


def _same_padding(size, window, stride):
    """TensorFlow's 'same' padding of one axis: (output size, padding before, padding after)."""
    output = -(-size // stride)
    total = max((output - 1) * stride + window - size, 0)
    return output, total // 2, total - total // 2


def _windows(name, layer_config, input_shape, window_key):
    """Shared geometry of Conv2D and pooling: window, strides, output size and padding of both axes."""
    if len(input_shape) != 3:
        raise UnsupportedModelError(f"layer {name!r} needs (height, width, channels) inputs, got {input_shape}")
    _require(name, layer_config, "data_format", ("channels_last", None))
    padding = _require(name, layer_config, "padding", ("valid", "same"))
    window = _pair(layer_config[window_key])
    strides = _pair(layer_config.get("strides") or window)
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


def _build_dense(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"units", "activation", "use_bias"})
    units = layer_config["units"]
    use_bias = layer_config["use_bias"]
    weights = _check_weights(name, weights, [(input_shape[-1], units)] + ([(units,)] if use_bias else []))
    kernel = weights[0]
    bias = weights[1] if use_bias else None
    activation = _activation(name, layer_config)

    def dense(values):
        outputs = values @ kernel
        if bias is not None:
            outputs += bias
        return outputs if activation is None else activation(outputs)

    return dense, input_shape[:-1] + (units,), 0


def _build_conv2d(name, layer_config, input_shape, weights):
    _options(
        name,
        layer_config,
        {
            "filters",
            "kernel_size",
            "strides",
            "padding",
            "data_format",
            "dilation_rate",
            "groups",
            "activation",
            "use_bias",
        },
    )
    _require(name, layer_config, "dilation_rate", ((1, 1), 1))
    _require(name, layer_config, "groups", (1,))
    kernel_size, strides, sizes, pads = _windows(name, layer_config, input_shape, "kernel_size")
    channels, filters, use_bias = input_shape[2], layer_config["filters"], layer_config["use_bias"]
    weights = _check_weights(name, weights, [kernel_size + (channels, filters)] + ([(filters,)] if use_bias else []))
    kernel = weights[0].reshape(-1, filters)
    bias = weights[1] if use_bias else None
    activation = _activation(name, layer_config)

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


def _build_max_pooling2d(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"pool_size", "strides", "padding", "data_format"})
    _check_weights(name, weights, [])
    pool_size, strides, sizes, pads = _windows(name, layer_config, input_shape, "pool_size")

    # Padding with -inf leaves the maximum of the real pixels, as TensorFlow's 'same' pooling does.
    def max_pooling(values):
        return _sliding(values, pads, pool_size, strides, -np.inf).max(axis=(4, 5))

    return max_pooling, sizes + input_shape[2:], 0


def _build_batch_normalization(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"axis", "epsilon", "center", "scale"})
    _require(name, layer_config, "axis", (-1, len(input_shape), (-1,), (len(input_shape),)))
    center, scale = layer_config["center"], layer_config["scale"]
    channels = (input_shape[-1],)
    weights = _check_weights(name, weights, [channels] * (2 + center + scale))
    gamma = weights[0] if scale else None
    beta = weights[int(scale)] if center else None
    moving_mean, moving_variance = weights[-2], weights[-1]
    # The same folding as tf.nn.batch_normalization: x * (gamma / sqrt(var + eps)) + (beta - mean * that).
    multiplier = 1 / np.sqrt(moving_variance + np.float32(layer_config["epsilon"]))
    if gamma is not None:
        multiplier *= gamma
    offset = -moving_mean * multiplier
    if beta is not None:
        offset += beta
    return lambda values: values * multiplier + offset, input_shape, 0


def _build_activation(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"activation"})
    _check_weights(name, weights, [])
    return _activation(name, layer_config), input_shape, 0


def _build_input_layer(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"batch_shape", "batch_input_shape", "optional"})
    _check_weights(name, weights, [])
    return None, input_shape, 0


def _build_dropout(name, layer_config, input_shape, weights):
    _options(name, layer_config, set())
    _check_weights(name, weights, [])
    return None, input_shape, 0


def _build_flatten(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"data_format"})
    _require(name, layer_config, "data_format", ("channels_last", None))
    _check_weights(name, weights, [])
    return lambda values: values.reshape(len(values), -1), (int(np.prod(input_shape)),), 0


def _build_reshape(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"target_shape"})
    _check_weights(name, weights, [])
    target = tuple(layer_config["target_shape"])
    size = int(np.prod(input_shape))
    known = int(np.prod([dimension for dimension in target if dimension != -1]))
    if target.count(-1) == 1 and known > 0:
        target = tuple(size // known if dimension == -1 else dimension for dimension in target)
    if int(np.prod(target)) != size:
        raise UnsupportedModelError(f"layer {name!r} cannot reshape {input_shape} to {layer_config['target_shape']}")
    return lambda values: values.reshape((len(values),) + target), target, 0


def _build_global_average_pooling2d(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"data_format", "keepdims"})
    _require(name, layer_config, "data_format", ("channels_last", None))
    _check_weights(name, weights, [])
    if len(input_shape) != 3:
        raise UnsupportedModelError(f"layer {name!r} needs (height, width, channels) inputs, got {input_shape}")
    keepdims = bool(layer_config.get("keepdims"))
    output_shape = (1, 1, input_shape[2]) if keepdims else input_shape[2:]
    return lambda values: values.mean(axis=(1, 2), keepdims=keepdims), output_shape, 0


# Each builder takes (layer name, layer layer_config, input sample shape, stored weights) and returns
# (function on a batch or None for the identity, output sample shape, largest temporary per sample).
LAYER_BUILDERS = {
    "InputLayer": _build_input_layer,
    "Dense": _build_dense,
    "Conv2D": _build_conv2d,
    "MaxPooling2D": _build_max_pooling2d,
    "BatchNormalization": _build_batch_normalization,
    "Activation": _build_activation,
    "Dropout": _build_dropout,
    "Flatten": _build_flatten,
    "Reshape": _build_reshape,
    "GlobalAveragePooling2D": _build_global_average_pooling2d,
}
