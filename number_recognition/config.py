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
# The jittered test set is the same for every model and every run.
JITTER_SEED = 2024

# Digits predicted per batch by evaluate.py and recognition: large enough to amortise the call.
PREDICT_BATCH_SIZE = 256

# No MNIST model needs more; a config asking for more is a typo or an attack on memory.
MAX_PARAMETERS = 50_000_000


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
    augment: bool = False
    seed: int = 1

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
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
        # Weights of consecutive layers: 784 -> widths -> 10.
        sizes = (IMAGE_SIZE * IMAGE_SIZE,) + units + (NUM_CLASSES,)
        parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))
        if parameters > MAX_PARAMETERS:
            raise ValueError(
                f"hidden widths {list(units)} make {parameters:,} parameters, more than the "
                f"{MAX_PARAMETERS:,} any MNIST model needs: choose smaller widths"
            )
        object.__setattr__(self, "hidden_units", units)


@dataclasses.dataclass(frozen=True)
class CNNConfig(TrainingConfig):
    """The convnet: two blocks of two 3x3 convolutions (32 then 64 filters) with batch norm, a dense head."""

    architecture = "cnn"
    epochs: int = 12
    dropout: float = 0.3


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
