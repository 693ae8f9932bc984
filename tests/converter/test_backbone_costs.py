"""What a backbone costs on the device, as the backbone search measures it: the int8 model's size and invoke time,
kept per machine, and the candidate's int8 model kept too, so that it can be timed on the target device."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from converter import backbone_costs
from trainer import backbones

pytestmark = pytest.mark.slow


def test_measured_once_per_machine_and_the_candidate_runs_on_the_device_runtime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, photos_dir: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = backbones.BACKBONES["mobilenet_v2_0.35"]
    lines = []
    cost = backbone_costs.measure(spec, 96, 3, log=lines.append)
    kept = Path(cost["model"])
    assert kept == backbone_costs.candidate_model(spec, 96, 3) and kept.is_file()
    assert cost["int8_mb"] == pytest.approx(kept.stat().st_size / 1e6)
    assert 0.2 < cost["int8_mb"] < 1.0 and cost["latency_ms"] > 0  # 0.35 at 96 px: about 0.6 MB
    assert "edge-classify" in lines[-1] and str(kept) in lines[-1]
    cached = json.loads(backbone_costs.cache_file().read_text())
    assert len(cached) == 1 and next(iter(cached.values()))["model"] == str(kept)

    # the second search on this machine reads the cache: nothing converted, nothing printed
    lines.clear()
    assert backbone_costs.measure(spec, 96, 3, log=lines.append) == cost and lines == []
    # a removed candidate model is measured (and kept) again
    kept.unlink()
    backbone_costs.measure(spec, 96, 3, log=lines.append)
    assert kept.is_file() and len(lines) == 1

    # what the log line tells the user to run on the device: the random-weights candidate loads and is timed
    photo = next(p for p in sorted(photos_dir.rglob("*")) if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    proc = subprocess.run([sys.executable, "-m", "device", str(kept), str(photo), "--benchmark", "--runs", "3",
                           "--format", "jsonl"], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert any(r["measure"] == "invoke_thread_sweep" and r["threads"] == 1 for r in records), records
