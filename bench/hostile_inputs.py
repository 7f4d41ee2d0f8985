"""Hostile model files and images, each run through recognize.py (and evaluate.py): exit code, first line, memory.

Every model case is a ``.keras`` archive written by hand with zipfile and h5py, so that it declares
whatever the case needs while staying a few kilobytes on disk: a 2 GiB kernel never written, a layer
500,000 wide, an HDF5 dataset whose data is /etc/passwd, a config.json nested 100,000 deep, a zip
member that claims to inflate to 2 GiB... Every image case is a file a careless or hostile user could
pass: a PNG chunk claiming 4 GB, a LAB TIFF, PostScript named .png, a 30000x30000 header, a FIFO,
/dev/zero, files and folders without read permission (which root reads anyway: those lines then say
"skipped: running as root").

Each case runs in a fresh process through ``recognition_speed.run_child``, which measures the child's
own peak resident memory with ``os.wait4``. One JSON line per run: case, script, exit code, first
stderr line, peak MB, and whether that line gives the expected reason. The first runs are the
baseline: a valid model reading a digit, and evaluating on a tiny test set. The last line says
whether every hostile run ended with exit code 2 and one ``error:`` line, within ``MAX_PEAK_MB``.

    python bench/hostile_inputs.py                 # every case, in a temporary folder
    python bench/hostile_inputs.py --cases nan_weights fifo --out /tmp/hostile
"""

import json
import math
import os
import pathlib
import re
import struct
import sys
import tempfile
import zipfile
import zlib

import h5py
import numpy as np
import PIL.Image
import recognition_speed

from number_recognition import cli
from number_recognition import config
from number_recognition.reading import model_file

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = {name: str(PROJECT_ROOT / name) for name in ("recognize.py", "evaluate.py")}
# What issue 9 asks of every refusal.
MAX_PEAK_MB = 300
SIZE = config.IMAGE_SIZE
# The weights member of the zip-bomb case inflates to this much, more than model_file.MAX_WEIGHTS_BYTES.
BOMB_BYTES = model_file.MAX_WEIGHTS_BYTES + 100 * 2**20


# --- Models, written the way Keras 3 writes them -------------------------------------------------


def keras_layer(class_name, name, input_shape=None, **options):
    """One layer's entry in a Keras 3 ``config.json``; ``input_shape`` (without the batch) goes to its build_config."""
    entry = {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {"name": name, "trainable": True, "dtype": "float32", **options},
        "registered_name": None,
    }
    if input_shape is not None:
        entry["build_config"] = {"input_shape": [None, *input_shape]}
    return entry


def digit_model(hidden=(), input_shape=(SIZE, SIZE), classes=10, activation="softmax", normalize=False):
    """The config of Input -> Flatten -> [LayerNormalization] -> Dense(relu) per hidden width -> Dense(classes).

    Layers are named as Keras names their weight groups (``dense``, ``dense_1``, ...). The NumPy path
    does not implement LayerNormalization, so ``normalize=True`` makes a model only Keras runs.
    """
    layers = [
        keras_layer("InputLayer", "input_layer", batch_shape=[None, *input_shape]),
        keras_layer("Flatten", "flatten", input_shape, data_format="channels_last"),
    ]
    width = math.prod(input_shape)
    if normalize:
        layers.append(keras_layer("LayerNormalization", "layer_normalization", (width,), axis=[-1], epsilon=1e-3))
    for index, units in enumerate(tuple(hidden) + (classes,)):
        last = index == len(hidden)
        layers.append(
            keras_layer(
                "Dense",
                dense_name(index),
                (width,),
                units=units,
                activation=activation if last else "relu",
                use_bias=True,
            )
        )
        width = units
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "trainable": True, "dtype": "float32", "layers": layers},
        "registered_name": None,
    }


def dense_name(index):
    return "dense" if index == 0 else f"dense_{index}"


