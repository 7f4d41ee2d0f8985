"""How fast recognize.py reads digits, against plain Keras: start-up time, peak memory and throughput.

Every measurement runs in a fresh Python process, so that imports and model loading count as a user
feels them, and ``os.wait4`` gives that child's wall time, its peak resident memory (the largest of
its processes) and the CPU seconds of it and its pool of processes. Linux keeps a process's peak RSS
across ``exec``, so a child forked straight from this script (which holds MNIST and maybe Keras)
would report this script's size; each child is therefore started and timed by a small helper process
(``MEASURE_SCRIPT``), whose own few megabytes are all a child can inherit. The four runs are

- ``single``: ``python recognize.py digit.png --model M``;
- ``keras_single``: a script that imports Keras, loads M and predicts one image read with Pillow;
- ``folder``: ``python recognize.py FOLDER --model M`` over N MNIST test digits saved as PNGs;
- ``keras_folder``: the same N images through one Keras ``predict`` in one process.

Throughput after start-up is N / (folder seconds - single seconds), and the same for Keras. The
script prints one JSON line per measurement, one with the ratios against Keras, and one saying
whether the targets hold: one image within 0.3 s and 150 MB, a folder at 1,500 images/s or more with
the convnet and 2,500 with the MLP. The machine's load average is printed too: other work on the
same cores slows every run, and the CPU seconds show how much of a run was its own work. Children
may cache compiled modules (``PYTHONDONTWRITEBYTECODE`` is dropped from their environment), as an
installed package does.
"""

import json
import os
import pathlib
import subprocess
import sys

import PIL.Image

from number_recognition import cli
from number_recognition import config
from number_recognition import data
from number_recognition import models
from number_recognition import reading
from number_recognition.reading import model_file

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
RECOGNIZE_SCRIPT = PROJECT_ROOT / "recognize.py"
SINGLE_SECONDS_TARGET = 0.3
SINGLE_MEGABYTES_TARGET = 150
# Per architecture: the convnet's forward pass costs about as much as preparing the image.
FOLDER_IMAGES_PER_SECOND_TARGETS = {"mlp": 2500, "cnn": 1500}

# The baseline a user would write without this project: plain Keras, Pillow's resize, one predict.
# It is run with ``python -c`` and takes the model and then the image paths as arguments.
KERAS_SCRIPT = f"""
import sys
import numpy
import PIL.Image
import keras

model = keras.models.load_model(sys.argv[1])
size = ({config.IMAGE_SIZE}, {config.IMAGE_SIZE})
pictures = [PIL.Image.open(path).convert("L").resize(size) for path in sys.argv[2:]]
images = numpy.stack([numpy.asarray(picture, dtype="float32") / 255 for picture in pictures])
print(model.predict(images, verbose=0).argmax(axis=1))
"""


# Run as ``python -c MEASURE_SCRIPT STDOUT_FILE STDERR_FILE COMMAND...``: starts COMMAND with its
# output in the two files, and prints its wall seconds, peak RSS, CPU seconds and exit code as JSON.
# The output goes to files rather than pipes: a child printing a line per image would otherwise fill
# the pipe and block while its parent waits for it. The CPU seconds of wait4 include those of the
# child's own children that it waited for, such as its pool of processes.
MEASURE_SCRIPT = """
import json, os, subprocess, sys, time

with open(sys.argv[1], "wb") as stdout, open(sys.argv[2], "wb") as stderr:
    start = time.perf_counter()
    process = subprocess.Popen(sys.argv[3:], stdout=stdout, stderr=stderr)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
# Linux reports ru_maxrss in kilobytes.
exit_code = os.waitstatus_to_exitcode(status)
measured = {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime}
print(json.dumps({**measured, "exit_code": exit_code}))
"""


