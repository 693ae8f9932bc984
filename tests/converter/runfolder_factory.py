"""Build a small but genuine run folder (the trainer's output format) for converter tests and benchmarks.

The model is the real edge-kit architecture: 0-255 float input -> Rescaling (the backbone's normalisation) -> a
registry backbone (MobileNetV2 alpha 0.35 unless told otherwise; local ImageNet weights) -> global average pooling
-> Dense(softmax), briefly fitted on flower photos. Used while the trainer's own output is not needed (and to keep
converter tests independent of training settings).
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from device.preprocess import PreprocessConfig, load_and_preprocess

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp"}


def list_dataset(root: Path) -> Tuple[List[str], List[Tuple[str, int]]]:
    """Labels (sorted folder names) and ``(relative path, label index)`` for every photo under ``root``."""
    labels = sorted(p.name for p in root.iterdir() if p.is_dir())
    items: List[Tuple[str, int]] = []
    for index, label in enumerate(labels):
        for photo in sorted((root / label).iterdir()):
            if photo.suffix.lower() in IMAGE_EXTENSIONS:
                items.append((f"{label}/{photo.name}", index))
    return labels, items


def build_run_folder(
    run_dir: Path,
    data_dir: Path,
    weights: Path,
    size: int = 96,
    train_per_class: int = 20,
    val_per_class: int = 10,
    epochs: int = 3,
    fine_tune_layers: int = 0,
    batch_size: int = 32,
    seed: int = 0,
    labels_subset: Sequence[str] | None = None,
    backbone: str = "mobilenet_v2_0.35",
) -> Path:
    """Fit a small classifier on ``backbone`` (a registry name; ``weights``: its weights file) on ``data_dir`` and
    write ``model.keras``, ``labels.txt``, ``config.json`` and ``splits.json`` into ``run_dir``. Returns
    ``run_dir``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tf_keras as keras

    tf.random.set_seed(seed)
    rng = random.Random(seed)
    labels, items = list_dataset(data_dir)
    if labels_subset is not None:
        keep = [labels.index(name) for name in labels_subset]
        remap = {old: new for new, old in enumerate(keep)}
        labels = list(labels_subset)
        items = [(p, remap[i]) for p, i in items if i in remap]
    train: List[Tuple[str, int]] = []
    val: List[Tuple[str, int]] = []
    for index in range(len(labels)):
        mine = [it for it in items if it[1] == index]
        rng.shuffle(mine)
        train += mine[:train_per_class]
        val += mine[train_per_class : train_per_class + val_per_class]

    cfg = PreprocessConfig(height=size, width=size, crop="center")
    x = np.stack([load_and_preprocess(data_dir / p, cfg) for p, _ in train]).astype(np.float32)
    y = np.array([i for _, i in train])

    from trainer import backbones

    spec = backbones.get(backbone)
    inputs = keras.Input(shape=(size, size, 3), dtype="float32", name="image")
    h = keras.layers.Rescaling(spec.scale, offset=spec.offset)(inputs)
    base = spec.build(size, str(weights))
    base.trainable = fine_tune_layers > 0
    if fine_tune_layers > 0:
        for layer in base.layers[:-fine_tune_layers]:
            layer.trainable = False
    h = base(h, training=False)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(len(labels), activation="softmax", name="probabilities")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model.save(run_dir / "model.keras")
    (run_dir / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    config = {"backbone": spec.name, "model": spec.to_dict(), "preprocessing": cfg.to_dict(), "seed": seed}
    (run_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    splits = {
        "root": str(Path(data_dir).resolve()),
        "labels": labels,
        "train": [list(t) for t in train],
        "val": [list(v) for v in val],
        "test": [],
    }
    (run_dir / "splits.json").write_text(json.dumps(splits, indent=2), encoding="utf-8")
    return run_dir
