"""Benchmark the converter: time per variant, accuracy, agreement, size and latency on a flowers run.

    python benchmarks/bench_converter.py [RUN_DIR] [--qat] [--calibration-size N]

Without RUN_DIR it builds a run folder like the trainer's (MobileNetV2 alpha 0.35, 224 px, ImageNet weights from
../shared/assets, 96 train / 24 validation photos per class) in /tmp/edge-kit-bench-run. Prints the numbers and
whether the targets are met: int8 top-1 drop <= 0.5 points vs float32, top-1 agreement >= 98%, int8 size <= 0.30x.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", nargs="?", default=None)
    p.add_argument("--qat", action="store_true")
    p.add_argument("--calibration-size", type=int, default=200)
    p.add_argument("--size", type=int, default=224, help="input size of the model built when no RUN_DIR is given")
    args = p.parse_args()

    run_dir = Path(args.run_dir) if args.run_dir else Path(f"/tmp/edge-kit-bench-run-{args.size}")
    if not (run_dir / "model.keras").is_file():
        from _assets import dataset, imagenet_weights
        from tests.converter.runfolder_factory import build_run_folder

        t = time.perf_counter()
        build_run_folder(run_dir, dataset("flowers"), imagenet_weights(),
                         size=args.size, train_per_class=96, val_per_class=24, epochs=10)
        print(f"built run folder {run_dir} in {time.perf_counter() - t:.1f} s (no trainer run given)")

    from converter import AccuracyGateError, ConvertConfig, convert

    cfg = ConvertConfig(calibration_size=args.calibration_size, qat=args.qat, max_accuracy_drop=None, verbose=False,
                        output_dir=str(run_dir / ("tflite_qat" if args.qat else "tflite")))
    t = time.perf_counter()
    try:
        result = convert(run_dir, cfg)
    except AccuracyGateError:
        raise
    total = time.perf_counter() - t
    r = result.report
    print(f"\nrun: {run_dir}  validation photos: {r['validation_photos']}  keras top-1: {100 * r['keras_top1']:.1f}%  "
          f"threads: {r['num_threads']}  qat: {r['qat']}")
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))
    print(f"{'variant':8} {'convert s':>9} {'size MB':>8} {'x f32':>6} {'top-1':>7} {'top-5':>7} {'agree':>7} "
          f"{'|dscore|':>9} {'med ms':>7} {'p90 ms':>7}")
    for name, v in r["variants"].items():
        print(f"{name:8} {v['convert_seconds']:9.1f} {v['size_bytes'] / 1e6:8.2f} {v['size_ratio_vs_float32']:6.2f} "
              f"{100 * v['top1']:6.1f}% {100 * v.get('top5', float('nan')):6.1f}% "
              f"{100 * v['agreement_with_keras']:6.1f}% {v['mean_abs_score_diff']:9.4f} "
              f"{v['latency_median_ms']:7.2f} {v['latency_p90_ms']:7.2f}")
    v = r["variants"]
    drop = 100 * (v["float32"]["top1"] - v["int8"]["top1"])
    checks = {
        "int8 top-1 drop <= 0.5 points": (drop, drop <= 0.5),
        "int8 top-1 agreement >= 98%": (100 * v["int8"]["agreement_with_keras"], v["int8"]["agreement_with_keras"] >= 0.98),
        "int8 size <= 0.30x float32": (v["int8"]["size_ratio_vs_float32"], v["int8"]["size_ratio_vs_float32"] <= 0.30),
    }
    from converter.compact import size_breakdown

    f32_size = v["float32"]["size_bytes"]
    print("\nwhere the bytes go (KB; quantization vectors stored once each, converter/compact.py):")
    for name in ("float32", "int8"):
        b = size_breakdown(result.files[name].read_bytes())
        print(f"  {name:8} " + ", ".join(f"{k} {b[k] / 1e3:.1f}" for k in b if k != "total") + f", total {b['total'] / 1e3:.1f}")
        if name == "int8":
            floor = (b["weights"] + b["quantization"]) / f32_size
            print(f"  int8 weights + biases + quantization vectors alone = {floor:.3f}x the float32 file "
                  "(the floor for this model in per-channel int8, before any graph, names or metadata)")
    print(f"\nconvert() total {total:.1f} s (4 variants + metadata + evaluation)")
    for name, (value, ok) in checks.items():
        print(f"target {name}: {value:.3f} -> {'MET' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
