"""Copy a converted variant to where an app expects it (atomically: the app never sees a half-copied model)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from converter.config import parse_variants
from converter.errors import ConvertError
from common import run_folder as rf
from common.atomic import atomic_write_bytes, atomic_write_text
from converter.metadata import LABELS_FILE
from device.errors import ModelError
from device.metadata import read_model_info

DEFAULT_DESTINATION = Path("android-sample/app/src/main/assets/model.tflite")


def export_variant(run_dir: str | Path, variant: str = "int8", destination: Optional[str | Path] = None,
                   tflite_dir: Optional[str | Path] = None, create: bool = True) -> Path:
    """Copy ``<run>/tflite/model_<variant>.tflite`` to ``destination`` (a file, or a folder -> ``model.tflite``
    inside it), with its labels as ``labels.txt`` beside it (what Model Maker and Teachable Machine users expect).
    Default: ``android-sample/app/src/main/assets/model.tflite``. A missing destination folder is created only
    with ``create`` (``edge-convert export`` asks for ``--create``, so a typo does not make a tree anywhere).
    Returns the written path."""
    (variant,) = parse_variants([variant])
    name = rf.tflite_model(variant)
    source = Path(tflite_dir) / Path(name).name if tflite_dir else Path(run_dir) / name
    if not source.is_file():
        raise ConvertError(f"{source}: not found; convert first: edge-convert {run_dir} --variants {variant}")
    dest = Path(destination) if destination else DEFAULT_DESTINATION
    if dest.is_dir() or str(destination or "").endswith(("/", "\\")):
        dest = dest / "model.tflite"
    if not dest.parent.is_dir() and not create:
        raise ConvertError(f"{dest.parent}: folder not found. Check the path (run from your project's root for the "
                           "default android-sample/app/src/main/assets/), or add --create to create it.")
    data = source.read_bytes()
    try:
        labels = read_model_info(data, source=str(source)).labels
    except ModelError:  # unreadable metadata: the model is still copied as it is, without a labels file
        labels = None
    written = atomic_write_bytes(dest, data)
    if labels:
        atomic_write_text(dest.parent / LABELS_FILE, "\n".join(labels) + "\n")
    return written
