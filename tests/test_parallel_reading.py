"""Many sources read by the pool of processes give what reading them one by one gives, in the same order.

The pool is used only in a process without Keras (forking one that runs a Keras backend could hang),
and this test session imports Keras, so the reading runs in a fresh process (``READ_SCRIPT``).
"""

import json
import os
import subprocess
import sys

import numpy as np
import PIL.Image
import PIL.ImageDraw
import pytest

from number_recognition.reading import recognition

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-6

# Run as ``python -c READ_SCRIPT MODEL FOLDER KILL``: reads every file of FOLDER, then the first file's
# bytes and pixels, once with the pool and once without, and prints both as JSON with the number of
# other processes that read sources. With KILL set, the pixels come as a source that kills any
# process but this one.
READ_SCRIPT = """
import gc
import json
import os
import sys

import numpy as np
import pytest
import PIL.Image

from number_recognition.reading import inference
from number_recognition.reading import recognition


class DiesInWorkers:
    # A source that ends any process but the one that made it, as a crash in a decoder would.
    def __init__(self, pixels):
        self.pixels = pixels
        self.parent = os.getpid()

    def __array__(self, dtype=None, copy=None):
        if os.getpid() != self.parent:
            os._exit(1)
        return self.pixels


# Each reading records the process that prepared and predicted it, which the pool sends back with it,
# and how many objects that process held out of garbage collection.
predict_pending = recognition._predict_pending


def recorded_predict(pending, predictor):
    for reading in predict_pending(pending, predictor):
        reading.read_by = os.getpid()
        reading.frozen = gc.get_freeze_count()
        yield reading


recognition._predict_pending = recorded_predict
model, folder, kill = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
predictor = inference.load_predictor(model)
paths = sorted(os.path.join(folder, name) for name in os.listdir(folder))
pixels = np.asarray(PIL.Image.open(paths[0]))
sources = paths + [open(paths[0], "rb").read(), DiesInWorkers(pixels) if kill else pixels]


def summary(reading):
    digits = [[digit.box[:], digit.probabilities.tolist()] for digit in reading.digits]
    return {"path": reading.path, "error": reading.error, "prediction": reading.prediction, "digits": digits}


readings = list(recognition.recognize_many(sources, predictor))
pooled = [summary(reading) for reading in readings]
processes = len({reading.read_by for reading in readings} - {os.getpid()})
in_pool = [reading.frozen for reading in readings if reading.read_by != os.getpid()]
frozen = {"in_pool": min(in_pool, default=0), "after": gc.get_freeze_count()}
recognition.POOL_MIN_SOURCES = len(sources) + 1
alone = [summary(reading) for reading in recognition.recognize_many(sources, predictor)]
print(json.dumps({"pooled": pooled, "alone": alone, "processes": processes, "frozen": frozen}))
"""


