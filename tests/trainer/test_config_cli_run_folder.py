"""TrainConfig validation, the edge-train CLI, and RunFolder validation (none of these train or import TF)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from trainer import RunFolder, RunFolderError, TrainConfig, TrainerError
from trainer.cli import build_parser, config_from_args, main


@pytest.mark.parametrize("kwargs, message", [
    ({"alpha": 0.4}, "alpha=0.4 is not available"),
    ({"size": 64}, "outside 96-224"),
    ({"size": 256}, "outside 96-224"),
    ({"val_split": 1.2}, "fraction"),
    ({"crop": "pad"}, "crop"),
    ({"fine_tune_blocks": 17}, "1-16"),
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
    assert (cfg.alpha, cfg.size, cfg.weights, cfg.fine_tune, cfg.seed, cfg.head_epochs) == (0.5, 128, None, False, 7, 30)


def test_cli_reports_dataset_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "no such folder" in err and str(tmp_path / "missing") in err


def _fake_run(path: Path) -> Path:
    path.mkdir()
    (path / "model.keras").write_bytes(b"placeholder")
    (path / "labels.txt").write_text("cat\ndog\n")
    cfg = TrainConfig(data_dir=str(path), size=128).to_dict()
    (path / "config.json").write_text(json.dumps(cfg))
    (path / "splits.json").write_text(json.dumps(
        {"root": str(path), "labels": ["cat", "dog"], "train": [["cat/a.jpg", 0]], "val": [["dog/b.jpg", 1]],
         "test": []}))
    return path


def test_run_folder_reads_without_tensorflow(tmp_path: Path) -> None:
    run = _fake_run(tmp_path / "run")
    code = (
        "import sys; from common.run_folder import RunFolder; from trainer.config import TrainConfig; r = RunFolder(sys.argv[1]); "
        "assert r.labels == ['cat', 'dog'] and r.input_size == (128, 128); "
        "assert r.split_files('val')[0][1] == 1 and TrainConfig.from_dict(r.config).size == 128; "
        "assert 'tensorflow' not in sys.modules and 'tf_keras' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code, str(run)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("damage, file, fix", [
    (lambda p: (p / "labels.txt").unlink(), "labels.txt", "missing"),
    (lambda p: (p / "model.keras").unlink(), "model.keras", "missing"),
    (lambda p: (p / "config.json").write_text("{not json"), "config.json", "corrupt JSON"),
    (lambda p: (p / "splits.json").unlink(), "splits.json", "missing"),
    (lambda p: (p / "labels.txt").write_text("cat\n"), "labels.txt", "at least two labels"),
    (lambda p: (p / "labels.txt").write_text("cat\nbird\n"), "splits.json", "differ from labels.txt"),
    (lambda p: (p / "config.json").write_text("{}"), "config.json", "preprocessing"),
])
def test_run_folder_errors_name_the_file_and_fix(tmp_path: Path, damage, file: str, fix: str) -> None:
    run = _fake_run(tmp_path / "run")
    damage(run)
    with pytest.raises(RunFolderError) as err:
        RunFolder(run)
    assert file in str(err.value) and fix in str(err.value) and "edge-train" in str(err.value)


def test_run_folder_missing(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="no such run folder"):
        RunFolder(tmp_path / "nope")
