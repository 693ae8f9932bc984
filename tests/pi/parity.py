"""Cross-CPU parity: record a model's outputs on one machine, compare them with another machine's.

Needs only the device runtime (numpy, Pillow, an interpreter), so it runs unchanged inside the emulated Raspberry
Pi OS of ``scripts/pi_emulated.sh`` and on the x86-64 host:

    python tests/pi/parity.py record --out arm64.json            # the committed models on the fixed photos
    python tests/pi/parity.py compare x86_64.json arm64.json     # prints agreement per model

What is recorded per photo: the preprocessed pixels (one sha256 over all photos: the preprocessing contract
must be byte-identical everywhere), the raw output tensor (uint8 for int8 models) and the scores. What docs/install.md
promises across CPUs is :data:`PROMISE`; ``tests/pi/test_cross_cpu.py`` holds every recorded pair to it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # runnable as a script from a bare copy of the repository
    sys.path.insert(0, str(HERE.parent.parent))

from device import Classifier  # noqa: E402
from device.backends import make_interpreter, resolve_backend  # noqa: E402
from device.errors import ModelError  # noqa: E402

#: The committed parity models (``tests/pi/make_models.py``): MobileNetV2 0.35, one per exported variant, and
#: EfficientNet-Lite0's int8 export. A model is named by its path under MODELS_DIR without ``.tflite``.
MODELS_DIR = HERE / "models"
VARIANTS = ("float32", "float16", "dynamic", "int8")
MODELS = tuple(f"model_{v}" for v in VARIANTS) + ("efficientnet_lite0/model_int8",)

#: Photos per flowers class in the fixed parity set (sorted file names, first N of each class).
PHOTOS_PER_CLASS = 24

#: What edge-kit promises between two CPUs (x86-64 and arm64, x86-64 and armv7l) for the same model and photo, per
#: variant:
#: ``top1``: least fraction of photos with the same top-1 label; ``max_diff``: largest difference of any class
#: score (probabilities in [0, 1]); ``flip_margin``: a top-1 may change only where the first record's top two
#: scores are at most this far apart. docs/install.md's Raspberry Pi section states these numbers.
PROMISE: Dict[str, Dict[str, float]] = {
    "float32": {"top1": 1.0, "max_diff": 1e-5, "flip_margin": 0.0},
    "float16": {"top1": 1.0, "max_diff": 1e-5, "flip_margin": 0.0},
    "dynamic": {"top1": 0.99, "max_diff": 12 / 256, "flip_margin": 12 / 256},
    # Which photos sit near a tie moves with the pixels (docs/install.md, Pi section: measured rates): the flip-margin
    # rule is the guarantee, the rate has a margin.
    "int8": {"top1": 0.90, "max_diff": 24 / 256, "flip_margin": 12 / 256},
}

#: The variants an interpreter cannot load, by backend, with the text its error must contain. tflite-runtime (its last
#: release, 2.14; the only interpreter of 32-bit Raspberry Pi OS) predates the FULLY_CONNECTED version that current
#: TensorFlow writes into the dynamic-range export. docs/install.md's Raspberry Pi section says so.
NOT_LOADABLE: Dict[str, Dict[str, str]] = {
    "tflite-runtime": {"dynamic": "'FULLY_CONNECTED' version '12'"},
}

#: Interpreter op resolvers that can be compared (``--resolver``): the default (XNNPACK delegate applied),
#: the built-in optimized kernels without XNNPACK, and the reference kernels.
RESOLVERS = ("default", "no-xnnpack", "reference")


def parity_photos(assets_dir: Path, per_class: int = PHOTOS_PER_CLASS) -> List[Path]:
    """The fixed photo set: the first ``per_class`` photos (sorted names) of each flowers class."""
    root = Path(assets_dir) / "datasets" / "flowers"
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: flowers photos not found; set EDGE_KIT_ASSETS to the shared/assets folder")
    photos: List[Path] = []
    for label in sorted(p for p in root.iterdir() if p.is_dir()):
        photos += sorted(p for p in label.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:per_class]
    return photos


def _with_resolver(clf: Classifier, model: Path, resolver: str, num_threads: int) -> None:
    """Swap ``clf``'s interpreter for one built with another op resolver (same model, so same tensor indices)."""
    if resolver == "default":
        return
    backend = clf.interpreter.backend
    module = {"ai-edge-litert": "ai_edge_litert.interpreter", "tflite-runtime": "tflite_runtime.interpreter"}[backend]
    import importlib

    interp_mod = importlib.import_module(module)
    kind = {"no-xnnpack": "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "reference": "BUILTIN_REF"}[resolver]
    raw = interp_mod.Interpreter(model_path=str(model), num_threads=num_threads,
                                 experimental_op_resolver_type=getattr(interp_mod.OpResolverType, kind))
    raw.allocate_tensors()
    clf.interpreter.raw = raw


def record(models: Sequence[Path], photos: Sequence[Path], resolver: str = "default",
           num_threads: int = 1) -> Dict[str, Any]:
    """Run every model on every photo; the JSON-ready record (machine, backend, pixels hash, outputs)."""
    pixels_hash = hashlib.sha256()
    out: Dict[str, Any] = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "backend": resolve_backend(),
        "backend_version": _backend_version(resolve_backend()),
        "resolver": resolver,
        "num_threads": num_threads,
        "photos": [f"{p.parent.name}/{p.name}" for p in photos],
        "models": {},
    }
    prepared: Optional[List[np.ndarray]] = None
    for model in models:
        try:
            clf = Classifier.from_file(model, num_threads=num_threads)
        except ModelError as exc:  # e.g. an operator version this interpreter predates: recorded, judged by the test
            out["models"][model_name(model)] = {"file_sha256": hashlib.sha256(Path(model).read_bytes()).hexdigest(),
                                                "error": str(exc)}
            continue
        _with_resolver(clf, Path(model), resolver, num_threads)
        if prepared is None:
            prepared = [clf.prepare(p) for p in photos]
            for px in prepared:
                pixels_hash.update(px.tobytes())
        t0 = time.perf_counter()
        raws, scores = [], []
        for px in prepared:
            scores.append(clf.scores(px).astype(float).tolist())
            raws.append(clf.interpreter.raw.get_tensor(clf.interpreter.output_details[0]["index"]).ravel().tolist())
        out["models"][model_name(model)] = {
            "file_sha256": hashlib.sha256(Path(model).read_bytes()).hexdigest(),
            "labels": list(clf.labels),
            "raw_dtype": str(clf.interpreter.output_details[0]["dtype"].__name__),
            "raw": raws,
            "scores": scores,
            "seconds": round(time.perf_counter() - t0, 3),
        }
    out["pixels_sha256"] = pixels_hash.hexdigest()
    return out


