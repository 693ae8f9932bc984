"""The real command on a tiny dataset: photos -> every variant -> device-runtime check -> app asset -> report;
re-running skips; a tweak redoes only what it affects; killed at random points (SIGINT, SIGKILL) during training
and conversion it never leaves a truncated or inconsistent file, and re-running finishes."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import List, Tuple

import pytest

from pipeline.state import STATE_FILE, file_digest, tree_stamp
from tests.ci import optional_part
from tests.pipeline.helpers import check_outputs_complete, chromium, edge_kit_cmd, env_for, make_tiny_dataset, render

pytestmark = pytest.mark.slow

#: The kill points' seed (delays after each marker line); EDGE_KIT_KILL_SEED overrides it.
KILL_SEED = 20261206

QUICK = ["--size", "96", "--epochs", "0", "--max-accuracy-drop", "-1", "--no-qat", "--classify-limit", "30"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, flowers_dir) -> Path:
    data = make_tiny_dataset(flowers_dir, tmp_path_factory.mktemp("data") / "photos")
    # A read-only data folder (bind mount) when we may mount: the pipeline must never need to write there.
    if optional_part(os.geteuid() == 0 and subprocess.run(["mount", "--bind", str(data), str(data)],
                                                          capture_output=True).returncode == 0,
                     "needs root to bind-mount the photo folder read-only"):
        subprocess.run(["mount", "-o", "remount,ro,bind", str(data)], check=True)
        yield data
        subprocess.run(["umount", "-l", str(data)], capture_output=True)
    else:
        yield data


def cli(tiny: Path, out: Path, assets: Path, *extra: str, weights: Path) -> subprocess.CompletedProcess:
    """Run from the run folder's parent with a relative ``--out``, as users type it (the device runtime that the
    classify stage starts runs elsewhere, so the paths must be resolved where they were typed)."""
    cmd = edge_kit_cmd(str(tiny), "--out", out.name, "--weights", str(weights), "--android-assets", str(assets),
                       *QUICK, *extra)
    env = dict(env_for(), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=out.parent)


def statuses(stdout: str) -> dict:
    table = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("train", "convert", "classify", "export", "report") and \
                parts[1] in ("ran", "skipped", "blocked", "not"):
            table[parts[0]] = parts[1]
    return table


def assert_consistent(out: Path, assets: Path, variant: str) -> None:
    """Siblings agree: sizes in tflite/report.json are those of the files, the app's model is the exported file,
    classify.json ran that very file, the report shows those numbers."""
    assert check_outputs_complete(out) == []
    conv = json.loads((out / "tflite" / "report.json").read_text())
    for name, v in conv["variants"].items():
        assert v["size_bytes"] == (out / "tflite" / f"model_{name}.tflite").stat().st_size, name
    exported = json.loads((out / "export.json").read_text())
    assert exported["variant"] == variant
    assert file_digest(assets / "model.tflite") == file_digest(out / "tflite" / f"model_{variant}.tflite")
    cls = json.loads((out / "classify.json").read_text())
    assert cls["variant"] == variant and cls["model"].endswith(f"model_{variant}.tflite")
    rep = json.loads((out / "report.json").read_text())
    assert rep["held_out"]["variant"] == variant and rep["held_out"]["top1"] == cls["top1"]
    assert [r["top1"] for r in rep["variants"]["rows"]] == [v["top1"] for v in conv["variants"].values()]
    assert not [p for p in out.rglob(".*") if p.name not in (".edge-kit.lock",)], "temporary files left"


def test_photos_to_app_asset_and_report(tiny, tmp_path, alpha035_weights):
    out, assets = tmp_path / "run", tmp_path / "app" / "assets"
    before = tree_stamp(tiny)
    first = cli(tiny, out, assets, weights=alpha035_weights)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert statuses(first.stdout) == dict.fromkeys(("train", "convert", "classify", "export", "report"), "ran")
    for name in ("float32", "float16", "dynamic", "int8"):
        assert (out / "tflite" / f"model_{name}.tflite").is_file()
        assert f"model_{name}" in first.stdout  # printed where each output went
    assert str(assets / "model.tflite") in first.stdout and str(out / "report.html") in first.stdout
    assert_consistent(out, assets, "int8")
    cls = json.loads((out / "classify.json").read_text())
    splits = json.loads((out / "splits.json").read_text())
    assert len(cls["photos"]) == len(splits["val"]) > 0  # every held-out photo, through python -m device
    assert tree_stamp(tiny) == before  # the data folder is only read
    state = json.loads((out / STATE_FILE).read_text())
    assert list(state["stages"]) == ["train", "convert", "classify", "export", "report"]
    if optional_part(chromium() is not None, "needs chromium (apt install chromium) to render the report"):
        # the real report, as a person opens it: every figure and thumbnail shows
        html = (out / "report.html").read_text()
        shown = render(out / "report.html", tmp_path)
        assert shown["widths"] and len(shown["widths"]) == html.count("<img ") and min(shown["widths"]) > 0
        assert html.count('class="photo ') == len(cls["photos"])  # the grid holds every held-out photo here

    # An unchanged re-run redoes nothing: no file of the run folder or the app is written again (how long it takes
    # is printed by benchmarks/bench_pipeline.py, not asserted here).
    written = tree_stamp(out), tree_stamp(assets)
    again = cli(tiny, out, assets, weights=alpha035_weights)
    assert again.returncode == 0
    assert set(statuses(again.stdout).values()) == {"skipped"}
    assert (tree_stamp(out), tree_stamp(assets)) == written

    tweak = cli(tiny, out, assets, "--export-variant", "dynamic", weights=alpha035_weights)
    assert tweak.returncode == 0, tweak.stderr[-2000:]
    assert statuses(tweak.stdout) == {"train": "skipped", "convert": "skipped", "classify": "ran", "export": "ran",
                                      "report": "ran"}
    assert_consistent(out, assets, "dynamic")


def _run_and_kill(cmd: List[str], stage_line: str, marker: str, sig: int, delay: float) -> Tuple[int, str, bool]:
    """Start ``cmd``; ``delay`` s after it prints ``marker`` (a line printed while the stage that ``stage_line``
    announces is under way), send ``sig``. Returns (exit code, output, whether the signal landed while that stage
    was still running). Kill points follow the run's own progress, not the clock: a quick machine finishes a stage
    of the tiny data set in a few seconds. A run that never reaches the marker (an earlier interruption landed after
    the stage had finished, so this run skips it) ends on its own: nothing is sent."""
    # Ctrl-C as a terminal delivers it: a test runner started in the background has SIGINT ignored, and so would
    # its children (edge-kit, like Python, keeps ignoring it then).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env_for(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: List[str] = []
    reached_or_ended = threading.Event()

    def reached() -> bool:
        in_stage = False
        for line in lines:
            in_stage = in_stage or stage_line in line
            if in_stage and marker in line:
                return True
        return False

    def reader() -> None:
        for line in proc.stdout:
            lines.append(line)
            if marker in line and reached():
                reached_or_ended.set()
        reached_or_ended.set()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    assert reached_or_ended.wait(300), "".join(lines)[-3000:]
    if not reached():
        rc = proc.wait(120)
        t.join(10)
        return rc, "".join(lines), False
    time.sleep(delay)
    done_marker = stage_line.replace(" ...", ": done")
    during = proc.poll() is None and not any(done_marker in line for line in lines)
    if proc.poll() is None:
        proc.send_signal(sig)
    rc = proc.wait(120)
    t.join(10)
    return rc, "".join(lines), during


def test_killed_at_random_points_then_rerun_finishes(tiny, tmp_path, alpha035_weights):
    # A fixed seed, so every run tries the same kill points; EDGE_KIT_KILL_SEED=N tries others (and is reported).
    seed = int(os.environ.get("EDGE_KIT_KILL_SEED", KILL_SEED))
    rng = random.Random(seed)
    print(f"kill points seed {seed} (EDGE_KIT_KILL_SEED={seed} reproduces them)")
    out, assets = tmp_path / "run", tmp_path / "assets"
    cmd = edge_kit_cmd(str(tiny), "--out", str(out), "--weights", str(alpha035_weights), "--android-assets",
                       str(assets), *QUICK)
    landed = []
    # (stage, a line printed while it runs, signal, seconds after that line). The head is fitted in a fraction of a
    # second here, so the first kill lands after phase 1, in the rest of the training stage; the second while
    # the stage starts again (loading the model, resuming from the checkpoint); then twice inside the conversion.
    for stage, marker, sig, (lo, hi) in (("[1/5] train ...", "phase 1 (head)", signal.SIGINT, (0.0, 0.5)),
                                         ("[1/5] train ...", "[1/5] train ...", signal.SIGKILL, (0.5, 2.0)),
                                         ("[2/5] convert ...", "float32: ", signal.SIGKILL, (0.0, 2.0)),
                                         ("[2/5] convert ...", "float16: ", signal.SIGINT, (0.0, 2.0))):
        delay = rng.uniform(lo, hi)
        had_checkpoint = (out / "checkpoint" / "run.json").is_file()
        rc, output, during = _run_and_kill(cmd, stage, marker, sig, delay)
        if had_checkpoint and "train" in stage:  # an interrupted training continues from its checkpoint
            assert "resuming the interrupted training" in output, output[-2000:]
        landed.append((f"seed {seed}", stage, marker, sig.name, round(delay, 1), during, rc))
        if os.environ.get("EDGE_KIT_KILL_DEBUG"):  # a folder: each interrupted run's whole output, for a failure
            Path(os.environ["EDGE_KIT_KILL_DEBUG"], f"kill{len(landed)}.log").write_text(output)
        assert rc != 0 or not during, output[-2000:]
        if sig == signal.SIGINT and during:
            assert rc == 130 and "run the same command again to continue" in output, output[-2000:]
            assert "Exception ignored" not in output, output[-2000:]  # Ctrl-C in a finalizer: no traceback
        assert check_outputs_complete(out) == [], (landed, output[-2000:])
    print("kills:", landed)
    assert any(d for *_, d, _ in landed), f"no kill landed inside a stage: {landed}"

    final = subprocess.run(cmd, capture_output=True, text=True, env=env_for(), timeout=600)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    assert_consistent(out, assets, "int8")
    assert not (out / "checkpoint").exists()  # the trainer finished and cleaned its checkpoint
