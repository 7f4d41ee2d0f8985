"""Run a saved ``.keras`` model with NumPy alone, so that reading a digit does not start TensorFlow.

Importing TensorFlow takes seconds and hundreds of megabytes, far more than the forward pass of a
small MNIST model, so this module reads the archive (see ``model_file``) and runs the forward pass in
float32 NumPy. It understands ``Sequential`` models built from the layers the project's models use
(see ``LAYER_BUILDERS``) that map a (28, 28) or (28, 28, 1) image to 10 softmax probabilities.
Anything else raises ``UnsupportedModelError``, and ``load_predictor`` then falls back to Keras, so
every valid model still works, only slower.

Each Dense layer is one matrix product and each Conv2D layer one per row of its kernel (see
``_build_conv2d``); a batch norm or activation right after either is folded into it at load (``_Linear``).

The weights file does not use the layer names of the config: Keras stores each layer under the
snake_case of its class name, made unique per model in layer order (``dense``, ``dense_1``, ...), as
``layers/<that name>/vars/<index>``, leaving out the InputLayer. Every variable's declared shape is
checked against the config before it is read.
"""

import math
import re

import numpy as np

from number_recognition import config
from number_recognition.reading import model_file

# Images are pushed through the whole network in chunks so that the largest temporaries (the window
# matrix of a convolution and its output) stay near this size, whatever the number of images. Chunks
# of a few megabytes also stay in cache: on one core a convnet with 32 filters at 28x28 ran 5% faster
# in chunks of 2 to 4 MB than of 7 MB (and slower in chunks of one image).
CHUNK_BYTES = 4 * 2**20
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
        """Read ``path``; raise ``ModelFileError`` if it is damaged or hostile, ``UnsupportedModelError`` if exotic.

        ``model_file.open_model`` checks the archive and every declared weight before anything is read.
        """
        try:
            with model_file.open_model(path) as (model_config, weights_file):
                return cls(path, *_build_network(model_config, weights_file))
        except NonFiniteWeightsError as error:
            raise model_file.not_a_digit_model(path, str(error)) from None
        except (ArithmeticError, AttributeError, LookupError, TypeError) as error:
            # A value of an unexpected type somewhere in the config: Keras decides whether it means anything.
            raise UnsupportedModelError(
                f"the config holds a value the NumPy path cannot read ({error!r:.120})"
            ) from error

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
        # Weights crafted to overflow on some images only would otherwise print NaN as a probability.
        if not np.all(np.isfinite(outputs)):
            raise model_file.not_a_digit_model(self.path, "it gives NaN or infinite outputs")
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
        try:
            self.input_shape = tuple(self.model.input_shape[1:])
            self.output_shape = tuple(self.model.output_shape[1:])
        except (AttributeError, TypeError, ValueError) as error:
            raise model_file.not_a_digit_model(path, f"it has no single input and output ({error})") from error
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

    Either way the model must map a (28, 28) or (28, 28, 1) image to 10 probabilities: its shapes
    and last layer are checked, and so are its answers on a blank and a full image (a negative
    batch-norm epsilon or overflowing weights give NaN). ``KerasModel`` checks every prediction.
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
    if isinstance(predictor, NumpyModel):
        with np.errstate(all="ignore"):
            probe = predictor.predict(np.stack([np.zeros((size, size), np.float32), np.ones((size, size), np.float32)]))
        if not np.all(np.isfinite(probe)) or not np.allclose(probe.sum(axis=-1), 1.0, atol=1e-3):
            raise model_file.not_a_digit_model(path, "it gives NaN or values that are not probabilities")
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
            # Python integers: NumPy's product of a crafted shape could overflow to a small number.
            values = max(temporary, math.prod(int(size) for size in shape))
        except (UnsupportedModelError, NonFiniteWeightsError):
            raise
        except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as error:
            raise UnsupportedModelError(
                f"layer {name!r} has a config the NumPy path cannot read ({error!r})"
            ) from error
        if min(shape, default=1) < 1:
            raise UnsupportedModelError(f"layer {name!r} would output the empty shape {shape}")
        if values > model_file.MAX_SAMPLE_VALUES:
            raise UnsupportedModelError(f"layer {name!r} needs {values:,} values per image")
        if step is not None and not (steps and _fold(steps[-1], step)):
            steps.append(step)
        largest_temporary = max(largest_temporary, values)
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
    # subtle: Keras also records the layer's config name here, as an attribute, which is not read: it
    # is a variable-length string, and a damaged file makes HDF5 loop forever reading one. The shapes,
    # checked against the config before any weight is read, tell a misplaced layer instead.
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


def _relu(values, out=None):
    return np.maximum(values, 0, out=out)


