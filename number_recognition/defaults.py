"""Every default of the project, defined once and shared by the scripts, the package and the docs."""

# Where MNIST comes from when no --data is given: this environment variable, then a Keras download.
DATA_ENV_VAR = "MNIST_NPZ"

# Outputs (plots, metrics, history) of every script go here unless --out says otherwise.
OUTPUT_DIR = "outputs"

# The architectures train.py can build, and where each one's model is saved by default.
ARCHITECTURES = ("mlp", "cnn")
DEFAULT_ARCHITECTURE = "mlp"
MODEL_PATHS = {"mlp": "models/mnist_mlp.keras", "cnn": "models/mnist_cnn.keras"}

# Training settings. The MLP's were chosen on the validation split (see bench/README.md).
EPOCHS = 10
CNN_EPOCHS = 12
BATCH_SIZE = 128
HIDDEN_UNITS = (1024, 512)
DROPOUT = 0.2
CNN_DROPOUT = 0.3
LEARNING_RATE = 1e-3
LABEL_SMOOTHING = 0.1
VALIDATION_SPLIT = 0.2
SEED = 1

# The image geometry of MNIST: digits scaled into a 20x20 box, centred by mass in 28x28.
IMAGE_SIZE = 28
DIGIT_BOX = 20
NUM_CLASSES = 10

# Random jitter used by --augment and by the jittered test set of bench/jitter.py.
MAX_ROTATION_DEGREES = 15.0
MAX_SHIFT_PIXELS = 3.0
SCALE_RANGE = (0.85, 1.15)
MAX_SHEAR_DEGREES = 12.0
JITTER_SEED = 2024
