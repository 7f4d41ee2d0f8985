"""The accuracy benches run end to end on tiny data and print the figures they promise."""

import json

import accuracy
import jitter
import mlp_choices

from number_recognition import augmentation
from number_recognition import data
from number_recognition.reading import inference


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_accuracy_bench_measures_the_project_model_and_the_seed(tiny_npz, capsys):
    accuracy.main(["--data", tiny_npz, "--epochs", "1"])
    project, seed = json_lines(capsys.readouterr().out)
    assert project["model"].startswith("project mlp") and seed["model"].startswith("seed MLP 128-64")
    for line in (project, seed):
        assert 0.0 <= line["test_accuracy"] <= 1.0 and line["fit_seconds"] > 0 and line["epochs"] == 1
    assert seed["parameters"] == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert project["parameters"] > seed["parameters"]


def test_jitter_bench_scores_clean_and_jittered_test_sets(tiny_npz, small_model, capsys):
    jitter.main(["--data", tiny_npz, "--model", small_model, small_model])
    lines = json_lines(capsys.readouterr().out)
    assert len(lines) == 2 and lines[0] == lines[1]
    assert lines[0]["test_samples"] == 80
    # The bench's figures are the predictor's own accuracy on the same arrays, recomputed here.
    _, (x_test, y_test) = data.load_mnist(tiny_npz)
    predictor = inference.load_predictor(small_model)
    clean = data.to_inputs(x_test)
    expected = float((predictor.predict(clean).argmax(1) == y_test).mean())
    jittered = float((predictor.predict(augmentation.jittered_test_set(clean)).argmax(1) == y_test).mean())
    assert lines[0]["test_accuracy"] == round(expected, 4)
    assert lines[0]["jittered_test_accuracy"] == round(jittered, 4)


def test_mlp_choices_bench_scores_every_candidate_on_validation(tiny_npz, capsys):
    mlp_choices.main(["--data", tiny_npz, "--epochs", "1", "--limit", "100"])
    lines = json_lines(capsys.readouterr().out)
    assert len(lines) == len(mlp_choices.CANDIDATES)
    assert all(0.0 <= line["best_validation_accuracy"] <= 1.0 and line["best_epoch"] == 1 for line in lines)
