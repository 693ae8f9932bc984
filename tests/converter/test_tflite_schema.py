"""converter.tflite_schema: models are read and re-serialised with the installed TensorFlow's schema, losslessly.

Fast: works on the committed tiny golden models (tests/golden/metadata).
"""
from __future__ import annotations

import numpy as np
import pytest

from converter.compact import append_packed_files, share_quantization_vectors, split_packed_files
from converter.errors import ConvertError
from converter.metadata import add_metadata
from converter.tflite_schema import read_model, schema, write_model
from device.metadata import read_model_info

from tests.converter.tiny_models import CONFIG, LABELS, golden_card, golden_model, model_outputs


def _with_newer_fields(model: bytes) -> bytes:
    """``model`` with fields tflite-support's 2023 schema lacks, set on its first operator and subgraph."""
    s = schema()
    flatbuffer, packed = split_packed_files(model)
    model_t = read_model(flatbuffer)
    op = model_t.subgraphs[0].operators[0]
    op.builtinOptions2Type = s.BuiltinOptions2.StablehloConcatenateOptions
    op.builtinOptions2 = s.StablehloConcatenateOptionsT()
    op.builtinOptions2.dimension = 3
    op.debugMetadataIndex = 7
    model_t.subgraphs[0].debugMetadataIndex = 5
    return append_packed_files(write_model(model_t), packed)


def _assert_newer_fields(model: bytes) -> None:
    s = schema()
    root = s.Model.GetRootAsModel(model, 0)
    op = root.Subgraphs(0).Operators(0)
    assert op.BuiltinOptions2Type() == s.BuiltinOptions2.StablehloConcatenateOptions
    options = s.StablehloConcatenateOptions()
    options.Init(op.BuiltinOptions2().Bytes, op.BuiltinOptions2().Pos)
    assert options.Dimension() == 3 and op.DebugMetadataIndex() == 7
    assert root.Subgraphs(0).DebugMetadataIndex() == 5


def test_metadata_writing_and_compaction_keep_fields_newer_than_tflite_supports_schema():
    """Fields tflite-support's 2023 schema lacks (Operator.builtin_options_2, debug metadata indices) survive."""
    data = add_metadata(_with_newer_fields(golden_model("float32")), LABELS, CONFIG, golden_card("float32"))
    _assert_newer_fields(data)
    assert read_model_info(data).labels == LABELS
    compact = share_quantization_vectors(_with_newer_fields(golden_model("int8")))
    _assert_newer_fields(compact)
    assert read_model_info(compact).labels == LABELS


def test_compaction_is_lossless_for_int8_with_uint8_and_int8_io():
    """Sharing quantization vectors changes no output bit, keeps the packed files, and is idempotent."""
    for variant in ("int8", "int8_int8io"):
        plain = add_metadata(golden_model(variant), LABELS, CONFIG, golden_card(variant))  # the ordinary serialisation
        compact = share_quantization_vectors(plain)
        assert len(compact) < len(plain) and share_quantization_vectors(compact) == compact
        assert read_model_info(compact).packed_files == read_model_info(plain).packed_files
        outputs = [model_outputs(model) for model in (plain, compact)]
        for a, b in zip(*outputs):
            assert np.array_equal(a, b), variant


def test_a_model_with_buffers_outside_the_flatbuffer_is_refused():
    model_t = read_model(golden_model("float32"))
    model_t.buffers[1].offset, model_t.buffers[1].size = 4096, 16
    with pytest.raises(ConvertError, match="stores its weights after the FlatBuffer"):
        add_metadata(write_model(model_t), LABELS, CONFIG, golden_card("float32"))