def dense_variables(widths, seed=0):
    """Small random kernels and biases for Dense layers mapping ``widths[0]`` -> ... -> ``widths[-1]``."""
    rng = np.random.default_rng(seed)
    return {
        dense_name(index): [
            rng.normal(0, 0.05, (fan_in, fan_out)).astype(np.float32),
            np.zeros(fan_out, np.float32),
        ]
        for index, (fan_in, fan_out) in enumerate(zip(widths, widths[1:]))
    }


def write_weights(path, variables=(), edit=None):
    """Write an HDF5 weights file: ``layers/<name>/vars/<index>`` per variable, then ``edit(file)`` if given."""
    with h5py.File(path, "w") as weights:
        for stored_name, arrays in dict(variables).items():
            group = weights.create_group(f"layers/{stored_name}/vars")
            group.attrs["name"] = stored_name
            for index, array in enumerate(arrays):
                group.create_dataset(str(index), data=array)
        if edit is not None:
            edit(weights)


def write_model(
    path,
    model_config,
    variables=(),
    edit_weights=None,
    config_text=None,
    compression=zipfile.ZIP_STORED,
    weights_padding=0,
):
    """Write a ``.keras`` archive: metadata.json, config.json (``config_text`` if given) and model.weights.h5.

    ``compression`` applies to every member; ``weights_padding`` zero bytes follow
    the HDF5 data (HDF5 ignores them), which makes a compressed member inflate far beyond its size.
    """
    with tempfile.TemporaryDirectory() as folder:
        weights_path = os.path.join(folder, model_file.WEIGHTS_MEMBER)
        write_weights(weights_path, variables, edit_weights)
        with zipfile.ZipFile(path, "w", compression=compression, compresslevel=1) as archive:
            archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "hostile"}))
            text = config_text if config_text is not None else json.dumps(model_config)
            archive.writestr(model_file.CONFIG_MEMBER, text)
            with (
                open(weights_path, "rb") as source,
                archive.open(model_file.WEIGHTS_MEMBER, "w", force_zip64=weights_padding > 2**30) as member,
            ):
                member.write(source.read())
                block = bytes(2**20)
                for start in range(0, weights_padding, len(block)):
                    member.write(block[: weights_padding - start])
    return path


def set_declared_size(path, member, size):
    """Make the zip's headers claim that ``member`` inflates to ``size`` bytes, its data unchanged."""
    content = bytearray(pathlib.Path(path).read_bytes())
    with zipfile.ZipFile(path) as archive:
        local_header = archive.getinfo(member).header_offset
    # The uncompressed size is at offset 22 of the local header and 24 of the central directory
    # entry, whose name (length at offset 28) starts at offset 46 (PKWARE APPNOTE 4.3.7, 4.3.12).
    struct.pack_into("<I", content, local_header + 22, size)
    for match in re.finditer(b"PK\x01\x02", content):
        start = match.start()
        name_length = struct.unpack_from("<H", content, start + 28)[0]
        if content[start + 46 : start + 46 + name_length] == member.encode():
            struct.pack_into("<I", content, start + 24, size)
    pathlib.Path(path).write_bytes(content)
    return path


def valid_model(path):
    """A small model both paths accept: Flatten -> Dense(32, relu) -> Dense(10, softmax)."""
    return write_model(path, digit_model((32,)), dense_variables((SIZE * SIZE, 32, 10)))


def _declared_dataset(shape, **options):
    """An ``edit_weights`` that declares the first layer's kernel with ``shape``, never writing it."""

    def edit(weights):
        group = weights.require_group("layers/dense/vars")
        group.attrs["name"] = "dense"
        group.create_dataset("0", shape=shape, dtype=np.float32, **options)

    return edit


def _gzip_dataset_with_one_chunk(weights):
    _declared_dataset((16_384, 16_384), chunks=(1024, 1024), compression="gzip")(weights)
    weights["layers/dense/vars/0"][:1024, :1024] = 1.0


