"""The run folder: the ONE definition of every file in it, and the only code that reads or writes them.

A run folder is what ``edge-train`` writes and ``edge-convert`` / ``edge-kit`` read and add to::

    runs/<name>/
      model.keras             the trained tf_keras model (input 0-255 RGB float32, output softmax)   trainer
      labels.txt              one label per line, line i = output index i                             trainer
      config.json             the TrainConfig, with "preprocessing" (the contract), "model" (the       trainer
                              backbone's registry row: backbone, title, family, normalization) and "resolved"
      splits.json             {"root", "labels", "train", "val", "test"}: [relative path, label index] trainer
      dataset.json            counts per class and split; skipped and ignored files with the reason   trainer
      dataset_health.json     near-duplicates, suspect labels, confused classes (trainer/health.py)   trainer
      history.json            {"phase1": [epoch row], "phase2": [epoch row], "timings": {...}}         trainer
      metrics.json            {"val": classification metrics, "test": ..., "val_top1", "evaluation"}  trainer
      training_curves.png, confusion_matrix.png                                                        trainer
      checkpoint/             an interrupted training's state; checkpoint/run.json its settings       trainer
      tflite/model_<variant>.tflite, tflite/report.{json,md,png}, tflite/sources.json                 converter
      classify.json, export.json, report.{html,md,json}, report_files/, pipeline_state.json           pipeline
      .edge-kit.lock          held by the command writing the folder (common/locks.py)

**Every file made from model.keras describes the current model.** :data:`DERIVED` lists them (``tflite/``, the
pipeline's ``classify.json``, ``export.json``, reports); a retrain removes them all (:func:`invalidate_derived`,
called by the trainer before the new model is moved into place), and each records the digest of the model it was
made from (``tflite/sources.json`` per ``.tflite``: :func:`record_tflite`; the JSON files: :data:`MODEL_DIGEST`),
which every reader checks (:func:`check_tflite`, :func:`stale_problem`) before using or shipping it, so a
model.keras replaced by hand is caught too.

Epoch rows (``history.json``) are ``{"epoch", "loss", "top1", "val_loss", "val_top1"}``; metrics use the vocabulary
of :mod:`common.metrics`. Every write is atomic (:mod:`common.atomic`). Reading needs no TensorFlow; only
:meth:`RunFolder.load_model` imports it.

    run = RunFolder("runs/flowers")
    run.labels, run.preprocessing, run.splits.val, run.model_path, run.history, run.metrics
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from common.atomic import atomic_write_json, atomic_write_text, fsync_dir
from common.errors import EdgeKitError
from common.locks import LOCK_FILE
from device.preprocess import PreprocessConfig

# ---------------------------------------------------------------------------------------------- the file names
MODEL = "model.keras"
LABELS = "labels.txt"
CONFIG = "config.json"
SPLITS = "splits.json"
DATASET = "dataset.json"
#: The dataset health check's findings (``trainer/health.py``); ``edge-train --check-only`` writes it alone.
DATASET_HEALTH = "dataset_health.json"
HISTORY = "history.json"
METRICS = "metrics.json"
TRAINING_CURVES = "training_curves.png"
CONFUSION_MATRIX = "confusion_matrix.png"
CHECKPOINT_DIR = "checkpoint"
CHECKPOINT_KEY = f"{CHECKPOINT_DIR}/run.json"
TFLITE_DIR = "tflite"
#: The trainer's decoded photos (the contract's pixels), kept for the converter so it does not decode them again;
#: ``images_<H>x<W>.npy`` + ``.json`` index (training and validation photos), ``test_images_<H>x<W>.*``. Safe to
#: delete: without it the converter decodes the photos it needs.
PHOTO_CACHE_DIR = "cache"
#: The converter's report, in ``tflite/`` (or ``edge-convert --out``).
CONVERSION_REPORT_FILES = {"json": "report.json", "md": "report.md", "png": "report.png"}
CONVERSION_REPORT = f"{TFLITE_DIR}/report.json"
CLASSIFY = "classify.json"
EXPORT = "export.json"
#: The pipeline's report (figures in ``report_files/``) and its state.
PIPELINE_REPORT_FILES = {"html": "report.html", "md": "report.md", "json": "report.json"}
REPORT_FIGURES_DIR = "report_files"
PIPELINE_STATE = "pipeline_state.json"
#: The lock every long command holds on the folder it writes (common/locks.py).
LOCK = LOCK_FILE

#: Everything in a run folder made from its model.keras (by the converter and the pipeline): a retrain removes it
#: all (:func:`invalidate_derived`) before the new model is moved into place, so no file describes an older model.
DERIVED = (TFLITE_DIR, CLASSIFY, EXPORT, *PIPELINE_REPORT_FILES.values(), REPORT_FIGURES_DIR)
#: Which model.keras each converted ``.tflite`` was made from: ``{file name: {"sha256", "model_sha256"}}``.
TFLITE_SOURCES = "sources.json"
#: The key under which every derived JSON file (tflite/report.json, classify.json, export.json, report.json) records
#: the SHA-256 of the model.keras it was made from.
MODEL_DIGEST = "model_sha256"
#: Where :func:`invalidate_derived` moves the derived files before removing them.
_RETIRED = ".derived-of-previous-model"

#: What a converter needs from a training run.
REQUIRED = (MODEL, LABELS, CONFIG, SPLITS)
#: Everything a finished training writes (REQUIRED first).
TRAINER_FILES = REQUIRED + (HISTORY, METRICS, DATASET, DATASET_HEALTH, TRAINING_CURVES, CONFUSION_MATRIX)
#: The trainer's files besides REQUIRED (written when it can; kept track of by the pipeline when present).
TRAINER_EXTRAS = tuple(name for name in TRAINER_FILES if name not in REQUIRED)

SPLIT_NAMES = ("train", "val", "test")
Item = Tuple[str, int]  #: (path relative to the data folder, POSIX separators; label index)

FIX = "re-run edge-train to write a complete run folder, or point to the right run folder"


def tflite_model(variant: str) -> str:
    """The run-folder-relative path of a converted variant: ``tflite/model_<variant>.tflite``."""
    return f"{TFLITE_DIR}/model_{variant}.tflite"


class RunFolderError(EdgeKitError, ValueError):
    """A run folder is missing a file, or a file in it is corrupt. The message names the file and the fix."""


# -------------------------------------------------------------------------------------------------- splits.json
@dataclass
class Splits:
    """The exact photos of each split (the content of ``splits.json``)."""

    root: Path
    labels: List[str]
    train: List[Item]
    val: List[Item]
    test: List[Item] = field(default_factory=list)

    def items(self, name: str) -> List[Item]:
        return list(getattr(self, name))

    def counts(self) -> Dict[str, Dict[str, int]]:
        """``{split: {label: count}}`` for the non-empty splits."""
        out: Dict[str, Dict[str, int]] = {}
        for name in SPLIT_NAMES:
            items = getattr(self, name)
            if items:
                c = Counter(label for _, label in items)
                out[name] = {self.labels[i]: c.get(i, 0) for i in range(len(self.labels))}
        return out

    def held_out(self) -> Tuple[str, List[Item]]:
        """``(name, items)`` of the photos never trained on: the test split when there is one, else validation."""
        return ("test", list(self.test)) if self.test else ("val", list(self.val))

    def to_dict(self) -> Dict[str, object]:
        return {
            "root": str(self.root),
            "labels": list(self.labels),
            "train": [[p, int(i)] for p, i in self.train],
            "val": [[p, int(i)] for p, i in self.val],
            "test": [[p, int(i)] for p, i in self.test],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object], source: str = SPLITS) -> "Splits":
        """Raises ``ValueError`` naming ``source`` for a malformed file."""
        try:
            labels = [str(x) for x in data["labels"]]  # type: ignore[union-attr]
            parts = {}
            for name in SPLIT_NAMES:
                raw = data.get(name, []) or []  # type: ignore[union-attr]
                parts[name] = [(str(p), int(i)) for p, i in raw]
                bad = [p for p, i in parts[name] if not 0 <= i < len(labels)]
                if bad:
                    raise ValueError(f"label index out of range for {bad[0]} ({len(labels)} labels)")
            return cls(root=Path(str(data["root"])), labels=labels, **parts)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: not a valid split file ({exc})") from exc

    def path(self, relative: str) -> Path:
        return self.root / relative


# ------------------------------------------------------------------------------------------------------ reading
def read_json(path: Path) -> Any:
    """A JSON file's content; :class:`RunFolderError` naming the file when it is unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunFolderError(f"{path}: corrupt JSON ({exc}); {FIX}.") from exc


