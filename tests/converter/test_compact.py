"""converter/compact.py: shared quantization vectors make int8 files smaller and change nothing a reader sees."""
from __future__ import annotations

import numpy as np
import pytest

from tests.converter.tiny_models import model_outputs

pytestmark = pytest.mark.slow


def _plain_repack(model: bytes) -> bytes:
    """The same model serialised the ordinary way (one vector per tensor), as the metadata writer writes it."""
    from converter.compact import append_packed_files, split_packed_files
    from converter.tflite_schema import read_model, write_model

    flatbuffer, packed = split_packed_files(model)
    return append_packed_files(write_model(read_model(flatbuffer)), packed)


def _quantization(model: bytes):
    from converter.compact import split_packed_files
    from converter.tflite_schema import schema

    graph = schema().Model.GetRootAsModel(split_packed_files(model)[0], 0).Subgraphs(0)
    out = []
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        q = tensor.Quantization()
        out.append((tensor.Name(), None if q is None else (
            q.ScaleAsNumpy().tolist() if q.ScaleLength() else [],
            q.ZeroPointAsNumpy().tolist() if q.ZeroPointLength() else [], q.QuantizedDimension())))
    return out


def test_shared_vectors_shrink_int8_and_change_nothing_a_reader_sees(converted):
    from converter.compact import share_quantization_vectors, split_packed_files

    compact = converted.files["int8"].read_bytes()
    plain = _plain_repack(compact)
    assert share_quantization_vectors(plain) == compact  # what the converter wrote is the shared form
    # Per-channel zero points are 8 bytes a channel; sharing them saves most of that.
    zero_point_bytes = sum(8 * len(q[1]) for _, q in _quantization(plain) if q is not None)
    assert zero_point_bytes > 10_000 and len(plain) - len(compact) > 0.7 * zero_point_bytes
    assert _quantization(compact) == _quantization(plain)
    packed = [[(info.filename, data) for info, data in split_packed_files(m)[1]] for m in (compact, plain)]
    assert packed[0] == packed[1] and [name for name, _ in packed[0]] == ["labels.txt", "edge_kit_preprocessing.json"]
    for a, b in zip(model_outputs(compact, 3), model_outputs(plain, 3)):
        assert np.array_equal(a, b)


def test_device_runtime_reads_the_shared_form(converted, run_folder):
    from device import Classifier

    clf = Classifier.from_file(converted.files["int8"])
    assert clf.labels == (run_folder / "labels.txt").read_text().split()
    assert clf.config.height == 96 and clf.config.crop == "center"


def test_size_breakdown_accounts_for_every_byte(converted):
    from converter.compact import size_breakdown

    int8 = size_breakdown(converted.files["int8"].read_bytes())
    parts = ("weights", "quantization", "tensor_names", "metadata", "packed_files", "structure")
    assert sum(int8[k] for k in parts) == int8["total"] == converted.files["int8"].stat().st_size
    assert int8["structure"] > 0 and int8["packed_files"] > 0 and int8["weights_int8"] > int8["weights_int32"] > 0
    f32 = size_breakdown(converted.files["float32"].read_bytes())
    assert f32["quantization"] == 0 and f32["weights_float32"] > 3.5 * int8["weights_int8"]
