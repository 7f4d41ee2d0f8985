"""The command line of ``recognize.py`` (also installed as the ``recognize-digits`` command).

It lives in the package so that an installed copy works from any folder; ``recognize.py`` at the
project root only calls ``main``. Every image answers once: a line (or a JSON object) on stdout as
soon as it is read, or its error on stderr (and as ``{"path", "error"}`` with ``--json``).
"""

import json
import os
import sys

import numpy as np
import PIL.Image

from number_recognition import cli
from number_recognition import files
from number_recognition.reading import decode
from number_recognition.reading import inference
from number_recognition.reading import model_file
from number_recognition.reading import recognition


def parse_arguments(argv):
    parser = cli.parser("Read the digit, or the whole number, in your own images.")
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="image files, or folders of images (read in sorted order)"
    )
    parser.add_argument(
        "--model",
        metavar="PATH",
        default=None,
        help=f"the .keras model (default: {model_file.MODEL_ORDER})",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=0,
        choices=range(11),
        metavar="K",
        help="also show the K (0 to 10) most probable digits of each digit",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per image (JSON Lines)")
    parser.add_argument("--single", action="store_true", help="read the whole image as one digit, without splitting it")
    parser.add_argument(
        "--save-input",
        metavar="DIR",
        default=None,
        help="save the 28x28 inputs the model saw and a chart of their probabilities, in a folder per image inside DIR",
    )
    return parser.parse_args(argv)


def format_line(reading, top):
    """The human-readable line for one reading, e.g. 'year.png: 2024 (min 91.2%)'."""
    if reading.prediction is None:
        return f"{reading.path}: no digit found"
    quantifier = "" if len(reading.digits) == 1 else "min "
    # A '?' follows each digit the model is unsure of: '20?4' asks the reader to check the 0.
    digits = "".join(f"{digit.digit}?" if digit.uncertain else str(digit.digit) for digit in reading.digits)
    line = f"{reading.path}: {digits} ({quantifier}{reading.confidence:.1%})"
    if top:
        ranked = []
        for digit in reading.digits:
            order = np.argsort(-digit.probabilities, kind="stable")[:top]
            ranked.append(", ".join(f"{candidate} {digit.probabilities[candidate]:.1%}" for candidate in order))
        line += f"  top {top}: " + " | ".join(ranked)
    return line


def save_inputs(reading, folder):
    """Write each 28x28 input as a PNG and one chart of inputs and probabilities into ``folder``."""
    try:
        # Plotting (matplotlib) is imported only here, so recognition without --save-input starts fast
        # and works in the light install.
        from number_recognition import plots
    except ImportError:
        raise files.OutputPathError("--save-input draws charts with matplotlib: pip install matplotlib") from None
    os.makedirs(folder, exist_ok=True)
    for index, image in enumerate(reading.inputs, start=1):
        PIL.Image.fromarray(np.round(image * 255).astype(np.uint8)).save(os.path.join(folder, f"input{index}.png"))
    if reading.digits:
        probabilities = np.array([digit.probabilities for digit in reading.digits])
        title = f"{os.path.basename(reading.path)}: read as {reading.prediction}"
        plots.recognition_inputs(reading.inputs, probabilities, title, os.path.join(folder, "probabilities.png"))


def input_folder(root, index, path):
    """A folder of its own for the ``index``-th image, named so that two images never share one."""
    stem = os.path.splitext(os.path.basename(path))[0] or "image"
    return os.path.join(root, f"{index:04d}-{stem}")


def run(arguments):
    """Read every image the arguments name and print each answer; return the exit code."""
    if arguments.save_input:
        files.check_output_folder(arguments.save_input)
    predictor = inference.load_predictor(arguments.model or model_file.default_model_path())
    if predictor.path == model_file.BUNDLED_MODEL and not arguments.json:
        print(model_file.BUNDLED_NOTICE, file=sys.stderr)
    sources, failures, successes = [], 0, 0

    def report_error(path, message):
        print(f"error: {path}: {message}", file=sys.stderr)
        if arguments.json:
            print(json.dumps({"path": path, "error": message}), flush=True)

    for path in arguments.paths:
        try:
            sources.extend(recognition.image_paths(path))
        except decode.ImageError as error:
            report_error(path, str(error))
            failures += 1
    for index, reading in enumerate(recognition.recognize_many(sources, predictor, single=arguments.single), start=1):
        if reading.error is not None:
            report_error(reading.path, reading.error)
            failures += 1
            continue
        successes += 1
        print(json.dumps(reading.as_json()) if arguments.json else format_line(reading, arguments.top), flush=True)
        if arguments.save_input:
            folder = input_folder(arguments.save_input, index, reading.path)
            save_inputs(reading, folder)
            print(f"saved what the model saw in {reading.path} to {folder}", file=sys.stderr)
    # 0: every image read; 1: some read and some failed; 2: nothing could be read at all.
    if failures:
        return 1 if successes else 2
    return 0


def main(argv=None):
    arguments = parse_arguments(argv)
    with cli.reporting_errors():
        exit_code = run(arguments)
    if exit_code:
        raise SystemExit(exit_code)
