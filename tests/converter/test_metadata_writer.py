"""converter.metadata_writer / converter.metadata: standard TFLite metadata written without tflite-support.

Fast: works on the committed golden models (tests/golden/metadata, written by this writer and checked by
tflite-support 0.4.4 when they were made); needs TensorFlow only for its model schema.
"""
from __future__ import annotations

import json

import pytest

from converter import metadata_writer as mw
from converter.errors import ConvertError
from converter.metadata import ModelCard, add_classifier_metadata, add_metadata, verify_metadata
from converter.tflite_metadata_fb import metadata_schema_py_generated as md
from device.metadata import find_metadata_buffer, read_model_info

from tests.converter.tiny_models import CONFIG, LABELS, golden_card, golden_model


@pytest.mark.parametrize("variant", ["float32", "int8", "int8_int8io"])
def test_writing_the_same_metadata_again_gives_the_golden_bytes(variant):
    """Old metadata and packed files are replaced as a whole; the zip is dated 1980, so the bytes are stable."""
    golden = golden_model(variant)
    assert add_metadata(golden, LABELS, CONFIG, golden_card(variant)) == golden
    verify_metadata(golden, LABELS, CONFIG, "golden.tflite")  # no interpreter needed


def test_foreign_classifier_with_its_own_normalisation():
    """Any classifier: a float input that expects (pixel - 127.5) / 127.5, no edge-kit preprocessing file."""
    card = ModelCard(name="foreign", description="someone else's model", version="2.1", author="A. N. Other",
                     license="MIT")
    data = add_classifier_metadata(golden_model("float32"), ["a", "b", "c"], card, [127.5], [127.5], "RGB image")
    info = read_model_info(data)
    meta = info.metadata
    assert (meta.name, meta.version, meta.author, meta.license) == ("foreign", "2.1", "A. N. Other", "MIT")
    assert meta.inputs[0].mean == (127.5,) and meta.inputs[0].std == (127.5,) and meta.inputs[0].color_space == "RGB"
    assert meta.inputs[0].stats_min == (-1.0,) and meta.inputs[0].stats_max == (1.0,)
    assert meta.outputs[0].stats_min == (0.0,) and meta.outputs[0].stats_max == (1.0,)
    assert info.labels == ["a", "b", "c"] and list(info.packed_files) == ["labels.txt"]
    assert info.preprocessing is None and meta.associated_files == ()


def test_per_channel_normalisation_and_a_uint8_input():
    data = add_classifier_metadata(golden_model("int8"), LABELS, golden_card("int8"), [123.7, 116.3, 103.5], [58.4, 57.1, 57.4],
                                   "RGB image")
    tensor = read_model_info(data).metadata.inputs[0]
    assert tensor.mean == pytest.approx((123.7, 116.3, 103.5)) and tensor.std == pytest.approx((58.4, 57.1, 57.4))
    assert tensor.stats_min == (0.0,) and tensor.stats_max == (255.0,)  # a uint8 tensor holds 0-255 whatever the mean


def test_bad_requests_are_refused_with_the_reason():
    with pytest.raises(ConvertError, match="2 labels for an output of 3 scores"):
        add_metadata(golden_model("float32"), LABELS[:2], CONFIG, golden_card("float32"))
    with pytest.raises(ValueError, match="same, non-zero length"):
        add_classifier_metadata(golden_model("float32"), LABELS, golden_card("x"), [0, 0], [1], "x")
    meta = mw.model_metadata(name="x")
    image = mw.image_input_metadata("image", "x", 0, [0.0], [1.0])
    out = mw.classification_output_metadata("p", "x", 0, [mw.label_file("labels.txt")])
    with pytest.raises(ConvertError, match=r"not given: \['labels.txt'\]"):
        mw.populate(golden_model("float32"), meta, [image], [out], [])
    with pytest.raises(ConvertError, match="1 input.* and 1 output.*given for 2 and 1"):
        mw.populate(golden_model("float32"), meta, [image, image], [out], [("labels.txt", b"a\n")])


def test_min_parser_version_follows_the_schema_history():
    def version(**subgraph_fields) -> str:
        meta = mw.model_metadata(name="x")
        sub = md.SubGraphMetadataT()
        for k, v in subgraph_fields.items():
            setattr(sub, k, v)
        meta.subgraphMetadata = [sub]
        return mw.min_parser_version(meta)

    assert version() == "1.0.0"
    assert version(associatedFiles=[mw.associated_file("v.txt", file_type=md.AssociatedFileType.VOCABULARY)]) == "1.0.1"
    assert version(inputProcessUnits=[]) == "1.1.0"
    assert version(inputTensorGroups=[]) == "1.2.0"
    assert version(associatedFiles=[mw.associated_file("s", file_type=md.AssociatedFileType.SCANN_INDEX_FILE)]) \
        == "1.4.0"
    versioned = mw.associated_file("l.txt")
    versioned.version = "2"
    assert version(associatedFiles=[versioned]) == "1.4.1"
    assert version(customMetadata=[]) == "1.5.0"


def test_generated_bindings_read_the_metadata_with_the_installed_flatbuffers():
    meta = md.ModelMetadata.GetRootAs(find_metadata_buffer(golden_model("int8_int8io")), 0)
    assert meta.Name() == b"tiny_int8_int8io" and meta.MinParserVersion() == b"1.0.0"
    out = md.ModelMetadataT.InitFromObj(meta).subgraphMetadata[0].outputTensorMetadata[0]
    assert out.associatedFiles[0].type == md.AssociatedFileType.TENSOR_AXIS_LABELS
    assert json.loads(read_model_info(golden_model("int8")).packed_files["edge_kit_preprocessing.json"]) == CONFIG.to_dict()


def test_a_reader_takes_the_default_language_labels_and_drops_a_byte_order_mark():
    """A model packing a localized labels file before the default one, the default one saved with a BOM and CRLF
    (as Windows editors write it): edge-kit's reader gives the default labels as written."""
    meta = mw.model_metadata(name="x")
    image = mw.image_input_metadata("image", "x", 0, [0.0], [1.0])  # 0: float32 (TFLite TensorType)
    out = mw.classification_output_metadata("p", "x", 0,
                                            [mw.label_file("labels_fr.txt", locale="fr"), mw.label_file("labels.txt")])
    french = "marguerite\npissenlit\nrose café ☕\n".encode("utf-8")
    default = b"\xef\xbb\xbf" + "\r\n".join(LABELS).encode("utf-8") + b"\r\n"
    data = mw.populate(golden_model("float32"), meta, [image], [out],
                       [("labels_fr.txt", french), ("labels.txt", default)])
    info = read_model_info(data)
    assert [f.locale for f in info.metadata.outputs[0].associated_files] == ["fr", ""]  # the order as written
    assert info.labels_file == "labels.txt" and info.labels == LABELS
