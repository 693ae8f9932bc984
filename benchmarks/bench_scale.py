"""How the whole job scales with the number of photos: time per photo and peak memory of each stage.

Makes synthetic but distinct photos from the shared flowers (a random crop of 40-100% of a photo, a random flip, a
colour and brightness jitter, written as JPEG quality 85-95), ``--sizes`` photos in all (default 1000, 5000, 20000;
the flowers' five classes), then runs the README's command on each, as a user would (``edge-kit`` in a child
process), with fine-tuning capped (``--epochs``, ``--views``) so that it finishes on a small machine. While it runs,
the resident memory of the command's process tree is sampled every 0.2 s, and each line it prints is time-stamped;
the lines say which stage is running (decode, features, phase 1, phase 2, convert, evaluate, classify), so every
stage gets its seconds and its peak memory.

    nice -n 10 .venv/bin/python benchmarks/bench_scale.py                      # 1k, 5k, 20k photos (hours)
    nice -n 10 .venv/bin/python benchmarks/bench_scale.py --sizes 1000 5000

Prints one table per size and a summary: each stage's seconds per 1000 photos relative to the smallest size, and
the whole job's peak memory relative to it. The photos are made once and kept in ``--work`` (gigabytes at 20k).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _assets import dataset, imagenet_weights  # noqa: E402

#: Stages, in the order the job runs them, and the first printed line of each (matched at the start of a line).
STAGE_MARKERS: Tuple[Tuple[str, str], ...] = (
    ("decode", r"decoding photos"),
    ("features", r"backbone features"),
    ("phase 1", r"phase 1 \(head\)"),
    ("phase 2", r"phase 2"),
    ("final evaluation", r"head refitted|decoding test photos|top-1 on"),
    ("convert", r"\[\d+/\d+\] convert \.\.\.|calibration:"),
    ("evaluate", r"quantization check|evaluated "),
    ("classify", r"\[\d+/\d+\] classify \.\.\."),
    ("report", r"\[\d+/\d+\] (export|report) \.\.\."),
)


def make_photos(source: Path, out: Path, total: int, seed: int = 0) -> Path:
    """``total`` distinct JPEGs, class folders as in ``source``, each a jittered crop of one source photo."""
    from PIL import Image, ImageEnhance

    done = out / ".complete"
    if done.is_file() and done.read_text() == str(total):
        return out
    shutil.rmtree(out, ignore_errors=True)
    classes = sorted(p.name for p in source.iterdir() if p.is_dir())
    files = {c: sorted(p for p in (source / c).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")) for c in classes}
    rng = np.random.default_rng(seed)
    for i in range(total):
        label = classes[i % len(classes)]
        src = files[label][rng.integers(len(files[label]))]
        with Image.open(src) as img:
            img = img.convert("RGB")
            w, h = img.size
            f = rng.uniform(0.4, 1.0)
            cw, ch = max(16, int(w * f)), max(16, int(h * f))
            x0, y0 = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
            img = img.crop((x0, y0, x0 + cw, y0 + ch))
            if rng.random() < 0.5:
                img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            img = ImageEnhance.Color(img).enhance(rng.uniform(0.7, 1.3))
            img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))
            (out / label).mkdir(parents=True, exist_ok=True)
            img.save(out / label / f"s{i:06d}.jpg", quality=int(rng.integers(85, 96)))
    done.write_text(str(total))
    return out


class TreeMemory:
    """Samples the summed resident memory (``VmRSS``) of a process and its descendants every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.samples: List[Tuple[float, int]] = []  # (time, bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> List[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
        return pids

    def _rss(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), sum(self._rss(p) for p in self._tree())))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_job(data: Path, out: Path, weights: Path, epochs: int, views: int, log_path: Path
            ) -> Tuple[Dict[str, Dict[str, float]], float, int, int]:
    """Run ``edge-kit`` on ``data``; returns ({stage: {seconds, peak_bytes}}, wall seconds, exit status, peak bytes
    of the whole job)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(REPO / ".venv" / "bin" / "edge-kit"), str(data), "--out", str(out), "--alpha", "0.35", "--weights",
           str(weights), "--epochs", str(epochs), "--set", f"train.fine_tune_views={views}", "--no-export"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, cwd=REPO,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1"))
    memory = TreeMemory(proc.pid)
    marks: List[Tuple[float, str]] = [(start, "start")]
    with open(log_path, "w") as log:
        for line in proc.stdout:
            now = time.perf_counter()
            log.write(f"{now - start:9.2f} {line}")
            for stage, pattern in STAGE_MARKERS:
                if re.match(pattern, line.strip()) and stage not in {s for _, s in marks}:
                    order = [s for s, _ in STAGE_MARKERS]
                    if marks[-1][1] == "start" or order.index(stage) > order.index(marks[-1][1]):
                        marks.append((now, stage))
    status = proc.wait()
    end = time.perf_counter()
    memory.stop()
    marks.append((end, "end"))
    stages: Dict[str, Dict[str, float]] = {}
    for (t0, stage), (t1, _) in zip(marks[1:-1], marks[2:]):
        peak = max((b for t, b in memory.samples if t0 <= t <= t1), default=0)
        stages[stage] = {"seconds": t1 - t0, "peak_bytes": peak}
    overall = max((b for _, b in memory.samples), default=0)
    return stages, end - start, status, overall


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    p.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs at every size (default %(default)s)")
    p.add_argument("--views", type=int, default=2, help="stored views per photo for fine-tuning (default %(default)s)")
    p.add_argument("--work", default="/tmp/edge_kit_bench_scale", help="where photos and run folders go")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    work = Path(args.work)
    results = {}
    for total in args.sizes:
        data = make_photos(dataset("flowers"), work / f"photos_{total}", total)
        stages, wall, status, peak = run_job(data, work / f"run_{total}", imagenet_weights(), args.epochs,
                                             args.views, work / f"log_{total}.txt")
        results[total] = {"stages": stages, "wall_s": wall, "status": status, "peak_bytes": peak}
        print(f"\n== {total} photos: {wall:.0f} s, exit {status}, peak memory {peak / 2**30:.2f} GiB "
              f"(log {work / f'log_{total}.txt'})")
        print("| stage | seconds | s per 1000 photos | peak memory (GiB) |\n|---|---|---|---|")
        for stage, row in stages.items():
            print(f"| {stage} | {row['seconds']:.1f} | {1000 * row['seconds'] / total:.2f} | "
                  f"{row['peak_bytes'] / 2**30:.2f} |")
    base = min(results)
    print(f"\n== relative to {base} photos: time per photo, and peak memory")
    print("| stage | " + " | ".join(f"{n}" for n in results) + " |\n|---|" + "---|" * len(results))
    for stage in results[base]["stages"]:
        cells = []
        for n, r in results.items():
            mine = r["stages"].get(stage)
            cells.append("-" if not mine else f"{(mine['seconds'] / n) / (results[base]['stages'][stage]['seconds'] / base):.2f}x")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    print("| peak memory, whole job | " + " | ".join(f"{r['peak_bytes'] / results[base]['peak_bytes']:.2f}x"
                                                   for r in results.values()) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
