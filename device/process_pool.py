"""Classify many photo files in worker processes: one single-threaded interpreter per core, no shared GIL.

The threaded pipeline of :mod:`device.batch` overlaps decoding with ``invoke`` inside one process, but every
thread still needs Python's GIL between its C calls (Pillow's JPEG parser, numpy's dispatch, the interpreter
wrapper), and on a small model those moments collide: worker processes get closer to what the cores can do than
threads (``benchmarks/bench_device.py``; numbers in docs/benchmarks.md). Each worker process loads its own
1-thread interpreter once and classifies whole photos; only file names go in and ``(label, score)`` lists come
out, in chunks of up to 16 photos (:func:`default_chunksize`), so little is copied between processes.

Starting the workers costs a fresh Python with numpy, Pillow and the interpreter (a fraction of a second, more on
a Raspberry Pi), so ``edge-classify`` uses processes only for large folders (:data:`MIN_PHOTOS_FOR_PROCESSES`) or
when asked (``--processes N``). Workers are *spawned* (not forked): safe next to the interpreter's own threads,
and the same on Linux, macOS and Windows. Results come back in input order; a photo that cannot be read yields a
:class:`device.batch.BatchResult` with ``error`` set and the run goes on. Memory: each worker holds its own copy
of the model and its tensors.

    >>> from device.process_pool import ProcessPoolClassifier
    >>> with ProcessPoolClassifier("model_int8.tflite") as pool:
    ...     for result in pool.classify_many(paths, top_k=1):
    ...         print(result.source, result.predictions or result.error)

On a script run as ``python my_script.py``, put the calls under ``if __name__ == "__main__":``, as for every use
of :mod:`multiprocessing` with spawned workers.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, Optional, Sized, Union

from device.batch import BatchResult, _finish, _prepare

if TYPE_CHECKING:  # pragma: no cover
    from multiprocessing.pool import Pool

    from device.classifier import Classifier

#: Folders at least this large are classified by worker processes in ``edge-classify`` (when the machine has 2 or
#: more cores). Below it, starting the workers costs more than the GIL does: the start is paid back a fraction of a
#: millisecond per photo, so the whole command breaks even at several hundred photos (docs/benchmarks.md); 1000
#: leaves room for a slower start (a Raspberry Pi's SD card).
MIN_PHOTOS_FOR_PROCESSES = 1000

#: Largest default number of worker processes (each holds the model and a Python with numpy and Pillow).
MAX_DEFAULT_PROCESSES = 4

#: Most photos handed to a worker at a time. Each hand-over costs the calling process CPU (the pool's queues and
#: threads) that the workers then lack, so chunks should be large; in big chunks one worker is left alone longer at
#: the end. 16 was the fastest measured (docs/benchmarks.md).
MAX_CHUNKSIZE = 16

ModelSource = Union[str, "os.PathLike[str]", bytes]

_worker: Optional["Classifier"] = None  # the classifier of this worker process (set by _init_worker)


def default_processes() -> int:
    """Worker processes by default: one per core, at most :data:`MAX_DEFAULT_PROCESSES`, at least 1."""
    return max(1, min(MAX_DEFAULT_PROCESSES, os.cpu_count() or 1))


def use_processes(num_photos: int, processes: Optional[int] = None) -> bool:
    """Whether ``edge-classify`` should run ``num_photos`` files in worker processes: ``processes`` given (0 means
    no), else when there are at least :data:`MIN_PHOTOS_FOR_PROCESSES` photos and 2 or more cores."""
    if processes is not None:
        return processes > 0 and num_photos > 1
    return num_photos >= MIN_PHOTOS_FOR_PROCESSES and (os.cpu_count() or 1) >= 2


def default_chunksize(num_photos: Optional[int], processes: int) -> int:
    """Photos handed to a worker at a time: :data:`MAX_CHUNKSIZE`, or fewer for a short list, so that each worker
    gets about 6 chunks (when a worker takes the last chunk, the others run out of work: smaller chunks shorten
    that tail). ``num_photos`` ``None`` (a generator): :data:`MAX_CHUNKSIZE`."""
    if num_photos is None:
        return MAX_CHUNKSIZE
    return max(1, min(MAX_CHUNKSIZE, num_photos // (6 * max(1, processes))))


class ProcessPoolClassifier:
    """Worker processes, each with its own :class:`device.classifier.Classifier` of ``model`` (1 thread each).

    ``processes``: how many (default :func:`default_processes`). ``num_threads``: interpreter threads per worker
    (default 1: parallelism over photos beats parallelism inside one small model). ``classifier_options`` go to
    :meth:`Classifier.from_file` (``backend``, ``labels``, ``crop``, ``normalization``, ``score_type``,
    ``keep_background``). Use it as a context manager, or call :meth:`close`.

    The model is loaded here first, in the calling process, so that a bad model raises
    :class:`device.errors.ModelError` at once instead of failing in every worker.
    """

    def __init__(self, model: ModelSource, processes: Optional[int] = None, num_threads: int = 1,
                 **classifier_options: Any) -> None:
        from device.classifier import Classifier

        if processes is not None and processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        if isinstance(model, (str, os.PathLike)):
            model = os.fspath(model)
        options: Dict[str, Any] = dict(classifier_options, num_threads=num_threads)
        self.classifier = Classifier.from_file(model, **options)  # validates; also what callers may inspect
        self.processes = processes or default_processes()
        context = multiprocessing.get_context("spawn")
        self._pool: Optional["Pool"] = context.Pool(self.processes, initializer=_init_worker,
                                                    initargs=(model, options))

    def classify_many(self, sources: Iterable[Union[str, "os.PathLike[str]"]], top_k: int = 5,
                      threshold: Optional[float] = None, chunksize: Optional[int] = None) -> Iterator[BatchResult]:
        """Yield a :class:`BatchResult` per photo file, in input order, as the workers finish them.

        Photo files only (paths): images already in memory are classified faster in this process, with
        :meth:`Classifier.classify_many`. ``chunksize``: photos handed to a worker at a time (default
        :func:`default_chunksize`).
        """
        if self._pool is None:
            raise RuntimeError("this ProcessPoolClassifier is closed")
        if chunksize is None:
            chunksize = default_chunksize(len(sources) if isinstance(sources, Sized) else None, self.processes)
        tasks = ((os.fspath(s), top_k, threshold) for s in sources)
        try:
            yield from self._pool.imap(_classify_file, tasks, chunksize=chunksize)
        except BaseException:  # Ctrl-C or a consumer that stops early: do not leave workers busy behind
            self.terminate()
            raise

    def close(self) -> None:
        """Let the workers finish and exit."""
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def terminate(self) -> None:
        """Stop the workers now (photos in progress are abandoned)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> "ProcessPoolClassifier":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.terminate()

    def __del__(self) -> None:  # pragma: no cover - best effort when the caller forgot close()
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.terminate()


def _init_worker(model: ModelSource, options: Dict[str, Any]) -> None:
    """In each worker: Ctrl-C is the parent's to handle (it terminates the pool); load the model once."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from device.classifier import Classifier
    from device.heap import keep_heap_pad

    keep_heap_pad()
    _worker = Classifier.from_file(model, **options)


def _classify_file(task: Any) -> BatchResult:
    """In a worker: one photo file to its :class:`BatchResult` (errors reported, not raised), exactly as the
    threaded pipeline does it."""
    source, top_k, threshold = task
    assert _worker is not None, "worker not initialised"
    pixels, error, seconds = _prepare(_worker, source)
    return _finish(_worker, source, pixels, error, seconds, top_k, threshold)
