"""TrainConfig validation and the edge-train CLI (none of these train or import TF)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer import TrainConfig, TrainerError
from trainer.cli import build_parser, config_from_args, main


@pytest.mark.parametrize("kwargs, message", [
    ({"alpha": 0.4}, "alpha=0.4 is not available"),
    ({"size": 64}, "outside 96-224"),
    ({"size": 256}, "outside 96-224"),
    ({"val_split": 1.2}, "fraction"),
    ({"crop": "pad"}, "crop"),
    ({"fine_tune_blocks": 17}, "1-16"),
    ({"head_folds": 1}, "head_folds=1 is outside 2-20"),
    ({"fine_tune_views": 0}, "fine_tune_views=0 must be at least 1"),
    ({"fine_tune_epochs": -1}, "must be 0 or more"),
    ({"fine_tune_learning_rate": float("inf")}, "fine_tune_learning_rate=inf must be a finite number"),
    ({"seed": -1}, "seed=-1 must be from 0 to 4294967295"),
    ({"seed": 99999999999999999999999}, "seed=99999999999999999999999 must be from 0 to 4294967295"),
    ({"seed": "abc"}, "seed='abc' must be a whole number"),
    ({"fine_tune_epochs": "two"}, "fine_tune_epochs='two' must be a whole number"),
    ({"fine_tune_epochs": 2.7}, "fine_tune_epochs=2.7 must be a whole number"),
    ({"fine_tune_epochs": True}, "fine_tune_epochs=True must be a whole number, not true/false"),
    ({"augment": "yes"}, "augment='yes' must be true or false"),
    ({"max_latency_ms": float("nan")}, "max_latency_ms=nan must be a finite number"),
    ({"max_size_mb": 0}, "max_size_mb=0"),
])
def test_config_rejects_bad_values(kwargs, message: str) -> None:
    with pytest.raises(TrainerError, match=message):
        TrainConfig(data_dir="x", **kwargs)


def test_config_dict_has_preprocessing_and_round_trips() -> None:
    cfg = TrainConfig(data_dir="photos", size=160, weights="none")
    assert cfg.weights is None
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["preprocessing"]["height"] == 160 and data["preprocessing"]["crop"] == "center"
    assert TrainConfig.from_dict(data) == cfg


def test_cli_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    for expected in ("edge-train photos/ --out runs/flowers", "--weights", "offline", "no_top.h5", "--no-fine-tune",
                     "resume", "train/"):
        assert expected in text


def test_cli_arguments_map_to_config() -> None:
    args = build_parser().parse_args(["photos", "--out", "runs/x", "--alpha", "0.5", "--size", "128", "--weights",
                                      "none", "--no-fine-tune", "--seed", "7", "--epochs", "30"])
    cfg = config_from_args(args)
    assert (cfg.alpha, cfg.size, cfg.weights, cfg.fine_tune, cfg.seed, cfg.fine_tune_epochs) == (0.5, 128, None, False,
                                                                                                   7, 30)


def test_cli_reports_dataset_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "no such folder" in err and str(tmp_path / "missing") in err


@pytest.mark.parametrize("argv, message", [
    (["--learning-rate", "nan"], "fine_tune_learning_rate=nan must be a finite number"),
    (["--fine-tune-learning-rate", "inf"], "fine_tune_learning_rate=inf must be a finite number"),
    (["--seed", "-1"], "seed=-1 must be from 0 to 4294967295"),
    (["--seed", "99999999999999999999999"], "seed=99999999999999999999999 must be from 0 to 4294967295"),
])
def test_cli_numbers_are_checked_in_one_line_before_any_work(tmp_path: Path, photos_dir: Path, argv, message,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(photos_dir), "--out", str(tmp_path / "run"), "--weights", "none", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_skipped_photos_are_one_warning_line_not_a_python_warning(tmp_path: Path, photos_dir: Path, monkeypatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    import trainer.training
    from trainer.errors import SkippedFilesWarning

    def skipping(config, hooks=()):
        warnings.warn("skipped 1 file(s) that are not usable photos (listed in dataset.json):\n  a/b.jpg: empty",
                      SkippedFilesWarning, stacklevel=3)
        raise TrainerError("stop here")

    monkeypatch.setattr(trainer.training, "train", skipping)
    assert main([str(photos_dir), "--out", str(tmp_path / "run"), "--weights", "none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edge-train: warning: skipped 1 file(s)") and "a/b.jpg: empty" in err
    assert "SkippedFilesWarning" not in err and "warnings.warn" not in err and ".py:" not in err
