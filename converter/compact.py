"""Lossless size reduction of a ``.tflite`` file: identical quantization vectors are stored once.

A per-channel int8 model carries, for every convolution's weights and bias, a vector of scales (float32) and one
of zero points (int64, 8 bytes per channel, all zero for symmetric weights). The TFLite converter writes each
vector separately, so for MobileNetV2 alpha 0.35 the zero points alone are about 113 KB of a 620 KB int8 file:
more than a quarter of its int8 weights. FlatBuffers lets any number of tables point at one vector, so here each
distinct quantization vector (same type, same values; in practice one zero vector per channel count) is written
once and shared. Every reader (TFLite, LiteRT on Android, tflite-support, edge-kit's ``device.metadata``) sees
exactly the same values; nothing else in the model changes.

The model is re-serialised with the FlatBuffers object API and the schema of the TensorFlow that converted it
(:mod:`converter.tflite_schema`: no field that converter writes is dropped), the way the metadata writer
re-serialises it; the associated files packed after the FlatBuffer (a zip: labels, preprocessing parameters) are
appended again the same way the populator appends them (dated 1980-01-01, so conversions are reproducible).
"""
from __future__ import annotations

import io
import zipfile
from typing import Any, Dict, List, Tuple

import numpy as np

from device.metadata import has_zip_tail

def share_quantization_vectors(model: bytes) -> bytes:
    """Return ``model`` with each distinct quantization vector (scale, zero point, min, max) stored once."""
    from converter.tflite_schema import read_model, schema, write_model  # lazy: imports TensorFlow

    flatbuffer, packed = split_packed_files(model)
    model_t = read_model(flatbuffer)
    shared = _SharedVectors()
    for subgraph in model_t.subgraphs or []:
        for tensor in subgraph.tensors or []:
            if tensor.quantization is not None:
                tensor.quantization = _SharedQuantization(tensor.quantization, shared, schema())
    return append_packed_files(write_model(model_t), packed)


def split_packed_files(model: bytes) -> Tuple[bytes, List[Tuple[zipfile.ZipInfo, bytes]]]:
    """``(flatbuffer, [(zip_info, bytes), ...])``: the model without the zip of associated files appended to it,
    and that zip's members in order (empty when the model has none)."""
    if not has_zip_tail(model):
        return model, []
    try:
        archive = zipfile.ZipFile(io.BytesIO(model))
    except zipfile.BadZipFile:
        return model, []
    with archive:
        members = archive.infolist()
        if not members:
            return model, []
        start = min(info.header_offset for info in members)  # absolute: zipfile corrects for the data before it
        return model[:start], [(info, archive.read(info)) for info in members]