def _tiny_dataset_in_a_huge_chunk(weights):
    group = weights.create_group("layers/dense/vars")
    group.attrs["name"] = "dense"
    kernel = group.create_dataset(
        "0", shape=(SIZE * SIZE, 10), maxshape=(None, None), chunks=(4096, 4096), dtype=np.float32, compression="gzip"
    )
    kernel[...] = 0.01
    group.create_dataset("1", data=np.zeros(10, np.float32))


def _virtual_dataset(weights):
    layout = h5py.VirtualLayout(shape=(SIZE * SIZE, 10), dtype=np.float32)
    layout[...] = h5py.VirtualSource("/etc/passwd", "data", shape=(SIZE * SIZE, 10))
    group = weights.create_group("layers/dense/vars")
    group.attrs["name"] = "dense"
    group.create_virtual_dataset("0", layout, fillvalue=0)


def _alias(weights):
    weights["alias_of_the_kernel"] = weights["layers/dense/vars/0"]


def _external_link(weights):
    weights["layers/dense"] = h5py.ExternalLink("/etc/passwd", "/")


def _with_layer_config(model_config, index, **changes):
    model_config["config"]["layers"][index]["config"].update(changes)
    return model_config


def _nan_variables():
    variables = dense_variables((SIZE * SIZE, 10))
    variables["dense"][0][3, 4] = np.nan
    return variables


def _many_members(path):
    valid_model(path)
    with zipfile.ZipFile(path, "a") as archive:
        for index in range(2000):
            archive.writestr(f"assets/{index}", b"")
    return path


