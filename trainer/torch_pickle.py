"""Read a PyTorch state dict (``.pth``) into numpy arrays, without PyTorch and without running any code from it.

A ``.pth`` file is a pickle, and unpickling runs whatever the file names. This reader accepts only what a plain
state dict of tensors needs and refuses every other name, so a hostile file cannot run code:

* ``collections.OrderedDict`` (the dict itself),
* ``torch._utils._rebuild_tensor_v2`` (one tensor: a view into a storage; mapped to a numpy view),
* ``torch.<Type>Storage`` (the element type of a storage; mapped to a numpy dtype).

Two layouts exist. The **legacy** one (``torch.save(..., _use_new_zipfile_serialization=False)``, PyTorch before
1.6) is five things in a row: four pickles (magic number, protocol version, system info, the object whose storages
are persistent ids) and then the sorted list of storage keys as a fifth pickle, followed by each storage's bytes,
each behind an 8-byte little-endian element count. The **zip** one (PyTorch 1.6 and later) holds the object in
``<name>/data.pkl`` and each storage in ``<name>/data/<key>``. Both are read here.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Dict, Tuple

import numpy as np

#: The legacy format's first pickle.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

#: ``torch.<name>`` storage types and their numpy element types (little-endian).
STORAGE_DTYPES: Dict[str, str] = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "LongStorage": "<i8",
    "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?",
}


class TorchFileError(ValueError):
    """The file is not a PyTorch state dict this reader accepts (the message names the file and why)."""


class _Storage:
    """Stand-in for ``torch.<Type>Storage``: only its element type matters."""

    def __init__(self, dtype: str) -> None:
        self.dtype = np.dtype(dtype)


class _TensorRef:
    """A tensor as the pickle describes it: which storage, where in it, its shape and strides (in elements)."""

    def __init__(self, storage: Tuple[str, np.dtype], offset: int, shape: Tuple[int, ...], stride: Tuple[int, ...],
                 *_: Any) -> None:
        self.key, self.dtype = storage
        self.offset, self.shape, self.stride = int(offset), tuple(shape), tuple(stride)

    def materialise(self, data: np.ndarray) -> np.ndarray:
        """A copy of this tensor's elements out of its storage ``data`` (a 1-D array of the storage's type)."""
        itemsize = data.dtype.itemsize
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride))
        if 0 not in self.shape and not (0 <= self.offset and last < len(data)):
            raise ValueError(f"tensor of shape {self.shape} reaches past its storage of {len(data)} elements")
        view = np.lib.stride_tricks.as_strided(data[self.offset:], shape=self.shape,
                                               strides=tuple(s * itemsize for s in self.stride), writeable=False)
        return np.array(view, dtype=data.dtype.newbyteorder("="))


class _Unpickler(pickle.Unpickler):
    """Resolves only the names a state dict needs; storages become ``(key, dtype)`` references."""

    def __init__(self, file: BinaryIO, path: Path, storages: Dict[str, Tuple[np.dtype, int]]) -> None:
        super().__init__(file)
        self._path = path
        self._storages = storages  # key -> (dtype, element count), filled as the pickle names them

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _TensorRef
        if module == "torch" and name in STORAGE_DTYPES:
            return _Storage(STORAGE_DTYPES[name])
        raise TorchFileError(f"{self._path}: refers to {module}.{name}, which a plain state dict of tensors does not "
                             "need; only state dicts (torch.save(model.state_dict(), ...)) are read")

    def persistent_load(self, pid: Any) -> Tuple[str, np.dtype]:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)):
            raise TorchFileError(f"{self._path}: unexpected storage record {pid!r:.80}")
        storage, key, numel = pid[1], str(pid[2]), int(pid[4])
        if len(pid) > 5 and pid[5] is not None:
            raise TorchFileError(f"{self._path}: storage views (PyTorch before 0.4) are not supported")
        self._storages[key] = (storage.dtype, numel)
        return key, storage.dtype


def _tensors(obj: Any, path: Path) -> Dict[str, _TensorRef]:
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, _TensorRef) for k, v in obj.items()):
        raise TorchFileError(f"{path}: not a state dict (a dict of tensors by name)")
    return dict(obj)


def _read_legacy(f: BinaryIO, path: Path) -> Dict[str, np.ndarray]:
    storages: Dict[str, Tuple[np.dtype, int]] = {}

    def load() -> Any:
        return _Unpickler(f, path, storages).load()

    if load() != LEGACY_MAGIC:
        raise TorchFileError(f"{path}: not a PyTorch file (wrong magic number)")
    if load() != LEGACY_PROTOCOL:
        raise TorchFileError(f"{path}: unsupported PyTorch legacy protocol version")
    info = load()
    if not isinstance(info, dict) or not info.get("little_endian", False):
        raise TorchFileError(f"{path}: written on a big-endian machine; re-save it on a little-endian one")
    tensors = _tensors(load(), path)
    keys = load()
    data: Dict[str, np.ndarray] = {}
    for key in keys:
        key = str(key)
        if key not in storages:
            raise TorchFileError(f"{path}: storage {key} is listed but no tensor uses it")
        dtype, numel = storages[key]
        (count,) = struct.unpack("<q", f.read(8))
        raw = f.read(count * dtype.itemsize)
        if count != numel or len(raw) != count * dtype.itemsize:
            raise TorchFileError(f"{path}: storage {key} is truncated or inconsistent ({count} of {numel} elements)")
        data[key] = np.frombuffer(raw, dtype=dtype)
    return _materialise(tensors, data, path)


def _read_zip(path: Path) -> Dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise TorchFileError(f"{path}: a zip file without exactly one <name>/data.pkl; not a PyTorch file")
        prefix = pickles[0][: -len("data.pkl")]
        storages: Dict[str, Tuple[np.dtype, int]] = {}
        tensors = _tensors(_Unpickler(io.BytesIO(archive.read(pickles[0])), path, storages).load(), path)
        data: Dict[str, np.ndarray] = {}
        for key, (dtype, numel) in storages.items():
            try:
                raw = archive.read(f"{prefix}data/{key}")
            except KeyError:
                raise TorchFileError(f"{path}: storage {key} is missing") from None
            if len(raw) < numel * dtype.itemsize:
                raise TorchFileError(f"{path}: storage {key} is truncated")
            data[key] = np.frombuffer(raw, dtype=dtype, count=numel)
    return _materialise(tensors, data, path)


def _materialise(tensors: Dict[str, _TensorRef], data: Dict[str, np.ndarray], path: Path) -> Dict[str, np.ndarray]:
    out: Dict[str, np.ndarray] = {}
    for name, ref in tensors.items():
        if ref.key not in data:
            raise TorchFileError(f"{path}: the storage of {name} is missing")
        try:
            out[name] = ref.materialise(data[ref.key])
        except ValueError as exc:
            raise TorchFileError(f"{path}: {name}: {exc}") from None
    return out


def read_state_dict(path: "str | Path") -> Dict[str, np.ndarray]:
    """The tensors of the PyTorch state-dict file ``path`` by name, as numpy arrays (copies, native byte order).

    Raises :class:`TorchFileError` naming the file when it is not a state dict of plain tensors (it never runs code
    named in the file), and ``OSError`` when it cannot be read.
    """
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            return _read_zip(path)
        with open(path, "rb") as f:
            return _read_legacy(f, path)
    except TorchFileError:
        raise
    except (pickle.UnpicklingError, EOFError, struct.error, zipfile.BadZipFile, ValueError, TypeError,
            AttributeError, IndexError, KeyError) as exc:
        raise TorchFileError(f"{path}: not a readable PyTorch state dict ({type(exc).__name__}: {exc})") from None
