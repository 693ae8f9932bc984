"""Benchmark the one-command pipeline (``edge-kit``) end to end and print per-stage times and accuracies.

    .venv/bin/python benchmarks/bench_pipeline.py                    # flowers, alpha 0.35, 224 px, local weights
    .venv/bin/python benchmarks/bench_pipeline.py --size 96 --keep runs/bench

Runs the real command in a child process (as a user would), from scratch into a fresh folder, then a second time to
show that an unchanged re-run skips every stage. Prints: wall time, per-stage seconds (from pipeline_state.json),
the converter's per-step timings, each variant's size / top-1 / latency, and the device-runtime check. Targets
(what the one command must meet): whole command < 6 min on a 2-core machine, int8 top-1 >= 0.92.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _assets import dataset, imagenet_weights  # noqa: E402


def run(cmd, log_path: Path) -> float:
    start = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                              env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    seconds = time.perf_counter() - start
    errors = [line for line in log_path.read_text().splitlines() if line.startswith("error: ")]
    for line in errors:
        print(f"edge-kit exit {proc.returncode}: {line}")
    if proc.returncode != 0 and not errors:  # 1 with "error:" lines = a blocked export; the numbers still count
        print(log_path.read_text()[-3000:])
        raise SystemExit(f"edge-kit exited with {proc.returncode} (log: {log_path})")
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="photo folder (default: shared assets flowers)")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--alpha", type=float, default=0.35)
    p.add_argument("--variants", default="float32,float16,dynamic,int8")
    p.add_argument("--keep", default=None, help="run folder to keep (default: a temporary folder, removed)")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more edge-kit arguments")
    args = p.parse_args()

    data = Path(args.data) if args.data else dataset("flowers")
    tmp = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    out = Path(args.keep) if args.keep else tmp / "run"
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "pipeline.cli", str(data), "--out", str(out), "--alpha", str(args.alpha),
           "--size", str(args.size), "--weights", str(imagenet_weights()), "--variants", args.variants,
           "--android-assets", str(tmp / "assets"), *args.extra]
    print(f"command: {' '.join(cmd)}")
    print(f"cpu cores: {os.cpu_count()}")
    first = run(cmd, tmp / "first.log")
    second = run(cmd, tmp / "second.log")

    state = json.loads((out / "pipeline_state.json").read_text())
    print(f"\nwhole command, from scratch: {first:.1f} s wall ({first / 60:.2f} min; target < 6 min)")
    print(f"unchanged re-run:            {second:.1f} s wall (every stage skipped)")
    print("\nper stage (s):")
    for name, rec in state["stages"].items():
        print(f"  {name:<9} {rec['seconds']:7.1f}")
    conv = json.loads((out / "tflite" / "report.json").read_text())
    print("converter steps (s): " + ", ".join(f"{k} {v}" for k, v in conv.get("timings_seconds", {}).items()))
    hist = json.loads((out / "history.json").read_text()) if (out / "history.json").is_file() else {}
    if "timings" in hist:
        print("trainer steps (s):   " + ", ".join(f"{k} {v:.1f}" for k, v in hist["timings"].items()
                                                   if isinstance(v, (int, float)) and k.endswith("_s")))
    print(f"\nKeras model top-1 on {conv['validation_photos']} validation photos: {conv['keras_top1']:.4f}")
    print(f"{'variant':<9} {'size MB':>8} {'top-1':>7} {'agree':>7} {'median ms':>10}")
    for name, v in conv["variants"].items():
        print(f"{name:<9} {v['size_bytes'] / 1e6:8.2f} {v['top1']:7.4f} {v['agreement_with_keras']:7.4f} "
              f"{v['latency_median_ms']:10.2f}")
    cls = json.loads((out / "classify.json").read_text())
    print(f"\ndevice runtime ({cls['variant']}, python -m device): {cls['correct']}/{len(cls['photos'])} held-out "
          f"photos right = {cls['top1']:.4f}, {cls['ms_per_photo']} ms per photo (decode+preprocess+invoke)")
    int8 = conv["variants"].get("int8", {}).get("top1")
    if int8 is not None:
        print(f"int8 top-1 {int8:.4f} (target >= 0.92): {'OK' if int8 >= 0.92 else 'BELOW TARGET'}")
    print(f"whole command {first:.1f} s (target < 360 s): {'OK' if first < 360 else 'OVER TARGET'}")
    print(f"report: {out / 'report.html'} ({(out / 'report.html').stat().st_size / 1e6:.2f} MB)")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
