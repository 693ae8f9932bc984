"""Benchmark of the dataset health check (trainer/health.py): planted duplicates and label flips in a shared dataset,
precision and recall of each check over a grid of thresholds, and what the check costs.

    .venv/bin/python benchmarks/bench_health.py                          # flowers, 10 plantings
    .venv/bin/python benchmarks/bench_health.py --data caltech101-lookalikes --reps 3
    .venv/bin/python benchmarks/bench_health.py --cli                    # also time `edge-train --check-only`
    .venv/bin/python benchmarks/bench_health.py --scale 20000            # nearest pairs of 20k random features

Each planting copies the dataset's file list (symlinks, no copies of the photos) into a train/ val/ test/ layout
(70/20/10 per class, seeded) and plants:

* ``--dups`` duplicates across splits: a photo of train or val copied into another split (test or val) as a
  byte-identical copy, a JPEG re-encoded at quality 35-60, a copy resized to 50-75 % (re-encoded), or a crop keeping
  85-92 % of each side at a random place (re-encoded), in the proportions 2:3:3:2;
* ``--flips`` label flips: training photos moved into the folder of another class (chosen at random).

The photos are decoded (the preprocessing contract), passed once through the frozen backbone (alpha 0.35, 224 px,
the local ImageNet weights), and checked with permissive thresholds; every candidate is kept, so each threshold of
the grid is evaluated on the same candidates. "Found" means listed by the check. A finding that was not planted is
a false alarm, unless it is one of the few real problems of the source dataset listed below (NATURAL_DUPLICATES,
NATURAL_LABEL_PROBLEMS: found by the check on the plain dataset and verified by eye); those are counted apart
("natural"). ``--show`` lists every other finding at the default thresholds, to look at.

Timings per planting: decoding, the backbone pass, fitting the cross-validated head (what ``--check-only`` adds; a
training has it already), and the check itself with that head (what the check adds to a training, besides the
backbone pass over the test photos).

The issue's target: with 10 planted duplicates across splits and 10 planted flips, each check lists >= 9 of them
with <= 3 false alarms among its first 15 findings.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Sequence, Set, Tuple

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _assets import dataset, imagenet_weights  # noqa: E402
from common.run_folder import SPLIT_NAMES  # noqa: E402
from common.tf_startup import import_tensorflow_quietly  # noqa: E402
from device.preprocess import PreprocessConfig, decode_image  # noqa: E402
from trainer import features, head_fit, health  # noqa: E402
from trainer.dataset import discover, split_dataset  # noqa: E402
from trainer.images import build_image_cache  # noqa: E402

TRANSFORMS = ("exact", "exact", "reencode", "reencode", "reencode", "resize", "resize", "resize", "crop", "crop")
#: The loosest thresholds, so that every candidate a stricter setting keeps is among those collected.
LOOSE = health.HealthSettings(duplicate_similarity=0.80, duplicate_pixels=-1.0, suspect_label_probability=1.0,
                              suspect_other_probability=0.0)
TOP = 15
#: Pairs of photos of the source datasets that are the same picture (found by the check on the plain dataset and
#: verified by eye): listing them is right, so they are not counted as false alarms. Different photos of one subject
#: that the check lists (none so far) would stay false alarms.
NATURAL_DUPLICATES = {
    "flowers": [("daisy/10993710036_2033222c91.jpg", "daisy/10993818044_4c19b86c82.jpg")],
    "caltech101-lookalikes": [
        ("crayfish/image_0001.jpg", "crayfish/image_0023.jpg"), ("ketch/image_0035.jpg", "ketch/image_0041.jpg"),
        ("schooner/image_0008.jpg", "schooner/image_0060.jpg"), ("scorpion/image_0006.jpg", "scorpion/image_0072.jpg"),
        ("scorpion/image_0006.jpg", "scorpion/image_0076.jpg"), ("scorpion/image_0006.jpg", "scorpion/image_0078.jpg"),
        ("scorpion/image_0072.jpg", "scorpion/image_0076.jpg"), ("scorpion/image_0072.jpg", "scorpion/image_0078.jpg"),
    ],
}
#: Photos of the source datasets that do not show their class (found by the check on the plain dataset and verified
#: by eye): suspecting them is right, so they are not counted as false alarms. Photos whose label is right but that
#: the model gets wrong (a red tulip it calls a rose) stay false alarms.
NATURAL_LABEL_PROBLEMS = {
    "flowers": ["tulip/5687705933_55a8c2dbac.jpg",  # bare trees, no flower
                "tulip/6325571510_7544b27e57_n.jpg",  # a tea set, no flower
                "sunflower/28664252816_1f24388ee6_n.jpg"],  # a room, no flower
    "caltech101-lookalikes": ["chair/image_0003.jpg"],  # a Windsor chair filed under chair
}


@dataclass
class Planting:
    """One planted dataset: where it is, and the truth."""

    root: Path
    duplicates: Set[frozenset] = field(default_factory=set)  # {original, copy} relative paths
    kinds: Dict[frozenset, str] = field(default_factory=dict)
    flips: Set[str] = field(default_factory=set)  # relative paths of moved photos
    origin: Dict[str, str] = field(default_factory=dict)  # relative path -> the source photo's "class/name"
    natural: Set[frozenset] = field(default_factory=set)  # NATURAL_DUPLICATES of the source, as "class/name" pairs
    natural_labels: Set[str] = field(default_factory=set)  # NATURAL_LABEL_PROBLEMS of the source

    def is_natural(self, a: str, b: str) -> bool:
        return frozenset((self.origin.get(a, a), self.origin.get(b, b))) in self.natural


def _save_jpeg(pixels: np.ndarray, dest: Path, quality: int) -> None:
    from PIL import Image

    Image.fromarray(pixels).save(dest, format="JPEG", quality=quality)


def _copy(src: Path, dest: Path, kind: str, rng: np.random.Generator) -> None:
    from PIL import Image

    if kind == "exact":
        shutil.copyfile(src, dest)
        return
    rgb = decode_image(src)
    if kind == "reencode":
        _save_jpeg(rgb, dest, int(rng.integers(35, 61)))
    elif kind == "resize":
        scale = float(rng.uniform(0.5, 0.75))
        h, w = rgb.shape[:2]
        small = Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                            Image.Resampling.LANCZOS)
        _save_jpeg(np.asarray(small), dest, 85)
    elif kind == "crop":
        h, w = rgb.shape[:2]
        keep = float(rng.uniform(0.85, 0.92))
        ch, cw = round(h * keep), round(w * keep)
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        _save_jpeg(np.ascontiguousarray(rgb[top:top + ch, left:left + cw]), dest, 90)
    else:
        raise ValueError(kind)


def plant(source: Path, dest: Path, n_dups: int, n_flips: int, seed: int) -> Planting:
    """A train/val/test copy of ``source`` (symlinks) with planted duplicates across splits and label flips."""
    rng = np.random.default_rng(seed)
    classes = sorted(p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))
    where: Dict[Tuple[str, str], str] = {}  # (class, file name) -> split
    for label in classes:
        names = sorted(p.name for p in (source / label).iterdir() if p.is_file())
        order = rng.permutation(len(names))
        n_test, n_val = max(1, round(0.1 * len(names))), max(1, round(0.2 * len(names)))
        for rank, i in enumerate(order):
            where[(label, names[i])] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    keys = sorted(where)
    picks = [keys[i] for i in rng.permutation(len(keys))]
    out = Planting(root=dest, natural={frozenset(p) for p in NATURAL_DUPLICATES.get(source.name, [])},
                   natural_labels=set(NATURAL_LABEL_PROBLEMS.get(source.name, [])))
    flips = [k for k in picks if where[k] == "train"][:n_flips]
    flip_to = {k: classes[(classes.index(k[0]) + int(rng.integers(1, len(classes)))) % len(classes)] for k in flips}
    originals = [k for k in picks if where[k] in ("train", "val") and k not in flip_to][:n_dups]
    for (label, name), split in where.items():
        moved = (label, name) in flip_to
        rel = f"{split}/{flip_to[(label, name)]}/moved_{label}_{name}" if moved else f"{split}/{label}/{name}"
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).symlink_to(source / label / name)
        out.origin[rel] = f"{label}/{name}"
        if moved:
            out.flips.add(rel)
    for n, (label, name) in enumerate(originals):
        kind = TRANSFORMS[n % len(TRANSFORMS)]
        split = where[(label, name)]
        copy_split = "test" if split == "val" or n % 2 else "val"
        copy = f"{copy_split}/{label}/planted_{n:02d}_{kind}.jpg"
        _copy(source / label / name, dest / copy, kind, rng)
        out.origin[copy] = f"{label}/{name}"
        pair = frozenset((f"{split}/{label}/{name}", copy))
        out.duplicates.add(pair)
        out.kinds[pair] = kind
    return out


@dataclass
class Collected:
    """Every candidate of one planting with its scores and truth."""

    planting: Planting
    pairs: List[health.Duplicate]
    suspects: List[health.SuspectLabel]
    seconds: Dict[str, float]


def collect(planting: Planting, backbone, prep: PreprocessConfig, batch_size: int, tmp: Path) -> Collected:
    seconds: Dict[str, float] = {}
    discovery = discover(planting.root)
    t = time.perf_counter()
    cache = build_image_cache(discovery.root, [p for p, _ in discovery.all_items()], prep, tmp / "images.npy",
                              verbose=False)
    seconds["decode"] = time.perf_counter() - t
    splits = split_dataset(discovery, cache.usable)
    t = time.perf_counter()
    feats = {name: features.extract(backbone, cache, cache.rows([p for p, _ in splits.items(name)]), batch_size,
                                    name, False)[0] for name in SPLIT_NAMES if splits.items(name)}
    seconds["features"] = time.perf_counter() - t
    t = time.perf_counter()
    y = np.array([label for _, label in splits.train], dtype=np.int64)
    head = head_fit.fit_head(feats["train"], y, len(splits.labels), seed=0, balanced=False)
    seconds["head_fit"] = time.perf_counter() - t
    t = time.perf_counter()
    health.check(splits, feats, head, health.pixels_from(cache))
    seconds["check"] = time.perf_counter() - t
    report = health.check(splits, feats, head, health.pixels_from(cache), LOOSE)
    return Collected(planting, report.duplicates, report.suspect_labels, seconds)


# ------------------------------------------------------------------------------------------------ scoring

def _dup_list(pairs: Sequence[health.Duplicate], s: health.HealthSettings) -> List[health.Duplicate]:
    kept = [d for d in pairs if d.similarity >= s.duplicate_similarity and d.pixel_similarity >= s.duplicate_pixels]
    return sorted(kept, key=lambda d: (not d.cross_split, -d.similarity, d.a, d.b))


def _suspect_list(suspects: Sequence[health.SuspectLabel], s: health.HealthSettings) -> List[health.SuspectLabel]:
    kept = [x for x in suspects if x.label_probability <= s.suspect_label_probability
            and x.suggested_probability >= s.suspect_other_probability]
    return sorted(kept, key=lambda x: (-x.score, -x.suggested_probability, x.file))


def dup_scores(c: Collected, s: health.HealthSettings) -> Tuple[int, int, int, int, int]:
    """(planted found, listed, planted in the first 15, false alarms in the first 15, natural duplicates found)."""
    listed = _dup_list(c.pairs, s)
    hit = [frozenset((d.a, d.b)) in c.planting.duplicates for d in listed]
    natural = [c.planting.is_natural(d.a, d.b) for d in listed]
    false = [not h and not n for h, n in zip(hit, natural)]
    return sum(hit), len(listed) - sum(natural), sum(hit[:TOP]), sum(false[:TOP]), sum(natural)


def flip_scores(c: Collected, s: health.HealthSettings) -> Tuple[int, int, int, int, int]:
    """(planted found, listed, planted in the first 15, false alarms in the first 15, natural problems found)."""
    listed = _suspect_list(c.suspects, s)
    hit = [x.file in c.planting.flips for x in listed]
    natural = [not h and c.planting.origin.get(x.file) in c.planting.natural_labels for h, x in zip(hit, listed)]
    false = [not h and not n for h, n in zip(hit, natural)]
    return sum(hit), len(listed) - sum(natural), sum(hit[:TOP]), sum(false[:TOP]), sum(natural)


def table(rows: List[Tuple[str, List[Tuple[int, int, int, int, int]]]], planted: int) -> None:
    """Mean over the plantings (worst in brackets): recall and precision of the whole list (natural duplicates of
    the source neither count against precision nor for recall), planted findings and false alarms among the first
    15."""
    print(f"{'setting':24s} {'recall':>7s} {'precision':>9s} {'top15 found':>12s} {'top15 false':>12s} "
          f"{'listed':>7s} {'natural':>8s}")
    for name, results in rows:
        found, listed, top_hit, top_false, natural = (np.array(v) for v in zip(*results))
        precision = np.mean([f / n if n else 1.0 for f, n in zip(found, listed)])
        print(f"{name:24s} {found.mean() / planted:7.2f} {precision:9.2f} {top_hit.mean():6.1f} ({top_hit.min():3d}) "
              f"{top_false.mean():6.1f} ({top_false.max():3d}) {listed.mean():7.1f} {natural.mean():8.1f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="flowers", help="a dataset of the shared assets, or a folder")
    p.add_argument("--weights", default=str(imagenet_weights()))
    p.add_argument("--reps", type=int, default=10, help="plantings (different photos and splits each)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dups", type=int, default=10)
    p.add_argument("--flips", type=int, default=10)
    p.add_argument("--cli", action="store_true", help="also time `edge-train DATA --check-only` on the plain data")
    p.add_argument("--scale", type=int, default=0, help="time nearest_pairs on this many random 1280-d features")
    p.add_argument("--show", action="store_true", help="list every non-planted finding at the default thresholds")
    args = p.parse_args()
    source = Path(args.data) if Path(args.data).is_dir() else dataset(args.data)

    if args.scale:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((args.scale, 1280)).astype(np.float32)
        t = time.perf_counter()
        i, _, _ = health.nearest_pairs(x, 5, 0.9)
        print(f"nearest_pairs: {args.scale} x 1280 features, top 5 per row: {time.perf_counter() - t:.1f} s "
              f"({len(i)} pairs >= 0.9), peak block {health.BLOCK_ELEMENTS * 4 / 2**20:.0f} MiB")

    from trainer.model import build_model

    import_tensorflow_quietly()
    prep = PreprocessConfig(224, 224, "center")
    backbone = build_model(2, 0.35, 224, args.weights).backbone
    collected: List[Collected] = []
    for rep in range(args.reps):
        with tempfile.TemporaryDirectory(prefix="bench_health_") as tmp:
            planting = plant(source, Path(tmp) / "photos", args.dups, args.flips, args.seed + rep)
            c = collect(planting, backbone, prep, 32, Path(tmp))
            collected.append(c)
            print(f"planting {rep}: " + ", ".join(f"{k} {v:.1f} s" for k, v in c.seconds.items()), flush=True)

    default = health.HealthSettings()
    print(f"\n== {source.name}: {args.reps} plantings of {args.dups} duplicates across splits and {args.flips} "
          "label flips")
    print("\nDuplicates (feature cosine similarity >= s, pixel similarity >= p):")
    rows = []
    for sim in (0.80, 0.82, 0.85, 0.88, 0.90):
        for pix in (-1.0, 0.5, 0.55, 0.6, 0.62, 0.65, 0.7):
            s = replace(default, duplicate_similarity=sim, duplicate_pixels=pix)
            mark = " *" if s == default else ""
            rows.append((f"s {sim:.2f}, p {'off' if pix < 0 else f'{pix:.2f}'}{mark}",
                         [dup_scores(c, s) for c in collected]))
    table(rows, args.dups)
    print("\nRecall per kind of copy at the default thresholds:")
    for kind in dict.fromkeys(TRANSFORMS):
        total = found = 0
        for c in collected:
            listed = {frozenset((d.a, d.b)) for d in _dup_list(c.pairs, default)}
            for pair, k in c.planting.kinds.items():
                if k == kind:
                    total += 1
                    found += pair in listed
        print(f"  {kind:9s} {found}/{total}")
    sims = [(d.similarity, d.pixel_similarity) for c in collected for d in c.pairs
            if frozenset((d.a, d.b)) in c.planting.duplicates]
    missed = sum(len(c.planting.duplicates) for c in collected) - len(sims)
    print(f"planted pairs: feature similarity min {min(s for s, _ in sims):.3f}, pixel similarity min "
          f"{min(p for _, p in sims):.3f}; {missed} never a candidate (feature similarity < "
          f"{LOOSE.duplicate_similarity} or not among the 5 nearest)")
    others = [d for c in collected for d in c.pairs
              if frozenset((d.a, d.b)) not in c.planting.duplicates and not c.planting.is_natural(d.a, d.b)]
    highest = max((d.pixel_similarity for d in others), default=float("nan"))
    print(f"other candidate pairs (feature similarity >= {LOOSE.duplicate_similarity}, neither planted nor natural): "
          f"{len(others)}, highest pixel similarity {highest:.3f}; with pixel similarity >= "
          f"{default.duplicate_pixels}: {sum(d.pixel_similarity >= default.duplicate_pixels for d in others)}")

    print("\nSuspect labels (own class probability <= a, another class >= b):")
    rows = []
    for own in (0.01, 0.02, 0.03, 0.05, 0.1):
        for other in (0.0, 0.3, 0.5, 0.7):
            s = replace(default, suspect_label_probability=own, suspect_other_probability=other)
            mark = " *" if s == default else ""
            rows.append((f"a {own:.2f}, b {other:.2f}{mark}", [flip_scores(c, s) for c in collected]))
    table(rows, args.flips)

    if args.show:
        print("\nFindings at the default thresholds that were not planted (look at them: real problems?):")
        for n, c in enumerate(collected):
            for d in _dup_list(c.pairs, default):
                if frozenset((d.a, d.b)) not in c.planting.duplicates and not c.planting.is_natural(d.a, d.b):
                    print(f"  planting {n} duplicate: {d.a} {d.b} {d.similarity:.3f} / {d.pixel_similarity:.3f}")
            for x in _suspect_list(c.suspects, default)[:TOP]:
                if x.file not in c.planting.flips and c.planting.origin.get(x.file) not in c.planting.natural_labels:
                    print(f"  planting {n} suspect: {x.file} {x.label} -> {x.suggested} {x.score:.3f}")

    secs = {k: np.mean([c.seconds[k] for c in collected]) for k in collected[0].seconds}
    print("\nmean seconds per planting: " + ", ".join(f"{k} {v:.2f}" for k, v in secs.items()))
    if args.cli:
        with tempfile.TemporaryDirectory(prefix="bench_health_cli_") as tmp:
            cmd = [sys.executable, "-m", "trainer.cli", str(source), "--check-only", "-o", tmp, "--weights",
                   args.weights, "-q"]
            t = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
            print(f"\nedge-train {source.name} --check-only: {time.perf_counter() - t:.1f} s wall, exit "
                  f"{done.returncode}: {done.stdout.strip() or done.stderr.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
