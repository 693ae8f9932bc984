"""Read TFLite model metadata and the files packed into a ``.tflite`` in plain Python.

No tflite-support, no flatbuffers package: a ``.tflite`` file is a FlatBuffer (``schema.fbs``) whose ``metadata``
list may hold an entry named ``TFLITE_METADATA`` pointing at a buffer that is itself a FlatBuffer (``M001``,
``metadata_schema.fbs``, root table ``ModelMetadata``). Associated files (labels, ``edge_kit_preprocessing.json``)
are stored in a zip archive appended after the FlatBuffer; they are read from memory, never extracted to disk.

Only what an image classifier needs is decoded:

* model: name, description, version, author, license, associated files;
* each input tensor: name, description, ``NormalizationOptions`` mean/std, image colour space and default size;
* each output tensor: name, description, value range statistics, associated files (``TENSOR_AXIS_LABELS``).

    >>> from device.metadata import read_model_info
    >>> info = read_model_info("model.tflite")
    >>> info.metadata.name, info.labels[:3], info.preprocessing
"""
from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from device.errors import ModelError

#: Name of the entry of ``Model.metadata`` that holds the ModelMetadata FlatBuffer.
METADATA_NAME = "TFLITE_METADATA"
#: File identifier of the metadata FlatBuffer.
METADATA_IDENTIFIER = b"M001"
#: Model-level associated file in which edge-kit stores ``PreprocessConfig.to_dict()``.
PREPROCESSING_FILE = "edge_kit_preprocessing.json"

#: ``AssociatedFileType`` values of metadata_schema.fbs.
ASSOCIATED_FILE_TYPES = {
    0: "UNKNOWN",
    1: "DESCRIPTIONS",
    2: "TENSOR_AXIS_LABELS",
    3: "TENSOR_VALUE_LABELS",
    4: "TENSOR_AXIS_SCORE_CALIBRATION",
    5: "VOCABULARY",
    6: "SCANN_INDEX_FILE",
}
TENSOR_AXIS_LABELS = 2

#: Limits on packed files: no single file over 16 MiB, at most 64 MiB and 256 files in all.
MAX_PACKED_FILE_BYTES = 16 * 1024 * 1024
MAX_PACKED_TOTAL_BYTES = 64 * 1024 * 1024
MAX_PACKED_FILES = 256
#: Limits on the packed ``edge_kit_preprocessing.json``: a few hundred bytes and 2 levels deep when written by
#: edge-kit, so anything past these bounds is malformed, and never reaches the JSON parser's recursion.
MAX_PREPROCESSING_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16
#: Zip compression methods read from packed files: stored and deflated (what metadata writers produce).
_READABLE_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}

_COLOR_SPACES = {0: "UNKNOWN", 1: "RGB", 2: "GRAYSCALE"}
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union tag
_IMAGE_PROPERTIES = 2  # ContentProperties union tag


# --------------------------------------------------------------------------------------------------------------
# A minimal, bounds-checked FlatBuffer table reader
# --------------------------------------------------------------------------------------------------------------
class _FlatBufferError(Exception):
    pass


class _Table:
    """One FlatBuffer table at ``pos`` of ``buf``. Field ``slot`` numbers are the vtable byte offsets used by the
    generated code (4 for field 0, 6 for field 1, ...)."""

    __slots__ = ("buf", "pos", "_vtable", "_vsize")

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        self._vtable = pos - _i32(buf, pos)
        self._vsize = _u16(buf, self._vtable)

    def _field(self, slot: int) -> int:
        if slot >= self._vsize:
            return 0
        return _u16(self.buf, self._vtable + slot)

    def _indirect(self, slot: int) -> Optional[int]:
        off = self._field(slot)
        if not off:
            return None
        p = self.pos + off
        return p + _u32(self.buf, p)

    def scalar(self, slot: int, fmt: str, default: Any = 0) -> Any:
        off = self._field(slot)
        if not off:
            return default
        return _unpack(fmt, self.buf, self.pos + off)

    def string(self, slot: int) -> Optional[str]:
        p = self._indirect(slot)
        if p is None:
            return None
        n = _u32(self.buf, p)
        _check(self.buf, p + 4, n)
        return self.buf[p + 4 : p + 4 + n].decode("utf-8", errors="replace")

    def table(self, slot: int) -> Optional["_Table"]:
        p = self._indirect(slot)
        return None if p is None else _Table(self.buf, p)

    def _vector(self, slot: int, elem_size: int) -> Tuple[int, int]:
        p = self._indirect(slot)
        if p is None:
            return 0, 0
        n = _u32(self.buf, p)
        _check(self.buf, p + 4, n * elem_size)
        return p + 4, n

    def tables(self, slot: int) -> List["_Table"]:
        start, n = self._vector(slot, 4)
        return [_Table(self.buf, start + 4 * i + _u32(self.buf, start + 4 * i)) for i in range(n)]

    def scalars(self, slot: int, fmt: str) -> List[Any]:
        size = struct.calcsize("<" + fmt)
        start, n = self._vector(slot, size)
        return list(struct.unpack_from(f"<{n}{fmt}", self.buf, start)) if n else []

    def bytes_vector(self, slot: int) -> Tuple[int, int]:
        """``(start, length)`` of a ``[ubyte]`` field (no copy)."""
        return self._vector(slot, 1)