def read_optional_json(path: Path) -> Optional[Any]:
    """A JSON file's content, or None when it is missing or unreadable (for the report's optional inputs)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def parse_labels(text: str) -> List[str]:
    """Labels from ``labels.txt``'s text: one per line, surrounding blanks and empty lines ignored."""
    return [label for label in (line.strip() for line in text.splitlines()) if label]


def label_problem(label: str) -> Optional[str]:
    """Why ``label`` cannot name a class (None when it can): ``labels.txt`` holds one label per line, surrounding
    blanks ignored, so a label must read back exactly as written: no line break inside (a folder name may hold one),
    no blank at either end, not empty."""
    if parse_labels(label + "\n") == [label]:
        return None
    if len(label.splitlines()) > 1 or label.rstrip("\n\r") != label:
        return "holds a line break"
    if not label.strip():
        return "is empty or blank"
    return "starts or ends with a blank"


def read_checkpoint_key(folder: Path) -> Optional[Dict[str, Any]]:
    """The settings an interrupted training was started with (``checkpoint/run.json``), None when there is none;
    ``{}`` when the file is there but unreadable (then nothing can be resumed)."""
    path = Path(folder) / CHECKPOINT_KEY
    if not path.is_file():
        return None
    data = read_optional_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        return {}
    return data["config"]


