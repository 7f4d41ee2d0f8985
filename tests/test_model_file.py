"""A hostile or broken .keras file is refused in one line, naming the file and the reason, before it costs memory.

The files are those of bench/hostile_inputs.py, written by hand with zipfile and h5py on tiny sizes:
whatever they declare (a 2 GiB kernel, a layer 500,000 wide), they take kilobytes on disk. "Before
allocation" is checked two ways: for files refused before their weights are read, reading any HDF5
dataset or importing Keras fails the test; for every file, tracemalloc (which sees NumPy's arrays)
must record far less than the file declares.
"""

import json
import os
import subprocess
import sys
import tracemalloc
import zipfile

import h5py
import hostile_inputs
import numpy as np
import pytest

from number_recognition import config
from number_recognition import keras_import
from number_recognition import models
from number_recognition.reading import inference
from number_recognition.reading import model_file

# Every refusal stays below this in memory traced by tracemalloc; the hostile files declare 64 MB to 2 GiB.
MAX_TRACED_BYTES = 16 * 2**20
# These are refused only after their few small weights are read, by design: the NaN is in the data,
# and the shapes of the output come from the weights.
READ_BEFORE_REFUSAL = ("nan_weights", "linear_last_layer", "three_classes", "input_32x32")
# The 900 MB zip bomb takes seconds to compress; test_weights_member_over_the_limit_is_not_inflated
# checks the same refusal with a smaller limit.
FAST_CASES = sorted(set(hostile_inputs.MODEL_CASES) - set(hostile_inputs.SLOW_CASES))


def forbidden(*args, **kwargs):
    raise AssertionError("the file was read, or Keras imported, before the refusal")


@pytest.fixture
def nothing_read(monkeypatch):
    """Fail the test if any HDF5 dataset is read or Keras is imported."""
    monkeypatch.setattr(h5py.Dataset, "__getitem__", forbidden)
    monkeypatch.setattr(h5py.Dataset, "read_direct", forbidden)
    monkeypatch.setattr(keras_import, "import_keras", forbidden)