def _npz_weights(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(model_file.CONFIG_MEMBER, json.dumps(digit_model()))
        archive.writestr(model_file.NPZ_WEIGHTS_MEMBER, b"PK")
    return path


def nested_config(depth):
    """A config.json whose one layer's config holds lists nested ``depth`` deep (5 more levels hold those)."""
    nested = "[" * depth + "]" * depth
    return (
        '{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": '
        + nested
        + "}}]}}"
    )


FLAT = SIZE * SIZE
# Each model case: (function writing the file at a path, words its refusal must contain). Cases whose
# build is slow (the zip bomb inflates to 900 MB) are marked by SLOW_CASES; tests skip only those.
MODEL_CASES = {
    "dense_500000_missing_weights": (
        lambda path: write_model(path, digit_model((500_000,))),
        "units=500000",
    ),
    "dense_500000_small_weights": (
        lambda path: write_model(path, digit_model((500_000,)), dense_variables((FLAT, 16, 10))),
        "units=500000",
    ),
    "unwritten_2gib_kernel": (
        lambda path: write_model(path, digit_model((684_785,)), edit_weights=_declared_dataset((FLAT, 684_785))),
        "bytes of variables",
    ),
    "gzip_1gib_dataset": (
        lambda path: write_model(path, digit_model(), edit_weights=_gzip_dataset_with_one_chunk),
        "bytes of variables",
    ),
    "tiny_dataset_in_a_64mb_chunk": (
        lambda path: write_model(path, digit_model(), edit_weights=_tiny_dataset_in_a_huge_chunk),
        "chunks",
    ),
    "config_declares_2gib": (
        lambda path: set_declared_size(valid_model(path), model_file.CONFIG_MEMBER, 2**31),
        "config.json would inflate",
    ),
    "config_bomb_declaring_1kb": (
        lambda path: set_declared_size(
            write_model(
                path,
                None,
                dense_variables((FLAT, 10)),
                config_text=json.dumps(digit_model()) + " " * 64 * 2**20,
                compression=zipfile.ZIP_DEFLATED,
            ),
            model_file.CONFIG_MEMBER,
            1000,
        ),
        "CRC",
    ),
    "weights_declare_2gib": (
        lambda path: set_declared_size(valid_model(path), model_file.WEIGHTS_MEMBER, 2**31),
        "model.weights.h5 would inflate",
    ),
    "weights_bomb_declaring_1kb": (
        lambda path: set_declared_size(
            write_model(
                path,
                digit_model(),
                dense_variables((FLAT, 10)),
                compression=zipfile.ZIP_DEFLATED,
                weights_padding=64 * 2**20,
            ),
            model_file.WEIGHTS_MEMBER,
            1000,
        ),
        "CRC",
    ),
    "weights_bomb_900mb": (
        lambda path: write_model(
            path,
            digit_model(),
            dense_variables((FLAT, 10)),
            compression=zipfile.ZIP_DEFLATED,
            weights_padding=BOMB_BYTES,
        ),
        "model.weights.h5 would inflate",
    ),
    "external_storage_etc_passwd": (
        lambda path: write_model(
            path,
            digit_model(),
            edit_weights=_declared_dataset((FLAT, 10), external=[("/etc/passwd", 0, h5py.h5f.UNLIMITED)]),
        ),
        "external file '/etc/passwd'",
    ),
    "virtual_dataset": (
        lambda path: write_model(path, digit_model(), edit_weights=_virtual_dataset),
        "virtual dataset",
    ),
    "external_link": (
        lambda path: write_model(path, digit_model(), edit_weights=_external_link),
        "link to another file",
    ),
    "kernel_with_two_names": (
        lambda path: write_model(path, digit_model(), dense_variables((FLAT, 10)), edit_weights=_alias),
        "reachable by 2 names",
    ),
    "json_nested_100000_deep": (
        lambda path: write_model(path, None, config_text=nested_config(100_000)),
        "nested more than",
    ),
    "config_is_a_list": (
        lambda path: write_model(path, None, config_text="[]"),
        "does not describe a model",
    ),
    "config_of_the_model_is_a_string": (
        lambda path: write_model(path, {"class_name": "Sequential", "config": "layers"}),
        "does not describe a model",
    ),
    "layers_is_a_string": (
        lambda path: write_model(path, {"class_name": "Sequential", "config": {"layers": "dense"}}),
        "not layer configs",
    ),
    "layer_is_a_number": (
        lambda path: write_model(path, {"class_name": "Sequential", "config": {"layers": [1, 2]}}),
        "not layer configs",
    ),
    "units_is_a_string": (
        lambda path: write_model(path, _with_layer_config(digit_model(), 2, units="ten"), dense_variables((FLAT, 10))),
        "units='ten'",
    ),
    "dtype_is_not_a_policy": (
        lambda path: write_model(
            path, _with_layer_config(digit_model(), 2, dtype={"config": "float32"}), dense_variables((FLAT, 10))
        ),
        "dtype=",
    ),
    "batch_shape_is_a_string": (
        lambda path: write_model(
            path, _with_layer_config(digit_model(), 0, batch_shape="28x28"), dense_variables((FLAT, 10))
        ),
        "batch_shape=",
    ),
    "nan_weights": (
        lambda path: write_model(path, digit_model(), _nan_variables()),
        "NaN",
    ),
    "linear_last_layer": (
        lambda path: write_model(path, digit_model(activation="linear"), dense_variables((FLAT, 10))),
        "not a softmax",
    ),
    "three_classes": (
        lambda path: write_model(path, digit_model(classes=3), dense_variables((FLAT, 3))),
        "not 10 digits",
    ),
    "input_32x32": (
        lambda path: write_model(path, digit_model(input_shape=(32, 32)), dense_variables((32 * 32, 10))),
        "(32, 32)",
    ),
    "keras_only_dense_500000": (
        lambda path: write_model(path, digit_model((500_000,), normalize=True)),
        "units=500000",
    ),
    "keras_only_input_32x32": (
        lambda path: write_model(path, digit_model(input_shape=(32, 32), normalize=True)),
        "(32, 32)",
    ),
    "keras_only_30_layers_8192_wide": (
        lambda path: write_model(path, digit_model((8192,) * 30, normalize=True)),
        "would hold about",
    ),
    "archive_of_2000_members": (_many_members, "members"),
    "npz_weights": (_npz_weights, "model.weights.npz"),
}
SLOW_CASES = ("weights_bomb_900mb",)


# --- Images ---------------------------------------------------------------------------------------


def digit_image():
    """A black 1 on white, as a person would draw it: the valid image of the baseline and the model cases."""
    pixels = np.full((40, 40), 255, np.uint8)
    pixels[6:34, 18:23] = 0
    return PIL.Image.fromarray(pixels)


def digit_png(path):
    digit_image().save(path)
    return path


def png_chunk(kind, data, length=None):
    """One PNG chunk; ``length`` overrides the true data length (the CRC stays that of the data)."""
    return (
        struct.pack(">I", len(data) if length is None else length)
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data))
    )