def has_finished_training(folder: Path) -> bool:
    """True when ``folder`` holds a finished training (its model and metrics, no checkpoint of a training under way)."""
    folder = Path(folder)
    return (folder / MODEL).is_file() and (folder / METRICS).is_file() and not (folder / CHECKPOINT_DIR).exists()


def has_training_output(folder: Path) -> bool:
    """True when ``folder`` holds the output of some training (finished or not)."""
    return (Path(folder) / MODEL).exists() or (Path(folder) / METRICS).exists()


def epoch_series(rows: Sequence[Mapping[str, Any]]) -> Dict[str, List[float]]:
    """``history.json`` epoch rows -> ``{"loss": [...], "top1": [...], "val_loss": [...], "val_top1": [...]}``."""
    out: Dict[str, List[float]] = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                out.setdefault(key, []).append(float(value))
    return out


@dataclass
class DatasetInfo:
    """``dataset.json``: what was found in the photo folder. ``skipped``/``ignored``: ``[{"path", "reason"}]``."""

    skipped: List[Dict[str, str]]
    ignored: List[Dict[str, str]]
    data: Dict[str, Any]


class RunFolder:
    """A validated run folder. Raises :class:`RunFolderError` naming the missing or corrupt file and the fix.

    ``data_root`` overrides where the photos are (``splits.json``'s ``root``), e.g. after moving them.
    """

    def __init__(self, path: "str | Path", data_root: "str | Path | None" = None) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path}: no such run folder; {FIX}.")
        self.model_path = self._require(MODEL)
        self.labels = self._read_labels()
        self.config: Dict[str, Any] = self._read_object(CONFIG)
        try:
            self.preprocessing = PreprocessConfig.from_dict(self.config["preprocessing"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RunFolderError(
                f"{self.path / CONFIG}: no valid \"preprocessing\" block (the contract parameters: {exc}); {FIX}."
            ) from exc
        try:
            self.splits = Splits.from_dict(self._read_object(SPLITS), source=str(self.path / SPLITS))
        except ValueError as exc:
            if isinstance(exc, RunFolderError):
                raise
            raise RunFolderError(f"{exc}; {FIX}.") from exc
        if self.splits.labels != self.labels:
            raise RunFolderError(
                f"{self.path / SPLITS}: its labels {self.splits.labels} differ from labels.txt "
                f"{self.labels}; the files come from different runs, {FIX}."
            )
        if data_root is not None:
            self.splits.root = Path(data_root).expanduser().resolve()
        elif not self.splits.root.is_absolute():
            self.splits.root = (self.path / self.splits.root).resolve()

    # -- required files --------------------------------------------------------------------------------------
    def _require(self, name: str) -> Path:
        path = self.path / name
        if not path.is_file():
            raise RunFolderError(f"{path}: missing from the run folder; {FIX}.")
        return path

    def _read_object(self, name: str) -> Dict[str, Any]:
        path = self._require(name)
        data = read_json(path)
        if not isinstance(data, dict):
            raise RunFolderError(f"{path}: expected a JSON object; {FIX}.")
        return data

    def _read_labels(self) -> List[str]:
        path = self._require(LABELS)
        try:
            labels = parse_labels(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"{path}: unreadable ({exc}); {FIX}.") from exc
        if len(labels) < 2:
            raise RunFolderError(f"{path}: needs one label per line and at least two labels; {FIX}.")
        if len(set(labels)) != len(labels):
            raise RunFolderError(f"{path}: has duplicate labels (each class must appear once); {FIX}.")
        return labels

    # -- the splits ------------------------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.path

    @property
    def data_root(self) -> Path:
        """The photo folder the splits refer to."""
        return self.splits.root

    @property
    def train(self) -> List[Item]:
        return self.splits.items("train")

    @property
    def val(self) -> List[Item]:
        return self.splits.items("val")

    @property
    def test(self) -> List[Item]:
        return self.splits.items("test")

    @property
    def input_size(self) -> Tuple[int, int]:
        return self.preprocessing.height, self.preprocessing.width

    def split_files(self, name: str = "val") -> List[Tuple[Path, int]]:
        """Absolute paths and label indices of a split ("train", "val", "test"). Raises :class:`RunFolderError`
        when the photos are no longer where ``splits.json`` says (pass ``data_root`` to point elsewhere)."""
        items = self.splits.items(name)
        if items and not self.splits.root.is_dir():
            raise RunFolderError(
                f"{self.path / SPLITS}: the photo folder {self.splits.root} no longer exists; give its new "
                "location (RunFolder(path, data_root=...))."
            )
        return [(self.splits.path(rel), label) for rel, label in items]

    # -- optional files --------------------------------------------------------------------------------------
    def _optional(self, name: str) -> Optional[Dict[str, Any]]:
        return self._read_object(name) if (self.path / name).is_file() else None

    @property
    def metrics(self) -> Optional[Dict[str, Any]]:
        return self._optional(METRICS)

    @property
    def history(self) -> Optional[Dict[str, Any]]:
        return self._optional(HISTORY)

    @property
    def dataset(self) -> Optional[Dict[str, Any]]:
        return self._optional(DATASET)

    def load_model(self) -> Any:
        """The tf_keras model, loaded with ``safe_mode=True`` (no code is deserialised)."""
        import tf_keras  # lazy: TensorFlow is heavy and only needed here

        try:
            return tf_keras.models.load_model(str(self.model_path), safe_mode=True, compile=False)
        except Exception as exc:  # Keras raises many types for a damaged archive
            raise RunFolderError(f"{self.model_path}: cannot be loaded ({exc}); {FIX}.") from exc

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r}, labels={self.labels})"


