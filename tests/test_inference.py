"""The NumPy forward pass must give Keras' predictions, and fall back to Keras when it cannot."""

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from number_recognition import config
from number_recognition import data
from number_recognition import keras_import
from number_recognition import models
from number_recognition.reading import inference
from number_recognition.reading import model_file

TOLERANCE = 1e-5
TRAINING_IMAGES = 256
# Above this many images Keras predicts in batches; below, in one compiled call, which avoids
# predict()'s set-up of about 0.2 s per model.
PREDICT_BATCH = 500
# The convnet over all 10,000 test images takes tens of seconds on two shared cores (NumPy and Keras
# together), so it is compared on the first 2,000 to keep this file within its time budget.
CNN_TEST_IMAGES = 2000
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def keras():
    """The Keras module, imported the project's way (and only by tests that need it)."""
    return keras_import.import_keras()


@pytest.fixture(scope="module")
def mnist(mnist_npz):
    """A few hundred training images and labels, and the whole test set, as model inputs."""
    (x_train, y_train), (x_test, _) = data.load_mnist(mnist_npz)
    return data.to_inputs(x_train[:TRAINING_IMAGES]), data.to_one_hot(y_train[:TRAINING_IMAGES]), data.to_inputs(x_test)


def random_inputs(count=64, seed=0):
    """Reproducible uniform noise in [0, 1], shaped like MNIST images."""
    return np.random.default_rng(seed).random((count, config.IMAGE_SIZE, config.IMAGE_SIZE), dtype=np.float32)


def randomize_batch_norm(model, seed=0):
    """Give every BatchNormalization layer clearly non-default statistics, as a long training would."""
    keras = keras_import.import_keras()
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights(
                [
                    rng.uniform(0.5, 2.0, weight.shape).astype(np.float32)
                    if "variance" in variable.name or "gamma" in variable.name
                    else rng.normal(0.0, 0.3, weight.shape).astype(np.float32)
                    for variable, weight in zip(layer.weights, layer.get_weights())
                ]
            )


