"""Fixed-shape rows on disk (decoded photos, cached activations), read a batch at a time.

A ``.npy`` file written row by row and read back with positioned reads into a fresh buffer, never memory-mapped
for reading: a mapping keeps every page it touched resident in the process, so one pass over 20,000 photos would
hold them all, whereas here a batch is all that is in memory. The operating system's page cache still keeps the
file when it fits, so repeated passes cost little.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence, Tuple

import numpy as np

from common.atomic import atomic_path


class ArrayWriter:
    """Write ``shape``-shaped rows of ``dtype`` into ``path`` (atomically: the file appears only on exit).

    Use as a context manager; rows are written with ``writer[row] = value`` (or a slice of rows) in any order,
    with positioned writes: nothing of the file is mapped or kept in memory. Rows never written read as zeros.
    """

    def __init__(self, path: Path, rows: int, shape: Tuple[int, ...], dtype: "np.dtype | str") -> None:
        self.path, self.rows, self.shape, self.dtype = Path(path), int(rows), tuple(shape), np.dtype(dtype)
        self._row_bytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self._atomic = atomic_path(self.path, suffix=".npy")
        self._file = None
        self._offset = 0

    def __enter__(self) -> "ArrayWriter":
        tmp = self._atomic.__enter__()
        self._file = open(tmp, "r+b" if tmp.exists() else "w+b")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (self.rows,) + self.shape}
        np.lib.format.write_array_header_1_0(self._file, header)
        self._offset = self._file.tell()
        self._file.truncate(self._offset + self._row_bytes * self.rows)
        return self

    def __setitem__(self, row: "int | slice", value: np.ndarray) -> None:
        first = (row.start or 0) if isinstance(row, slice) else int(row)
        data = np.ascontiguousarray(value, dtype=self.dtype)
        if data.size * self.dtype.itemsize % self._row_bytes:
            raise ValueError(f"a row of {self.path.name} has shape {self.shape}, got {data.shape}")
        os.pwrite(self._file.fileno(), data.tobytes(), self._offset + first * self._row_bytes)

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
        self._atomic.__exit__(*exc)


class ArrayReader:
    """Rows of a ``.npy`` file written by :class:`ArrayWriter` (or ``np.save``), read with ``os.pread``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            self._offset = f.tell()
        if fortran:
            raise ValueError(f"{self.path}: Fortran-ordered arrays are not supported")
        self.shape: Tuple[int, ...] = tuple(shape)
        self.dtype = np.dtype(dtype)
        self._row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, rows: Sequence[int]) -> np.ndarray:
        """The given rows, in the given order (a new array; consecutive rows are read in one call)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows),) + self.shape[1:], dtype=self.dtype)
        if len(rows) == 0:
            return out
        flat = out.reshape(len(rows), -1).view(np.uint8)
        order = np.argsort(rows, kind="stable")
        fd = os.open(self.path, os.O_RDONLY)
        try:
            start = 0
            while start < len(order):
                end = start + 1
                while end < len(order) and rows[order[end]] == rows[order[end - 1]] + 1:
                    end += 1
                first = int(rows[order[start]])
                data = os.pread(fd, self._row_bytes * (end - start), self._offset + first * self._row_bytes)
                if len(data) != self._row_bytes * (end - start):
                    raise OSError(f"{self.path}: truncated (row {first})")
                block = np.frombuffer(data, dtype=np.uint8).reshape(end - start, self._row_bytes)
                flat[order[start:end]] = block
                start = end
        finally:
            os.close(fd)
        return out

    def batches(self, rows: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
        """:meth:`read` of ``rows`` in batches of ``batch_size``, in order."""
        rows = np.asarray(rows, dtype=np.int64)
        for start in range(0, len(rows), batch_size):
            yield self.read(rows[start:start + batch_size])