def _check(buf: bytes, pos: int, size: int) -> None:
    if pos < 0 or size < 0 or pos + size > len(buf):
        raise _FlatBufferError(f"reference outside the file (offset {pos}, size {size}, file {len(buf)} bytes)")


def _unpack(fmt: str, buf: bytes, pos: int) -> Any:
    _check(buf, pos, struct.calcsize("<" + fmt))
    return struct.unpack_from("<" + fmt, buf, pos)[0]


def _u16(buf: bytes, pos: int) -> int:
    return _unpack("H", buf, pos)


def _u32(buf: bytes, pos: int) -> int:
    return _unpack("I", buf, pos)


def _i32(buf: bytes, pos: int) -> int:
    return _unpack("i", buf, pos)


def _root(buf: bytes) -> _Table:
    return _Table(buf, _u32(buf, 0))


# --------------------------------------------------------------------------------------------------------------
# Parsed metadata
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AssociatedFile:
    """A file named by the metadata (packed into the model's zip)."""

    name: str
    type: str = "UNKNOWN"  #: one of :data:`ASSOCIATED_FILE_TYPES` values
    description: str = ""
    locale: str = ""


@dataclass(frozen=True)
class TensorInfo:
    """Metadata of one input or output tensor."""

    name: str = ""
    description: str = ""
    mean: Optional[Tuple[float, ...]] = None  #: NormalizationOptions mean (inputs), ``None`` when absent
    std: Optional[Tuple[float, ...]] = None  #: NormalizationOptions std
    color_space: Optional[str] = None  #: "RGB" / "GRAYSCALE" / "UNKNOWN" for image inputs
    default_size: Optional[Tuple[int, int]] = None  #: ``(width, height)`` from ImageProperties
    stats_min: Optional[Tuple[float, ...]] = None  #: Stats.min (e.g. 0.0 for probabilities)
    stats_max: Optional[Tuple[float, ...]] = None  #: Stats.max (e.g. 1.0 for probabilities)
    associated_files: Tuple[AssociatedFile, ...] = ()

    def file_of_type(self, type_name: str) -> Optional[AssociatedFile]:
        """The first associated file of ``type_name`` (preferring one without a locale), or ``None``."""
        matches = [f for f in self.associated_files if f.type == type_name]
        matches.sort(key=lambda f: bool(f.locale))
        return matches[0] if matches else None


@dataclass(frozen=True)
class ModelMetadata:
    """The ``ModelMetadata`` table of a model (first subgraph only: classifiers have one)."""

    name: str = ""
    description: str = ""
    version: str = ""
    author: str = ""
    license: str = ""
    min_parser_version: str = ""
    inputs: Tuple[TensorInfo, ...] = ()
    outputs: Tuple[TensorInfo, ...] = ()
    associated_files: Tuple[AssociatedFile, ...] = ()


@dataclass
class ModelInfo:
    """Everything read from a ``.tflite`` besides the graph: metadata, packed files, labels, preprocessing."""

    source: str  #: model path or "<model bytes>" (for messages)
    metadata: Optional[ModelMetadata]  #: ``None`` when the model has no TFLITE_METADATA
    packed_files: Dict[str, bytes] = field(default_factory=dict)  #: name -> bytes of the appended zip members
    labels: Optional[List[str]] = None  #: output-0 labels from the packed TENSOR_AXIS_LABELS file
    labels_file: Optional[str] = None  #: the packed labels file name
    preprocessing: Optional[Dict[str, Any]] = None  #: parsed ``edge_kit_preprocessing.json`` if packed


