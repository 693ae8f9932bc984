"""Read and validate a run folder written by :func:`trainer.train` (used by the converter).

Reading labels, config, splits and metrics needs no TensorFlow; only :meth:`RunFolder.load_model` imports it.

    run = RunFolder("runs/flowers")
    run.labels, run.preprocessing, run.splits.val, run.model_path
    model = run.load_model()
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from device.preprocess import PreprocessConfig

from trainer.config import TrainConfig
from trainer.dataset import Splits
from trainer.errors import RunFolderError

_RETRAIN = "train again with edge-train, or point to the right run folder"


class RunFolder:
    """A validated run folder. Raises :class:`RunFolderError` naming the missing or corrupt file and the fix."""

    def __init__(self, path: "str | Path", data_root: "str | Path | None" = None) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path}: no such run folder; {_RETRAIN}.")
        self.model_path = self._require("model.keras")
        self.labels = self._read_labels()
        self.config: Dict[str, Any] = self._read_json("config.json")
        try:
            self.preprocessing = PreprocessConfig.from_dict(self.config["preprocessing"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RunFolderError(
                f"{self.path / 'config.json'}: no valid \"preprocessing\" block ({exc}); {_RETRAIN}."
            ) from exc
        try:
            self.splits = Splits.from_dict(self._read_json("splits.json"), source=str(self.path / "splits.json"))
        except ValueError as exc:
            raise RunFolderError(f"{exc}; {_RETRAIN}.") from exc
        if self.splits.labels != self.labels:
            raise RunFolderError(
                f"{self.path / 'splits.json'}: its labels {self.splits.labels} differ from labels.txt "
                f"{self.labels}; the files come from different runs, {_RETRAIN}."
            )
        if data_root is not None:
            self.splits.root = Path(data_root).expanduser().resolve()

    # -- required files --------------------------------------------------------------------------------------
    def _require(self, name: str) -> Path:
        path = self.path / name
        if not path.is_file():
            raise RunFolderError(f"{path}: missing from the run folder; {_RETRAIN}.")
        return path

    def _read_json(self, name: str) -> Dict[str, Any]:
        path = self._require(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise RunFolderError(f"{path}: corrupt JSON ({exc}); {_RETRAIN}.") from exc
        if not isinstance(data, dict):
            raise RunFolderError(f"{path}: expected a JSON object; {_RETRAIN}.")
        return data

    def _read_labels(self) -> List[str]:
        path = self._require("labels.txt")
        try:
            labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"{path}: unreadable ({exc}); {_RETRAIN}.") from exc
        labels = [label for label in labels if label]
        if len(labels) < 2:
            raise RunFolderError(f"{path}: needs one label per line and at least two labels; {_RETRAIN}.")
        if len(set(labels)) != len(labels):
            raise RunFolderError(f"{path}: has duplicate labels; {_RETRAIN}.")
        return labels

    # -- optional files --------------------------------------------------------------------------------------
    def _optional_json(self, name: str) -> Optional[Dict[str, Any]]:
        return self._read_json(name) if (self.path / name).is_file() else None

    @property
    def metrics(self) -> Optional[Dict[str, Any]]:
        return self._optional_json("metrics.json")

    @property
    def history(self) -> Optional[Dict[str, Any]]:
        return self._optional_json("history.json")

    @property
    def dataset(self) -> Optional[Dict[str, Any]]:
        return self._optional_json("dataset.json")

    @property
    def train_config(self) -> TrainConfig:
        """The :class:`TrainConfig` the run used."""
        try:
            return TrainConfig.from_dict(self.config)
        except (TypeError, ValueError) as exc:
            raise RunFolderError(f"{self.path / 'config.json'}: not a valid training config ({exc}); {_RETRAIN}.") from exc

    @property
    def input_size(self) -> Tuple[int, int]:
        return self.preprocessing.height, self.preprocessing.width

    def split_files(self, name: str = "val") -> List[Tuple[Path, int]]:
        """Absolute paths and label indices of a split ("train", "val", "test"). Raises :class:`RunFolderError`
        when the photos are no longer where ``splits.json`` says (pass ``data_root`` to point elsewhere)."""
        items = self.splits.items(name)
        if items and not self.splits.root.is_dir():
            raise RunFolderError(
                f"{self.path / 'splits.json'}: the photo folder {self.splits.root} no longer exists; give its new "
                "location (RunFolder(path, data_root=...) / --data-root)."
            )
        return [(self.splits.path(rel), label) for rel, label in items]

    def load_model(self) -> Any:
        """The tf_keras model (imports TensorFlow), loaded with ``safe_mode=True``."""
        from trainer.model import load_model

        try:
            return load_model(self.model_path)
        except Exception as exc:  # Keras raises many types for a damaged archive
            raise RunFolderError(f"{self.model_path}: cannot be loaded ({exc}); {_RETRAIN}.") from exc

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r}, labels={self.labels})"
