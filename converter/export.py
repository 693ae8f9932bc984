"""Copy a converted variant to where an app expects it (atomically: the app never sees a half-copied model)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from converter.config import parse_variants
from converter.errors import ConvertError
from common import run_folder as rf
from common.atomic import atomic_write_bytes, atomic_write_text
from common.paths import OutputLocationError, check_output_dir, explain_os_error
from converter.metadata import LABELS_FILE
from device.errors import ModelError
from device.metadata import read_model_info

DEFAULT_DESTINATION = Path("android-sample/app/src/main/assets/model.tflite")


def export_variant(run_dir: str | Path, variant: str = "int8", destination: Optional[str | Path] = None,
                   tflite_dir: Optional[str | Path] = None, create: bool = False, flag: str = "--out") -> Path:
    """Copy ``<run>/tflite/model_<variant>.tflite`` to ``destination`` (a file, or a folder -> ``model.tflite``
    inside it), with its labels as ``labels.txt`` beside it (what Model Maker and Teachable Machine users expect).
    Default: ``android-sample/app/src/main/assets/model.tflite``. Returns the written path.

    The destination's folder must exist unless ``create`` (a mistyped path is not a new folder; ``edge-convert
    export`` asks for ``--create``); an unusable destination (missing, a file in the way, read-only, full) raises
    :class:`~common.paths.OutputLocationError` naming it and ``flag``, before anything is written. A variant that no
    longer describes the run folder's model.keras raises :class:`common.run_folder.StaleOutputError`."""
    (variant,) = parse_variants([variant])
    name = rf.tflite_model(variant)
    source = Path(tflite_dir) / Path(name).name if tflite_dir else Path(run_dir) / name
    if not source.is_file():
        raise ConvertError(f"{source}: not found; convert first: edge-convert {run_dir} --variants {variant}")
    rf.check_tflite(source)  # never ship a model converted before the run folder's model was retrained or replaced
    dest = Path(destination) if destination else DEFAULT_DESTINATION
    if dest.is_dir() or str(destination or "").endswith(("/", "\\")):
        dest = dest / "model.tflite"
    if not create and not dest.parent.is_dir() and not dest.parent.exists():
        hint = "" if destination else f" (the default, for the Android sample; give another folder with {flag})"
        raise OutputLocationError(f"{dest.parent}: no such folder{hint}; check the spelling of {flag}, or add "
                                  f"--create to create it.")
    check_output_dir(dest.parent, flag)
    data = source.read_bytes()
    try:
        labels = read_model_info(data, source=str(source)).labels
    except ModelError:  # unreadable metadata: the model is still copied as it is, without a labels file
        labels = None
    try:
        written = atomic_write_bytes(dest, data)
        if labels:
            atomic_write_text(dest.parent / LABELS_FILE, "\n".join(labels) + "\n")
    except OSError as exc:  # e.g. the disk filled up during the copy; the previous file is intact
        raise OutputLocationError(explain_os_error(exc, dest, flag)) from exc
    return written
