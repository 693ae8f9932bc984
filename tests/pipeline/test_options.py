"""edge-kit accepts every trainer/converter option: ``--config FILE.toml`` and ``--set SECTION.NAME=VALUE``."""
from __future__ import annotations

import re

import pytest

from pipeline.cli import build_parser, config_from_args, main
from pipeline.options import parse_set, read_config_file
from pipeline.state import PipelineError


def test_toml_and_set_map_onto_the_configs_and_flags_win(tmp_path):
    cfg_file = tmp_path / "run.toml"
    cfg_file.write_text('[train]\nfine_tune_epochs = 30\nlabel_smoothing = 0.05\nfine_tune_blocks = 6\n'
                        '[convert]\ncalibration_size = 400\nint8_io = "int8"\n')
    args = build_parser().parse_args(["photos", "-o", "runs/x", "--config", str(cfg_file), "--set",
                                      "train.dropout=0.3", "--set", "train.fine_tune_epochs=40", "--epochs", "50"])
    config = config_from_args(args)
    assert config.train_options == {"fine_tune_epochs": 50, "label_smoothing": 0.05, "fine_tune_blocks": 6,
                                    "dropout": 0.3}
    assert config.convert_options == {"calibration_size": 400, "int8_io": "int8"}


def test_values_are_read_as_toml_or_bare_strings():
    assert parse_set(["train.augment=false", "train.crop=stretch", "convert.model_name='my model'"]) == (
        {"augment": False, "crop": "stretch"}, {"model_name": "my model"})


@pytest.mark.parametrize("text,expected", [
    ("[train]\nfine_tune_epoch = 3\n", "unknown train option(s) fine_tune_epoch; valid: "),
    ("[training]\nx = 1\n", "unknown section [training]"),
    ("[train]\nalpha = 0.5\n", "alpha set with edge-kit's own flags (--alpha"),
    ("fine_tune_epochs = 3\n", "put options under [train] or [convert]"),
    ("[train\n", "not a readable TOML file"),
])
def test_mistakes_are_named(tmp_path, text, expected):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(PipelineError, match=re.escape(expected)):
        read_config_file(str(f))


def test_a_bad_option_is_a_usage_error_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["photos", "-o", str(tmp_path / "run"), "--set", "train.nope=1", "--stage", "classify"])
    assert exc.value.code == 2 and "unknown train option(s) nope" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("toml, message", [
    ('[train]\nfine_tune_epochs = "two"\n', "fine_tune_epochs='two' must be a whole number"),
    ("[train]\nfine_tune_epochs = 2.7\n", "fine_tune_epochs=2.7 must be a whole number"),
    ("[train]\nfine_tune_epochs = true\n", "fine_tune_epochs=True must be a whole number, not true/false"),
    ("[train]\nfine_tune_learning_rate = nan\n", "fine_tune_learning_rate=nan must be a finite number"),
    ("[train]\nseed = -1\n", "seed=-1 must be from 0 to 4294967295"),
])
def test_toml_values_are_checked_by_type_and_range(tmp_path, photos_dir, toml, message, capsys):
    config = tmp_path / "run.toml"
    config.write_text(toml)
    rc = main([str(photos_dir), "-o", str(tmp_path / "run"), "--weights", "none", "--config", str(config),
               "--no-export"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("item, message", [
    ("train.seed=abc", "seed='abc' must be a whole number"),
    ("train.fine_tune_learning_rate=inf", "fine_tune_learning_rate=inf must be a finite number"),
    ("train.fine_tune_learning_rate=nan", "fine_tune_learning_rate=nan must be a finite number"),
])
def test_set_values_are_checked_by_type_and_range(tmp_path, photos_dir, item, message, capsys):
    rc = main([str(photos_dir), "-o", str(tmp_path / "run"), "--weights", "none", "--set", item, "--no-export"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("item, message", [
    ("convert.calibration_size=abc", "calibration_size='abc' must be a whole number"),
    ("convert.qat_learning_rate=nan", "qat_learning_rate=nan must be a finite number"),
    ("convert.seed=-1", "seed=-1 must be from 0 to 4294967295"),
])
def test_converter_options_are_checked_by_type_and_range(tmp_path, photos_dir, item, message, capsys):
    from tests.pipeline.helpers import write_synthetic_run

    out = write_synthetic_run(tmp_path / "run", photos_dir)
    rc = main(["-o", str(out), "--stage", "convert", "--set", item, "--no-export", "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
