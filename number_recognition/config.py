"""Every setting of the project, defined once: the training config of each architecture and shared constants.

A training run is described by one frozen dataclass, ``MLPConfig`` or ``CNNConfig``, validated
once when it is made. ``train.py``, ``training.train`` and the benches all start from it:

    >>> config = make_config("cnn", epochs=3)
    >>> config.epochs, config.dropout
    (3, 0.3)
    >>> make_config("cnn", hidden_units=(64,))
    Traceback (most recent call last):
    ...
    ValueError: hidden_units does not apply to the cnn; it has: augment, batch_size, dropout, epochs, ...

Overrides that are ``None`` are ignored, so a command line's unset flags keep the defaults.
"""

import dataclasses

# Where MNIST comes from when no --data is given: this environment variable, then a Keras download.
DATA_ENV_VAR = "MNIST_NPZ"
# Outputs (plots, metrics, history) of every script go here unless --out says otherwise.
OUTPUT_DIR = "outputs"
# Where train.py saves each architecture's model, and where the other scripts look for it.
MODEL_PATHS = {"mlp": "models/mnist_mlp.keras", "cnn": "models/mnist_cnn.keras"}
DEFAULT_ARCHITECTURE = "mlp"

# The image geometry of MNIST: digits scaled into a 20x20 box, centred by mass in 28x28.
IMAGE_SIZE = 28
DIGIT_BOX = 20
NUM_CLASSES = 10

# Random jitter of --augment and of bench/jitter.py's test set: what people's digits vary by.
MAX_ROTATION_DEGREES = 15.0
MAX_SHIFT_PIXELS = 3.0
SCALE_RANGE = (0.85, 1.15)
MAX_SHEAR_DEGREES = 12.0
# A shift of more than a fifth of the image pushes MNIST's digits (20 pixels in 28) off the edge.
MAX_SHIFT_PIXELS_LIMIT = 5
# The jittered test set is the same for every model and every run.
JITTER_SEED = 2024

# Digits predicted per batch by evaluate.py and recognition: large enough to amortise the call.
PREDICT_BATCH_SIZE = 256

# No MNIST model needs more; a config asking for more is a typo or an attack on memory.
MAX_PARAMETERS = 50_000_000
# 28 -> 14 -> 7 -> 3 pixels: a fourth pooling would leave a 1-pixel map.
MAX_RESOLUTIONS = 4


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """What every architecture's training shares. Use ``MLPConfig`` or ``CNNConfig``."""

    architecture = None
    epochs: int = 10
    batch_size: int = 128
    dropout: float = 0.2
    # Adam's initial rate, decayed to 0 along a cosine over the whole run.
    learning_rate: float = 1e-3
    label_smoothing: float = 0.1
    # The last fraction of the training set, held out to pick the best epoch.
    validation_split: float = 0.2
    # Whole pixels each training digit is shifted by at random (0: none); --augment's jitter replaces it.
    shift_pixels: int = 0
    augment: bool = False
    seed: int = 1

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
        if not isinstance(self.shift_pixels, int) or not 0 <= self.shift_pixels <= MAX_SHIFT_PIXELS_LIMIT:
            raise ValueError(
                f"shift_pixels must be a whole number from 0 to {MAX_SHIFT_PIXELS_LIMIT}, got {self.shift_pixels!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.learning_rate > 0.0 or self.learning_rate > 1.0:
            raise ValueError(f"the learning rate must be in (0, 1], got {self.learning_rate}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(f"the validation split must be in [0, 1), got {self.validation_split}")

    def as_dict(self):
        """The settings as plain JSON-ready values, with the architecture's name."""
        return {"architecture": self.architecture, **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True)
class MLPConfig(TrainingConfig):
    """The default model: Flatten -> (Dense ReLU -> Dropout) per hidden layer -> Dense softmax.

    1024-512 with dropout 0.2 ties the best validation accuracy of the candidates in
    bench/mlp_choices.py and fits in about 50 s on 2 cores.
    """

    architecture = "mlp"
    hidden_units: tuple = (1024, 512)

    def __post_init__(self):
        super().__post_init__()
        units = tuple(self.hidden_units)
        if not units or not all(isinstance(width, int) and width >= 1 for width in units):
            raise ValueError(f"hidden layer widths must be positive whole numbers, got {self.hidden_units}")
        object.__setattr__(self, "hidden_units", units)
        check_size(self, f"hidden widths {list(units)}", "smaller widths")

    def parameter_count(self):
        """The model's weights: each dense layer's matrix and biases, 784 -> hidden widths -> 10."""
        sizes = (IMAGE_SIZE * IMAGE_SIZE,) + self.hidden_units + (NUM_CLASSES,)
        return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))