def parse_arguments(argv):
    # The first paragraph of the docstring; argparse would run the list of runs together.
    parser = cli.parser(__doc__.split("\n\n")[0])
    cli.add_data_argument(parser)
    parser.add_argument(
        "--arch",
        choices=config.ARCHITECTURES,
        default=config.DEFAULT_ARCHITECTURE,
        help="the architecture of the model to time, which sets the folder's target",
    )
    parser.add_argument(
        "--model",
        metavar="PATH",
        default=None,
        help="the .keras model to time, of the --arch architecture; by default an untrained one is built and "
        "saved in --out (as fast as a trained one, though preprocessing that consults the model may try more splits)",
    )
    parser.add_argument(
        "--images", type=int, default=1000, metavar="N", help="number of MNIST test digits in the timed folder"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        metavar="T",
        help="set OPENBLAS_NUM_THREADS=T in every child (1 helps a lot on a busy machine); "
        "by default the environment is left alone",
    )
    parser.add_argument(
        "--repeats", type=int, default=1, metavar="R", help="run each measurement R times and keep the fastest run"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=os.path.join(config.OUTPUT_DIR, "recognition_speed"),
        help="folder for the work files: the default model, the PNG digits and each run's output",
    )
    arguments = parser.parse_args(argv)
    if min(arguments.images, arguments.repeats, arguments.blas_threads or 1) < 1:
        parser.error("--images, --repeats and --blas-threads must be at least 1")
    return arguments


def write_digits(x_test, count, folder):
    """Save the first ``count`` test digits as PNGs in ``folder``; return the folder's PNG paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for index, image in enumerate(x_test[:count]):
        path = os.path.join(folder, f"digit_{index:05d}.png")
        PIL.Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def default_model(architecture, folder):
    """Build and save an untrained model of ``architecture``; its forward pass costs what a trained one's does."""
    path = os.path.join(folder, f"untrained_{architecture}.keras")
    models.build_model(config.make_config(architecture)).save(path)
    return path


