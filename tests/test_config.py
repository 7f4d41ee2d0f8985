"""The training configs: their size estimate against Keras, and settings that cannot train refused once."""

import pytest

import train
from number_recognition import config
from number_recognition import models


@pytest.mark.parametrize(
    "architecture, overrides",
    [
        ("mlp", {}),
        ("mlp", {"hidden_units": (64, 32, 16)}),
        ("cnn", {}),
        ("cnn", {"blocks": ((32,), (64,))}),
        ("cnn", {"blocks": ((32, 32), (64, 64)), "dense_units": 64}),
        ("cnn", {"blocks": ((8,), (8,), (8,), (8,))}),
    ],
)
def test_parameter_count_is_what_keras_builds(architecture, overrides):
    settings = config.make_config(architecture, **overrides)
    assert settings.parameter_count() == models.build_model(settings).count_params()


@pytest.mark.parametrize(
    "architecture, overrides, message",
    [
        ("mlp", {"epochs": 0}, "epochs must be a positive whole number"),
        ("mlp", {"shift_pixels": -1}, "shift_pixels must be a whole number from 0 to 5"),
        ("cnn", {"shift_pixels": 9}, "shift_pixels must be a whole number from 0 to 5"),
        ("cnn", {"blocks": ()}, "blocks must be 1 to 4 non-empty lists"),
        ("cnn", {"blocks": ((16,), ())}, "blocks must be 1 to 4 non-empty lists"),
        ("cnn", {"blocks": ((16,),) * 5}, "blocks must be 1 to 4 non-empty lists"),
        ("cnn", {"dense_units": 0}, "dense_units must be a positive whole number"),
        ("cnn", {"blocks": ((4096,),)}, "parameters, more than the 50,000,000"),
        ("mlp", {"hidden_units": (100_000,)}, "parameters, more than the 50,000,000"),
        ("cnn", {"hidden_units": (64,)}, "hidden_units does not apply to the cnn"),
    ],
)
def test_settings_that_cannot_train_are_refused(architecture, overrides, message):
    with pytest.raises(ValueError, match=message):
        config.make_config(architecture, **overrides)


def test_the_shift_flag_sets_the_config_and_a_bad_one_is_a_usage_error(tiny_npz, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--data", tiny_npz, "--shift", "7", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--shift must be a whole number from 0 to 5, got 7" in capsys.readouterr().err
