"""A command whose extra is (partly) missing says in one line what to install and exits 2, before doing anything.

Here the packages are hidden from the check (the environment has them); tests/device/test_requirements.py runs the
real commands in the device-only environment, where they are really absent.
"""
from __future__ import annotations

import pytest

import common.requirements as requirements


def hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    real = requirements._installed
    monkeypatch.setattr(requirements, "_installed", lambda m: m not in modules and real(m))


def run_cli(main, argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    return exc.value.code, [line for line in err.splitlines() if line.strip()]


def test_partial_environment_names_exactly_what_is_missing(monkeypatch, tmp_path, capsys):
    """TensorFlow present, tf_keras and the metadata writer's flatbuffers not: the line names those two, no others."""
    from converter.cli import main

    hide(monkeypatch, "tf_keras", "flatbuffers")
    code, lines = run_cli(main, [str(tmp_path / "run")], capsys)
    assert code == 2 and len(lines) == 1
    assert "tf-keras" in lines[0] and "flatbuffers (the metadata writer)" in lines[0]
    assert "tensorflow " not in lines[0] and "matplotlib" not in lines[0]
    assert 'pip install "edge-kit[convert]"' in lines[0] and "edge-classify" in lines[0]


def test_edge_train_without_tensorflow(monkeypatch, tmp_path, capsys):
    from trainer.cli import main

    hide(monkeypatch, "tensorflow", "tf_keras")
    code, lines = run_cli(main, [str(tmp_path / "photos"), "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and len(lines) == 1 and 'pip install "edge-kit[train]"' in lines[0]
    assert "desktop or server" in lines[0]
    assert not (tmp_path / "run").exists()  # checked before anything is written


def test_edge_kit_checks_only_what_its_stages_need(monkeypatch, tmp_path, capsys):
    from pipeline.cli import main

    hide(monkeypatch, "tensorflow")
    code, lines = run_cli(main, [str(tmp_path / "photos"), "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and len(lines) == 1 and 'pip install "edge-kit[convert]"' in lines[0]
    assert not (tmp_path / "run").exists()
    # The report stage alone needs matplotlib, not TensorFlow: the check lets it through (it then fails on the
    # empty run folder with its own message, exit 1).
    assert requirements.problem("edge-kit", ["report"]) is None


def test_edge_convert_export_needs_no_extra(monkeypatch, tmp_path, capsys):
    """``edge-convert export`` only copies a file: it runs without TensorFlow."""
    from converter.cli import main

    hide(monkeypatch, "tensorflow", "tf_keras")
    run = tmp_path / "run" / "tflite"
    run.mkdir(parents=True)
    (run / "model_int8.tflite").write_bytes(b"model")
    (tmp_path / "app").mkdir()
    assert main(["export", str(tmp_path / "run"), "--variant", "int8", "-o", str(tmp_path / "app")]) == 0
    assert (tmp_path / "app" / "model.tflite").read_bytes() == b"model"


def test_help_works_without_the_extra(monkeypatch, capsys):
    from trainer.cli import main

    hide(monkeypatch, "tensorflow")
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0 and "edge-train" in capsys.readouterr().out
