"""edge-convert: a disk that fills up mid-conversion is one line (exit 1), user paths are resolved where typed, and
an unusable --out is refused before the model is loaded."""
from __future__ import annotations

import errno

import converter.api
from common import exit_codes
from converter.cli import main


def test_a_disk_filling_up_mid_conversion_is_one_line(fake_run, monkeypatch, capsys):
    def full(run_dir, cfg, progress=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(fake_run / "tflite" / "model_int8.tflite"))

    monkeypatch.setattr(converter.api, "convert", full)
    assert main([str(fake_run), "--quiet"]) == exit_codes.FAILED
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "disk is full" in err and "model_int8.tflite" in err


def test_relative_paths_are_resolved_where_typed(fake_run, tmp_path, monkeypatch):
    seen = {}

    def record(run_dir, cfg, progress=None):
        seen.update(run=run_dir, out=cfg.output_dir)

    monkeypatch.setattr(converter.api, "convert", record)
    monkeypatch.chdir(fake_run.parent)
    assert main([fake_run.name, "--out", "out/tflite", "--quiet"]) == exit_codes.OK
    assert seen == {"run": str(fake_run), "out": str(fake_run.parent / "out" / "tflite")}


def test_a_bad_output_dir_is_refused_before_the_model_loads(fake_run, tmp_path, monkeypatch, capsys):
    import converter.trace

    def never(*a, **k):
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(converter.trace, "load_keras_model", never)
    (tmp_path / "file").write_text("x")
    assert main([str(fake_run), "--out", str(tmp_path / "file" / "tflite"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "a file is in the way" in err and "--out" in err


def _stand_in_conversion(run, variant="int8"):
    from common import run_folder as rf

    tflite = run / rf.tflite_model(variant)
    tflite.parent.mkdir(exist_ok=True)
    tflite.write_bytes(b"TFL3 the int8 model of the run's current model.keras")
    rf.record_tflite(tflite, rf.model_digest(run))
    return tflite


def test_export_ships_only_a_model_converted_from_the_current_model_keras(fake_run, tmp_path, capsys):
    """cp -a RUN r2; edge-train ... --out r2 --overwrite used to leave the 3-class .tflite to be exported."""
    tflite = _stand_in_conversion(fake_run)
    app = tmp_path / "app"
    app.mkdir()
    assert main(["export", str(fake_run), "--variant", "int8", "-o", str(app) + "/"]) == exit_codes.OK
    assert (app / "model.tflite").read_bytes() == tflite.read_bytes()
    (app / "model.tflite").write_bytes(b"the app's model")
    (fake_run / "model.keras").write_bytes(b"replaced by another training")
    capsys.readouterr()
    assert main(["export", str(fake_run), "--variant", "int8", "-o", str(app) + "/"]) == exit_codes.BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was converted from another model than" in err and "edge-convert " in err
    assert (app / "model.tflite").read_bytes() == b"the app's model"  # nothing shipped
