"""Recognition end to end: MNIST digits from files, composed numbers, no-digit images, the CLI and its errors."""

import json
import os
import re

import numpy as np
import PIL.Image
import pytest

import recognize
from number_recognition import data
from number_recognition.reading import inference
from number_recognition.reading import model_file
from number_recognition.reading import recognition


@pytest.fixture(scope="module")
def mnist_test(mnist_npz):
    _, (x_test, y_test) = data.load_mnist(mnist_npz)
    return x_test, y_test


def test_mnist_digits_saved_as_png_keep_their_accuracy(trained_model, mnist_test, tmp_path):
    """1,000 test digits through files and preprocessing score within 0.5 points of Keras on the arrays."""
    model_path, _ = trained_model
    x_test, y_test = mnist_test[0][:1000], mnist_test[1][:1000]
    keras_accuracy = np.mean(
        model_file.load_keras_model(model_path).predict(data.to_inputs(x_test), verbose=0).argmax(1) == y_test
    )
    paths = []
    for index, image in enumerate(x_test):
        paths.append(tmp_path / f"{index:04d}.png")
        PIL.Image.fromarray(image).save(paths[-1])
    results = list(recognition.recognize_many(paths, inference.load_predictor(model_path)))
    file_accuracy = np.mean([result.prediction == str(label) for result, label in zip(results, y_test)])
    assert file_accuracy >= keras_accuracy - 0.005, (file_accuracy, keras_accuracy)