def _softmax(values, out=None):
    out = np.subtract(values, values.max(axis=-1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out


# Each takes ``out=values`` to overwrite its input, which layers do with the arrays they made themselves.
ACTIVATIONS = {
    "linear": None,
    "relu": _relu,
    "softmax": _softmax,
}


class _Linear:
    """``activation(product(values, kernel) + bias)``: the step of a Dense or a Conv2D layer.

    A batch norm or an activation right after it is folded into it as the network is built (see
    ``_fold``), so each of these layers costs its products and one pass over its output.
    Batch norm scales and shifts each output channel, which is the same as scaling the kernel's
    column of that channel and its bias:

        BN(x @ K + b) = (x @ K + b) * m + o = x @ (K * m) + (b * m + o)
    """

    def __init__(self, kernel, bias, activation, product=np.matmul):
        self.kernel = kernel
        self.bias = bias
        self.activation = activation
        # A function of (values, kernel), linear in both, whose last axis is the kernel's: the matrix
        # product for a Dense layer, the convolution for a Conv2D layer.
        self.product = product

    def __call__(self, values):
        outputs = self.product(values, self.kernel)
        if self.bias is not None:
            outputs += self.bias
        # The product is a new array, so the activation may overwrite it.
        return outputs if self.activation is None else self.activation(outputs, out=outputs)


class _ChannelAffine:
    """``values * multiplier + offset`` per channel (the last axis): a batch norm at inference."""

    def __init__(self, multiplier, offset):
        self.multiplier = multiplier
        self.offset = offset

    def __call__(self, values):
        outputs = values * self.multiplier
        outputs += self.offset
        return outputs


class _Activation:
    """An activation layer on its own: it must not overwrite its input, which may be the caller's images."""

    def __init__(self, function):
        self.function = function

    def __call__(self, values):
        return self.function(values)


def _fold(previous, step):
    """Fold ``step`` into ``previous`` if that is a linear layer without activation; return whether it was."""
    if not isinstance(previous, _Linear) or previous.activation is not None:
        return False
    if isinstance(step, _ChannelAffine):
        previous.kernel = previous.kernel * step.multiplier
        previous.bias = step.offset if previous.bias is None else previous.bias * step.multiplier + step.offset
        return True
    if isinstance(step, _Activation):
        previous.activation = step.function
        return True
    return False


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


def _padded(values, pads, fill):
    """``values`` (n, h, w, c) with ``pads`` rows and columns of ``fill`` around each image."""
    if pads == ((0, 0), (0, 0)):
        return values
    (top, bottom), (left, right) = pads
    count, height, width, channels = values.shape
    # What np.pad does, without its fixed cost, which a small batch of small images notices.
    padded = np.full((count, top + height + bottom, left + width + right, channels), fill, dtype=values.dtype)
    padded[:, top : top + height, left : left + width] = values
    return padded


def _build_dense(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"units", "activation", "use_bias"})
    units = layer_config["units"]
    use_bias = layer_config["use_bias"]
    weights = _check_weights(name, weights, [(input_shape[-1], units)] + ([(units,)] if use_bias else []))
    dense = _Linear(weights[0], weights[1] if use_bias else None, _activation(name, layer_config))
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
    kernel_rows, kernel_columns = kernel_size
    row_size = kernel_columns * channels
    output_rows, output_columns = sizes
    padded_height = input_shape[0] + sum(pads[0])

    def convolve(values, kernel):
        # For each row of the kernel, the kernel_columns x channels pixels under it at every output
        # pixel (a strided view of each image row, copied into a matrix a third the size of the
        # whole windows' for a 3x3 kernel) times that kernel row's weights; summed over kernel rows.
        padded = _padded(values, pads, 0.0)
        windows = np.lib.stride_tricks.sliding_window_view(padded, kernel_columns, axis=2)
        windows = windows[:, :, : strides[1] * (output_columns - 1) + 1 : strides[1]]
        rows = windows.transpose(0, 1, 2, 4, 3).reshape(-1, row_size)
        # subtle: the images' rows are taken as one tall image, so that every kernel row's product is
        # one matrix product over a contiguous block of rows; the output rows that straddle two
        # images, and those between strides, are computed too and dropped.
        stacked_rows = len(values) * padded_height - kernel_rows + 1
        outputs = np.empty((len(values) * padded_height * output_columns, filters), dtype=np.float32)
        summed = outputs[: stacked_rows * output_columns]
        np.matmul(rows[: len(summed)], kernel[0], out=summed)
        for row in range(1, kernel_rows):
            summed += rows[row * output_columns : row * output_columns + len(summed)] @ kernel[row]
        outputs = outputs.reshape(len(values), padded_height, output_columns, filters)
        return outputs[:, : strides[0] * (output_rows - 1) + 1 : strides[0]]

    kernel = weights[0].reshape(kernel_rows, row_size, filters)
    conv2d = _Linear(kernel, weights[1] if use_bias else None, _activation(name, layer_config), convolve)
    return conv2d, sizes + (filters,), padded_height * output_columns * (row_size + filters)


def _build_max_pooling2d(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"pool_size", "strides", "padding", "data_format"})
    _check_weights(name, weights, [])
    pool_size, strides, sizes, pads = _windows(name, layer_config, input_shape, "pool_size")

    def max_pooling(values):
        # Padding with -inf leaves the maximum of the real pixels, as TensorFlow's 'same' pooling does.
        values = _padded(values, pads, -np.inf)
        # One elementwise maximum per offset in the window, each over the pixels at that offset of
        # every window: far faster than reducing the window view over its two small axes.
        outputs = None
        for row in range(pool_size[0]):
            for column in range(pool_size[1]):
                pixels = values[
                    :,
                    row : row + strides[0] * (sizes[0] - 1) + 1 : strides[0],
                    column : column + strides[1] * (sizes[1] - 1) + 1 : strides[1],
                ]
                outputs = pixels.copy() if outputs is None else np.maximum(outputs, pixels, out=outputs)
        return outputs

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
    return _ChannelAffine(multiplier, offset), input_shape, 0


def _build_activation(name, layer_config, input_shape, weights):
    _options(name, layer_config, {"activation"})
    _check_weights(name, weights, [])
    function = _activation(name, layer_config)
    return None if function is None else _Activation(function), input_shape, 0


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