def run_child(name, command, folder, environment):
    """Run ``command`` in a fresh process through the helper; return its measured figures and exit code."""
    output, errors = os.path.join(folder, f"{name}.out"), os.path.join(folder, f"{name}.err")
    report = subprocess.run(
        [sys.executable, "-c", MEASURE_SCRIPT, output, errors] + command,
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(report.stdout)
    return measured.pop("exit_code"), measured


def measure(name, command, folder, repeats, environment):
    """The fastest of ``repeats`` runs of ``command`` as a result dict, or one with the child's error."""
    runs = []
    for _ in range(repeats):
        exit_code, measured = run_child(name, command, folder, environment)
        if exit_code != 0:
            error_lines = pathlib.Path(folder, f"{name}.err").read_text(errors="replace").strip().splitlines()
            return {"name": name, "error": f"exit code {exit_code}: {error_lines[-1] if error_lines else 'no message'}"}
        runs.append(measured)
    fastest = min(runs, key=lambda run: run["seconds"])
    return {
        "name": name,
        "seconds": round(fastest["seconds"], 3),
        "cpu_seconds": round(fastest["cpu_seconds"], 3),
        "peak_mb": round(max(run["peak_mb"] for run in runs), 1),
    }


def add_throughput(folder_result, single_result, count):
    """Set ``images_per_s`` of a folder run, its images over the time it took beyond start-up, and its CPU ms per image.

    The CPU milliseconds per image (beyond start-up, all processes) hardly change with other work on
    the machine, unlike the rate: on 2 cores, 1,500 images/s needs at most 1.33 ms per image.
    """
    if "seconds" not in folder_result or "seconds" not in single_result:
        return
    extra_seconds = folder_result["seconds"] - single_result["seconds"]
    # On a busy machine the folder can finish faster than the single run; no rate is meaningful then.
    folder_result["images_per_s"] = round(count / extra_seconds, 1) if extra_seconds > 0 else None
    extra_cpu_seconds = folder_result["cpu_seconds"] - single_result["cpu_seconds"]
    folder_result["cpu_ms_per_image"] = round(1000 * extra_cpu_seconds / count, 3)


def ratio(numerator, denominator):
    """``numerator / denominator`` rounded, or None when either is missing."""
    return round(numerator / denominator, 3) if numerator is not None and denominator else None


def summary_lines(results, count, arguments):
    """The ratios against Keras and the verdict on the targets, as two dicts."""
    single, keras_single, folder, keras_folder = (
        results[name] for name in ("single", "keras_single", "folder", "keras_folder")
    )
    folder_target = FOLDER_IMAGES_PER_SECOND_TARGETS[arguments.arch]
    ratios = {
        "name": "ratios_vs_keras",
        "single_seconds": ratio(single.get("seconds"), keras_single.get("seconds")),
        "single_peak_mb": ratio(single.get("peak_mb"), keras_single.get("peak_mb")),
        "folder_seconds": ratio(folder.get("seconds"), keras_folder.get("seconds")),
        "folder_images_per_s": ratio(folder.get("images_per_s"), keras_folder.get("images_per_s")),
    }
    targets = {
        "name": "targets",
        f"single_within_{SINGLE_SECONDS_TARGET}_s": single["seconds"] <= SINGLE_SECONDS_TARGET
        if "seconds" in single
        else None,
        f"single_within_{SINGLE_MEGABYTES_TARGET}_mb": single["peak_mb"] <= SINGLE_MEGABYTES_TARGET
        if "peak_mb" in single
        else None,
        f"folder_at_least_{folder_target}_images_per_s": (
            folder["images_per_s"] >= folder_target if folder.get("images_per_s") is not None else None
        ),
        "architecture": arguments.arch,
        "images": count,
        "blas_threads": arguments.blas_threads,
        # Other work on the same cores slows every run: the 1-minute load average at the end, this
        # bench's own runs included.
        "load_average": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
    }
    return ratios, targets


def main(argv=None):
    arguments = parse_arguments(argv)
    # The children run in the project root, so every path handed to them must be absolute.
    out = os.path.abspath(arguments.out)
    os.makedirs(out, exist_ok=True)
    if not RECOGNIZE_SCRIPT.is_file():
        cli.fail(f"{RECOGNIZE_SCRIPT} does not exist yet: nothing to time")
    try:
        _, (x_test, _) = data.load_mnist(arguments.data)
    except data.DataError as error:
        cli.fail(str(error))
    if arguments.images > len(x_test):
        cli.fail(f"--images {arguments.images} is more than the {len(x_test)} MNIST test digits")
    model = os.path.abspath(arguments.model) if arguments.model else default_model(arguments.arch, out)
    try:
        model_file.check_model_file(model)
    except model_file.ModelFileError as error:
        cli.fail(str(error))
    # One folder per count, so that a folder left by a larger earlier run is never timed as this one.
    digits = write_digits(x_test, arguments.images, os.path.join(out, f"digits_{arguments.images}"))
    single_digit = digits[0]

    commands = {
        "single": [sys.executable, str(RECOGNIZE_SCRIPT), single_digit, "--model", model],
        "keras_single": [sys.executable, "-c", KERAS_SCRIPT, model, single_digit],
        "folder": [sys.executable, str(RECOGNIZE_SCRIPT), os.path.dirname(single_digit), "--model", model],
        "keras_folder": [sys.executable, "-c", KERAS_SCRIPT, model] + digits,
    }
    environment = dict(os.environ)
    # Python caches compiled modules unless told not to, as some sandboxes and containers do; a user's
    # installed package (pip compiles it) starts from the cache, and so does every run here but the first.
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    # Importing the reading package set OpenBLAS to one thread in this process; the children start
    # from the environment the user gave (recognize.py then sets it again itself, plain Keras not).
    if reading.USER_OPENBLAS_THREADS is None:
        environment.pop("OPENBLAS_NUM_THREADS", None)
    if arguments.blas_threads:
        environment["OPENBLAS_NUM_THREADS"] = str(arguments.blas_threads)
    results = {}
    for name, command in commands.items():
        results[name] = measure(name, command, out, arguments.repeats, environment)
    add_throughput(results["folder"], results["single"], arguments.images)
    add_throughput(results["keras_folder"], results["keras_single"], arguments.images)
    for result in results.values():
        print(json.dumps(result))
    for line in summary_lines(results, arguments.images, arguments):
        print(json.dumps(line))
    if any("error" in result for result in results.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
