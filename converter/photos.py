"""The run's photos as its model sees them (the contract's pixels), for calibration, the quantization check, QAT and
the evaluation: read from the trainer's decoded cache (``<run>/cache/``) when it holds them, decoded otherwise.

Everything is handed out in batches, so what the converter holds in memory does not grow with the number of photos;
where a sample does the job (calibration, the quantization check) a bounded, stratified one is taken
(:func:`converter.calibration.stratified_sample`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from common import run_folder as rf
from common.run_folder import Item, RunFolder
from device.errors import ImageError
from device.preprocess import load_and_preprocess
from trainer.images import ImageCache, open_cache

#: Unreadable photos named one by one before the rest are only counted.
_NAMED_SKIPS = 5


class RunPhotos:
    """Decoded photos of one run folder, by ``(relative path, label)`` item."""

    def __init__(self, run: RunFolder, log: Callable[[str], None] = print) -> None:
        self.run, self.log = run, log
        pre = run.preprocessing
        folder = run.run_dir / rf.PHOTO_CACHE_DIR
        self._caches: List[ImageCache] = [
            c for c in (open_cache(folder / f"{stem}_{pre.height}x{pre.width}.npy", pre) for stem in ("images", "test_images"))
            if c is not None]
        self._skips = 0
        self.from_cache = 0  #: photos read from the trainer's cache so far
        self.decoded = 0  #: photos decoded so far

    def _one(self, rel: str) -> Optional[np.ndarray]:
        for cache in self._caches:
            if cache.has(rel):
                self.from_cache += 1
                return cache.photo(rel)
        try:
            image = load_and_preprocess(self.run.data_root / rel, self.run.preprocessing)
        except ImageError as exc:
            self._skips += 1
            if self._skips <= _NAMED_SKIPS:
                self.log(f"skipped {exc}")
            return None
        self.decoded += 1
        return image

    def batches(self, items: Sequence[Item], batch_size: int = 32) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """``(uint8 N x H x W x 3 photos, label indices)`` batches of ``items`` in order; unreadable photos are left
        out (the first few named through ``log``)."""
        for start in range(0, len(items), batch_size):
            photos, labels = [], []
            for rel, label in items[start:start + batch_size]:
                image = self._one(rel)
                if image is not None:
                    photos.append(image)
                    labels.append(label)
            if photos:
                yield np.stack(photos), np.asarray(labels, dtype=np.int64)

    def load(self, items: Sequence[Item]) -> Tuple[np.ndarray, np.ndarray]:
        """All of ``items`` at once (for the small sets only: calibration, probes)."""
        parts = list(self.batches(items, 64))
        h, w = self.run.preprocessing.size
        if not parts:
            return np.zeros((0, h, w, 3), np.uint8), np.zeros(0, np.int64)
        return np.concatenate([p for p, _ in parts]), np.concatenate([y for _, y in parts])

    @property
    def skipped(self) -> int:
        return self._skips


def cache_files(run_dir: Path) -> List[Path]:
    """The files of the trainer's photo cache in ``run_dir`` (for messages and clean-up)."""
    folder = Path(run_dir) / rf.PHOTO_CACHE_DIR
    return sorted(folder.glob("*")) if folder.is_dir() else []
