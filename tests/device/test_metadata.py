"""Reading TFLite metadata and packed files in plain Python."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from device.errors import ModelError
from device.metadata import AssociatedFile, TensorInfo, parse_labels, read_model_info, read_packed_files


def test_reads_model_metadata_fields(float_model):
    info = read_model_info(float_model)
    meta = info.metadata
    assert meta.name == "MobileNetV1 image classifier"
    assert meta.version == "v1" and meta.author == "TensorFlow" and "Apache" in meta.license
    assert meta.inputs[0].mean == (127.5,) and meta.inputs[0].std == (127.5,)
    assert meta.inputs[0].color_space == "RGB"
    assert meta.outputs[0].file_of_type("TENSOR_AXIS_LABELS").name == "labels.txt"
    assert info.labels_file == "labels.txt" and len(info.labels) == 1001 and info.labels[:2] == ["background", "tench"]


def test_reads_packed_labels_of_coral_model(coral_quant):
    info = read_model_info(coral_quant)
    assert info.labels_file == "imagenet_labels.txt"
    assert info.labels[1] == "tench, Tinca tinca"
    assert info.preprocessing is None


def test_model_without_metadata(logits_quant):
    info = read_model_info(logits_quant)
    assert info.metadata is None and info.labels is None


def strip_zip(model: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(model)) as z:
        start = min(i.header_offset for i in z.infolist())
    return model[:start]


def repack(model: bytes, files: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return strip_zip(model) + buf.getvalue()


def test_edge_kit_preprocessing_file_is_followed(float_model):
    """A model packing edge_kit_preprocessing.json: the classifier uses its crop mode."""
    from device import Classifier

    data = float_model.read_bytes()
    labels = read_model_info(data).packed_files["labels.txt"]
    cfg = {"contract": "edge-kit-preprocess", "version": 1, "height": 224, "width": 224, "crop": "stretch"}
    model = repack(data, {"labels.txt": labels, "edge_kit_preprocessing.json": json.dumps(cfg)})
    info = read_model_info(model)
    assert info.preprocessing["crop"] == "stretch"
    assert Classifier.from_file(model).config.crop == "stretch"
    assert Classifier.from_file(float_model).config.crop == "center"  # fallback without the file


def test_wrong_size_in_preprocessing_file_is_refused(float_model):
    from device import Classifier

    data = float_model.read_bytes()
    labels = read_model_info(data).packed_files["labels.txt"]
    cfg = {"contract": "edge-kit-preprocess", "version": 1, "height": 160, "width": 160, "crop": "center"}
    with pytest.raises(ModelError, match="160x160"):
        Classifier.from_file(repack(data, {"labels.txt": labels, "edge_kit_preprocessing.json": json.dumps(cfg)}))


def test_packed_files_ignore_path_traversal_and_bound_sizes(float_model):
    data = float_model.read_bytes()
    model = repack(data, {"labels.txt": "a\nb\n", "../evil.txt": "x", "dir/inner.txt": "y"})
    assert set(read_packed_files(model)) == {"labels.txt"}
    with pytest.raises(ModelError, match="over the 10-byte limit"):
        read_packed_files(repack(data, {"labels.txt": "x" * 100}), max_file_bytes=10)


def test_labels_named_in_metadata_but_not_packed(float_model):
    model = repack(float_model.read_bytes(), {"other.txt": "x"})
    with pytest.raises(ModelError, match="labels.txt.*not packed"):
        read_model_info(model)


def test_a_labels_file_saved_with_a_byte_order_mark_reads_as_written(tmp_path):
    """Windows editors save UTF-8 with a BOM (EF BB BF) and CRLF: the first label is "background", not
    "\\ufeffbackground" (which would also hide the background class)."""
    from device.labels import is_background, read_labels_file

    path = tmp_path / "labels.txt"
    path.write_bytes(b"\xef\xbb\xbfbackground\r\ndaisy\r\ncaf\xc3\xa9 rose\r\n")
    labels = read_labels_file(path)
    assert labels == ["background", "daisy", "café rose"]
    assert is_background(labels[0])
    assert parse_labels("\ufeff0 daisy\n1 rose\n") == ["0 daisy", "1 rose"]


def test_the_packed_labels_file_without_a_locale_wins_over_a_localized_one():
    """An output may name a labels file per language (TFLite metadata ``locale``); the default one (no locale) holds
    the labels, whatever the order the metadata lists them in."""
    french = AssociatedFile("labels_fr.txt", "TENSOR_AXIS_LABELS", locale="fr")
    default = AssociatedFile("labels.txt", "TENSOR_AXIS_LABELS")
    other = AssociatedFile("scores.txt", "TENSOR_AXIS_SCORE_CALIBRATION")
    assert TensorInfo(associated_files=(french, other, default)).file_of_type("TENSOR_AXIS_LABELS") == default
    assert TensorInfo(associated_files=(default, french)).file_of_type("TENSOR_AXIS_LABELS") == default
    assert TensorInfo(associated_files=(french,)).file_of_type("TENSOR_AXIS_LABELS") == french  # the only one
    assert TensorInfo(associated_files=(other,)).file_of_type("TENSOR_AXIS_LABELS") is None