def png_header(width, height):
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))


def _write(path, content):
    pathlib.Path(path).write_bytes(content)
    return path


def _lab_tiff(path):
    digit_image().convert("RGB").convert("LAB").save(path)
    return path


def _fifo(path):
    os.mkfifo(path)
    return path


def _unreadable_file(path):
    digit_png(path)
    os.chmod(path, 0)
    return path


def _unreadable_folder(path):
    os.mkdir(path)
    digit_png(os.path.join(path, "digit.png"))
    os.chmod(path, 0)
    return path


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nnewpath 14 4 moveto 14 24 lineto stroke\nshowpage\n"
# Each image case: (file name, function writing it at a path, words its refusal must contain, or None
# for an image that must be read: a LAB TIFF is a real image, and once ended the run with a traceback).
IMAGE_CASES = {
    "png_chunk_claims_4gb": (
        "chunk.png",
        lambda path: _write(path, png_header(SIZE, SIZE) + png_chunk(b"IDAT", b"\x78\x9c", length=0xFFFFFFF0)),
        "damaged",
    ),
    "lab_tiff": ("lab.tif", _lab_tiff, None),
    "eps_named_png": ("eps.png", lambda path: _write(path, EPS), "not an image this program reads"),
    "png_header_30000x30000": (
        "huge.png",
        lambda path: _write(path, png_header(30_000, 30_000) + png_chunk(b"IEND", b"")),
        "megapixels",
    ),
    "fifo": ("fifo.png", _fifo, "not a regular file"),
    "dev_zero": (None, lambda path: "/dev/zero", "not a regular file"),
    "unreadable_file": ("unreadable.png", _unreadable_file, "permission"),
    "unreadable_folder": ("unreadable_folder", _unreadable_folder, "cannot list the folder"),
}
# Root reads files and folders whatever their permissions, so these cases prove nothing as root.
PERMISSION_CASES = ("unreadable_file", "unreadable_folder")


def write_tiny_mnist(path):
    """Ten blank test digits (and ten training ones) in Keras' mnist.npz layout: enough for evaluate.py."""
    images, labels = np.zeros((10, SIZE, SIZE), np.uint8), np.arange(10, dtype=np.uint8)
    np.savez(path, x_train=images, y_train=labels, x_test=images, y_test=labels)
    return path


# --- Running --------------------------------------------------------------------------------------


def run(case, script, arguments, folder, expected):
    """Run ``script`` with ``arguments`` in a fresh process; return the JSON-ready result line."""
    name = f"{case}.{script.removesuffix('.py')}"
    exit_code, measured = recognition_speed.run_child(
        name, [sys.executable, SCRIPTS[script]] + arguments, folder, dict(os.environ)
    )
    error_lines = pathlib.Path(folder, f"{name}.err").read_text(errors="replace").splitlines()
    first_line = error_lines[0] if error_lines else ""
    return {
        "case": case,
        "script": script,
        "exit_code": exit_code,
        "first_stderr_line": first_line[:300],
        "stderr_lines": len(error_lines),
        "peak_mb": round(measured["peak_mb"], 1),
        "expected_reason": expected,
        "gives_expected_reason": expected is None or expected.lower() in first_line.lower(),
    }