def _files(table: _Table, slot: int) -> Tuple[AssociatedFile, ...]:
    out = []
    for f in table.tables(slot):
        out.append(
            AssociatedFile(
                name=f.string(4) or "",
                description=f.string(6) or "",
                type=ASSOCIATED_FILE_TYPES.get(f.scalar(8, "b", 0), "UNKNOWN"),
                locale=f.string(10) or "",
            )
        )
    return tuple(out)


def _tensor(t: _Table) -> TensorInfo:
    mean = std = None
    for unit in t.tables(12):  # process_units
        if unit.scalar(4, "B", 0) == _NORMALIZATION_OPTIONS:
            opts = unit.table(6)
            if opts is not None:
                mean = tuple(float(v) for v in opts.scalars(4, "f")) or None
                std = tuple(float(v) for v in opts.scalars(6, "f")) or None
    color_space = default_size = None
    content = t.table(10)
    if content is not None and content.scalar(4, "B", 0) == _IMAGE_PROPERTIES:
        props = content.table(6)
        if props is not None:
            color_space = _COLOR_SPACES.get(props.scalar(4, "b", 0), "UNKNOWN")
            size = props.table(6)
            if size is not None:
                default_size = (int(size.scalar(4, "I", 0)), int(size.scalar(6, "I", 0)))
    stats_min = stats_max = None
    stats = t.table(14)
    if stats is not None:
        stats_max = tuple(float(v) for v in stats.scalars(4, "f")) or None
        stats_min = tuple(float(v) for v in stats.scalars(6, "f")) or None
    return TensorInfo(
        name=t.string(4) or "",
        description=t.string(6) or "",
        mean=mean,
        std=std,
        color_space=color_space,
        default_size=default_size,
        stats_min=stats_min,
        stats_max=stats_max,
        associated_files=_files(t, 16),
    )


def parse_model_metadata(buf: bytes) -> ModelMetadata:
    """Parse a ModelMetadata FlatBuffer (the bytes of the ``TFLITE_METADATA`` buffer)."""
    m = _root(buf)
    subgraphs = m.tables(10)
    inputs: Tuple[TensorInfo, ...] = ()
    outputs: Tuple[TensorInfo, ...] = ()
    if subgraphs:
        inputs = tuple(_tensor(t) for t in subgraphs[0].tables(8))
        outputs = tuple(_tensor(t) for t in subgraphs[0].tables(10))
    return ModelMetadata(
        name=m.string(4) or "",
        description=m.string(6) or "",
        version=m.string(8) or "",
        author=m.string(12) or "",
        license=m.string(14) or "",
        min_parser_version=m.string(18) or "",
        inputs=inputs,
        outputs=outputs,
        associated_files=_files(m, 16),
    )


def find_metadata_buffer(model: bytes) -> Optional[bytes]:
    """The bytes of the ``TFLITE_METADATA`` buffer of a ``.tflite`` FlatBuffer, or ``None`` if it has none."""
    root = _root(model)
    buffers = root.tables(12)
    for entry in root.tables(16):  # Model.metadata
        if entry.string(4) != METADATA_NAME:
            continue
        index = entry.scalar(6, "I", 0)
        if index >= len(buffers):
            raise _FlatBufferError(f"metadata points at buffer {index} of {len(buffers)}")
        buffer = buffers[index]
        start, n = buffer.bytes_vector(4)
        if n:
            return model[start : start + n]
        offset, size = buffer.scalar(6, "Q", 0), buffer.scalar(8, "Q", 0)
        if offset > 1 and size:  # large models store buffers after the FlatBuffer
            _check(model, offset, size)
            return model[offset : offset + size]
        return None
    return None


def model_extent_problem(model: bytes) -> Optional[str]:
    """What of the model FlatBuffer lies outside ``model`` (one phrase), or ``None`` when every vector of the
    ``Model`` table, every subgraph's tensor and operator lists and every buffer's data are inside it.

    A truncated copy fails this check. Checked before the interpreter sees the bytes because some interpreter builds
    (tflite-runtime on 32-bit ARM) crash the process on such a file instead of raising an error.
    """
    try:
        root = _root(model)
        root.tables(6)  # operator_codes
        root.string(10)  # description
        root.scalars(14, "i")  # metadata_buffer
        root.tables(16)  # metadata
        root.tables(18)  # signature_defs
        for subgraph in root.tables(8):
            subgraph.tables(4)  # tensors
            subgraph.scalars(6, "i")  # inputs
            subgraph.scalars(8, "i")  # outputs
            subgraph.tables(10)  # operators
        for buffer in root.tables(12):
            buffer.bytes_vector(4)  # data inside the FlatBuffer
            offset, size = buffer.scalar(6, "Q", 0), buffer.scalar(8, "Q", 0)
            if offset > 1 and size:  # large models store buffers after the FlatBuffer
                _check(model, offset, size)
    except (_FlatBufferError, struct.error) as exc:
        return str(exc)
    return None