def _backend_version(backend: str) -> str:
    try:
        from importlib.metadata import version

        return version({"ai-edge-litert": "ai-edge-litert", "tflite-runtime": "tflite-runtime"}.get(backend, backend))
    except Exception:  # a version is informative only
        return "unknown"


def compare(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Per model present in both records: photos, same top-1 count, identical-output count, largest score
    difference, the widest top-two margin (in ``a``) of a photo whose top-1 changed, and for quantized outputs the
    largest raw difference in output steps."""
    if a["photos"] != b["photos"]:
        raise ValueError("the two records were made on different photo sets")
    result: Dict[str, Dict[str, Any]] = {}
    for name in sorted(set(a["models"]) & set(b["models"])):
        ma, mb = a["models"][name], b["models"][name]
        if ma["file_sha256"] != mb["file_sha256"]:
            raise ValueError(f"{name}: the two records ran different model files")
        if "error" in ma or "error" in mb:  # not loadable on one side: see :func:`unloadable`
            continue
        sa, sb = np.asarray(ma["scores"]), np.asarray(mb["scores"])
        ra, rb = np.asarray(ma["raw"], np.float64), np.asarray(mb["raw"], np.float64)
        n = len(sa)
        flipped = sa.argmax(1) != sb.argmax(1)
        top2 = np.sort(sa, 1)[:, -2:] if n else np.zeros((0, 2))
        result[name] = {
            "max_flip_margin": float((top2[:, 1] - top2[:, 0])[flipped].max()) if flipped.any() else 0.0,
            "photos": n,
            "same_top1": int((sa.argmax(1) == sb.argmax(1)).sum()),
            "identical": int((ra == rb).all(1).sum()),
            "max_score_diff": float(np.abs(sa - sb).max()) if n else 0.0,
            "max_raw_steps": float(np.abs(ra - rb).max()) if ma["raw_dtype"] in ("uint8", "int8") and n else None,
        }
    return result


def unloadable(record_: Dict[str, Any]) -> Dict[str, str]:
    """``{model name: error}`` of the models a record's interpreter could not load."""
    return {name: m["error"] for name, m in record_["models"].items() if "error" in m}


def check_promise(stats: Dict[str, Dict[str, Any]]) -> List[str]:
    """The broken promises (one line each) of :func:`compare`'s result; empty when every variant keeps
    :data:`PROMISE` (by the variant of each model: :func:`variant_of`)."""
    broken = []
    for name, s in stats.items():
        variant = variant_of(name)
        promise = PROMISE.get(variant)
        if promise is None:
            continue
        if s["same_top1"] < promise["top1"] * s["photos"]:
            broken.append(f"{name}: same top-1 on {s['same_top1']}/{s['photos']} photos, promised "
                          f">= {promise['top1']:.0%}")
        if s.get("max_flip_margin", 0.0) > promise["flip_margin"]:
            broken.append(f"{name}: a top-1 changed where the top two scores were {s['max_flip_margin']:.4f} "
                          f"apart, promised only within {promise['flip_margin']:.4f}")
        if s["max_score_diff"] > promise["max_diff"]:
            broken.append(f"{name}: scores differ by up to {s['max_score_diff']:.6f}, promised "
                          f"<= {promise['max_diff']:.6f}")
    return broken


def format_stats(stats: Dict[str, Dict[str, Any]]) -> str:
    """A small table of :func:`compare`'s result."""
    lines = [f"{'model':<30} {'same top-1':>11} {'identical':>10} {'max score diff':>15} {'(x256)':>7}"]
    for name, s in stats.items():
        lines.append(f"{name:<30} {s['same_top1']:>5}/{s['photos']:<5} {s['identical']:>4}/{s['photos']:<5} "
                     f"{s['max_score_diff']:>15.2e} {s['max_score_diff'] * 256:>7.2f}")
    return "\n".join(lines)


def default_models() -> List[Path]:
    """The committed parity models, in :data:`MODELS` order."""
    return [MODELS_DIR / f"{name}.tflite" for name in MODELS]


def model_name(path: Path) -> str:
    """A model's name in a record: its path under :data:`MODELS_DIR` without ``.tflite``, else the file's stem."""
    path = Path(path).resolve()
    try:
        return path.relative_to(MODELS_DIR.resolve()).with_suffix("").as_posix()
    except ValueError:
        return path.stem


def variant_of(name: str) -> str:
    """The variant of a model name: ``efficientnet_lite0/model_int8`` -> ``int8``."""
    return name.rsplit("/", 1)[-1].replace("model_", "", 1)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run the models on the photos and write a JSON record")
    rec.add_argument("--out", required=True, type=Path)
    rec.add_argument("--models", nargs="*", type=Path, help="default: the committed parity models")
    rec.add_argument("--assets", type=Path, default=None, help="shared assets folder (default: $EDGE_KIT_ASSETS)")
    rec.add_argument("--per-class", type=int, default=PHOTOS_PER_CLASS)
    rec.add_argument("--resolver", choices=RESOLVERS, default="default")
    rec.add_argument("--threads", type=int, default=1)
    cmp_ = sub.add_parser("compare", help="compare two records and check the promise")
    cmp_.add_argument("a", type=Path)
    cmp_.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "record":
        from tests.conftest import find_assets_dir

        assets = args.assets or find_assets_dir()
        data = record(args.models or default_models(), parity_photos(assets, args.per_class), args.resolver,
                      args.threads)
        args.out.write_text(json.dumps(data), encoding="utf-8")
        times = ", ".join(f"{k} {v['seconds']} s" if "seconds" in v else f"{k} NOT LOADED ({v['error']})"
                          for k, v in data["models"].items())
        print(f"{args.out}: {len(data['photos'])} photos on {data['machine']} ({data['backend']} "
              f"{data['backend_version']}, {args.resolver}); {times}")
        return 0
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (args.a, args.b))
    stats = compare(a, b)
    print(f"{a['machine']} ({a['backend']} {a['backend_version']}, {a['resolver']}) vs {b['machine']} "
          f"({b['backend']} {b['backend_version']}, {b['resolver']}); preprocessed pixels "
          f"{'identical' if a['pixels_sha256'] == b['pixels_sha256'] else 'DIFFER'}")
    print(format_stats(stats))
    broken = check_promise(stats)
    for line in broken:
        print("promise broken:", line)
    return 1 if broken or a["pixels_sha256"] != b["pixels_sha256"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
