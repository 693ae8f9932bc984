"""Copy a converted variant to where an app expects it (atomically: the app never sees a half-copied model)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from converter.config import parse_variants
from converter.errors import ConvertError
from common import run_folder as rf
from common.atomic import atomic_write_bytes

DEFAULT_DESTINATION = Path("android-sample/app/src/main/assets/model.tflite")


def export_variant(run_dir: str | Path, variant: str = "int8", destination: Optional[str | Path] = None,
                   tflite_dir: Optional[str | Path] = None) -> Path:
    """Copy ``<run>/tflite/model_<variant>.tflite`` to ``destination`` (a file, or a folder -> ``model.tflite``
    inside it). Default: ``android-sample/app/src/main/assets/model.tflite``. Returns the written path."""
    (variant,) = parse_variants([variant])
    name = rf.tflite_model(variant)
    source = Path(tflite_dir) / Path(name).name if tflite_dir else Path(run_dir) / name
    if not source.is_file():
        raise ConvertError(f"{source}: not found; convert first: edge-convert {run_dir} --variants {variant}")
    dest = Path(destination) if destination else DEFAULT_DESTINATION
    if dest.is_dir() or str(destination or "").endswith(("/", "\\")):
        dest = dest / "model.tflite"
    return atomic_write_bytes(dest, source.read_bytes())