def has_zip_tail(model: bytes) -> bool:
    """Whether a zip (tflite-support's packed associated files) may end ``model``: its end-of-central-directory
    record lies in the last 65,557 bytes (22-byte record + the longest zip comment)."""
    return b"PK\x05\x06" in model[-66000:]


def read_packed_files(
    model: bytes,
    source: str = "<model bytes>",
    max_file_bytes: int = MAX_PACKED_FILE_BYTES,
    max_total_bytes: int = MAX_PACKED_TOTAL_BYTES,
) -> Dict[str, bytes]:
    """Members of the zip appended to ``model``, read in memory: ``{name: bytes}`` (empty when there is none).

    Only plain file names are returned (members with folders, ``..`` or absolute paths are ignored: they could
    never be metadata associated files). Sizes are bounded; an over-large, encrypted, duplicated or corrupt member,
    or one compressed otherwise than stored/deflated, raises :class:`ModelError` (the model is malformed).
    """
    if not has_zip_tail(model):
        return {}
    try:
        archive = zipfile.ZipFile(io.BytesIO(model))
    except (zipfile.BadZipFile, OSError, ValueError):
        return {}
    except (NotImplementedError, RuntimeError) as exc:  # a zip, but one no metadata writer makes
        raise ModelError(f"{source}: the files packed in the model cannot be read ({exc}); re-export the model.") from exc
    out: Dict[str, bytes] = {}
    total = 0
    with archive:
        members = archive.infolist()
        if len(members) > MAX_PACKED_FILES:
            raise ModelError(f"{source}: {len(members)} files packed into the model (limit {MAX_PACKED_FILES}).")
        for info in members:
            name = info.filename
            if not _is_plain_name(name) or info.is_dir():  # an empty name first: is_dir() fails on it
                continue
            _check_member(info, out, source)
            if name == PREPROCESSING_FILE and info.file_size > MAX_PREPROCESSING_BYTES:
                raise ModelError(f"{source}: packed {PREPROCESSING_FILE} is {info.file_size} bytes (limit "
                                 f"{MAX_PREPROCESSING_BYTES}); re-export the model.")
            if info.file_size > max_file_bytes or total + info.file_size > max_total_bytes:
                raise ModelError(
                    f"{source}: packed file {name!r} is {info.file_size} bytes, over the {max_file_bytes}-byte "
                    "limit for metadata files; re-export the model"
                    + (" with a smaller labels file." if name.lower().endswith(".txt") else ".")
                )
            try:
                with archive.open(info) as member:
                    data = member.read(max_file_bytes + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError,
                    zlib.error) as exc:
                raise ModelError(f"{source}: packed file {name!r} is corrupt ({exc}); re-export the model.") from exc
            if len(data) > max_file_bytes:
                raise ModelError(f"{source}: packed file {name!r} is larger than its header says; re-export it.")
            total += len(data)
            out[name] = data
    return out


def _check_member(info: zipfile.ZipInfo, seen: Dict[str, bytes], source: str) -> None:
    """Refuse a packed file that a metadata writer never produces: encrypted, compressed with a method other than
    stored/deflated, or a second member with the same name (which one would win is up to the reader)."""
    name = info.filename
    if name in seen:
        raise ModelError(
            f"{source}: the model packs two files named {name!r} (which one is meant is ambiguous); the model is "
            "malformed: re-export it."
        )
    if info.flag_bits & 0x1:
        raise ModelError(f"{source}: packed file {name!r} is encrypted, which metadata files never are; re-export "
                         "the model.")
    if info.compress_type not in _READABLE_COMPRESSION:
        raise ModelError(
            f"{source}: packed file {name!r} uses zip compression method {info.compress_type}; only stored or "
            "deflated files are read: re-export the model."
        )


def _is_plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..") and ":" not in name