@dataclasses.dataclass(frozen=True)
class CNNConfig(TrainingConfig):
    """The convnet: 3x3 convolutions with batch norm and ReLU, a 2x2 max pooling between resolutions, a dense head.

    ``blocks`` lists the convolutions' filters at each resolution: ``((16,), (32,), (64, 64))`` is
    16 filters at 28x28, 32 at 14x14 and two of 64 at 7x7. Few filters where the image is large keep
    the cost near the keras.io convnet's (bench/convnet_choices.py measured the candidates).
    """

    architecture = "cnn"
    # 15 epochs reached 0.9950 with --augment, 18 gave 0.9955 (bench/accuracy.py); both fit within the time limits.
    epochs: int = 18
    dropout: float = 0.3
    # Shifted digits take this small convnet past 0.995 in twice the keras.io convnet's time (bench/accuracy.py).
    shift_pixels: int = 2
    # The keras.io convnet's held-out tenth: shifted digits overfit less, so more of them train.
    validation_split: float = 0.1
    blocks: tuple = ((16,), (32,), (64, 64))
    dense_units: int = 128

    def __post_init__(self):
        super().__post_init__()
        blocks = tuple(tuple(filters) for filters in self.blocks)
        if not 1 <= len(blocks) <= MAX_RESOLUTIONS or not all(
            filters and all(isinstance(count, int) and count >= 1 for count in filters) for filters in blocks
        ):
            raise ValueError(
                f"blocks must be 1 to {MAX_RESOLUTIONS} non-empty lists of positive filter counts, got {self.blocks}"
            )
        if not isinstance(self.dense_units, int) or self.dense_units < 1:
            raise ValueError(f"dense_units must be a positive whole number, got {self.dense_units!r}")
        object.__setattr__(self, "blocks", blocks)
        check_size(self, f"blocks {blocks} with a dense layer of {self.dense_units}", "fewer filters")

    def parameter_count(self):
        """The model's weights: 3x3 convolutions without bias, 4 batch-norm values per filter, the dense head."""
        parameters, channels = 0, 1
        for filters in self.blocks:
            for count in filters:
                parameters += 9 * channels * count + 4 * count
                channels = count
        # The dense layer sees the last block's map: 28, 14, 7 or 3 pixels a side.
        side = IMAGE_SIZE // 2 ** (len(self.blocks) - 1)
        parameters += side * side * channels * self.dense_units + 4 * self.dense_units
        return parameters + (self.dense_units + 1) * NUM_CLASSES


def check_size(settings, what, remedy):
    """Refuse a config whose model would have more than ``MAX_PARAMETERS`` weights."""
    parameters = settings.parameter_count()
    if parameters > MAX_PARAMETERS:
        raise ValueError(
            f"{what} make {parameters:,} parameters, more than the {MAX_PARAMETERS:,} any MNIST model needs: "
            f"choose {remedy}"
        )


CONFIGS = {config.architecture: config for config in (MLPConfig, CNNConfig)}
ARCHITECTURES = tuple(CONFIGS)


def make_config(architecture=DEFAULT_ARCHITECTURE, **overrides):
    """The named architecture's config with ``overrides`` applied (None values ignored), validated.

    Raises ``ValueError`` for an unknown architecture, a setting that does not apply to it, or a
    value that cannot train a model.
    """
    if architecture not in CONFIGS:
        raise ValueError(f"unknown architecture {architecture!r}: choose one of {', '.join(ARCHITECTURES)}")
    config_class = CONFIGS[architecture]
    names = sorted(field.name for field in dataclasses.fields(config_class))
    given = {name: value for name, value in overrides.items() if value is not None}
    for name in given:
        if name not in names:
            raise ValueError(f"{name} does not apply to the {architecture}; it has: {', '.join(names)}")
    return config_class(**given)
