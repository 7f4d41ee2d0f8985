"""Fuzzing: mutated image bytes and mutated config.json give a result or one clear error, never another exception.

hypothesis mutates real files: a drawn digit saved in every format the project reads, and the
config.json of two small models the NumPy path reads (an MLP, and a convnet with batch norm). An
image must decode to grey values in [0, 1] or raise ``ImageError``; a model must load and give
probabilities, or raise ``ModelFileError``. A config the NumPy path hands to Keras counts once it has
passed ``model_file.check_keras_config``: importing Keras takes seconds a fuzz test cannot spend on
each example, so the import is replaced by an exception that marks the hand-over (tests/test_inference.py
checks that Keras' own refusals become ``ModelFileError``).
"""

import builtins
import copy
import errno
import io
import json
import os
import zipfile

import hostile_inputs
import numpy as np
import PIL.Image
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from number_recognition import config
from number_recognition import errors
from number_recognition import keras_import
from number_recognition.reading import decode
from number_recognition.reading import inference
from number_recognition.reading import model_file
from number_recognition.reading import recognition

SIZE = config.IMAGE_SIZE
# Bytes of a file's header, where most format fields (sizes, modes, chunk lengths) live.
HEADER_BYTES = 64
# Numbers that break size arithmetic when written over a field.
EXTREMES = (b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00", b"\x00\x01\x00\x00")


def digit_image(mode):
    """A dark 7 on a light ground in ``mode``, 40x32 pixels."""
    pixels = np.full((40, 32), 230, np.uint8)
    pixels[6:10, 6:26] = 20
    for row in range(10, 34):
        pixels[row, 24 - (row - 10) // 2 : 28 - (row - 10) // 2] = 20
    image = PIL.Image.fromarray(pixels)
    return image.convert(mode)


def encoded(mode, format_name, **options):
    buffer = io.BytesIO()
    digit_image(mode).save(buffer, format=format_name, **options)
    return buffer.getvalue()


SEED_IMAGES = [
    encoded("L", "PNG"),
    encoded("RGBA", "PNG"),
    encoded("P", "PNG", transparency=0),
    encoded("RGB", "JPEG", quality=80),
    encoded("RGB", "BMP"),
    encoded("P", "GIF"),
    encoded("RGB", "TIFF"),
    encoded("I;16", "TIFF"),
    encoded("RGB", "WEBP"),
    encoded("L", "PPM"),
    encoded("1", "PPM"),
]


@st.composite
def mutated_bytes(draw, seeds):
    """One of ``seeds`` with a few random edits: flipped, overwritten, inserted or deleted bytes, extreme
    numbers over a field, or a truncation, mostly in the header."""
    content = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        end = min(len(content), HEADER_BYTES) if draw(st.booleans()) else len(content)
        position = draw(st.integers(0, max(0, end - 1)))
        edit = draw(st.sampled_from(["flip", "byte", "insert", "delete", "extreme", "truncate"]))
        if edit == "flip" and content:
            content[position] ^= 1 << draw(st.integers(0, 7))
        elif edit == "byte" and content:
            content[position] = draw(st.integers(0, 255))
        elif edit == "insert":
            content[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "delete":
            del content[position : position + draw(st.integers(1, 16))]
        elif edit == "extreme":
            content[position : position + 4] = draw(st.sampled_from(EXTREMES))
        elif edit == "truncate":
            del content[position:]
    return bytes(content)


@settings(max_examples=300, deadline=None)
@given(content=mutated_bytes(SEED_IMAGES))
def test_mutated_image_decodes_to_grey_or_gives_one_image_error(content):
    try:
        grey = decode.image_to_grey(decode.open_image(content))
    except decode.ImageError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert grey.ndim == 2 and grey.dtype == np.float32
        assert np.all((grey >= 0) & (grey <= 1))


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    path = hostile_inputs.valid_model(str(tmp_path_factory.mktemp("fuzz") / "valid.keras"))
    return inference.load_predictor(path)


@settings(max_examples=60, deadline=None)
@given(content=mutated_bytes(SEED_IMAGES))
def test_mutated_image_is_read_or_refused_through_the_api(content, predictor):
    try:
        reading = recognition.recognize(content, predictor)
    except errors.UserError as error:
        assert str(error) and "\n" not in str(error)
        # recognize_many turns any exception into the image's error so that a run goes on; an image
        # must still fail only for a reason the decoder names, never for a bug further on.
        assert not str(error).startswith("the image could not be read (")
    else:
        for digit in reading.digits:
            assert np.isfinite(digit.probabilities).all() and abs(digit.probabilities.sum() - 1) < 1e-4
        json.dumps(reading.as_json(), allow_nan=False)


def deny_access(monkeypatch, denied):
    """Make open() and os.listdir() refuse ``denied`` with EACCES, as they do for a user without rights."""
    real_open, real_listdir = builtins.open, os.listdir

    def refuse_or(real):
        def call(target, *arguments, **keywords):
            if os.fspath(target) == denied:
                raise PermissionError(errno.EACCES, "Permission denied", denied)
            return real(target, *arguments, **keywords)

        return call

    monkeypatch.setattr(builtins, "open", refuse_or(real_open))
    monkeypatch.setattr(os, "listdir", refuse_or(real_listdir))


@pytest.mark.parametrize("case", sorted(hostile_inputs.IMAGE_CASES))
def test_hostile_image_of_the_bench_is_read_or_gives_its_one_line_error(case, tmp_path, predictor, monkeypatch):
    file_name, build, reason = hostile_inputs.IMAGE_CASES[case]
    path = build(str(tmp_path / file_name) if file_name else None)
    try:
        if case in hostile_inputs.PERMISSION_CASES and os.access(path, os.R_OK):
            # Root reads files whatever their permissions (as CI runs), so the refusal the kernel would
            # give anyone else is given here by open() and listdir() themselves.
            deny_access(monkeypatch, path)
        if reason is None:
            # The model of the fixture is untrained: what matters is that the stroke is found as one digit.
            assert len(recognition.recognize(path, predictor).digits) == 1
            return
        with pytest.raises(decode.ImageError) as caught:
            for source in recognition.image_paths(path):
                decode.image_to_grey(decode.open_image(source))
    finally:
        if case in hostile_inputs.PERMISSION_CASES:
            os.chmod(path, 0o700)
    assert reason.lower() in str(caught.value).lower() and "\n" not in str(caught.value)


def convnet_config():
    """Input -> Reshape(28, 28, 1) -> Conv2D(4, 3x3, relu) -> BatchNormalization -> MaxPooling2D -> Flatten -> Dense."""
    layer = hostile_inputs.keras_layer
    layers = [
        layer("InputLayer", "input_layer", batch_shape=[None, SIZE, SIZE]),
        layer("Reshape", "reshape", (SIZE, SIZE), target_shape=[SIZE, SIZE, 1]),
        layer(
            "Conv2D",
            "conv2d",
            (SIZE, SIZE, 1),
            filters=4,
            kernel_size=[3, 3],
            strides=[1, 1],
            padding="valid",
            data_format="channels_last",
            dilation_rate=[1, 1],
            groups=1,
            activation="relu",
            use_bias=True,
        ),
        layer("BatchNormalization", "batch_normalization", (26, 26, 4), axis=-1, epsilon=1e-3, center=True, scale=True),
        layer(
            "MaxPooling2D",
            "max_pooling2d",
            (26, 26, 4),
            pool_size=[2, 2],
            strides=[2, 2],
            padding="valid",
            data_format="channels_last",
        ),
        layer("Flatten", "flatten", (13, 13, 4), data_format="channels_last"),
        layer("Dense", "dense", (676,), units=10, activation="softmax", use_bias=True),
    ]
    model_config = hostile_inputs.digit_model()
    model_config["config"]["layers"] = layers
    return model_config


def convnet_variables():
    rng = np.random.default_rng(0)
    channels = np.ones(4, np.float32)
    return {
        "conv2d": [rng.normal(0, 0.3, (3, 3, 1, 4)).astype(np.float32), np.zeros(4, np.float32)],
        "batch_normalization": [channels, 0 * channels, 0.1 * channels, channels],
        "dense": [rng.normal(0, 0.05, (676, 10)).astype(np.float32), np.zeros(10, np.float32)],
    }


@pytest.fixture(scope="module")
def seed_models(tmp_path_factory):
    """(config, members of the archive) of the two seed models, both read by the NumPy path."""
    folder = tmp_path_factory.mktemp("seeds")
    seeds = []
    for name, model_config, variables in [
        ("mlp", hostile_inputs.digit_model((8,)), hostile_inputs.dense_variables((SIZE * SIZE, 8, 10))),
        ("cnn", convnet_config(), convnet_variables()),
    ]:
        path = hostile_inputs.write_model(str(folder / f"{name}.keras"), model_config, variables)
        assert isinstance(inference.load_predictor(path), inference.NumpyModel)
        with zipfile.ZipFile(path) as archive:
            seeds.append((model_config, {member: archive.read(member) for member in archive.namelist()}))
    return seeds, folder


class HandedToKeras(Exception):
    """Raised in place of importing Keras: the config passed every check before Keras."""


# What a number in a config becomes under the "number" edit: signs, zeros and sizes that break arithmetic.
EXTREME_NUMBERS = (0, -1, -10.0, 1e-30, 1e38, float("nan"), float("inf"), -float("inf"), 2**31, 2**63 + 1)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["softmax", "relu", "same", "valid", "channels_first", "float16", "Dense", "Conv2D"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=6,
)


def nodes(value, path=()):
    """Every (path, value) in a parsed JSON value, the root included."""
    found = [(path, value)]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        found.extend(nodes(child, path + (key,)))
    return found


def mutate_config(data, model_config):
    """A copy of ``model_config`` with a few nodes replaced by random JSON or by an extreme number (for
    a number), removed, or duplicated."""
    model_config = copy.deepcopy(model_config)
    for _ in range(data.draw(st.integers(1, 3))):
        edit = data.draw(st.sampled_from(["replace", "remove", "copy", "number"]))
        candidates = nodes(model_config)
        if edit == "number":
            candidates = [(path, value) for path, value in candidates if type(value) in (int, float)] or candidates
        path, _ = data.draw(st.sampled_from(candidates))
        if not path:
            return data.draw(JSON_VALUES)
        parent = model_config
        for key in path[:-1]:
            parent = parent[key]
        if edit == "number":
            parent[path[-1]] = data.draw(st.sampled_from(EXTREME_NUMBERS))
        elif edit == "replace":
            parent[path[-1]] = data.draw(JSON_VALUES)
        elif edit == "remove":
            del parent[path[-1]]
        else:
            _, other = data.draw(st.sampled_from(nodes(model_config)))
            parent[path[-1]] = copy.deepcopy(other)
    return model_config


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_config_gives_probabilities_or_one_model_file_error(data, seed_models):
    seeds, folder = seed_models
    # An index, not the seed itself, so that a failure prints a number rather than the weights' bytes.
    model_config, members = seeds[data.draw(st.integers(0, len(seeds) - 1))]
    if data.draw(st.booleans()):
        text = json.dumps(mutate_config(data, model_config)).encode()
    else:
        text = data.draw(mutated_bytes([members[model_file.CONFIG_MEMBER]]))
    path = str(folder / "mutated.keras")
    with zipfile.ZipFile(path, "w") as archive:
        for member, content in members.items():
            archive.writestr(member, text if member == model_file.CONFIG_MEMBER else content)

    def hand_to_keras():
        raise HandedToKeras

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keras_import, "import_keras", hand_to_keras)
        try:
            predictor = inference.load_predictor(path)
        except model_file.ModelFileError as error:
            assert path in str(error) and "\n" not in str(error)
            return
        except HandedToKeras:
            return
    probabilities = predictor.predict(np.linspace(0, 1, 3 * SIZE * SIZE, dtype=np.float32).reshape(3, SIZE, SIZE))
    assert probabilities.shape == (3, 10) and np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