def read_both_ways(model, folder, kill=False):
    finished = subprocess.run(
        [sys.executable, "-c", READ_SCRIPT, model, str(folder), "1" if kill else "0"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


def write_folder(folder, count, seed=0):
    """Enough sources for the pool: ``count`` drawn strokes (a 1 or a 0) as PNGs, then one file that is no image."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for index in range(count):
        picture = PIL.Image.new("L", (48, 48), 255)
        draw = PIL.ImageDraw.Draw(picture)
        left, top = (int(value) for value in rng.integers(4, 14, 2))
        if index % 2:
            draw.ellipse((left, top, left + 20, top + 28), outline=0, width=4)
        else:
            draw.line((left + 10, top, left + 10, top + 28), fill=0, width=4)
        picture.save(folder / f"{index:03d}.png")
    (folder / "999-not-an-image.png").write_bytes(b"not a png")


def assert_same_readings(pooled, alone):
    assert [reading["path"] for reading in pooled] == [reading["path"] for reading in alone]
    for with_pool, without in zip(pooled, alone):
        assert (with_pool["error"], with_pool["prediction"]) == (without["error"], without["prediction"])
        assert [box for box, _ in with_pool["digits"]] == [box for box, _ in without["digits"]]
        for (_, pooled_probabilities), (_, probabilities) in zip(with_pool["digits"], without["digits"]):
            assert np.abs(np.subtract(pooled_probabilities, probabilities)).max() <= TOLERANCE


def expected_processes():
    cores = len(os.sched_getaffinity(0))
    return cores if cores >= 2 else 0


def test_the_pool_reads_a_folder_as_one_process_would(small_model, tmp_path):
    count = recognition.POOL_MIN_SOURCES + 6
    write_folder(tmp_path / "folder", count)
    result = read_both_ways(small_model, tmp_path / "folder")
    assert result["processes"] == expected_processes()
    # The pool's processes were forked with the objects of this one held out of garbage collection
    # (gc.freeze), and this one collects them again once the pool has ended.
    assert (result["frozen"]["in_pool"] > 0) == (expected_processes() > 0)
    assert result["frozen"]["after"] == 0
    pooled = result["pooled"]
    assert len(pooled) == count + 3
    assert all(reading["prediction"] is not None for reading in pooled[:count])
    assert pooled[count]["error"] and pooled[count]["path"].endswith("999-not-an-image.png")
    # The first file, read from its path, its bytes and its pixels, gives one reading.
    assert pooled[0]["digits"] == pooled[-2]["digits"] == pooled[-1]["digits"]
    assert_same_readings(pooled, result["alone"])


def test_sources_of_a_pool_process_that_died_are_read_by_the_parent(small_model, tmp_path):
    write_folder(tmp_path / "folder", recognition.POOL_MIN_SOURCES + 6)
    result = read_both_ways(small_model, tmp_path / "folder", kill=True)
    # How many processes read a source before one died depends on timing: at least one did.
    assert min(1, expected_processes()) <= result["processes"] <= expected_processes()
    assert all(reading["error"] is None for reading in result["pooled"][-2:])
    assert_same_readings(result["pooled"], result["alone"])


def test_a_reader_that_stops_early_ends_the_command_quietly(small_model, tmp_path):
    write_folder(tmp_path / "folder", 2)
    # More JSON lines than a pipe's buffer holds, so the command is still writing when the reader goes.
    image = str(tmp_path / "folder" / "000.png")
    process = subprocess.Popen(
        [sys.executable, "recognize.py", "--json", "--model", small_model] + [image] * 400,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=PROJECT_ROOT,
    )
    assert json.loads(process.stdout.readline())["path"] == image
    process.stdout.close()  # as `recognize.py ... | head -1` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 1
    assert "Traceback" not in stderr


# Run as ``python -c BLAS_SCRIPT PACKAGE``: imports PACKAGE, then NumPy, and prints the environment's
# OpenBLAS setting, the most threads any BLAS library NumPy loaded will use, and the user's own setting
# as the package recorded it.
BLAS_SCRIPT = """
import importlib, os, sys
importlib.import_module(sys.argv[1])
import numpy, threadpoolctl
from number_recognition import reading
threads = max(info["num_threads"] for info in threadpoolctl.threadpool_info())
print(os.environ.get("OPENBLAS_NUM_THREADS"), threads, reading.USER_OPENBLAS_THREADS)
"""


@pytest.mark.parametrize("package", ["number_recognition.reading", "number_recognition.web"])
@pytest.mark.parametrize("setting", [None, "2"])
def test_reading_multiplies_on_one_blas_thread_unless_the_user_says_otherwise(package, setting):
    environment = {name: value for name, value in os.environ.items() if name != "OPENBLAS_NUM_THREADS"}
    if setting is not None:
        environment["OPENBLAS_NUM_THREADS"] = setting
    finished = subprocess.run(
        [sys.executable, "-c", BLAS_SCRIPT, package], capture_output=True, text=True, cwd=PROJECT_ROOT, env=environment
    )
    assert finished.returncode == 0, finished.stderr
    variable, threads, recorded = finished.stdout.split()
    if setting is None:
        assert (variable, threads, recorded) == ("1", "1", "None")
    else:
        assert variable == recorded == setting