def refusal(path):
    """The ModelFileError message of ``load_predictor(path)``, checked to be one line naming the file, and
    the peak of memory traced while it ran."""
    tracemalloc.start()
    try:
        with pytest.raises(model_file.ModelFileError) as caught:
            inference.load_predictor(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert path in message and "\n" not in message and "train.py" in message
    return message, peak


@pytest.mark.parametrize("case", FAST_CASES)
def test_hostile_model_is_refused_in_one_line_before_allocation(case, tmp_path, monkeypatch):
    build, reason = hostile_inputs.MODEL_CASES[case]
    path = build(str(tmp_path / f"{case}.keras"))
    if case not in READ_BEFORE_REFUSAL:
        monkeypatch.setattr(h5py.Dataset, "__getitem__", forbidden)
        monkeypatch.setattr(h5py.Dataset, "read_direct", forbidden)
    # No case needs Keras to be refused: the Keras fallback checks the config before importing it.
    monkeypatch.setattr(keras_import, "import_keras", forbidden)
    message, peak = refusal(path)
    assert reason in message
    assert peak < MAX_TRACED_BYTES


def test_the_valid_model_of_the_bench_is_read_by_numpy(tmp_path, monkeypatch):
    monkeypatch.setattr(keras_import, "import_keras", forbidden)
    path = hostile_inputs.valid_model(str(tmp_path / "valid.keras"))
    predictor = inference.load_predictor(path)
    probabilities = predictor.predict(np.zeros((3, 28, 28), np.float32))
    assert isinstance(predictor, inference.NumpyModel)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_weights_member_over_the_limit_is_not_inflated(tmp_path, monkeypatch, nothing_read):
    monkeypatch.setattr(model_file, "MAX_WEIGHTS_BYTES", 2**20)
    path = hostile_inputs.write_model(
        str(tmp_path / "bomb.keras"),
        hostile_inputs.digit_model(),
        hostile_inputs.dense_variables((784, 10)),
        compression=zipfile.ZIP_DEFLATED,
        weights_padding=8 * 2**20,
    )
    message, peak = refusal(path)
    assert "model.weights.h5 would inflate" in message and peak < 2**20


def test_compressed_weights_are_inflated_on_disk_not_in_memory(tmp_path):
    padding = 64 * 2**20
    path = hostile_inputs.write_model(
        str(tmp_path / "compressed.keras"),
        hostile_inputs.digit_model(),
        hostile_inputs.dense_variables((784, 10)),
        compression=zipfile.ZIP_DEFLATED,
        weights_padding=padding,
    )
    tracemalloc.start()
    try:
        predictor = inference.load_predictor(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(predictor, inference.NumpyModel)
    assert peak < padding // 8


@pytest.mark.parametrize(
    ("limit", "value", "reason"),
    [("MAX_HDF5_OBJECTS", 3, "objects"), ("MAX_ATTRIBUTE_BYTES", 2, "too large"), ("MAX_ATTRIBUTES", 0, "attributes")],
)
def test_weights_files_with_too_many_or_too_large_objects_are_refused(
    limit, value, reason, tmp_path, monkeypatch, nothing_read
):
    monkeypatch.setattr(model_file, limit, value)
    path = hostile_inputs.valid_model(str(tmp_path / "m.keras"))
    message, _ = refusal(path)
    assert reason in message


def reshape_model(target_shape):
    """Input -> Reshape(target_shape) -> Flatten -> Dense(10, softmax), a model the NumPy path reads."""
    model_config = hostile_inputs.digit_model()
    reshape = hostile_inputs.keras_layer("Reshape", "reshape", (28, 28), target_shape=list(target_shape))
    model_config["config"]["layers"].insert(1, reshape)
    return model_config


def test_a_shape_whose_size_overflows_int64_is_refused(tmp_path, nothing_read):
    # NumPy's product of (2**61 + 49, 16) wraps around to 784, the size of the input: the reshape
    # would pass a size check done in int64, and fail on the first image.
    path = hostile_inputs.write_model(str(tmp_path / "m.keras"), reshape_model((2**61 + 49, 16)))
    with pytest.raises(inference.UnsupportedModelError, match="values per image"):
        inference.NumpyModel.from_file(path)
    message, _ = refusal(path)
    assert f"target_shape={2**61 + 49}" in message


def test_a_zero_stride_is_unsupported_rather_than_a_crash(tmp_path, nothing_read):
    model_config = reshape_model((28, 28, 1))
    convolution = hostile_inputs.keras_layer(
        "Conv2D",
        "conv2d",
        (28, 28, 1),
        filters=2,
        kernel_size=[3, 3],
        strides=[0, 0],
        padding="valid",
        data_format="channels_last",
        dilation_rate=[1, 1],
        groups=1,
        activation="linear",
        use_bias=False,
    )
    model_config["config"]["layers"].insert(2, convolution)
    path = hostile_inputs.write_model(str(tmp_path / "m.keras"), model_config)
    with pytest.raises(inference.UnsupportedModelError, match="conv2d"):
        inference.NumpyModel.from_file(path)


def test_nesting_depth_counts_lists_and_dicts():
    assert model_file.nesting_depth(3) == 0
    assert model_file.nesting_depth([]) == 1
    assert model_file.nesting_depth({"a": [1, {"b": []}], "c": {}}) == 4


def test_a_config_nested_just_within_the_limit_is_parsed(tmp_path):
    depth = model_file.MAX_CONFIG_DEPTH - 5
    path = hostile_inputs.write_model(str(tmp_path / "m.keras"), None, config_text=hostile_inputs.nested_config(depth))
    with zipfile.ZipFile(path) as archive:
        parsed = model_file.read_config(path, archive)
    assert model_file.nesting_depth(parsed) == model_file.MAX_CONFIG_DEPTH
    too_deep = hostile_inputs.write_model(
        str(tmp_path / "deep.keras"), None, config_text=hostile_inputs.nested_config(depth + 1)
    )
    with zipfile.ZipFile(too_deep) as archive, pytest.raises(model_file.ModelFileError, match="nested"):
        model_file.read_config(too_deep, archive)


def lstm_model(keras):
    """Rows of the image as a sequence, read by an LSTM: its recurrent weights are units x units."""
    size = config.IMAGE_SIZE
    return keras.Sequential(
        [keras.Input((size, size)), keras.layers.LSTM(96), keras.layers.Dense(config.NUM_CLASSES, activation="softmax")]
    )


def attention_model(keras):
    size = config.IMAGE_SIZE
    inputs = keras.Input((size, size))
    attended = keras.layers.MultiHeadAttention(num_heads=4, key_dim=16)(inputs, inputs)
    outputs = keras.layers.Dense(config.NUM_CLASSES, activation="softmax")(keras.layers.Flatten()(attended))
    return keras.Model(inputs, outputs)


KERAS_MODELS = {
    "default-mlp": lambda keras: models.build_mlp(config.MLPConfig()),
    "default-cnn": lambda keras: models.build_cnn(config.CNNConfig()),
    "lstm": lstm_model,
    "attention": attention_model,
}


@pytest.mark.parametrize("name", sorted(KERAS_MODELS))
def test_keras_checks_accept_real_models_and_estimate_high(name, tmp_path):
    keras = keras_import.import_keras()
    model = KERAS_MODELS[name](keras)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with model_file.open_model(path) as (model_config, _):
        estimate = model_file.check_keras_config(path, model_config)
    assert model.count_params() <= estimate <= config.MAX_PARAMETERS


def test_the_bench_runs_each_case_in_a_fresh_process(tmp_path, capsys):
    hostile_inputs.main(["--out", str(tmp_path), "--cases", "nan_weights", "eps_named_png"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    runs, summary = lines[:-1], lines[-1]
    assert [(line["case"], line["script"]) for line in runs] == [
        ("baseline", "recognize.py"),
        ("baseline", "evaluate.py"),
        ("nan_weights", "recognize.py"),
        ("nan_weights", "evaluate.py"),
        ("eps_named_png", "recognize.py"),
    ]
    assert all(line["exit_code"] == 0 and line["as_expected"] for line in runs[:2])
    assert all(line["exit_code"] == 2 and line["as_expected"] for line in runs[2:])
    assert all(0 < line["peak_mb"] for line in runs)
    assert summary["runs"] == summary["as_expected"] == 3 and summary["all_met"]


def test_the_bench_runs_as_a_script():
    # As its docstring says: from the project root, with the package importable (pip install -e .).
    environment = dict(os.environ, PYTHONPATH=str(hostile_inputs.PROJECT_ROOT))
    completed = subprocess.run(
        [sys.executable, "bench/hostile_inputs.py", "--help"],
        cwd=hostile_inputs.PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--cases" in completed.stdout


def test_a_weights_file_with_names_that_are_not_utf8_is_damaged(tmp_path, nothing_read):
    path = hostile_inputs.valid_model(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    # The group names live in HDF5's heap as plain bytes: one invalid UTF-8 byte damages them.
    members[model_file.WEIGHTS_MEMBER] = members[model_file.WEIGHTS_MEMBER].replace(b"dense_1", b"dens\xb3_1")
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    message, _ = refusal(path)
    assert "damaged" in message


def test_reading_a_stored_member_past_its_end_gives_nothing(tmp_path):
    path = hostile_inputs.valid_model(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo(model_file.WEIGHTS_MEMBER)
    with model_file.StoredMember(path, member) as stream:
        assert stream.read(8) == b"\x89HDF\r\n\x1a\n"
        # A damaged HDF5 file can ask for an address no file offset can hold.
        stream.seek(2**70)
        assert stream.readinto(bytearray(8)) == 0


def test_a_variable_with_a_dtype_attribute_is_refused_unread(tmp_path, nothing_read):
    # Keras reads this attribute (its bfloat16 mark), a variable-length string: HDF5 can loop forever
    # reading one from a damaged file, so it never gets that far.
    def mark(weights):
        weights["layers/dense/vars/0"].attrs["dtype"] = "bfloat16"

    path = hostile_inputs.write_model(
        str(tmp_path / "m.keras"), hostile_inputs.digit_model(), hostile_inputs.dense_variables((784, 10)), mark
    )
    message, _ = refusal(path)
    assert "dtype attribute" in message


def test_a_keras_only_model_with_the_wrong_outputs_is_refused_before_keras_is_imported(tmp_path, monkeypatch):
    """A LayerNormalization model (only Keras runs it) ending in Dense(3): refused from its config alone."""
    layers = [
        {"class_name": "InputLayer", "config": {"name": "input_layer", "batch_shape": [None, 28, 28]}},
        {"class_name": "Flatten", "config": {"name": "flatten"}},
        {"class_name": "LayerNormalization", "config": {"name": "layer_normalization", "axis": [-1]}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 3, "activation": "softmax", "use_bias": True}},
    ]
    monkeypatch.setattr(keras_import, "import_keras", lambda: pytest.fail("Keras was imported"))
    with pytest.raises(model_file.ModelFileError, match=r"outputs of shape \(3,\)"):
        model_file.check_keras_config(
            str(tmp_path / "m.keras"), {"class_name": "Sequential", "config": {"layers": layers}}
        )
