"""Pipelined classification of many photos: decoding on worker threads overlaps with the interpreter.

Decoding (Pillow) and the contract's resize (numpy) release the GIL, and so does the interpreter's ``invoke``:
with ``workers`` decode threads the interpreter rarely waits for pixels. When it would wait (a small model's invoke
is shorter than preparing a photo), the calling thread prepares the next queued photo itself instead of idling.

For throughput, parallelism over photos usually beats parallelism inside one ``invoke``: a small classifier's
invoke takes less time than decoding one photo, and interpreter threads synchronise on every layer. Such a model
classifies a folder fastest with a single-threaded interpreter and a decoding thread on each other core; a model
whose single-threaded invoke takes longer than preparing a photo (MobileNetV2 1.0 on a 2-core board) keeps its
interpreter threads. :func:`prefers_single_thread` makes that choice from one photo's timings, and
``edge-classify`` applies it to every run over several photos (measured in ``benchmarks/bench_device.py``).

Results come back in input order; a photo that cannot be read yields a :class:`BatchResult` with ``error`` set,
and the run goes on.
"""
from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Deque, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from common.errors import EdgeKitError
from device.postprocess import check_threshold, check_top_k

if TYPE_CHECKING:  # pragma: no cover
    from device.classifier import Classifier

Prediction = Tuple[str, float]


@dataclass
class BatchResult:
    """The outcome for one photo of :func:`classify_many`."""

    source: str  #: the path (or a description of the input)
    predictions: List[Prediction] = field(default_factory=list)  #: best first; empty on error
    error: Optional[str] = None  #: why the photo was skipped (message names the file), else ``None``
    seconds: float = 0.0  #: time spent decoding + preprocessing this photo (on its worker thread)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        """JSON-ready form: ``{"file", "predictions": [{"label", "score"}], "error"}``."""
        out: dict = {"file": self.source}
        if self.error is None:
            out["predictions"] = [{"label": label, "score": round(score, 6)} for label, score in self.predictions]
        else:
            out["error"] = self.error
        return out


def default_workers(interpreter_threads: int = 1) -> int:
    """Decode threads: the cores the interpreter leaves over (``cpu_count - interpreter_threads``), at least 1,
    at most 4. With the heap pad (:mod:`device.heap`) a small model's invoke is about half of a photo's work, so
    its calling thread is not idle (it also prepares photos while it would wait); more decoders than the cores
    left over only compete with it (``benchmarks/bench_device.py``, docs/benchmarks.md; :mod:`device.process_pool`
    goes further)."""
    return max(1, min(4, (os.cpu_count() or 2) - int(interpreter_threads)))


def prefers_single_thread(prepare_time: float, invoke_1thread_time: float) -> bool:
    """Whether a pipelined run goes faster with a 1-thread interpreter and more decoding threads: true when one
    single-threaded invoke takes no longer than preparing one photo (the decoders are then the bottleneck, and
    they scale better over cores than the interpreter does)."""
    return invoke_1thread_time <= prepare_time


def classifier_for_many(model: Any, sample: Any, num_threads: Optional[int] = None, **kwargs: Any) -> "Classifier":
    """A :class:`Classifier` set up to classify many photos fast (see the module docstring).

    ``num_threads`` given: used as is. Otherwise a 1-thread classifier is timed on ``sample`` (one of the photos:
    prepared 1 + 2 times, the fastest counted; invoked 1 + 3 times, the median counted); if
    :func:`prefers_single_thread` says no, the model is reloaded with its default threads. ``kwargs`` go to
    :meth:`Classifier.from_file`.
    """
    from device.benchmark import time_ms
    from device.classifier import Classifier

    if num_threads is not None:
        return Classifier.from_file(model, num_threads=num_threads, **kwargs)
    single = Classifier.from_file(model, num_threads=1, **kwargs)
    if (os.cpu_count() or 1) < 2:
        return single
    try:
        pixels = single.prepare(sample)
        prepare_ms = min(time_ms(lambda: single.prepare(sample), runs=2, warmup=0))
        invoke_ms = sorted(time_ms(lambda: single.scores(pixels), runs=3, warmup=1))[1]
    except (EdgeKitError, OSError, ValueError):  # an unreadable sample: reported later, in its turn
        return single
    if prefers_single_thread(prepare_ms, invoke_ms):
        return single
    return Classifier.from_file(model, num_threads=None, **kwargs)


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<image bytes>"
    if isinstance(source, np.ndarray):
        return "<array>"
    return getattr(source, "filename", "") or "<image>"


