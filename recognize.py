"""Read the digit, or the whole number, in your own images: python recognize.py image.png [more images or folders]."""

import argparse
import json
import os
import sys

import numpy as np
import PIL.Image

from number_recognition import cli
from number_recognition import inference
from number_recognition import models
from number_recognition import preprocessing
from number_recognition import recognition


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=cli.HelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders of images (read in sorted order)")
    parser.add_argument("--model", metavar="PATH", default=cli.default_model_path(),
                        help="the .keras model (default: the convnet if trained, else the MLP)")
    parser.add_argument("--top", type=int, default=0, metavar="K", help="also show the K most probable digits of each digit")
    parser.add_argument("--json", action="store_true", help="print one JSON object per image (JSON Lines)")
    parser.add_argument("--single", action="store_true", help="read the whole image as one digit, without splitting it")
    parser.add_argument("--save-input", metavar="DIR", default=None,
                        help="save the 28x28 inputs the model saw and a chart of their probabilities here")
    arguments = parser.parse_args(argv)
    if not 0 <= arguments.top <= 10:
        parser.error("--top must be between 0 and 10")
    return arguments


def format_line(result, top):
    """The human-readable line for one result, e.g. 'year.png: 2024 (min 91.2%)'."""
    if result["prediction"] is None:
        return f"{result['path']}: no digit found"
    quantifier = "" if len(result["digits"]) == 1 else "min "
    line = f"{result['path']}: {result['prediction']} ({quantifier}{result['confidence']:.1%})"
    if top:
        ranked = []
        for digit in result["digits"]:
            order = sorted(range(10), key=lambda candidate: -digit["probabilities"][candidate])[:top]
            ranked.append(", ".join(f"{candidate} {digit['probabilities'][candidate]:.1%}" for candidate in order))
        line += f"  top {top}: " + " | ".join(ranked)
    return line


def save_inputs(result, folder):
    """Write each 28x28 input as a PNG and one chart of inputs and probabilities for the image."""
    # Plotting (matplotlib) is imported only here, so recognition without --save-input starts fast.
    from number_recognition import plots

    os.makedirs(folder, exist_ok=True)
    stem = os.path.splitext(os.path.basename(result["path"]))[0]
    for index, image in enumerate(result["inputs"], start=1):
        PIL.Image.fromarray(np.round(image * 255).astype(np.uint8)).save(os.path.join(folder, f"{stem}_input{index}.png"))
    if len(result["inputs"]):
        probabilities = np.array([digit["probabilities"] for digit in result["digits"]])
        title = f"{os.path.basename(result['path'])}: read as {result['prediction']}"
        plots.recognition_inputs(result["inputs"], probabilities, title, os.path.join(folder, f"{stem}_probabilities.png"))


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        predictor = inference.load_predictor(arguments.model)
    except models.ModelFileError as error:
        cli.fail(str(error))
    sources, failures, successes = [], 0, 0
    for path in arguments.paths:
        try:
            sources.extend(recognition.image_paths(path))
        except preprocessing.ImageError as error:
            print(f"error: {path}: {error}", file=sys.stderr)
            failures += 1
    for result in recognition.recognize_many(sources, predictor, single=arguments.single):
        if "error" in result:
            print(f"error: {result['path']}: {result['error']}", file=sys.stderr)
            failures += 1
            continue
        successes += 1
        print(json.dumps(recognition.as_json(result)) if arguments.json else format_line(result, arguments.top))
        if arguments.save_input:
            save_inputs(result, arguments.save_input)
    if failures:
        # 1: some images were read and some failed; 2: nothing could be read at all.
        raise SystemExit(1 if successes else 2)


if __name__ == "__main__":
    main()
