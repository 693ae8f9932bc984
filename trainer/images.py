"""Decode photos once into an on-disk uint8 cache (the training and validation photos up front; the test photos
only for the final evaluation).

Each photo goes through ``device.preprocess.load_and_preprocess`` (the contract: EXIF orientation, any mode to RGB,
crop, integer resize) exactly once. Files that cannot be decoded are skipped and reported, so nothing can fail
mid-epoch. The result is a ``N x H x W x 3`` uint8 ``.npy`` file read a batch at a time (:mod:`trainer.array_store`):
the process never holds more than one batch of photos, however many there are, and the operating system keeps the
file in its page cache when it fits (600 photos at 224 px are 90 MB).
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from common.atomic import atomic_write_json
from device.errors import ImageError
from device.preprocess import PreprocessConfig, load_and_preprocess

from trainer.array_store import ArrayReader, ArrayWriter
from trainer.progress import Progress


@dataclass
class ImageCache:
    """Preprocessed photos of a data folder: ``pixels[row]`` is the photo ``paths[row]`` (relative path)."""

    paths: List[str]
    pixels: ArrayReader  # N x H x W x 3 uint8 on disk; rows of skipped files are zeros
    skipped: List[Tuple[str, str]]  # (relative path, reason)

    def __post_init__(self) -> None:
        self._rows: Dict[str, int] = {p: i for i, p in enumerate(self.paths)}
        self._bad = {p for p, _ in self.skipped}

    def has(self, relative_path: str) -> bool:
        """Whether the cache holds this photo decoded (it was listed and not skipped)."""
        return relative_path in self._rows and relative_path not in self._bad

    def rows(self, relative_paths: Sequence[str]) -> np.ndarray:
        return np.array([self._rows[p] for p in relative_paths], dtype=np.int64)

    @property
    def usable(self) -> List[str]:
        bad = {p for p, _ in self.skipped}
        return [p for p in self.paths if p not in bad]

    def photo(self, relative_path: str) -> np.ndarray:
        """The decoded H x W x 3 uint8 pixels of one photo."""
        return self.pixels.read([self._rows[relative_path]])[0]

    def batches(self, rows: np.ndarray, batch_size: int, mirror: bool = False) -> Iterator[np.ndarray]:
        """float32 0-255 batches of the given rows, in that order (only one batch in memory at a time);
        ``mirror``: flipped left-right."""
        for chunk in self.pixels.batches(rows, batch_size):
            batch = chunk.astype(np.float32)
            yield batch[:, :, ::-1] if mirror else batch


def open_cache(cache_file: Path, config: PreprocessConfig) -> Optional[ImageCache]:
    """The cache :func:`build_image_cache` wrote at ``cache_file``, whatever photos it holds, when it was made with
    this preprocessing; None when there is none or it does not fit (another contract, unreadable)."""
    index_file = Path(cache_file).with_suffix(".json")
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
        key = index["key"]
        if key.get("preprocessing") != config.to_dict():
            return None
        pixels = ArrayReader(cache_file)
        paths = list(key["paths"])
        if pixels.shape != (len(paths), config.height, config.width, 3):
            return None
        return ImageCache(paths, pixels, [tuple(s) for s in index["skipped"]])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _decode_one(args: Tuple[Path, PreprocessConfig]) -> Tuple[Optional[np.ndarray], str]:
    path, config = args
    try:
        return load_and_preprocess(path, config), ""
    except ImageError as exc:
        return None, str(exc)
    except (OSError, ValueError, MemoryError) as exc:  # anything else about one file must not stop the run
        return None, f"{path}: could not be read ({type(exc).__name__}: {exc})"


def build_image_cache(
    root: Path,
    relative_paths: Sequence[str],
    config: PreprocessConfig,
    cache_file: Path,
    verbose: bool = True,
    workers: Optional[int] = None,
    label: str = "decoding photos",
) -> ImageCache:
    """Decode all ``relative_paths`` under ``root`` into ``cache_file`` (+ ``.json`` index), or reuse that cache
    when it holds exactly these files at this preprocessing. ``label``: the progress line's name."""
    index_file = cache_file.with_suffix(".json")
    key = {"root": str(root), "paths": list(relative_paths), "preprocessing": config.to_dict()}
    if cache_file.is_file() and index_file.is_file():
        try:
            index = json.loads(index_file.read_text(encoding="utf-8"))
            if index.get("key") == key:
                pixels = ArrayReader(cache_file)
                if pixels.shape == (len(relative_paths), config.height, config.width, 3):
                    return ImageCache(list(relative_paths), pixels, [tuple(s) for s in index["skipped"]])
        except (OSError, ValueError, KeyError):
            pass  # unreadable or stale cache: decode again
    n = len(relative_paths)
    progress = Progress(label, n, enabled=verbose)
    skipped: List[Tuple[str, str]] = []
    workers = workers or min(4, os.cpu_count() or 1)
    with ArrayWriter(cache_file, n, (config.height, config.width, 3), np.uint8) as out:
        jobs = ((root / rel, config) for rel in relative_paths)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for row, (pixels, error) in enumerate(_bounded_map(pool, _decode_one, jobs, 4 * workers)):
                if pixels is None:
                    skipped.append((relative_paths[row], error))
                else:
                    out[row] = pixels
                progress.update(1)
    progress.finish(f"- {len(skipped)} skipped" if skipped else "")
    atomic_write_json(index_file, {"key": key, "skipped": [list(s) for s in skipped]})
    return ImageCache(list(relative_paths), ArrayReader(cache_file), skipped)


def _bounded_map(pool: ThreadPoolExecutor, fn, jobs: Iterator, ahead: int) -> Iterator:
    """``pool.map(fn, jobs)`` in order, with at most ``ahead`` results waiting (``Executor.map`` submits every job
    at once, so its finished photos would pile up in memory when the consumer is slower)."""
    from collections import deque

    pending: deque = deque()
    for job in jobs:
        pending.append(pool.submit(fn, job))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
