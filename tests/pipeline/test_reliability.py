"""edge-kit keeps what it finished and says what went wrong in one line: relative --out with the device runtime,
a classify stage with no photo left, a full --android-assets disk, a refused retrain, and one exit-code table for
every command."""
from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import converter.export
import pipeline.classify as classify
from common import exit_codes
from common import run_folder as rf
from pipeline.api import PipelineConfig, run_pipeline
from pipeline.cli import build_parser, config_from_args, main
from pipeline.state import PipelineError
from tests.pipeline.helpers import write_synthetic_run

REPO = Path(__file__).resolve().parents[2]


def test_relative_paths_are_resolved_where_the_user_typed_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["photos", "--out", "../elsewhere/run", "--android-assets", "app/assets",
                                      "--weights", "w.h5"])
    cfg = config_from_args(args)
    assert cfg.out_dir == str(tmp_path.parent / "elsewhere" / "run")
    assert cfg.data_dir == str(tmp_path / "photos") and cfg.android_assets == str(tmp_path / "app" / "assets")
    assert cfg.weights == str(tmp_path / "w.h5")


def test_the_device_runtime_gets_absolute_paths(tmp_path, monkeypatch):
    """It runs with the repository as its working folder: a relative model path would be looked up there."""
    seen = {}

    def fake_run(cmd, **kw):
        seen.update(cmd=cmd, cwd=kw.get("cwd"))
        return SimpleNamespace(returncode=0, stdout=json.dumps({"file": "a.jpg", "predictions": []}) + "\n",
                               stderr="")

    monkeypatch.setattr(classify.subprocess, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    classify.run_device_cli(Path("runs/x/tflite/model_int8.tflite"), [Path("photos/a.jpg")])
    assert seen["cwd"] != str(tmp_path)
    assert seen["cmd"][3] == str(tmp_path / "runs/x/tflite/model_int8.tflite")
    assert seen["cmd"][4] == str(tmp_path / "photos/a.jpg")


def _converted(tmp_path: Path, photos_dir: Path) -> Path:
    out = write_synthetic_run(tmp_path / "run", photos_dir)
    for name in ("float32", "float16", "dynamic", "int8"):
        (out / rf.tflite_model(name)).write_bytes(name.encode() * 100)
    return out


def test_no_held_out_photo_left_is_a_failure_that_keeps_classify_json(tmp_path, photos_dir, monkeypatch):
    out = _converted(tmp_path, photos_dir)
    before = (out / rf.CLASSIFY).read_bytes()

    def all_gone(model, photos, **kw):
        return [{"file": str(p), "error": f"{p}: no such file"} for p in photos], ""

    monkeypatch.setattr(classify, "run_device_cli", all_gone)
    with pytest.raises(PipelineError, match="none of the .* held-out photos could be classified") as info:
        run_pipeline(PipelineConfig(None, str(out), stages=("classify",), export_variant="int8", verbose=False))
    assert "no such file" in str(info.value) and info.value.exit_code == exit_codes.FAILED
    assert (out / rf.CLASSIFY).read_bytes() == before


def test_a_full_app_folder_is_named_as_android_assets(tmp_path, photos_dir, monkeypatch):
    out = _converted(tmp_path, photos_dir)
    assets = tmp_path / "assets"
    assets.mkdir()

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(converter.export, "atomic_write_bytes", full)
    with pytest.raises(PipelineError) as info:
        run_pipeline(PipelineConfig(None, str(out), stages=("export",), export_variant="float32",
                                    android_assets=str(assets), verbose=False))
    message = str(info.value)
    assert "disk is full" in message and "--android-assets" in message and "--out" not in message
    assert str(assets / "model.tflite") in message


def test_a_refused_retrain_keeps_the_finished_run_and_says_so(tmp_path, photos_dir, capsys):
    from tests.trainer.helpers import make_class_folders

    out = _converted(tmp_path, photos_dir)
    before = {n: (out / n).read_bytes() for n in rf.TRAINER_FILES if (out / n).exists()}
    bad = make_class_folders(tmp_path / "bad", {"daisy": 1, "rose": 6})
    rc = main([str(bad), "--out", str(out), "--weights", "none", "--force", "train", "--no-export", "-q"])
    err = capsys.readouterr().err
    assert rc == exit_codes.BAD_INPUT and "too few usable photos" in err and "finished stages are kept" in err
    assert {n: (out / n).read_bytes() for n in before} == before


# ---------------------------------------------------------------------------------- one exit-code table

def _run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"},
                          timeout=300)


@pytest.mark.parametrize("module, args, code", [
    ("trainer", ["--no-such-option"], exit_codes.BAD_INPUT),
    ("converter", ["--no-such-option"], exit_codes.BAD_INPUT),
    ("pipeline", ["--no-such-option"], exit_codes.BAD_INPUT),
    ("device", ["--no-such-option"], exit_codes.BAD_INPUT),
    ("trainer", ["{tmp}/missing", "--out", "{tmp}/run"], exit_codes.BAD_INPUT),
    ("converter", ["{tmp}/missing"], exit_codes.BAD_INPUT),
    ("pipeline", ["{tmp}/missing", "--out", "{tmp}/run", "--weights", "none"], exit_codes.BAD_INPUT),
    ("device", ["{tmp}/missing.tflite", "{tmp}/a.jpg"], exit_codes.BAD_INPUT),
    ("trainer", ["--help"], exit_codes.OK),
    ("converter", ["--help"], exit_codes.OK),
    ("pipeline", ["--help"], exit_codes.OK),
])
def test_every_command_uses_the_one_exit_code_table(module, args, code, tmp_path):
    proc = _run(module, *[a.format(tmp=tmp_path) for a in args], cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    if args == ["--help"]:
        text = " ".join(proc.stdout.split())
        assert "2 bad usage or input" in text and "130 interrupted" in text


def test_an_ascii_terminal_with_a_non_ascii_run_folder(tmp_path, photos_dir):
    out = write_synthetic_run(tmp_path / "rün-föld", photos_dir)
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--out", str(out), "--stage", "report"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "ascii",
                               "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "r\\xfcn-f\\xf6ld" in proc.stdout
