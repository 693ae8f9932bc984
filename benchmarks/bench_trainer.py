"""Benchmark of the trainer on the flowers photos (5 classes x 120): prints accuracy, speed and memory.

    .venv/bin/python benchmarks/bench_trainer.py                 # default recipe, seed 0
    .venv/bin/python benchmarks/bench_trainer.py --seeds 0 1 2   # several seeded splits
    .venv/bin/python benchmarks/bench_trainer.py --no-fine-tune  # phase 1 only

Target of the default recipe: alpha 0.35 at 224 px with the local ImageNet .h5 weights, seeded 80/20 split, validation
top-1 >= 0.92; phase 1 (features + head) for 20 epochs <= 1.5x one backbone pass over the training photos.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _assets import dataset, imagenet_weights  # noqa: E402
from trainer import TrainConfig, train  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(dataset("flowers")))
    p.add_argument("--weights", default=str(imagenet_weights()))
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--alpha", type=float, default=0.35)
    p.add_argument("--no-fine-tune", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="override TrainConfig fields, e.g. --set fine_tune_blocks=6 fine_tune_epochs=10")
    args = p.parse_args()

    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value) if value[:1] in "0123456789-[{tfn" else value
    if overrides:
        print(f"overrides: {overrides}")
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="bench_trainer_") as tmp:
            config = TrainConfig(data_dir=args.data, out_dir=str(Path(tmp) / "run"), alpha=args.alpha,
                                 size=args.size, weights=args.weights, seed=seed,
                                 fine_tune=False if args.no_fine_tune else None, verbose=not args.quiet,
                                 **overrides)
            t0 = time.perf_counter()
            run = train(config)
            wall = time.perf_counter() - t0
        t = run.timings
        n_train = sum(run.dataset["counts"]["train"].values())
        n_val = sum(run.dataset["counts"]["val"].values())
        results.append(run.val_top1)
        print(f"\n=== seed {seed}: {args.data} ({n_train} train / {n_val} val), alpha {args.alpha}, {args.size} px")
        print(f"val top-1:                          {run.val_top1:.4f}")
        print(f"decode + preprocess (all photos):   {t['decode_s']:.1f} s")
        print(f"feature extraction:                 {t['feature_images_per_s']:.1f} images/s")
        print(f"one backbone pass (train photos):   {t['features_train_s']:.1f} s")
        print(f"phase 1 (train features + head):    {t['phase1_s'] - t['features_val_s']:.1f} s "
              f"= {t['phase1_vs_backbone_pass']:.2f}x one backbone pass ({len(run.history['phase1'])} head epochs "
              f"in {t['head_s']:.1f} s)")
        n_head = max(1, len(run.history["phase1"]))
        per20 = (t["phase1_s"] - t["features_val_s"] - t["head_s"] + t["head_s"] * 20 / n_head) / t["features_train_s"]
        print(f"  scaled to 20 head epochs:         {per20:.2f}x one backbone pass (the target's wording)")
        print(f"  + val features (early stopping):  {t['phase1_s']:.1f} s "
              f"= {t['phase1_with_val_vs_backbone_pass']:.2f}x one backbone pass")
        if run.history["phase2"]:
            print(f"phase 2 (fine-tuning):              {t['phase2_s']:.1f} s ({len(run.history['phase2'])} epochs)")
        print(f"total wall time:                    {wall:.1f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"\npeak memory (ru_maxrss):            {peak_mb:.0f} MB")
    if len(results) > 1:
        print(f"val top-1 over seeds {args.seeds}: {[round(r, 4) for r in results]}, "
              f"mean {sum(results) / len(results):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
