"""The quantization check: every converted variant against float32 on the same few hundred photos, the numbers the
accuracy gate (:mod:`common.gates`) and the automatic QAT decision read.

Which photos: quantization changes the answers a model is unsure of, and a model is sure of the photos it was
fitted on, so only photos it has not learned show the damage (post-training int8 agrees with float32 on nearly all
the training photos and on clearly fewer validation and test photos; numbers in docs/benchmarks.md). The
verdict (the paired top-1 change and its noise, :func:`common.gates.quantization_check`) is therefore taken on the
validation photos. The training photos, each seen once through the trainer's augmentation (flip, small rotation,
zoom, brightness, contrast), are compared too and their label-free agreement reported beside it: changed like
that they come closer to new photos, but still flatter int8, so they do not vote. A bounded
stratified sample is taken on large sets (``ConvertConfig.check_photos``). The photos are made once, written to a
temporary file beside the models, and read back a batch at a time for every variant, so all variants see the same
pixels and memory stays bounded.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import numpy as np

from common import gates
from converter.calibration import stratified_sample
from converter.photos import RunPhotos
from trainer.array_store import ArrayReader, ArrayWriter


class QuantizationCheck:
    """Scores of every variant on the check photos, compared with float32's.

    Use as a context manager (the temporary file of views is removed on exit).
    """

    def __init__(self, run: Any, photos: RunPhotos, cap: int, seed: int, folder: Path,
                 num_threads: Optional[int] = None, log: Callable[[str], None] = print) -> None:
        self.run, self.photos, self.seed, self.num_threads, self.log = run, photos, seed, num_threads, log
        val = stratified_sample(run.val, max(1, cap // 2), seed) if run.val else []  # the voting photos
        train = stratified_sample(run.train, max(0, cap - len(val)), seed) if run.train else []
        self._val, self._train = val, train
        Path(folder).mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix=".quantization_check_", dir=folder)
        self._views: Optional[ArrayReader] = None
        self.labels = np.zeros(0, np.int64)
        self.results: Dict[str, Dict[str, Any]] = {}
        self._reference: Optional[np.ndarray] = None
        self._val_rows = 0  #: the first rows of the views: the validation photos (the ones that vote)
        self.seconds = 0.0  #: time spent making the views and scoring the variants

    def __enter__(self) -> "QuantizationCheck":
        return self

    def __exit__(self, *exc) -> None:
        self._views = None
        self._tmp.cleanup()

    @property
    def photo_count(self) -> int:
        return int(len(self.labels))

    def _make_views(self) -> None:
        """The check photos, written once: validation photos as they are, training photos augmented."""
        from trainer.model import augmentation

        augment = augmentation(self.seed)
        h, w = self.run.preprocessing.size
        path = Path(self._tmp.name) / "views.npy"
        total = len(self._val) + len(self._train)
        labels = []
        with ArrayWriter(path, total, (h, w, 3), np.uint8) as out:
            row = 0
            for items, augmented in ((self._val, False), (self._train, True)):
                if augmented:
                    self._val_rows = row
                for x, y in self.photos.batches(items, 32):
                    if augmented:
                        x = np.clip(np.rint(np.asarray(augment(x.astype(np.float32), training=True))), 0, 255)
                    out[slice(row, row + len(x))] = x.astype(np.uint8)
                    labels.append(y)
                    row += len(x)
        self.labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        self._views = ArrayReader(path)
        self._rows = row  # unreadable photos are left out: the rows after ``row`` stay unused

    def _batches(self) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        for start in range(0, self._rows, 64):
            rows = np.arange(start, min(start + 64, self._rows))
            yield self._views.read(rows), self.labels[rows]

    def _scores(self, model: bytes) -> np.ndarray:
        from converter.evaluate import run_tflite_batches

        start = time.perf_counter()
        if self._views is None:
            self.log(f"quantization check: {len(self._val)} validation photos and {len(self._train)} augmented "
                     "training photos through every variant")
            self._make_views()
        scores = run_tflite_batches(model, self._batches(), self.num_threads)["scores"]
        self.seconds += time.perf_counter() - start
        return scores

    def run_all(self, models: Dict[str, bytes]) -> None:
        """Score float32 (the reference) and every other variant of ``models``."""
        if "float32" not in models:
            return
        self._reference = self._scores(models["float32"])
        for name, data in models.items():
            if name != "float32":
                self.rerun(name, data)

    def rerun(self, name: str, model: bytes) -> None:
        """(Re)score one variant, e.g. the int8 model again after quantization-aware training."""
        if self._reference is None:
            return
        scores = self._scores(model)
        val = self._val_rows
        block = gates.quantization_check(self._reference[:val], scores[:val], self.labels[:val])
        block["photos_kind"] = "validation"
        if len(scores) > val:
            train = gates.quantization_check(self._reference[val:], scores[val:])
            block["augmented_training"] = {k: train[k] for k in ("photos", "agreement", "changed", "max_score_diff")}
        self.results[name] = block

    def verdict(self, name: str, limit: Optional[float]) -> Dict[str, Any]:
        """``{"passed", "text"}`` of the gate for ``name`` (passed when it was not checked)."""
        if name not in self.results:
            return {"passed": True, "text": "not checked (float32 was not converted)"}
        report = {"variants": {name: {"quantization": self.results[name]}}}
        passed = gates.passes(report, name, limit)
        return {"passed": passed, "text": f"{gates.describe(report, name)}; "
                                          f"{'within' if passed else 'beyond'} the limit of {limit} points"}
