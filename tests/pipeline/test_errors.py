"""Clear errors and nothing lost: bad folders, unwritable or read-only output, a full disk, a read-only data folder."""
from __future__ import annotations

import errno
import json
import subprocess
from pathlib import Path

import pytest

import pipeline.report as pipeline_report
from common.gates import EXIT_REFUSED
from pipeline.api import PipelineConfig, run_pipeline
from pipeline.cli import main
from pipeline.state import STATE_FILE, PipelineError, file_digest
from tests.pipeline.helpers import write_synthetic_run


def _mount(target: Path, *options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", *options, str(target)], capture_output=True).returncode == 0


@pytest.fixture()
def mounts():
    mounted = []

    def mount(target: Path, *options: str) -> Path:
        if not _mount(target, *options):
            pytest.skip("needs permission to mount (root); the monkeypatched variants of this test still run")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def report_only(data, out, **kw):
    return PipelineConfig(str(data) if data else None, str(out), stages=("report",), verbose=False, **kw)


def test_missing_photo_folder_names_it(tmp_path, capsys):
    rc = main([str(tmp_path / "nope"), "--out", str(tmp_path / "out"), "--weights", "none"])
    err = capsys.readouterr().err
    assert rc == 2  # bad input, as the help says (common/exit_codes.py)
    assert f"{tmp_path / 'nope'}: no such folder" in err and "one sub-folder of photos per class" in err


def test_missing_weights_file_fails_before_training(tmp_path, photos_dir, capsys):
    rc = main([str(photos_dir), "--out", str(tmp_path / "out"), "--weights", str(tmp_path / "w.h5")])
    err = capsys.readouterr().err
    assert rc == 2 and "w.h5: no such weights file or folder" in err


def test_bad_options_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--out", str(tmp_path), "--variants", "float32", "--export-variant", "int8"])
    assert info.value.code == 2
    assert "not among the converted variants" in capsys.readouterr().err


def test_help_teaches(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for needle in ("examples:", "--weights", "no-top MobileNetV2 weights file", "~/.keras/models/", "--stage", "--force",
                   "pipeline_state.json", "report.html"):
        assert needle in text


def test_stage_without_its_inputs_says_what_to_run_first(tmp_path, capsys):
    rc = main(["--out", str(tmp_path / "out"), "--stage", "convert", "--no-export"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no such run folder" in err and "train first" in err
    assert not (tmp_path / "out").exists()  # a mistyped --out is not created
    (tmp_path / "out").mkdir()
    rc = main(["--out", str(tmp_path / "out"), "--stage", "convert", "--no-export"])
    err = capsys.readouterr().err
    assert rc == 2  # a stage asked for without its inputs: bad usage, as the help says
    assert "model.keras: missing" in err and "train first" in err
    assert err.count("\n") == 1 and "finished stages are kept" not in err  # nothing ever ran there


def test_output_folder_blocked_by_a_file(tmp_path, photos_dir):
    (tmp_path / "file").write_text("x")
    with pytest.raises(PipelineError, match="a file is in the way"):
        run_pipeline(report_only(None, tmp_path / "file" / "out"))


def test_read_only_output_folder(tmp_path, photos_dir, mounts):
    out = write_synthetic_run(tmp_path / "run", photos_dir)
    mounts(out, "--bind", str(out))
    subprocess.run(["mount", "-o", "remount,ro,bind", str(out)], check=True)
    with pytest.raises(PipelineError, match="read-only"):
        run_pipeline(report_only(None, out))


def test_disk_full_simulated_keeps_previous_report(tmp_path, photos_dir, monkeypatch):
    out = write_synthetic_run(tmp_path / "run", photos_dir)
    run_pipeline(report_only(None, out))
    before = {p: file_digest(out / p) for p in ("report.html", "report.md", "report.json", STATE_FILE)}
    (out / "classify.json").write_text((out / "classify.json").read_text().replace('"split": "val"',
                                                                                  '"split": "test"'))
    real = pipeline_report.atomic_write_text

    def full(path, text):
        if Path(path).name == "report.html":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, text)

    monkeypatch.setattr(pipeline_report, "atomic_write_text", full)
    with pytest.raises(PipelineError, match="the disk is full") as info:
        run_pipeline(report_only(None, out))
    assert "report.html" in str(info.value) and "run the same command again" in str(info.value)
    assert file_digest(out / "report.html") == before["report.html"]  # the old page is intact
    state = json.loads((out / STATE_FILE).read_text())
    assert "report" not in state["stages"]  # not recorded: the next run redoes it
    monkeypatch.setattr(pipeline_report, "atomic_write_text", real)
    assert run_pipeline(report_only(None, out)).stages["report"].status == "ran"


def test_really_full_disk(tmp_path, photos_dir, mounts):
    disk = mounts(tmp_path / "disk", "-t", "tmpfs", "-o", "size=3m", "tmpfs")
    out = write_synthetic_run(disk / "run", photos_dir)
    run_pipeline(report_only(None, out))
    old_html = (out / "report.html").read_bytes()
    (out / "classify.json").write_text((out / "classify.json").read_text().replace('"ms_per_photo": 12.0',
                                                                                  '"ms_per_photo": 13.0'))
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:  # fill the disk up (unbuffered: no failing flush at close)
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    with pytest.raises(PipelineError, match="disk is full"):
        run_pipeline(report_only(None, out))
    assert (out / "report.html").read_bytes() == old_html
    assert not [p for p in out.rglob(".*") if p.name != ".edge-kit.lock"], "temporary files left behind"
    filler.unlink()
    result = run_pipeline(report_only(None, out))
    assert result.stages["report"].status == "ran"
    assert "13.0 ms per photo" in (out / "report.html").read_text()


def _fake_models(out: Path) -> None:
    for name in ("float32", "float16", "dynamic", "int8"):
        (out / "tflite" / f"model_{name}.tflite").write_bytes(name.encode() * 100)


def test_accuracy_gate_refuses_export_but_writes_the_report(tmp_path, photos_dir):
    out = write_synthetic_run(tmp_path / "run", photos_dir)  # int8 is 10 points below float32 there
    _fake_models(out)
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "model.tflite").write_bytes(b"the app's previous model")
    cfg = dict(stages=("export", "report"), verbose=False, android_assets=str(assets), export_variant="int8")
    result = run_pipeline(PipelineConfig(None, str(out), max_accuracy_drop=5.0, **cfg))
    assert not result.ok and result.stages["export"].status == "blocked"
    assert "lost 10.00 top-1 points" in result.errors[0] and "--max-accuracy-drop" in result.errors[0]
    assert (assets / "model.tflite").read_bytes() == b"the app's previous model"  # the app keeps its old model
    html = (out / "report.html").read_text()
    assert html.index('id="problems"') < html.index('id="summary"')  # and the report says why, first thing
    assert "lost 10.00 top-1 points" in html
    assert "> **Problem:** not exported" in (out / "report.md").read_text()
    # Raising the limit needs no new conversion: only export (and the report) run.
    result = run_pipeline(PipelineConfig(None, str(out), max_accuracy_drop=12.0, **cfg))
    assert result.ok and result.stages["export"].status == "ran"
    assert (assets / "model.tflite").read_bytes() == (out / "tflite" / "model_int8.tflite").read_bytes()
    assert json.loads((out / "export.json").read_text())["accuracy_drop_points"] == pytest.approx(10.0)
    assert 'id="problems"' not in (out / "report.html").read_text()


def test_a_refused_export_exits_with_the_gate_status_of_edge_convert(tmp_path, photos_dir, capsys):
    out = write_synthetic_run(tmp_path / "run", photos_dir)  # int8 is 10 points below float32 there
    _fake_models(out)
    rc = main(["--out", str(out), "--stage", "export", "--stage", "report", "--export-variant", "int8",
               "--android-assets", str(tmp_path / "assets"), "-q"])
    assert rc == EXIT_REFUSED == 3 and not (tmp_path / "assets" / "model.tflite").exists()


def test_bad_training_option_fails_before_any_folder_is_made(tmp_path, photos_dir, capsys):
    rc = main([str(photos_dir), "--out", str(tmp_path / "out"), "--alpha", "0.4", "--weights", "none"])
    err = capsys.readouterr().err
    assert rc == 2 and "alpha=0.4 is not available" in err
    assert not (tmp_path / "out").exists()


def test_ctrl_c_during_a_c_extension_import_is_reported_as_an_interruption(tmp_path, monkeypatch, capsys):
    """SIGINT while TensorFlow imports surfaces as ImportError("initialization failed"), not KeyboardInterrupt:
    the command must still say "interrupted, run again" and exit 130, not print a traceback."""
    import os
    import signal
    import time

    import pipeline.api as pipeline
    from pipeline import cli as pipeline_cli

    def import_interrupted(config, log=print):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler interrupts this
        except KeyboardInterrupt:
            raise ImportError("initialization failed") from None
        raise AssertionError("SIGINT was not delivered")

    monkeypatch.setattr(pipeline, "run_pipeline", import_interrupted)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (a background test
    try:                                                                  # runner has Ctrl-C ignored)
        photos = tmp_path / "photos"
        photos.mkdir()
        rc = pipeline_cli.main([str(photos), "--out", str(tmp_path / "run"), "--weights", "none"])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert rc == 130
    assert "interrupted" in (err := capsys.readouterr().err) and "run the same command again" in err


def test_one_line_errors_say_stages_are_kept_only_when_some_are(tmp_path, photos_dir, capsys):
    """The README promises one line; "finished stages are kept" is only true where a stage once finished."""
    (tmp_path / "file").write_text("x")
    for argv in ([str(tmp_path / "nope"), "--out", str(tmp_path / "out")],
                 [str(photos_dir), "--out", str(tmp_path / "file")]):
        rc = main([*argv, "--weights", "none", "--no-export"])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and "finished stages are kept" not in err, err
    out = write_synthetic_run(tmp_path / "run", photos_dir)
    rc = main([str(tmp_path / "nope"), "--out", str(out), "--weights", "none", "--force", "train", "--no-export"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "finished stages are kept" in err
