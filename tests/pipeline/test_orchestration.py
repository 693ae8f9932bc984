"""Stage bookkeeping with stand-in stages (no TensorFlow): skip when unchanged, redo what changed, survive
interruptions, one pipeline per folder, corrupt state, blocked stages."""
from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

import pipeline.api as pipeline
from pipeline.api import PipelineConfig, run_pipeline
from pipeline.stages import STAGES, StageBlocked
from common.locks import FolderBusyError, folder_lock
from pipeline.state import STATE_FILE, remove_stale_temporaries
from common.atomic import atomic_write_text


class FakeStages:
    """Each stage reads the previous stage's file (or the data folder's ``input.txt``) and writes ``<stage>.txt``."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.calls: list = []
        self.interrupt_in = None
        self.block = None

    def source(self, ctx, name):
        i = STAGES.index(name)
        return self.data / "input.txt" if i == 0 else ctx.out / f"{STAGES[i - 1]}.txt"

    def material(self, name):
        def material(ctx):
            src = self.source(ctx, name)
            return {"input": src.read_text() if src.exists() else None, "variant": ctx.config.export_variant}
        return material

    def runner(self, name):
        def run(ctx):
            self.calls.append(name)
            if self.interrupt_in == name:
                atomic_write_text(ctx.out / f"{name}.txt", "half-way")  # an output written before the interrupt
                raise KeyboardInterrupt
            if self.block == name:
                raise StageBlocked(f"{name} refused on purpose")
            text = f"{name}({self.source(ctx, name).read_text()})"
            path = ctx.out / f"{name}.txt"
            atomic_write_text(path, text)
            return [path], {"chars": len(text)}
        return run


@pytest.fixture()
def fake(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "input.txt").write_text("v1")
    stages = FakeStages(data)
    for name in STAGES:
        monkeypatch.setitem(pipeline.MATERIAL, name, stages.material(name))
        monkeypatch.setitem(pipeline.RUNNERS, name, stages.runner(name))
    return stages


def cfg(tmp_path, **kw):
    kw.setdefault("android_assets", str(tmp_path / "assets"))
    return PipelineConfig(str(tmp_path / "data"), str(tmp_path / "out"), weights=None, verbose=False, **kw)


def test_second_run_skips_every_stage(fake, tmp_path):
    first = run_pipeline(cfg(tmp_path))
    assert [first.stages[s].status for s in STAGES] == ["ran"] * 5
    assert (tmp_path / "out" / "report.txt").read_text() == "report(export(classify(convert(train(v1)))))"
    fake.calls.clear()
    second = run_pipeline(cfg(tmp_path))
    assert fake.calls == []
    assert [second.stages[s].status for s in STAGES] == ["skipped"] * 5


def test_changed_input_redoes_that_stage_and_what_depends_on_it(fake, tmp_path):
    run_pipeline(cfg(tmp_path))
    fake.calls.clear()
    (tmp_path / "data" / "input.txt").write_text("v2")
    run_pipeline(cfg(tmp_path))
    assert fake.calls == list(STAGES)
    fake.calls.clear()
    run_pipeline(cfg(tmp_path, variants=("float32", "dynamic"), export_variant="dynamic"))  # a tweak: all material
    assert fake.calls == list(STAGES)


def test_deleted_or_edited_output_is_rebuilt(fake, tmp_path):
    run_pipeline(cfg(tmp_path))
    fake.calls.clear()
    (tmp_path / "out" / "classify.txt").write_text("edited by hand")
    run_pipeline(cfg(tmp_path))
    assert fake.calls == ["classify"]  # its output is back to the same content: the rest stays valid
    fake.calls.clear()
    (tmp_path / "out" / "convert.txt").unlink()
    run_pipeline(cfg(tmp_path))
    assert fake.calls == ["convert"]


def test_interrupt_keeps_finished_stages_and_the_rerun_continues(fake, tmp_path):
    run_pipeline(cfg(tmp_path))
    (tmp_path / "data" / "input.txt").write_text("v2")
    fake.calls.clear()
    fake.interrupt_in = "convert"
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(cfg(tmp_path))
    state = json.loads((tmp_path / "out" / STATE_FILE).read_text())
    assert "train" in state["stages"] and "convert" not in state["stages"]  # the old convert record was dropped
    fake.interrupt_in = None
    fake.calls.clear()
    result = run_pipeline(cfg(tmp_path))
    assert fake.calls == ["convert", "classify", "export", "report"]  # train was not redone
    assert result.stages["train"].status == "skipped"
    assert (tmp_path / "out" / "report.txt").read_text() == "report(export(classify(convert(train(v2)))))"


def test_only_the_requested_stage_runs(fake, tmp_path):
    run_pipeline(cfg(tmp_path))
    fake.calls.clear()
    result = run_pipeline(cfg(tmp_path, stages=("report",), force=("report",)))
    assert fake.calls == ["report"]
    assert result.stages["train"].status == "not requested"


def test_blocked_stage_still_writes_the_report_and_fails_the_run(fake, tmp_path):
    fake.block = "export"
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "export.txt").write_text("old model")  # what an earlier run exported stays as it was
    result = run_pipeline(cfg(tmp_path))
    assert not result.ok and "refused on purpose" in result.errors[0]
    assert result.stages["export"].status == "blocked"
    assert result.stages["report"].status == "ran"
    assert (tmp_path / "out" / "export.txt").read_text() == "old model"


def _hold_lock(out, ready, release, command="edge-kit"):
    with folder_lock(Path(out), command):
        ready.set()
        release.wait(30)


def test_a_second_pipeline_on_the_same_folder_is_refused(fake, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(out), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(FolderBusyError, match=rf"{out}: in use by process {holder.pid} \(edge-kit\); wait") as info:
            run_pipeline(cfg(tmp_path))
        assert info.value.exit_code == 2  # bad usage, as every command's busy folder
    finally:
        release.set()
        holder.join(30)
    assert run_pipeline(cfg(tmp_path)).ok  # the lock died with its holder


def test_corrupt_state_file_means_everything_runs_again(fake, tmp_path):
    run_pipeline(cfg(tmp_path))
    (tmp_path / "out" / STATE_FILE).write_text('{"version": 1, "stages": {"train": ')
    fake.calls.clear()
    logs = []
    run_pipeline(cfg(tmp_path), log=logs.append)
    assert fake.calls == list(STAGES)
    assert any("unreadable" in line for line in logs)


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    (out / "tflite").mkdir(parents=True)
    stale = [out / ".report.html.abcd1234.tmp", out / "tflite" / ".model_int8.tflite.x_y9zz00.tmp",
             out / ".model.keras.qwer5678.keras"]
    keep = [out / ".edge-kit.lock", out / ".hidden", out / "report.html", out / ".cache.d"]
    for p in stale + keep:
        p.write_text("x")
    removed = remove_stale_temporaries(out)
    assert sorted(removed) == sorted(stale)
    assert all(p.exists() for p in keep)


def test_the_summary_says_which_numbers_chose_the_model(fake, tmp_path):
    logs = []
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text(json.dumps({"val": {"top1": 0.9, "count": 20},
                                                  "test": {"top1": 0.8, "count": 10}}))
    run_pipeline(cfg(tmp_path), log=logs.append)
    assert "  top-1 on 20 validation (used for selection) photos: 0.9000" in logs
    assert "  top-1 on 10 test (never used for any decision) photos: 0.8000" in logs
    (out / "metrics.json").write_text(json.dumps({"val": {"top1": 0.9, "count": 20}}))
    logs.clear()
    run_pipeline(cfg(tmp_path), log=logs.append)
    assert any("These are validation numbers" in line for line in logs)


def test_a_stage_that_runs_again_says_why(fake, tmp_path, monkeypatch):
    """A replaced model.keras made edge-kit retrain without a word."""
    def train_writes_a_model(ctx):
        fake.calls.append("train")
        path = ctx.out / "model.keras"
        atomic_write_text(path, f"trained on {(tmp_path / 'data' / 'input.txt').read_text()}")
        return [path], {}

    monkeypatch.setitem(pipeline.RUNNERS, "train", train_writes_a_model)
    run_pipeline(cfg(tmp_path, stages=("train",)))
    (tmp_path / "out" / "model.keras").write_text("a model trained elsewhere")  # e.g. edge-train --overwrite
    logs = []
    run_pipeline(cfg(tmp_path, stages=("train",)), log=logs.append)
    line = next(m for m in logs if "train" in m and "runs again" in m)
    assert "model.keras changed since this pipeline wrote it" in line and "--stage convert" in line
    (tmp_path / "data" / "input.txt").write_text("v2")
    logs.clear()
    run_pipeline(cfg(tmp_path, stages=("train",)), log=logs.append)
    assert any("train: runs again: its settings or inputs changed" in m for m in logs)
