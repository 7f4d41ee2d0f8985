"""The accuracy benches run end to end on tiny data and print the figures they promise."""

import json

import accuracy
import convnet_choices
import jitter
import mlp_choices
import pytest

from number_recognition import augmentation
from number_recognition import config
from number_recognition import data
from number_recognition.reading import inference


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_accuracy_bench_measures_the_mlp_next_to_the_seed(tiny_npz, capsys):
    accuracy.main(["--data", tiny_npz, "--epochs", "1"])
    seed, project = json_lines(capsys.readouterr().out)
    assert seed["model"].startswith("seed MLP 128-64") and project["model"].startswith("project plain")
    for line in (project, seed):
        assert 0.0 <= line["test_accuracy"] <= 1.0 and line["fit_seconds"] > 0 and line["epochs"] == 1
    assert seed["parameters"] == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert seed["ratio_to_baseline"] == 1.0
    assert project["parameters"] == config.MLPConfig().parameter_count()


def test_accuracy_bench_times_both_convnets_against_the_keras_io_anchor(tiny_npz, capsys):
    accuracy.main(["--data", tiny_npz, "--arch", "cnn", "--epochs", "1", "--runs", "plain", "augmented"])
    anchor, plain, augmented = json_lines(capsys.readouterr().out)
    # The keras.io convnet: 32 and 64 3x3 filters with biases, then 5x5x64 features into the softmax.
    assert anchor["parameters"] == (9 * 32 + 32) + (9 * 32 * 64 + 64) + (1600 * 10 + 10)
    assert "--augment" not in plain["model"] and "--augment" in augmented["model"]
    for line in (plain, augmented):
        assert line["parameters"] == config.CNNConfig().parameter_count()
        # Both seconds are rounded to a tenth before they are printed, the ratio is not.
        assert line["ratio_to_baseline"] == pytest.approx(line["fit_seconds"] / anchor["fit_seconds"], rel=0.1)


def test_convnet_choices_bench_trains_each_candidate_as_configured(tiny_npz, capsys):
    convnet_choices.main(["--data", tiny_npz, "--epochs", "1", "--candidates", "default", "two_wide_blocks"])
    anchor, default, wide = json_lines(capsys.readouterr().out)
    assert [line["name"] for line in (anchor, default, wide)] == ["anchor", "default", "two_wide_blocks"]
    assert default["parameters"] == config.CNNConfig().parameter_count()
    assert wide["parameters"] == config.CNNConfig(blocks=((32,), (64,))).parameter_count()
    assert all(0.0 <= line["val_accuracy"] <= 1.0 and line["epochs"] == 1 for line in (anchor, default, wide))


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