# ---------------------------------------------------- reading what the report needs (every file optional)
def read_splits(folder: Path) -> Optional[Splits]:
    """``splits.json`` alone (no model needed), or None when missing or unreadable."""
    data = read_optional_json(Path(folder) / SPLITS)
    if not isinstance(data, dict):
        return None
    try:
        return Splits.from_dict(data, source=str(Path(folder) / SPLITS))
    except ValueError:
        return None


def read_dataset(folder: Path) -> Optional[DatasetInfo]:
    """``dataset.json``, or None when missing or unreadable."""
    data = read_optional_json(Path(folder) / DATASET)
    if not isinstance(data, dict):
        return None
    return DatasetInfo([dict(e) for e in data.get("skipped", [])], [dict(e) for e in data.get("ignored", [])], data)


def read_history(folder: Path) -> Optional[Dict[str, List[Dict[str, float]]]]:
    """``history.json``'s epoch rows per phase (``{"phase1": [...], "phase2": [...]}``), or None when missing."""
    data = read_optional_json(Path(folder) / HISTORY)
    if not isinstance(data, dict):
        return None
    return {name: list(rows) for name, rows in data.items() if name != "timings" and isinstance(rows, list)}


def read_preprocessing(folder: Path) -> Optional[PreprocessConfig]:
    """The preprocessing contract of ``config.json``, or None when missing or unreadable."""
    data = read_optional_json(Path(folder) / CONFIG)
    try:
        return PreprocessConfig.from_dict(data["preprocessing"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None


def read_backbone(folder: Path) -> Optional[Dict[str, Any]]:
    """The backbone the run was trained on: config.json's ``"model"`` block (``backbone``: the registry name,
    ``title``: e.g. "EfficientNet-Lite0", ``family``, ``normalization``), plus ``input_size`` [height, width].
    Runs written before that block existed were MobileNetV2 at their ``alpha``. None when config.json is missing or
    unreadable."""
    data = read_optional_json(Path(folder) / CONFIG)
    if not isinstance(data, dict):
        return None
    model = data.get("model")
    if not isinstance(model, dict):
        if not isinstance(data.get("alpha"), (int, float)):
            return None
        alpha = repr(float(data["alpha"]))  # 0.35, 1.0: as the registry writes it
        model = {"backbone": f"mobilenet_v2_{alpha}", "title": f"MobileNetV2 {alpha}", "family": "mobilenet_v2"}
    contract = read_preprocessing(folder)
    return {**model, "input_size": list(contract.size) if contract is not None else None}


def read_conversion_report(folder: Path) -> Optional[Dict[str, Any]]:
    """``tflite/report.json`` (the converter's evaluation), or None when missing or unreadable."""
    data = read_optional_json(Path(folder) / CONVERSION_REPORT)
    return data if isinstance(data, dict) else None


# ------------------------------------------------------------------ the link between the model and what is made from it
class StaleOutputError(RunFolderError):
    """A file made from a run folder's model (a ``.tflite``, a report) no longer describes its model.keras: the
    model was retrained or replaced since. Names the file and the command that makes it again."""


def file_sha256(path: "str | Path", chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def model_digest(folder: Path) -> Optional[str]:
    """SHA-256 of ``folder``'s model.keras, or None when it has none (then nothing can be stale against it)."""
    path = Path(folder) / MODEL
    return file_sha256(path) if path.is_file() else None


def invalidate_derived(folder: Path) -> List[str]:
    """Remove everything :data:`DERIVED` from ``folder``; returns the names removed. Call it before a new
    model.keras is moved into place: each name is first moved aside with one atomic rename (a crash part-way leaves
    some files of the old model, never a mix with the new one: they still carry the old model's digest), then
    deleted."""
    folder = Path(folder)
    aside = folder / _RETIRED
    shutil.rmtree(aside, ignore_errors=True)  # left by a crash during an earlier retrain
    removed = []
    for name in DERIVED:
        if os.path.lexists(folder / name):
            aside.mkdir(exist_ok=True)
            os.replace(folder / name, aside / name)
            removed.append(name)
    if removed:
        fsync_dir(folder)
    shutil.rmtree(aside, ignore_errors=True)
    return removed


def with_model_digest(data: Mapping[str, Any], folder: Path) -> Dict[str, Any]:
    """``data`` (a derived JSON file's content) with :data:`MODEL_DIGEST`: the digest of ``folder``'s model.keras."""
    return {**data, MODEL_DIGEST: model_digest(folder)}


def stale_problem(folder: Path, data: Any, name: str, fix: str) -> Optional[str]:
    """Why the derived JSON file ``name`` (its content ``data``) no longer describes ``folder``'s model.keras, as
    one line ending in ``fix``; None when it does, or when the folder has no model.keras to compare with."""
    current = model_digest(folder)
    if current is None:
        return None
    recorded = data.get(MODEL_DIGEST) if isinstance(data, Mapping) else None
    if recorded == current:
        return None
    why = "was made before edge-kit recorded its model" if recorded is None else "was made from another model.keras"
    return f"{Path(folder) / name}: {why} (the model was retrained or replaced since); {fix}."


def record_tflite(tflite: Path, model_sha256: Optional[str]) -> None:
    """Remember in ``tflite/sources.json`` (beside ``tflite``) that this ``.tflite`` was converted from the model
    whose digest is ``model_sha256``; entries of files no longer there are dropped."""
    tflite = Path(tflite)
    sources_path = tflite.parent / TFLITE_SOURCES
    sources = read_optional_json(sources_path)
    sources = {k: v for k, v in sources.items() if (tflite.parent / k).is_file()} if isinstance(sources, dict) else {}
    sources[tflite.name] = {"sha256": file_sha256(tflite), MODEL_DIGEST: model_sha256}
    atomic_write_json(sources_path, sources)


def check_tflite(tflite: Path) -> None:
    """Raise :class:`StaleOutputError` when ``tflite`` lies in a run folder's ``tflite/`` and was not converted from
    that run folder's current model.keras (retrained or replaced since, or the file itself replaced). A ``.tflite``
    elsewhere (an app's assets, ``edge-convert --out``) has no run folder to compare with and passes."""
    tflite = Path(tflite).absolute()
    run = tflite.parent.parent
    if tflite.parent.name != TFLITE_DIR or not (run / MODEL).is_file() or not tflite.is_file():
        return
    entry = (read_optional_json(tflite.parent / TFLITE_SOURCES) or {}).get(tflite.name)
    fix = f"convert it again (edge-convert {run})"
    if not isinstance(entry, dict):
        raise StaleOutputError(f"{tflite}: nothing records which model it was converted from (an older edge-kit, or "
                               f"copied in by hand), so it may not be {run / MODEL}; {fix}.")
    if entry.get(MODEL_DIGEST) != model_digest(run):
        raise StaleOutputError(f"{tflite}: was converted from another model than {run / MODEL} (retrained or "
                               f"replaced since); {fix}.")
    if entry.get("sha256") != file_sha256(tflite):
        raise StaleOutputError(f"{tflite}: is not the file the converter wrote (replaced since); {fix}.")


# ------------------------------------------------------------------------------------------------------ writing
def write_json(folder: Path, name: str, data: Any) -> Path:
    """Write one of the run folder's JSON files (``name`` is one of the constants above), atomically."""
    return atomic_write_json(Path(folder) / name, data)


def write_labels(folder: Path, labels: Sequence[str]) -> Path:
    return atomic_write_text(Path(folder) / LABELS, "".join(f"{label}\n" for label in labels))


def write_splits(folder: Path, splits: Splits) -> Path:
    return write_json(folder, SPLITS, splits.to_dict())


def write_history(folder: Path, phases: Mapping[str, Sequence[Mapping[str, float]]],
                  timings: Mapping[str, float]) -> Path:
    return write_json(folder, HISTORY, {**{k: list(v) for k, v in phases.items()}, "timings": dict(timings)})


def write_checkpoint_key(folder: Path, key: Mapping[str, Any]) -> Path:
    """Remember the settings of a training under way, so that only the same settings resume it."""
    return write_json(folder, CHECKPOINT_KEY, {"config": dict(key)})