def parse_labels(text: str) -> List[str]:
    """Labels from a labels file: one per line, surrounding whitespace stripped; trailing empty lines ignored.

    Handles a UTF-8 byte-order mark and Windows line endings.
    """
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def labels_from_bytes(data: bytes, where: str, packed: bool = True) -> List[str]:
    """Labels from the bytes of a labels file (:func:`parse_labels`), refusing what makes them ambiguous or wrong:
    bytes that are not UTF-8 (they would become replacement characters) and an empty line among the labels (an
    output with no name). ``where`` names the file in the message (``model.tflite: packed labels.txt``);
    ``packed``: the labels are inside a model (the fix is to re-export it). Raises :class:`ModelError`."""
    fix = "re-export the model" if packed else "fix the file"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ModelError(f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save the labels "
                         f"as UTF-8 and {fix}.") from None
    labels = parse_labels(text)
    empty = [i + 1 for i, label in enumerate(labels) if not label]
    if empty:
        raise ModelError(f"{where}: line {empty[0]} is empty, so output {empty[0] - 1} has no label; put one label on "
                         f"every line, in output order, and {fix}.")
    return labels


def repeated_labels(labels: List[str]) -> Dict[str, List[int]]:
    """``{label: [output indices]}`` of every label naming more than one output (the ImageNet label files name
    "crane" twice: the bird and the machine). Results then tell the outputs apart only by their index."""
    seen: Dict[str, List[int]] = {}
    for index, label in enumerate(labels):
        seen.setdefault(label, []).append(index)
    return {label: indices for label, indices in seen.items() if len(indices) > 1}


def read_model_info(model: Union[str, "os.PathLike[str]", bytes], source: Optional[str] = None) -> ModelInfo:
    """Read metadata, packed files, labels and edge-kit preprocessing parameters from a ``.tflite``.

    ``model``: path or bytes. A model without metadata gives ``ModelInfo(metadata=None)`` (not an error); a
    malformed metadata block or packed file raises :class:`ModelError` naming the file.
    """
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        source = source or "<model bytes>"
    else:
        source = source or str(model)
        try:
            data = Path(model).read_bytes()
        except OSError as exc:
            raise ModelError(f"{source}: cannot read the model file ({exc.strerror or exc}).") from exc
    try:
        meta_bytes = find_metadata_buffer(data)
    except (_FlatBufferError, struct.error) as exc:
        raise ModelError(f"{source}: corrupt or truncated TFLite model ({exc}); re-copy or re-export it.") from exc
    metadata = None
    if meta_bytes is not None:
        try:
            metadata = parse_model_metadata(meta_bytes)
        except (_FlatBufferError, struct.error) as exc:
            raise ModelError(f"{source}: corrupt TFLite metadata ({exc}); re-run the metadata writer.") from exc
    info = ModelInfo(source=source, metadata=metadata)
    if metadata is None:
        return info
    info.packed_files = read_packed_files(data, source)
    if metadata.outputs:
        labels_file = metadata.outputs[0].file_of_type("TENSOR_AXIS_LABELS")
        if labels_file is not None:
            if labels_file.name not in info.packed_files:
                raise ModelError(
                    f"{source}: metadata names the labels file {labels_file.name!r} but it is not packed in the "
                    "model; re-run the metadata writer, or pass labels explicitly (--labels)."
                )
            info.labels_file = labels_file.name
            info.labels = labels_from_bytes(info.packed_files[labels_file.name],
                                            f"{source}: packed {labels_file.name}")
    if PREPROCESSING_FILE in info.packed_files:
        info.preprocessing = parse_preprocessing_json(info.packed_files[PREPROCESSING_FILE], source)
    return info


def parse_preprocessing_json(data: bytes, source: str = "<model bytes>") -> Dict[str, Any]:
    """The JSON object of a packed ``edge_kit_preprocessing.json``, size and nesting bounded before parsing
    (:data:`MAX_PREPROCESSING_BYTES`, :data:`MAX_JSON_DEPTH`); ``NaN``/``Infinity`` refused.

    Raises :class:`ModelError` naming the model for anything else than a small, valid JSON object.
    """
    where = f"{source}: packed {PREPROCESSING_FILE}"
    if len(data) > MAX_PREPROCESSING_BYTES:
        raise ModelError(f"{where} is {len(data)} bytes (limit {MAX_PREPROCESSING_BYTES}); re-export the model.")
    try:
        text = data.decode("utf-8")
        depth = json_depth(text)
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested {depth} levels deep, limit {MAX_JSON_DEPTH}")
        value = json.loads(text, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelError(f"{where} is not valid JSON ({exc}); re-export the model.") from exc
    if not isinstance(value, dict):
        raise ModelError(f"{where} is not a JSON object; re-export the model.")
    return value


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON ``text`` (brackets inside strings not counted); linear time, no
    recursion, so it is safe on hostile input."""
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")
