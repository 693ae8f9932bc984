"""Write PyTorch state-dict files (legacy and zip layouts) without PyTorch, for tests of the reader.

The pickles name ``torch._utils._rebuild_tensor_v2`` and ``torch.<Type>Storage`` as PyTorch's own ``torch.save``
does; Python's pickler is taught to write those names without the modules existing.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("float64"): "DoubleStorage",
                 np.dtype("float16"): "HalfStorage", np.dtype("int64"): "LongStorage", np.dtype("int32"): "IntStorage",
                 np.dtype("uint8"): "ByteStorage"}
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class Global:
    """A reference to ``module.name`` that pickles as that name (the object need not exist)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> None:  # the pickler wants reduce functions to be callable
        raise AssertionError("only pickled")


class _Tensor:
    def __init__(self, key: str, storage: Global, numel: int, offset: int, shape: Tuple[int, ...],
                 stride: Tuple[int, ...]) -> None:
        self.pid = ("storage", storage, key, "cpu", numel)
        self.offset, self.shape, self.stride = offset, shape, stride

    def __reduce__(self):
        return (Global("torch._utils", "_rebuild_tensor_v2"),
                (_Persistent(self.pid), self.offset, self.shape, self.stride, False, collections.OrderedDict()))


class _Persistent:
    def __init__(self, pid: tuple) -> None:
        self.pid = pid


class _Pickler(pickle._Pickler):  # the pure-Python pickler: its dispatch table can be extended
    dispatch = dict(pickle._Pickler.dispatch)

    def _save_global_ref(self, obj: Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))

    dispatch[Global] = _save_global_ref

    def persistent_id(self, obj: Any) -> Optional[tuple]:
        return obj.pid if isinstance(obj, _Persistent) else None


def _dump(obj: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def _layout(state: Dict[str, Any]) -> Tuple[collections.OrderedDict, List[Tuple[str, np.ndarray]]]:
    """The pickled dict and the storages. An entry may be an array (its own storage) or ``(array, offset, shape,
    stride)``: a strided view into ``array`` as its storage (what ``.t()`` or slicing gives in PyTorch)."""
    tensors, storages = collections.OrderedDict(), []
    for i, (name, value) in enumerate(state.items()):
        if isinstance(value, tuple):
            base, offset, shape, stride = value
        else:
            base = np.require(value, requirements="C")  # keeps 0-d arrays 0-d
            offset, shape = 0, base.shape
            stride = tuple(int(s // base.itemsize) for s in base.strides)
        flat = np.ascontiguousarray(base).reshape(-1)
        key = str(1000 + i)
        tensors[name] = _Tensor(key, Global("torch", STORAGE_NAMES[flat.dtype]), flat.size, offset, tuple(shape),
                                tuple(stride))
        storages.append((key, flat))
    return tensors, storages


def write_legacy(path: Path, state: Dict[str, Any], payload: Any = None) -> Path:
    """``torch.save(state, path, _use_new_zipfile_serialization=False)``'s layout. ``payload``: pickled in place of
    the state dict (to test what the reader refuses)."""
    tensors, storages = _layout(state)
    out = [_dump(LEGACY_MAGIC), _dump(1001),
           _dump({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}),
           _dump(payload if payload is not None else tensors), _dump([key for key, _ in storages])]
    for _, flat in storages:
        out.append(struct.pack("<q", flat.size) + flat.astype(flat.dtype.newbyteorder("<")).tobytes())
    Path(path).write_bytes(b"".join(out))
    return Path(path)


def write_zip(path: Path, state: Dict[str, Any]) -> Path:
    """``torch.save(state, path)``'s layout (PyTorch 1.6 and later)."""
    tensors, storages = _layout(state)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", _dump(tensors))
        for key, flat in storages:
            archive.writestr(f"archive/data/{key}", flat.astype(flat.dtype.newbyteorder("<")).tobytes())
        archive.writestr("archive/version", "3\n")
    return Path(path)
