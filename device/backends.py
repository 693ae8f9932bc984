"""TFLite interpreter backends behind one small wrapper, chosen without ever importing TensorFlow by accident.

Three backends run ``.tflite`` files from Python:

========================  ================================  ==============================================
name                      import                            when it is used automatically
========================  ================================  ==============================================
``"ai-edge-litert"``      ``ai_edge_litert.interpreter``    first choice (LiteRT: 64-bit boards, desktops)
``"tflite-runtime"``      ``tflite_runtime.interpreter``    when LiteRT is not installed (32-bit Pi OS)
``"tensorflow"``          ``tensorflow.lite.Interpreter``   only when neither of the others is installed
========================  ================================  ==============================================

TensorFlow is imported *only* when ``backend="tensorflow"`` is asked for explicitly, or when neither light
interpreter is installed. Mixing TensorFlow with LiteRT or tflite-runtime in one process can fail to load models,
so the converter (which already runs inside TensorFlow) asks for ``backend="tensorflow"``.

The backend can also be chosen with the environment variable ``EDGE_KIT_BACKEND`` (same names).

    >>> from device.backends import make_interpreter
    >>> interp = make_interpreter("model.tflite", num_threads=2)
    >>> interp.set_input(batch)          # 1 x H x W x 3, already in the input tensor's dtype
    >>> interp.invoke()
    >>> scores = interp.get_output()
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from device.errors import ModelError
from device.metadata import model_extent_problem

#: Backend names, in the order they are tried when none is requested.
BACKENDS = ("ai-edge-litert", "tflite-runtime", "tensorflow")

#: Environment variable that picks a backend when the caller passes ``backend=None``.
BACKEND_ENV = "EDGE_KIT_BACKEND"

#: Largest model file read (2 GiB is the FlatBuffers limit anyway).
MAX_MODEL_BYTES = 2 * 1024**3

_MODULES = {
    "ai-edge-litert": "ai_edge_litert",
    "tflite-runtime": "tflite_runtime",
    "tensorflow": "tensorflow",
}

ModelSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def default_num_threads() -> int:
    """Threads used when none are given: the CPU count, capped at 4 (a Raspberry Pi 4/5 has 4 cores; more
    threads than that rarely help a small classifier and starve the decoding threads)."""
    return max(1, min(os.cpu_count() or 1, 4))


def installed_backends() -> List[str]:
    """Names of the backends whose package is installed, in preference order. Imports nothing."""
    return [name for name in BACKENDS if importlib.util.find_spec(_MODULES[name]) is not None]


def resolve_backend(backend: Optional[str] = None) -> str:
    """The backend that :func:`make_interpreter` would use for ``backend`` (``None``: env var, then automatic).

    Raises :class:`ModelError` for an unknown name or when nothing is installed.
    """
    if backend is None:
        backend = os.environ.get(BACKEND_ENV) or None
    if backend is not None:
        backend = backend.strip().lower().replace("_", "-")
        aliases = {"litert": "ai-edge-litert", "tflite": "tflite-runtime", "tf": "tensorflow"}
        backend = aliases.get(backend, backend)
        if backend not in BACKENDS:
            raise ModelError(f"unknown interpreter backend {backend!r}; use one of: {', '.join(BACKENDS)}")
        return backend
    installed = installed_backends()
    light = [b for b in installed if b != "tensorflow"]
    if light:
        return light[0]
    if installed:
        return "tensorflow"
    raise ModelError(no_interpreter_message(platform.machine(), sys.version_info[:2]))


#: 32-bit ARM machine names (``platform.machine()``): 32-bit Raspberry Pi OS reports ``armv7l`` (or ``armv6l`` on
#: a Pi Zero / Pi 1), even on a 64-bit Pi.
ARM32_MACHINES = ("armv7l", "armv6l", "armv8l", "arm")

#: Python versions with a tflite-runtime wheel for armv7l on PyPI (2.14.0, glibc >= 2.34: Raspberry Pi OS
#: Bookworm). ai-edge-litert has no 32-bit ARM wheel at all.
TFLITE_RUNTIME_ARMV7_PYTHONS = ((3, 9), (3, 10), (3, 11))


def no_interpreter_message(machine: str, python: Sequence[int]) -> str:
    """What to do when no interpreter is installed, for this CPU (``platform.machine()``) and Python version:
    one line naming what is supported there."""
    version = ".".join(str(v) for v in python[:2])
    if machine.lower() in ARM32_MACHINES:
        if machine.lower() == "armv7l" and tuple(python[:2]) in TFLITE_RUNTIME_ARMV7_PYTHONS:
            return (f"no TFLite interpreter is installed. On 32-bit ARM ({machine}) with Python {version}: "
                    "`pip install tflite-runtime` (ai-edge-litert has no 32-bit ARM wheel), or use 64-bit "
                    "Raspberry Pi OS, where `pip install edge-kit[device]` installs LiteRT.")
        return (f"no TFLite interpreter exists for 32-bit ARM ({machine}) with Python {version}: ai-edge-litert "
                "has no 32-bit ARM wheel and tflite-runtime's armv7l wheels stop at Python 3.11. Use 64-bit "
                "Raspberry Pi OS (`pip install edge-kit[device]` installs LiteRT), or 32-bit Raspberry Pi OS "
                "Bookworm (Python 3.11) with `pip install tflite-runtime` on an armv7l Pi (2 and later).")
    return ("no TFLite interpreter is installed. Install one: `pip install ai-edge-litert` "
            "(or `pip install tflite-runtime`), e.g. `pip install edge-kit[device]`.")


def _check_tflite_runtime_numpy() -> None:
    """tflite-runtime's last release (2.14) was built against numpy 1.x: under numpy 2 it imports, then fails to load
    any model with a bare ``SystemError``. Say so before that happens."""
    try:
        from importlib.metadata import version

        runtime = version("tflite-runtime")
    except Exception:  # not installed: _interpreter_class reports it
        return
    if int(np.__version__.split(".")[0]) >= 2 and tuple(int(x) for x in runtime.split(".")[:2]) <= (2, 14):
        raise ModelError(
            f"tflite-runtime {runtime} was built for numpy 1.x and cannot load models with numpy {np.__version__}. "
            f"Use ai-edge-litert (`pip install ai-edge-litert`, works with numpy 2), or install numpy 1.x into this "
            f"environment (`pip install 'numpy<2'`)."
        )


def _interpreter_class(backend: str) -> Any:
    try:
        if backend == "ai-edge-litert":
            return importlib.import_module("ai_edge_litert.interpreter").Interpreter
        if backend == "tflite-runtime":
            _check_tflite_runtime_numpy()
            return importlib.import_module("tflite_runtime.interpreter").Interpreter
        return importlib.import_module("tensorflow").lite.Interpreter
    except ImportError as exc:
        pip_name = {"ai-edge-litert": "ai-edge-litert", "tflite-runtime": "tflite-runtime"}.get(backend, "tensorflow")
        raise ModelError(
            f"interpreter backend {backend!r} is not installed ({exc}). Install it with `pip install {pip_name}`, "
            f"or choose another backend (installed: {', '.join(installed_backends()) or 'none'})."
        ) from exc


def read_model_bytes(model: ModelSource) -> bytes:
    """The bytes of ``model`` (a path or the bytes themselves), checked to look like a TFLite file.

    Raises :class:`ModelError` naming the file when it is missing, empty, too large or not a TFLite flatbuffer.
    """
    if isinstance(model, (bytes, bytearray, memoryview)):
        data, name = bytes(model), "<model bytes>"
    else:
        path = Path(model)
        name = str(path)
        if not path.exists():
            raise ModelError(f"{name}: no such model file. Check the path.")
        if path.is_dir():
            raise ModelError(f"{name}: is a folder; give the .tflite file inside it.")
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelError(f"{name}: {size} bytes is larger than any valid .tflite file (2 GiB limit).")
        data = path.read_bytes()
    check_tflite_bytes(data, name)
    return data


def check_tflite_bytes(data: bytes, name: str = "<model bytes>") -> None:
    """Raise :class:`ModelError` unless ``data`` starts like a TFLite flatbuffer (identifier ``TFL3``) and every part
    of it the model table points at lies inside ``data`` (:func:`device.metadata.model_extent_problem`)."""
    if len(data) == 0:
        raise ModelError(f"{name}: the model file is empty (0 bytes); re-copy or re-export it.")
    if len(data) < 16 or data[4:8] != b"TFL3":
        raise ModelError(
            f"{name}: not a TensorFlow Lite model (no 'TFL3' file identifier). Give the .tflite file written by "
            "`edge-convert` (a Keras .keras/.h5 or SavedModel must be converted first)."
        )
    root = int.from_bytes(data[0:4], "little")
    problem = "the root table is past the end" if root + 4 > len(data) else model_extent_problem(data)
    if problem:
        raise ModelError(f"{name}: truncated TFLite model ({len(data)} bytes; {problem}); re-copy or re-export it.")


class Interpreter:
    """A loaded model on one backend: tensors allocated, batch size 1, ready to :meth:`invoke`.

    Not thread-safe: use one :class:`Interpreter` per thread (``invoke`` releases the GIL, so other Python
    threads can decode photos meanwhile).
    """

    def __init__(self, raw: Any, backend: str, num_threads: int, model_bytes: bytes, name: str) -> None:
        self.raw = raw  #: the backend's own interpreter object
        self.backend = backend  #: the backend name, one of :data:`BACKENDS`
        self.num_threads = num_threads  #: threads the interpreter was created with
        self.model_bytes = model_bytes  #: the model file's bytes (kept alive for the interpreter)
        self.name = name  #: the model path (or "<model bytes>") for messages
        self.input_details: List[Dict[str, Any]] = raw.get_input_details()
        self.output_details: List[Dict[str, Any]] = raw.get_output_details()

    def set_input(self, value: np.ndarray, index: int = 0) -> None:
        """Copy ``value`` (already of the tensor's dtype and shape) into input ``index``."""
        detail = self.input_details[index]
        self.raw.set_tensor(detail["index"], value)

    def invoke(self) -> None:
        """Run the model on the current inputs."""
        self.raw.invoke()

    def get_output(self, index: int = 0) -> np.ndarray:
        """A copy of output tensor ``index`` in its own dtype (quantized outputs are *not* dequantized)."""
        return self.raw.get_tensor(self.output_details[index]["index"])

    def run(self, value: np.ndarray) -> List[np.ndarray]:
        """Set input 0, invoke, and return every output (raw dtypes)."""
        self.set_input(value)
        self.invoke()
        return [self.get_output(i) for i in range(len(self.output_details))]

    def __repr__(self) -> str:
        return f"Interpreter({self.name!r}, backend={self.backend!r}, num_threads={self.num_threads})"


def make_interpreter(
    model: ModelSource,
    backend: Optional[str] = None,
    num_threads: Optional[int] = None,
    name: Optional[str] = None,
) -> Interpreter:
    """Load ``model`` (a ``.tflite`` path or its bytes) on ``backend`` and allocate its tensors.

    ``backend``: one of :data:`BACKENDS`, or ``None`` for ``$EDGE_KIT_BACKEND`` or the first installed light
    interpreter (TensorFlow only when neither light one is installed). ``num_threads``: interpreter threads,
    default :func:`default_num_threads`. ``name``: how messages name the model (default: its path; give the path
    when passing bytes read from a file). A dynamic batch dimension is fixed to 1.

    Raises :class:`ModelError` naming the file for missing, empty, truncated or non-TFLite files, models the
    interpreter cannot load (e.g. unsupported ops), and unknown or uninstalled backends.
    """
    if name is None:
        name = "<model bytes>" if isinstance(model, (bytes, bytearray, memoryview)) else str(model)
    data = read_model_bytes(model)
    chosen = resolve_backend(backend)
    threads = default_num_threads() if num_threads is None else int(num_threads)
    if threads < 1:
        raise ModelError(f"num_threads must be at least 1, got {num_threads}")
    cls = _interpreter_class(chosen)
    try:
        with native_info_silenced():
            raw = cls(model_content=data, num_threads=threads)
            _fix_batch_dimension(raw)
            raw.allocate_tensors()
    except ModelError:
        raise
    except Exception as exc:  # the backends raise ValueError/RuntimeError with long C++ messages
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if chosen == "tflite-runtime" and "Didn't find op" in reason:
            # tflite-runtime stopped at 2.14, so "upgrade it" cannot help; on 32-bit ARM it is the only interpreter.
            raise ModelError(
                f"{name}: tflite-runtime, whose last release is 2.14, cannot run this model ({reason}). edge-kit's "
                "int8 (default), float16 and float32 exports run on it; the dynamic-range export needs ai-edge-litert "
                "(64-bit OS)."
            ) from exc
        raise ModelError(
            f"{name}: the {chosen} interpreter cannot load this model ({reason}). "
            "The file may be truncated or corrupt (re-copy or re-export it), or use operators this interpreter "
            "version does not support (upgrade it)."
        ) from exc
    return Interpreter(raw, chosen, threads, data, name)


@contextlib.contextmanager
def native_info_silenced() -> Iterator[None]:
    """Drop the interpreter's native ``INFO:`` log lines ("Created TensorFlow Lite XNNPACK delegate for CPU"),
    which no setting turns off and which would break the one-line-message promise of ``edge-classify``, and the
    cpuinfo library's "Error in cpuinfo: failed to parse ..." lines, printed where ``/sys`` is missing (containers,
    emulated boards): XNNPACK then runs without CPU detection, which changes nothing the user must act on.

    The process's stderr (file descriptor 2) goes to a temporary file while the interpreter is built; afterwards
    every other line is written back (warnings stay visible). On an error nothing is written back: the backend's
    exception carries the message, which :func:`make_interpreter` turns into one line.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (a detached process): nothing to silence
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True)
                    if not line.startswith((b"INFO: ", b"Error in cpuinfo: failed to parse"))]
            if kept and not failed:
                os.write(2, b"".join(kept))


def _fix_batch_dimension(raw: Any) -> None:
    for detail in raw.get_input_details():
        signature: Sequence[int] = detail.get("shape_signature", detail["shape"])
        if len(signature) > 0 and signature[0] == -1:
            shape = list(detail["shape"])
            shape[0] = 1
            raw.resize_tensor_input(detail["index"], shape)
