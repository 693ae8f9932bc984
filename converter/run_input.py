"""Read what the converter needs from a run folder, with errors that name the file and the fix.

Uses ``trainer.run_folder.RunFolder`` for validation when the trainer package provides it; the checks below are
the converter's own needs (labels, preprocessing, splits) and run either way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

from converter.errors import ConvertError
from device.metadata import parse_labels
from device.preprocess import PreprocessConfig

REQUIRED_FILES = ("model.keras", "labels.txt", "config.json", "splits.json")
FIX = "re-run edge-train to produce a complete run folder"


@dataclass
class RunInputs:
    """The parts of a run folder the converter uses."""

    run_dir: Path
    model_path: Path
    labels: List[str]
    preprocessing: PreprocessConfig
    data_root: Path
    train: List[Tuple[str, int]]
    val: List[Tuple[str, int]]
    config: Dict[str, Any]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConvertError(f"{path}: cannot be read as JSON ({exc}); {FIX}.") from exc


def _items(path: Path, splits: Dict[str, Any], key: str, n_labels: int) -> List[Tuple[str, int]]:
    raw = splits.get(key, [])
    if not isinstance(raw, list):
        raise ConvertError(f"{path}: '{key}' must be a list of [relative path, label index]; {FIX}.")
    out: List[Tuple[str, int]] = []
    for entry in raw:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2):
            raise ConvertError(f"{path}: bad '{key}' entry {entry!r}, expected [path, label index]; {FIX}.")
        rel, index = str(entry[0]), int(entry[1])
        if not 0 <= index < n_labels:
            raise ConvertError(
                f"{path}: '{key}' entry {rel!r} has label index {index}, but labels.txt has {n_labels} labels; "
                f"the labels file does not match this run. {FIX}."
            )
        out.append((rel, index))
    return out


def load_run(run_dir: str | Path) -> RunInputs:
    """Validate ``run_dir`` and return its model path, labels, preprocessing parameters and splits.

    Raises :class:`ConvertError` (or the trainer's ``RunFolderError``) naming the missing or inconsistent file.
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise ConvertError(f"{run}: no such run folder; pass the folder edge-train wrote (e.g. runs/flowers).")
    for name in REQUIRED_FILES:
        if not (run / name).is_file():
            raise ConvertError(f"{run / name}: missing from the run folder; {FIX}.")
    try:  # the trainer's own validator, when it exists
        from trainer.run_folder import RunFolder  # type: ignore
    except ImportError:
        RunFolder = None  # noqa: N806
    if RunFolder is not None:
        RunFolder(run)

    labels = parse_labels((run / "labels.txt").read_text(encoding="utf-8", errors="replace"))
    if not labels or any(not label for label in labels):
        raise ConvertError(f"{run / 'labels.txt'}: empty or blank labels; it needs one label per line. {FIX}.")
    if len(set(labels)) != len(labels):
        raise ConvertError(f"{run / 'labels.txt'}: duplicate labels; each class must appear once. {FIX}.")

    config = _read_json(run / "config.json")
    if not isinstance(config, dict) or not isinstance(config.get("preprocessing"), dict):
        raise ConvertError(f"{run / 'config.json'}: no \"preprocessing\" block (the contract parameters); {FIX}.")
    try:
        preprocessing = PreprocessConfig.from_dict(config["preprocessing"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConvertError(f"{run / 'config.json'}: invalid \"preprocessing\" block ({exc}); {FIX}.") from exc

    splits_path = run / "splits.json"
    splits = _read_json(splits_path)
    if not isinstance(splits, dict) or "root" not in splits:
        raise ConvertError(f"{splits_path}: no \"root\" (the photo folder); {FIX}.")
    split_labels = splits.get("labels")
    if split_labels is not None and list(split_labels) != labels:
        raise ConvertError(
            f"{run / 'labels.txt'} does not match the labels in {splits_path} "
            f"({len(labels)} vs {len(split_labels)} labels, or a different order); restore the labels.txt that "
            f"edge-train wrote, or {FIX}."
        )
    train = _items(splits_path, splits, "train", len(labels))
    val = _items(splits_path, splits, "val", len(labels))
    root = Path(splits["root"])
    if not root.is_absolute():
        root = (run / root).resolve()
    return RunInputs(run, run / "model.keras", labels, preprocessing, root, train, val, config)