def _prepare(classifier: "Classifier", source: Any) -> Tuple[Optional[np.ndarray], Optional[str], float]:
    start = time.perf_counter()
    try:
        pixels = classifier.prepare(source)
        return pixels, None, time.perf_counter() - start
    except (EdgeKitError, OSError, ValueError) as exc:
        return None, str(exc), time.perf_counter() - start


def classify_many(
    classifier: "Classifier",
    sources: Iterable[Any],
    top_k: int = 5,
    threshold: Optional[float] = None,
    workers: Optional[int] = None,
) -> Iterator[BatchResult]:
    """Yield a :class:`BatchResult` per source, in order, preparing up to ``2 * workers + 1`` photos ahead.

    ``workers=0`` runs everything on the calling thread (a plain sequential loop, for comparison). Changes nothing
    process-wide: a long run over many photos is faster with :func:`device.heap.keep_heap_pad` called once before
    (``edge-classify`` does; it changes glibc's malloc policy for the whole process, so it is the caller's choice).
    """
    top_k, threshold = check_top_k(top_k), check_threshold(threshold)
    n_workers = default_workers(classifier.interpreter.num_threads) if workers is None else int(workers)
    if n_workers <= 0:
        for source in sources:
            pixels, error, seconds = _prepare(classifier, source)
            yield _finish(classifier, source, pixels, error, seconds, top_k, threshold)
        return
    lookahead = 2 * n_workers + 1
    pending: Deque[Tuple[Any, "Future[Tuple[Optional[np.ndarray], Optional[str], float]]"]] = deque()
    iterator = iter(sources)
    with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="edge-kit-decode") as pool:
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < lookahead:
                    try:
                        source = next(iterator)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.append((source, pool.submit(_prepare, classifier, source)))
                if not pending:
                    return
                if not pending[0][1].done():
                    _help_prepare(classifier, pending)
                    continue
                source, future = pending.popleft()
                pixels, error, seconds = future.result()
                yield _finish(classifier, source, pixels, error, seconds, top_k, threshold)
        finally:
            for _, future in pending:
                future.cancel()


def _help_prepare(classifier: "Classifier", pending: Deque[Tuple[Any, "Future[Any]"]]) -> None:
    """The calling thread's turn while the next photo in order is still being prepared: take over the oldest
    photo no worker has started (cancelling its queued task) and prepare it here, or, when every queued photo is
    already being worked on, wait for the oldest. Without this the calling thread idles whenever a small model's
    invoke is shorter than preparing a photo, and one core of two does little."""
    for index, (source, future) in enumerate(pending):
        if future.cancel():  # succeeds only for a task no worker has picked up
            done: "Future[Any]" = Future()
            done.set_result(_prepare(classifier, source))
            pending[index] = (source, done)
            return
    pending[0][1].result()


def _finish(
    classifier: "Classifier",
    source: Any,
    pixels: Optional[np.ndarray],
    error: Optional[str],
    seconds: float,
    top_k: int,
    threshold: Optional[float],
) -> BatchResult:
    name = _describe(source)
    if pixels is None:
        return BatchResult(name, [], error, seconds)
    predictions = classifier.rank(classifier.scores(pixels), top_k, threshold)
    return BatchResult(name, predictions, None, seconds)
