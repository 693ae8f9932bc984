"""Does the backbone search pick well? Its choice on every split, against the trained models of every candidate.

For each dataset and split (the splits of ``bench_accuracy.py``), the search of ``trainer.backbone_search`` runs as
the trainer runs it: each candidate's features of the training photos (cached by ``bench_accuracy.py``'s
``dataset_features``), the cross-validated probe, the int8 costs measured here (``converter.backbone_costs``), the
choice. Then it is compared with edge-kit trained on each candidate (``bench_accuracy.py --backbone NAME --methods
edge-kit --jsonl FILE``, one file per candidate, or all in one): the test top-1 of the chosen candidate's trained
model against the best candidate's, and whether it is within 1 point.

    .venv/bin/python benchmarks/bench_search.py --results runs.jsonl --datasets caltech101-lookalikes flowers
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _assets import assets_dir  # noqa: E402
from bench_accuracy import dataset_features, run_probe, split_arrays  # noqa: E402
from trainer import backbone_search  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.dataset import split_dataset  # noqa: E402


def candidates(weights_dir: Path, size: int) -> List[backbone_search.Candidate]:
    return backbone_search.available(str(weights_dir), size)


def main(argv: Optional[Sequence[str]] = None) -> int:
    assets = assets_dir()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets-dir", default=str(assets / "datasets"))
    p.add_argument("--datasets", nargs="+", default=["caltech101-lookalikes", "flowers", "clothing-small"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--weights-dir", default=str(assets / "weights"), help="the candidates' weights files")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--cache-dir", default="/tmp/edge_kit_bench_accuracy")
    p.add_argument("--results", nargs="*", default=[], help="bench_accuracy --jsonl files of the trained candidates")
    p.add_argument("--jsonl", default=None, help="append one JSON line per dataset and split (choice, probes)")
    args = p.parse_args(argv)
    from converter.backbone_costs import measure

    cands = candidates(Path(args.weights_dir), args.size)
    print("candidates: " + ", ".join(f"{c.spec.title} ({c.weights})" for c in cands), flush=True)
    trained: Dict[tuple, Dict[str, float]] = {}
    for path in args.results:
        for line in Path(path).read_text().splitlines():
            r = json.loads(line)
            if r.get("method") == "edge-kit" and "test" in r:
                trained.setdefault((r["dataset"], r["split"]), {}).setdefault(r.get("backbone", "?"), []).append(
                    float(r["test"]))
    rows: List[Dict[str, Any]] = []
    for name in args.datasets:
        root = Path(args.datasets_dir)
        feats = {}
        for cand in cands:
            base = TrainConfig(data_dir=str(root), backbone=cand.spec.name, size=args.size, weights=cand.weights)
            feats[cand.spec.name] = dataset_features(root / name, base, Path(args.cache_dir))
        first = feats[cands[0].spec.name]
        fixed = first["discovery"].explicit and "val" in first["discovery"].files
        for seed in ([args.seeds[0]] if fixed else args.seeds):
            splits = split_dataset(first["discovery"], first["usable"], 0.2, None, seed, 5)
            y = np.array([label for _, label in splits.train])

            def features_of(cand: backbone_search.Candidate) -> Dict[str, np.ndarray]:
                data = feats[cand.spec.name]
                return {"train": split_arrays(splits, data["usable"], data["features"])["train"][0]}

            result = backbone_search.search(cands, features_of, y, len(splits.labels), args.size, seed, False,
                                            measure=measure, log=lambda m: None)
            # Each candidate's own probe (C by CV on train) scored on the held-out photos: backbones by their probes.
            probes = {}
            for cand in cands:
                data = feats[cand.spec.name]
                scored = run_probe(split_arrays(splits, data["usable"], data["features"]), seed)
                probes[cand.spec.name] = scored.get("test", scored.get("val"))
            split_name = "fixed" if fixed else f"seed {seed}"
            keys = [(name, s) for s in ([split_name] + [f"fixed (training seed {k})" for k in args.seeds])]
            tests = {}
            for key in keys:
                for backbone, values in trained.get(key, {}).items():
                    tests.setdefault(backbone, []).extend(values)
            tests = {b: statistics.mean(v) for b, v in tests.items()}
            chosen = result.chosen.spec.name
            best = max(tests, key=tests.get) if tests else None
            row = {"dataset": name, "split": split_name, "chosen": chosen,
                   "cv": {s.backbone: s.cv_top1 for s in result.scores}, "probe": probes, "test": tests, "best": best,
                   "chosen_test": tests.get(chosen), "best_test": tests.get(best) if best else None}
            rows.append(row)
            print(f"{name} {split_name}: chose {chosen}; cv " + ", ".join(f"{k} {v:.3f}" for k, v in row["cv"].items())
                  + "; probe held-out " + ", ".join(f"{k} {v:.3f}" for k, v in probes.items())
                  + ("; trained test " + ", ".join(f"{k} {v:.3f}" for k, v in tests.items()) if tests else ""),
                  flush=True)
    print("\n| dataset | split | chosen | cross-validated top-1 per candidate | trained test top-1 per candidate | "
          "best | chosen within 1 point of best |\n|---|---|---|---|---|---|---|")
    for r in rows:
        ok = "n/a" if r["best_test"] is None or r["chosen_test"] is None else (
            "yes" if r["chosen_test"] >= r["best_test"] - 0.01 - 1e-9 else "no")
        print(f"| {r['dataset']} | {r['split']} | {r['chosen']} | "
              + " / ".join(f"{k} {v:.3f}" for k, v in r["cv"].items()) + " | "
              + " / ".join(f"{k} {v:.3f}" for k, v in r["test"].items()) + f" | {r['best']} | {ok} |")
    print("\n| dataset | splits | probe of the chosen backbone (mean held-out top-1) | each candidate's probe | "
          "best single candidate's probe |\n|---|---|---|---|---|")
    for name in args.datasets:
        mine = [r for r in rows if r["dataset"] == name]
        if not mine:
            continue
        chosen_mean = statistics.mean(r["probe"][r["chosen"]] for r in mine)
        means = {b: statistics.mean(r["probe"][b] for r in mine) for b in mine[0]["probe"]}
        best = max(means, key=means.get)
        print(f"| {name} | {len(mine)} | {chosen_mean:.3f} | " + " / ".join(f"{b} {v:.3f}" for b, v in means.items())
              + f" | {best} {means[best]:.3f} |")
    if args.jsonl:
        with open(args.jsonl, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    print("\n| dataset | splits | mean test of the search's choices | best single candidate (its mean) | within 1 "
          "point |\n|---|---|---|---|---|")
    for name in args.datasets:
        mine = [r for r in rows if r["dataset"] == name and r["chosen_test"] is not None]
        if not mine:
            continue
        chosen_mean = statistics.mean(r["chosen_test"] for r in mine)
        backbones_seen = set.intersection(*(set(r["test"]) for r in mine))
        means = {b: statistics.mean(r["test"][b] for r in mine) for b in backbones_seen}
        best = max(means, key=means.get)
        print(f"| {name} | {len(mine)} | {chosen_mean:.3f} | {best} {means[best]:.3f} | "
              f"{'yes' if chosen_mean >= means[best] - 0.01 - 1e-9 else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
