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
    ({"head_folds": 1}, "head_folds=1 must be 2-20"),
    ({"fine_tune_views": 0}, "fine_tune_views=0 must be positive"),
    ({"fine_tune_epochs": -1}, "must be 0 or more"),
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