def answered_as_expected(result):
    """Within MAX_PEAK_MB, and either read (exit code 0, nothing on stderr) when no reason is expected, or
    refused: exit code 2 and one ``error:`` line giving the expected reason."""
    if result["expected_reason"] is None:
        return result["exit_code"] == 0 and result["stderr_lines"] == 0 and result["peak_mb"] <= MAX_PEAK_MB
    return (
        result["exit_code"] == 2
        and result["stderr_lines"] == 1
        and result["first_stderr_line"].startswith("error: ")
        and result["gives_expected_reason"]
        and result["peak_mb"] <= MAX_PEAK_MB
    )


def parse_arguments(argv):
    parser = cli.parser(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="folder for the hostile files and each run's output (default: a temporary folder)",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        metavar="CASE",
        choices=sorted(MODEL_CASES) + sorted(IMAGE_CASES),
        default=None,
        help="run only these cases (default: all); the baseline always runs",
    )
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    results = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = os.path.abspath(arguments.out or temporary)
        os.makedirs(folder, exist_ok=True)
        for result in run_cases(folder, arguments.cases):
            if "skipped" not in result:
                result["as_expected"] = answered_as_expected(result)
            print(json.dumps(result), flush=True)
            results.append(result)
    hostile = [result for result in results if result["case"] != "baseline" and "skipped" not in result]
    baseline = [result for result in results if result["case"] == "baseline"]
    missed = [f"{result['case']}.{result['script']}" for result in hostile if not result["as_expected"]]
    summary = {
        "summary": "hostile inputs",
        "runs": len(hostile),
        "as_expected": len(hostile) - len(missed),
        "not_as_expected": missed,
        "max_peak_mb": max((result["peak_mb"] for result in hostile), default=None),
        "baseline_peak_mb": {result["script"]: result["peak_mb"] for result in baseline},
        "target_peak_mb": MAX_PEAK_MB,
        "skipped": sorted(result["case"] for result in results if "skipped" in result),
        "all_met": not missed and all(result["as_expected"] for result in baseline),
    }
    print(json.dumps(summary))


def run_cases(folder, names=None):
    """Build and run the baseline and the chosen cases (all by default) in ``folder``; yield each result line."""
    model = valid_model(os.path.join(folder, "valid.keras"))
    digit = digit_png(os.path.join(folder, "digit.png"))
    npz = write_tiny_mnist(os.path.join(folder, "tiny_mnist.npz"))

    def evaluate_arguments(model_path, case):
        return ["--model", model_path, "--data", npz, "--out", os.path.join(folder, f"{case}.outputs")]

    yield run("baseline", "recognize.py", [digit, "--model", model], folder, None)
    yield run("baseline", "evaluate.py", evaluate_arguments(model, "baseline"), folder, None)
    for case, (build, expected) in MODEL_CASES.items():
        if names and case not in names:
            continue
        path = build(os.path.join(folder, f"{case}.keras"))
        yield run(case, "recognize.py", [digit, "--model", path], folder, expected)
        yield run(case, "evaluate.py", evaluate_arguments(path, case), folder, expected)
    locked = []
    try:
        for case, (file_name, build, expected) in IMAGE_CASES.items():
            if names and case not in names:
                continue
            path = build(os.path.join(folder, file_name) if file_name else None)
            if case in PERMISSION_CASES:
                locked.append(path)
                if os.access(path, os.R_OK):
                    yield {"case": case, "script": "recognize.py", "skipped": "running as root"}
                    continue
            yield run(case, "recognize.py", [path, "--model", model], folder, expected)
    finally:
        # Give back the permissions taken, so that the folder can be removed.
        for path in locked:
            os.chmod(path, 0o700)


if __name__ == "__main__":
    main()