def compose_number(digits, rng):
    """Paste MNIST digits side by side on a white page, with random sizes, gaps and baselines."""
    height = int(rng.integers(40, 120))
    pieces = []
    for digit in digits:
        rows, columns = np.nonzero(digit > 30)
        crop = digit[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
        scale = height * rng.uniform(0.85, 1.1) / crop.shape[0]
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        pieces.append(np.asarray(PIL.Image.fromarray(crop).resize(size, PIL.Image.Resampling.BICUBIC)))
    gaps = [int(rng.integers(max(3, height // 12), height // 2)) for _ in pieces]
    page = np.zeros((2 * height, sum(piece.shape[1] for piece in pieces) + sum(gaps) + 40), np.uint8)
    left = 20
    for piece, gap in zip(pieces, gaps):
        top = height // 2 + int(rng.integers(-height // 10, height // 10 + 1))
        page[top : top + piece.shape[0], left : left + piece.shape[1]] = np.maximum(
            page[top : top + piece.shape[0], left : left + piece.shape[1]], piece
        )
        left += piece.shape[1] + gap
    return 255 - page


def test_numbers_of_2_to_6_mnist_digits_are_read_exactly(trained_model, mnist_test, tmp_path):
    model_path, _ = trained_model
    predictor = inference.load_predictor(model_path)
    x_test, y_test = mnist_test
    # Digits the model reads right on their own, so a wrong string can only come from segmentation.
    readable = np.flatnonzero(predictor.predict(data.to_inputs(x_test[:3000])).argmax(axis=1) == y_test[:3000])
    rng = np.random.default_rng(0)
    correct, total = 0, 0
    for length in range(2, 7):
        for _ in range(8):
            chosen = rng.choice(readable, size=length, replace=False)
            path = tmp_path / f"number_{total}.png"
            PIL.Image.fromarray(compose_number(x_test[chosen], rng)).save(path)
            result = recognition.recognize(str(path), predictor)
            expected = "".join(str(label) for label in y_test[chosen])
            correct += result.prediction == expected
            total += 1
            assert len(result.digits) == length, (expected, result.prediction)
    assert correct / total >= 0.95, f"{correct} of {total} numbers read exactly"


def blank_images():
    rng = np.random.default_rng(0)
    speck = np.full((300, 300), 255, np.uint8)
    speck[150:152, 40:42] = 0
    dot = np.full((300, 300), 255, np.uint8)
    dot[100:112, 100:112] = 0
    return {
        "white": np.full((200, 300), 255, np.uint8),
        "black": np.zeros((64, 64), np.uint8),
        "grey": np.full((50, 80, 3), 128, np.uint8),
        "faint noise": (200 + rng.normal(0, 4, (240, 320))).clip(0, 255).astype(np.uint8),
        "speck": speck,
        "dot": dot,
        "transparent": np.zeros((100, 100, 4), np.uint8),
    }


@pytest.mark.parametrize("name", list(blank_images()))
def test_images_without_a_digit_give_no_prediction(name, small_model, tmp_path, capsys):
    path = tmp_path / f"{name.replace(' ', '_')}.png"
    PIL.Image.fromarray(blank_images()[name]).save(path)
    result = recognition.recognize(str(path), inference.load_predictor(small_model))
    assert result.prediction is None and result.confidence is None and result.digits == []
    recognize.main([str(path), "--model", small_model])
    assert capsys.readouterr().out == f"{path}: no digit found\n"


def test_arrays_and_files_give_the_same_result(small_model, tmp_path):
    image = np.full((80, 60), 255, np.uint8)
    image[10:70, 27:33] = 0
    path = tmp_path / "one.png"
    PIL.Image.fromarray(image).save(path)
    predictor = inference.load_predictor(small_model)
    from_file, from_array = recognition.recognize(str(path), predictor), recognition.recognize(image, predictor)
    assert from_array.path is None and from_file.path == str(path)
    assert from_file.as_json()["digits"] == from_array.as_json()["digits"]
    assert from_file.digits[0].box == (27, 10, 33, 70)


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name, columns in (("b_two.png", [(10, 16), (40, 46)]), ("a_one.png", [(10, 16)])):
        image = np.full((60, 60), 255, np.uint8)
        for left, right in columns:
            image[8:52, left:right] = 0
        PIL.Image.fromarray(image).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_cli_reads_folders_in_sorted_order_with_confidence(image_folder, small_model, capsys):
    recognize.main([str(image_folder), "--model", small_model, "--top", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(image_folder / "a_one.png"), str(image_folder / "b_two.png")]
    assert re.fullmatch(r".*a_one\.png: \d\?? \(\d+\.\d%\)  top 2: \d \d+\.\d%, \d \d+\.\d%", lines[0]), lines[0]
    assert "(min " in lines[1] and lines[1].count("|") == 1


def test_cli_json_lines_hold_every_field(image_folder, small_model, capsys):
    recognize.main([str(image_folder / "b_two.png"), "--model", small_model, "--json"])
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"path", "model", "prediction", "confidence", "uncertain", "digits"}
    assert result["model"] == small_model
    assert len(result["prediction"]) == 2 and 0.0 <= result["confidence"] <= 1.0
    assert result["confidence"] == min(digit["confidence"] for digit in result["digits"])
    assert [digit["box"] for digit in result["digits"]] == [[10, 8, 16, 52], [40, 8, 46, 52]]
    for digit in result["digits"]:
        assert set(digit) == {"digit", "confidence", "uncertain", "probabilities", "box"}
        assert len(digit["probabilities"]) == 10 and abs(sum(digit["probabilities"]) - 1) < 1e-4
        assert digit["digit"] == int(np.argmax(digit["probabilities"]))


def test_cli_single_reads_the_whole_image_as_one_digit(image_folder, small_model, capsys):
    recognize.main([str(image_folder / "b_two.png"), "--model", small_model, "--json", "--single"])
    result = json.loads(capsys.readouterr().out)
    assert len(result["digits"]) == 1 and result["digits"][0]["box"] == [10, 8, 46, 52]


def test_cli_saves_the_inputs_the_model_saw_apart_per_image(image_folder, small_model, tmp_path, capsys):
    out = tmp_path / "seen"
    (image_folder / "again").mkdir()
    PIL.Image.open(image_folder / "a_one.png").save(image_folder / "again" / "b_two.png")
    recognize.main(
        [str(image_folder / "b_two.png"), str(image_folder / "again"), "--model", small_model, "--save-input", str(out)]
    )
    assert sorted(os.listdir(out)) == ["0001-b_two", "0002-b_two"]
    assert sorted(os.listdir(out / "0001-b_two")) == ["input1.png", "input2.png", "probabilities.png"]
    assert sorted(os.listdir(out / "0002-b_two")) == ["input1.png", "probabilities.png"]
    with PIL.Image.open(out / "0001-b_two" / "input1.png") as image:
        assert image.size == (28, 28)
    with PIL.Image.open(out / "0001-b_two" / "probabilities.png") as image:
        assert image.format == "PNG" and image.size[1] > 300
    assert f"to {out / '0002-b_two'}" in capsys.readouterr().err


def bad_inputs(folder):
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not pixels")
    full = folder / "full.png"
    PIL.Image.new("L", (300, 300), 255).save(full)
    (folder / "truncated.png").write_bytes(full.read_bytes()[:60])
    (folder / "empty_folder").mkdir()
    return ["missing.png", "empty.png", "text.png", "truncated.png", "empty_folder"]


def test_cli_reports_each_bad_input_in_one_line_and_goes_on(image_folder, small_model, tmp_path, capsys):
    names = bad_inputs(tmp_path)
    paths = [str(tmp_path / name) for name in names]
    with pytest.raises(SystemExit) as stopped:
        recognize.main(paths + [str(image_folder / "a_one.png"), "--model", small_model])
    assert stopped.value.code == 1
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert len(errors) == len(names) and "Traceback" not in captured.err
    named = sorted(line.split(": ")[1] for line in errors)
    assert named == sorted(str(tmp_path / name) for name in names)
    assert all(line.startswith("error: ") and len(line.split(": ")) >= 3 for line in errors)
    assert captured.out.startswith(str(image_folder / "a_one.png"))


def test_cli_exits_2_when_nothing_could_run(image_folder, small_model, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        recognize.main([str(tmp_path / "missing.png"), "--model", small_model])
    assert stopped.value.code == 2
    for model in (tmp_path / "absent.keras", image_folder / "notes.txt"):
        with pytest.raises(SystemExit) as stopped:
            recognize.main([str(image_folder), "--model", str(model)])
        assert stopped.value.code == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and "no model at" in errors[1] and "notes.txt" in errors[2]


class JoinJudge:
    """A stand-in model: fairly sure of each piece (0.6) and, asked about one joined piece, sure or not."""

    def __init__(self, joined_confidence):
        self.joined_confidence = joined_confidence

    def predict(self, images):
        confidence = self.joined_confidence if len(images) == 1 else 0.6
        probabilities = np.full((len(images), 10), (1 - confidence) / 9, np.float32)
        probabilities[:, 4] = confidence
        return probabilities


@pytest.mark.parametrize("joined_confidence, expected_digits", [(0.95, 1), (0.7, 2)])
def test_close_pieces_are_joined_only_when_read_better_as_one(joined_confidence, expected_digits):
    image = np.full((100, 120), 255, np.uint8)
    image[20:70, 30:36] = 0  # the left stroke and bar of an open 4...
    image[64:70, 30:58] = 0
    image[15:90, 62:68] = 0  # ...and its right stroke, a few pixels away
    inputs, boxes = recognition.prepare(image, predictor=JoinJudge(joined_confidence))
    assert len(inputs) == expected_digits
    assert boxes == ([(30, 15, 68, 90)] if expected_digits == 1 else [(30, 20, 58, 70), (62, 15, 68, 90)])
    far_apart = np.full((100, 160), 255, np.uint8)
    far_apart[20:70, 30:36] = 0
    far_apart[64:70, 30:58] = 0
    far_apart[15:90, 110:116] = 0
    assert len(recognition.prepare(far_apart, predictor=JoinJudge(joined_confidence))[0]) == 2
