"""The frozen backbone's pooled features of decoded photos, computed once per run and cached in ``checkpoint/``.

Phase 1 (:mod:`trainer.head_fit`), the backbone search and the dataset health check all read these features, so
the photos go through the backbone once, batched, whatever reads them afterwards.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Mapping, Sequence, Tuple

import numpy as np

from trainer import checkpoint as ckpt
from trainer.images import ImageCache
from trainer.progress import Progress, say


def extract(model: Any, cache: ImageCache, rows: np.ndarray, batch_size: int, label: str, verbose: bool,
            mirror: bool = False) -> Tuple[np.ndarray, float]:
    """``model``'s outputs (pooled features, or probabilities) for ``rows`` of the cache, batched, in inference
    mode. Returns (outputs, seconds)."""
    import tensorflow as tf

    size = tuple(model.input_shape[1:])

    @tf.function(input_signature=[tf.TensorSpec((None,) + size, tf.float32)])
    def fn(x: tf.Tensor) -> tf.Tensor:
        return model(x, training=False)

    out = np.empty((len(rows), int(model.output_shape[-1])), dtype=np.float32)
    progress = Progress(label, len(rows), enabled=verbose)
    pos = 0
    for batch in cache.batches(rows, batch_size, mirror=mirror):
        out[pos : pos + len(batch)] = fn(tf.constant(batch)).numpy()
        pos += len(batch)
        progress.update(len(batch))
    return out, progress.finish()


def cached(path: Path, backbone: Any, cache: ImageCache, splits: Mapping[str, Sequence[str]], batch_size: int,
           verbose: bool, timings: Dict[str, float], tag: str = "") -> Dict[str, np.ndarray]:
    """``{split: features}`` of the photos of each split (``{"train": [relative paths], ...}``), from ``path`` when
    it holds exactly these photos, else computed and saved there. ``timings`` gets ``features_<split>_s``.
    ``backbone``: the Keras model, or a function returning it (called only when the features must be computed)."""
    key = json.dumps({name: list(paths) for name, paths in splits.items()}, sort_keys=True)
    if path.is_file():
        try:
            with np.load(path) as data:
                if bytes(data["key"]).decode("utf-8") == key:
                    timings.update(json.loads(bytes(data["timings"]).decode("utf-8")))
                    say(f"using the cached backbone features{tag}", verbose)
                    return {name: data[name] for name in splits}
        except (OSError, ValueError, KeyError):
            pass  # unreadable or stale: compute again
    feats: Dict[str, np.ndarray] = {}
    own: Dict[str, float] = {}
    if callable(backbone) and not hasattr(backbone, "predict"):
        backbone = backbone()
    for name, paths in splits.items():
        feats[name], own[f"features_{name}_s"] = extract(backbone, cache, cache.rows(list(paths)), batch_size,
                                                         f"backbone features{tag} ({name})", verbose)
    timings.update(own)
    ckpt.write_npz(path, {**feats, "key": np.frombuffer(key.encode("utf-8"), dtype=np.uint8),
                          "timings": np.frombuffer(json.dumps(own).encode("utf-8"), dtype=np.uint8)})
    return feats