def train_briefly(model, mnist):
    """One epoch on a few hundred images, so that every weight differs from its initial value."""
    x_train, y_train, _ = mnist
    batch_size = 32
    models.compile_model(model, 1e-3, total_steps=TRAINING_IMAGES // batch_size, label_smoothing=0.1)
    model.fit(x_train, y_train, epochs=1, batch_size=batch_size, verbose=0)
    return model


def assert_numpy_matches_keras(model, path, images):
    """Save ``model``, load it with the NumPy path, and compare predictions with Keras' own."""
    model.save(path)
    predictor = inference.NumpyModel.from_file(path)
    expected = (
        model.predict(images, batch_size=PREDICT_BATCH, verbose=0)
        if len(images) > PREDICT_BATCH
        else model.predict_on_batch(images)
    )
    actual = predictor.predict(images)
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= TOLERANCE
    return actual


def test_default_mlp_matches_keras_on_the_whole_test_set(mnist, tmp_path):
    model = train_briefly(models.build_mlp(config.MLPConfig()), mnist)
    probabilities = assert_numpy_matches_keras(model, tmp_path / "m.keras", mnist[2])
    assert probabilities.shape == (len(mnist[2]), config.NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_cnn_with_batch_norm_statistics_matches_keras(mnist, tmp_path):
    model = train_briefly(models.build_cnn(config.CNNConfig()), mnist)
    randomize_batch_norm(model)
    assert_numpy_matches_keras(model, tmp_path / "m.keras", mnist[2][:CNN_TEST_IMAGES])


def conv(keras, **options):
    return [keras.layers.Conv2D(6, **options)]


# Each case is the layers placed between a (28, 28, 1) input and a final Flatten, so the raw output
# of the layer under test is compared.
LAYER_CASES = {
    "conv-same-stride1": lambda keras: conv(keras, kernel_size=3, padding="same"),
    "conv-valid-stride1": lambda keras: conv(keras, kernel_size=3, padding="valid"),
    "conv-same-stride2-even-kernel": lambda keras: conv(keras, kernel_size=4, strides=2, padding="same"),
    "conv-valid-stride3-rectangular": lambda keras: conv(keras, kernel_size=(2, 5), strides=(3, 2), padding="valid"),
    "conv-same-stride3-no-bias": lambda keras: conv(keras, kernel_size=5, strides=3, padding="same", use_bias=False),
    "conv-relu": lambda keras: conv(keras, kernel_size=3, activation="relu"),
    "max-pool-valid": lambda keras: [keras.layers.MaxPooling2D()],
    "max-pool-same-3x3-stride2": lambda keras: [keras.layers.MaxPooling2D(3, strides=2, padding="same")],
    "max-pool-valid-3x2-stride1": lambda keras: [keras.layers.MaxPooling2D((3, 2), strides=1)],
    "batch-norm": lambda keras: conv(keras, kernel_size=3) + [keras.layers.BatchNormalization()],
    "batch-norm-no-center": lambda keras: conv(keras, kernel_size=3) + [keras.layers.BatchNormalization(center=False)],
    "batch-norm-no-scale": lambda keras: conv(keras, kernel_size=3) + [keras.layers.BatchNormalization(scale=False)],
    "batch-norm-neither": lambda keras: (
        conv(keras, kernel_size=3) + [keras.layers.BatchNormalization(center=False, scale=False, epsilon=0.1)]
    ),
    "global-average-pool": lambda keras: conv(keras, kernel_size=3) + [keras.layers.GlobalAveragePooling2D()],
    "reshape-inferred-axis": lambda keras: [keras.layers.Reshape((-1, 14)), keras.layers.Dense(5)],
}
for activation in ("linear", "relu", "softmax"):
    LAYER_CASES[f"dense-{activation}"] = lambda keras, activation=activation: [
        keras.layers.Flatten(),
        keras.layers.Dense(12, activation=activation),
    ]
    LAYER_CASES[f"activation-{activation}"] = lambda keras, activation=activation: (
        conv(keras, kernel_size=3) + [keras.layers.Activation(activation)]
    )
LAYER_CASES["dense-no-bias"] = lambda keras: [keras.layers.Flatten(), keras.layers.Dense(12, use_bias=False)]


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_options_match_keras(keras, tmp_path, case):
    size = config.IMAGE_SIZE
    layers = (
        [keras.Input((size, size)), keras.layers.Reshape((size, size, 1))]
        + LAYER_CASES[case](keras)
        + [keras.layers.Flatten()]
    )
    model = keras.Sequential(layers)
    randomize_batch_norm(model, seed=len(case))
    # Scaled inputs give the activations both signs and saturation, which probes them better than [0, 1].
    assert_numpy_matches_keras(model, tmp_path / "m.keras", 4 * random_inputs(32) - 2)


def residual_model(keras):
    inputs = keras.Input((config.IMAGE_SIZE, config.IMAGE_SIZE))
    flat = keras.layers.Flatten()(inputs)
    hidden = keras.layers.Dense(flat.shape[-1], activation="relu")(flat)
    residual = keras.layers.Add(name="residual")([flat, hidden])
    return keras.Model(inputs, keras.layers.Dense(config.NUM_CLASSES, activation="softmax")(residual))


# Models the NumPy path must refuse, each with the name of the layer the refusal must point at.
UNSUPPORTED_CASES = {
    "layer-normalization": (
        lambda keras: [keras.layers.Flatten(), keras.layers.LayerNormalization(name="odd_norm")],
        "odd_norm",
    ),
    "dilated-conv": (
        lambda keras: [keras.layers.Reshape((28, 28, 1)), keras.layers.Conv2D(4, 3, dilation_rate=2, name="wide")],
        "wide",
    ),
    "gelu-activation": (
        lambda keras: [keras.layers.Flatten(), keras.layers.Dense(12, activation="gelu", name="smooth")],
        "smooth",
    ),
    "residual-add": (residual_model, "Functional"),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED_CASES))
def test_unsupported_models_fall_back_to_keras(keras, tmp_path, case):
    build, layer_name = UNSUPPORTED_CASES[case]
    built = build(keras)
    if isinstance(built, list):
        # Each refused piece sits inside a digit model, so that only the piece decides the refusal.
        head = [keras.layers.Flatten(), keras.layers.Dense(config.NUM_CLASSES, activation="softmax")]
        built = keras.Sequential([keras.Input((config.IMAGE_SIZE, config.IMAGE_SIZE))] + built + head)
    model = built
    path = tmp_path / "m.keras"
    model.save(path)
    with pytest.raises(inference.UnsupportedModelError, match=layer_name):
        inference.NumpyModel.from_file(path)
    predictor = inference.load_predictor(path)
    assert isinstance(predictor, inference.KerasModel)
    assert layer_name in predictor.reason
    images = random_inputs(16)
    assert np.abs(predictor.predict(images) - model.predict_on_batch(images)).max() <= TOLERANCE


def save_small_mlp(path):
    models.build_mlp(config.MLPConfig(hidden_units=(16,))).save(path)


def rewrite_archive(source, target, replace, compression=zipfile.ZIP_STORED):
    """Copy a .keras archive, passing each member's bytes through ``replace(name, content)``."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", compression=compression) as copy:
        for name in original.namelist():
            content = replace(name, original.read(name))
            if content is not None:
                copy.writestr(name, content)


def test_weights_that_disagree_with_the_config_are_refused(tmp_path):
    save_small_mlp(tmp_path / "m.keras")

    def widen_hidden_layer(name, content):
        if name != model_file.CONFIG_MEMBER:
            return content
        return content.replace(b'"units": 16', b'"units": 17')

    rewrite_archive(tmp_path / "m.keras", tmp_path / "bad.keras", widen_hidden_layer)
    with pytest.raises(inference.UnsupportedModelError, match="shapes"):
        inference.NumpyModel.from_file(str(tmp_path / "bad.keras"))
    # Keras refuses the same file, so the user is told to retrain rather than shown a traceback.
    with pytest.raises(model_file.ModelFileError):
        inference.load_predictor(str(tmp_path / "bad.keras"))


def test_compressed_archive_is_read_too(tmp_path):
    # Keras stores the weights uncompressed and they are read in place; a re-zipped file must work too.
    save_small_mlp(tmp_path / "m.keras")
    rewrite_archive(
        tmp_path / "m.keras", tmp_path / "compressed.keras", lambda name, content: content, zipfile.ZIP_DEFLATED
    )
    images = random_inputs(8)
    expected = inference.NumpyModel.from_file(tmp_path / "m.keras").predict(images)
    np.testing.assert_array_equal(
        inference.NumpyModel.from_file(tmp_path / "compressed.keras").predict(images), expected
    )


def test_missing_file_is_a_model_file_error(tmp_path):
    with pytest.raises(model_file.ModelFileError, match="train.py"):
        inference.load_predictor(str(tmp_path / "absent.keras"))


def test_non_zip_file_is_a_model_file_error(tmp_path):
    path = tmp_path / "m.keras"
    path.write_text("not a model")
    with pytest.raises(model_file.ModelFileError, match="train.py"):
        inference.load_predictor(str(path))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda name, content: None if name == model_file.CONFIG_MEMBER else content, id="no-config"),
        pytest.param(lambda name, content: None if name == model_file.WEIGHTS_MEMBER else content, id="no-weights"),
        pytest.param(
            lambda name, content: b"{not json" if name == model_file.CONFIG_MEMBER else content, id="config-not-json"
        ),
        pytest.param(
            lambda name, content: b"[]" if name == model_file.CONFIG_MEMBER else content, id="config-not-a-model"
        ),
        pytest.param(
            lambda name, content: b"not hdf5" if name == model_file.WEIGHTS_MEMBER else content, id="weights-not-hdf5"
        ),
    ],
)
def test_damaged_archive_is_a_one_line_model_file_error(tmp_path, damage):
    save_small_mlp(tmp_path / "good.keras")
    path = tmp_path / "m.keras"
    rewrite_archive(tmp_path / "good.keras", path, damage)
    with pytest.raises(model_file.ModelFileError) as caught:
        inference.load_predictor(str(path))
    message = str(caught.value)
    assert str(path) in message and "python train.py" in message and "\n" not in message


def test_predict_checks_the_image_shape_and_accepts_no_images(tmp_path):
    save_small_mlp(tmp_path / "m.keras")
    predictor = inference.load_predictor(str(tmp_path / "m.keras"))
    with pytest.raises(inference.InputShapeError):
        predictor.predict(np.zeros((2, 28, 27), np.float32))
    assert predictor.predict(np.zeros((0, 28, 28), np.float32)).shape == (0, config.NUM_CLASSES)


def test_fast_path_does_not_import_tensorflow(tmp_path):
    save_small_mlp(tmp_path / "m.keras")
    script = (
        "import sys, numpy\n"
        "from number_recognition.reading import inference\n"
        f"inference.load_predictor({str(tmp_path / 'm.keras')!r}).predict(numpy.zeros((1, 28, 28), numpy.float32))\n"
        "loaded = sorted(name for name in ('keras', 'tensorflow') if name in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, check=True)