def append_packed_files(flatbuffer: bytes, packed: List[Tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    """``flatbuffer`` followed by a zip of ``packed``, written as tflite-support's metadata populator writes it,
    except that every member is dated 1980-01-01 (the zip epoch) instead of "now": the same model and labels give
    the same bytes, whenever they are converted."""
    if not packed:
        return flatbuffer
    out = io.BytesIO()
    out.write(flatbuffer)
    with zipfile.ZipFile(out, "a") as archive:
        for original, data in packed:
            info = zipfile.ZipInfo(original.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = original.compress_type, original.external_attr
            archive.writestr(info, data)
    return out.getvalue()


class _SharedVectors:
    """Offsets of vectors already written to one builder, by element type and content."""

    def __init__(self) -> None:
        self._offsets: Dict[Tuple[str, bytes], int] = {}

    def create(self, builder: Any, values: Any, dtype: Any) -> int:
        array = np.ascontiguousarray(np.asarray(values, dtype=dtype))
        key = (array.dtype.str, array.tobytes())
        if key not in self._offsets:
            self._offsets[key] = builder.CreateNumpyVector(array)
        return self._offsets[key]


_QUANTIZATION_FIELDS = {"min", "max", "scale", "zeroPoint", "detailsType", "details", "quantizedDimension"}


class _SharedQuantization:
    """Stands in for a ``QuantizationParametersT`` at packing time: same fields, vectors from :class:`_SharedVectors`."""

    def __init__(self, params: Any, shared: _SharedVectors, schema: Any) -> None:
        self.params, self.shared, self.schema = params, shared, schema

    def Pack(self, builder: Any) -> int:  # noqa: N802 (the FlatBuffers object API's name)
        p, s = self.params, self.schema
        unknown = {k: v for k, v in vars(p).items() if k not in _QUANTIZATION_FIELDS and v not in (None, 0, [])}
        if unknown:  # a newer schema field this class does not write: refuse rather than drop it
            raise ValueError(f"quantization parameters with fields edge-kit does not know: {sorted(unknown)}")
        vectors = {}
        for field, dtype in (("min", np.float32), ("max", np.float32), ("scale", np.float32), ("zeroPoint", np.int64)):
            values = getattr(p, field)
            if values is not None:
                vectors[field] = self.shared.create(builder, values, dtype)
        details = p.details.Pack(builder) if p.details is not None else None
        s.QuantizationParametersStart(builder)
        if "min" in vectors:
            s.QuantizationParametersAddMin(builder, vectors["min"])
        if "max" in vectors:
            s.QuantizationParametersAddMax(builder, vectors["max"])
        if "scale" in vectors:
            s.QuantizationParametersAddScale(builder, vectors["scale"])
        if "zeroPoint" in vectors:
            s.QuantizationParametersAddZeroPoint(builder, vectors["zeroPoint"])
        s.QuantizationParametersAddDetailsType(builder, p.detailsType)
        if details is not None:
            s.QuantizationParametersAddDetails(builder, details)
        s.QuantizationParametersAddQuantizedDimension(builder, p.quantizedDimension)
        return s.QuantizationParametersEnd(builder)


def size_breakdown(model: bytes) -> Dict[str, int]:
    """Where a ``.tflite`` file's bytes go: ``weights`` (constant tensors, by type: ``weights_int8``,
    ``weights_int32``, ``weights_float32``, ...), ``quantization`` (scale/zero-point/min/max vectors, each distinct
    vector counted once, as stored after :func:`share_quantization_vectors`), ``tensor_names``, ``metadata``
    (metadata buffers), ``packed_files`` (the zip of labels etc.), ``structure`` (everything else: graph, shapes,
    operator options, alignment) and ``total``."""
    from converter.tflite_schema import schema  # lazy: imports TensorFlow

    flatbuffer, _ = split_packed_files(model)
    root = schema().Model.GetRootAsModel(flatbuffer, 0)
    type_names = {v: k.lower() for k, v in vars(schema().TensorType).items() if not k.startswith("_")}
    out: Dict[str, int] = {}
    used_buffers = set()
    vectors = set()
    names = 0
    for g in range(root.SubgraphsLength()):
        graph = root.Subgraphs(g)
        for i in range(graph.TensorsLength()):
            tensor = graph.Tensors(i)
            names += len(tensor.Name() or b"")
            if tensor.Buffer() not in used_buffers:
                used_buffers.add(tensor.Buffer())
                size = root.Buffers(tensor.Buffer()).DataLength()
                if size:
                    key = f"weights_{type_names.get(tensor.Type(), tensor.Type())}"
                    out[key] = out.get(key, 0) + size
            q = tensor.Quantization()
            if q is not None:
                for length, as_numpy in ((q.ScaleLength(), q.ScaleAsNumpy), (q.ZeroPointLength(), q.ZeroPointAsNumpy),
                                         (q.MinLength(), q.MinAsNumpy), (q.MaxLength(), q.MaxAsNumpy)):
                    if length:
                        array = as_numpy()
                        vectors.add((array.dtype.str, array.tobytes()))
    metadata = sum(root.Buffers(root.Metadata(i).Buffer()).DataLength() for i in range(root.MetadataLength()))
    out["weights"] = sum(v for k, v in out.items() if k.startswith("weights_"))
    out["quantization"] = sum(len(data) + 4 for _, data in vectors)
    out["tensor_names"] = names
    out["metadata"] = metadata
    out["packed_files"] = len(model) - len(flatbuffer)
    out["structure"] = len(flatbuffer) - out["weights"] - out["quantization"] - names - metadata
    out["total"] = len(model)
    return out
