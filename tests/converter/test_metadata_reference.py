"""edge-kit's metadata writer against tflite-support 0.4.4, the reference of the TFLite metadata format.

tflite-support runs in its own venv (.venv-reference, made by scripts/reference_venv.sh: CPython 3.11 x86-64,
numpy 1, protobuf 3), called in a subprocess. For every variant edge-kit writes (float32, float16, dynamic-range,
int8 with uint8 I/O, int8 with int8 I/O), built here as tiny models with edge-kit's converter settings:

* tflite-support's own image-classifier writer, given the same model and texts, writes the very same bytes;
* tflite-support's MetadataDisplayer reads back what edge-kit meant to write, and what device.metadata reads;
* tflite-support computes the same min_parser_version, also for metadata using newer schema features;
* the committed golden files (tests/golden/metadata) still display as their recorded JSON.
"""
from __future__ import annotations


import json
from pathlib import Path

import pytest

from tests.reference import SKIP_REASON, display, displayer_view, min_parser_versions, reference_python

pytestmark = [pytest.mark.reference, pytest.mark.slow,
              # In CI (CI=true) this skip is a failure with its reason (tests/ci.py): the reference venv must be there.
              pytest.mark.skipif(reference_python() is None, reason=SKIP_REASON)]

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "metadata"


@pytest.fixture(scope="module")
def raw_models():
    from tests.converter.tiny_models import raw_variants

    return raw_variants()


@pytest.fixture(scope="module")
def written(raw_models):
    from converter.metadata import ModelCard, add_metadata
    from tests.converter.tiny_models import CONFIG, LABELS

    return {name: add_metadata(raw, LABELS, CONFIG, ModelCard(name=f"tiny {name}", description=f"{name} model"))
            for name, raw in raw_models.items()}


def _expected_metadata(variant: str) -> dict:
    """The metadata JSON edge-kit means to write for a tiny model of ``variant``, spelled out."""
    from converter.metadata import PREPROCESSING_DESCRIPTION

    uint8_io, int8_io = variant == "int8", variant == "int8_int8io"
    in_stats = {} if int8_io else {"max": [255.0], "min": [0.0]}
    out_stats = {} if int8_io else {"max": [255.0 if uint8_io else 1.0], "min": [0.0]}
    return {
        "name": f"tiny {variant}", "description": f"{variant} model", "version": "1",
        "subgraph_metadata": [{
            "input_tensor_metadata": [{
                "name": "image",
                "description": "RGB photo, 24x32, raw pixel values 0-255 (center crop; the model normalises "
                               "internally).",
                "content": {"content_properties_type": "ImageProperties",
                            "content_properties": {"color_space": "RGB"}},
                "process_units": [{"options_type": "NormalizationOptions",
                                   "options": {"mean": [0.0], "std": [1.0]}}],
                "stats": in_stats,
            }],
            "output_tensor_metadata": [{
                "name": "probability",
                "description": "Probabilities (softmax) of the 3 labels.",
                "content": {"content_properties_type": "FeatureProperties", "content_properties": {}},
                "stats": out_stats,
                "associated_files": [{"name": "labels.txt",
                                      "description": "Labels for categories that the model can recognize.",
                                      "type": "TENSOR_AXIS_LABELS"}],
            }],
        }],
        "author": "edge-kit", "license": "Apache-2.0",
        "associated_files": [{"name": "edge_kit_preprocessing.json", "description": PREPROCESSING_DESCRIPTION,
                              "type": "DESCRIPTIONS"}],
        "min_parser_version": "1.0.0",
    }


def test_tflite_supports_own_writer_gives_the_same_bytes(raw_models, written):
    from converter.compact import append_packed_files, split_packed_files
    from converter.metadata import ModelCard
    from tests.converter.tiny_models import CONFIG, LABELS
    from tests.reference import write_edge_kit_metadata_with_tflite_support

    for name, raw in raw_models.items():
        theirs = write_edge_kit_metadata_with_tflite_support(
            raw, LABELS, CONFIG, ModelCard(name=f"tiny {name}", description=f"{name} model"))
        flatbuffer, packed = split_packed_files(theirs)
        assert append_packed_files(flatbuffer, packed) == written[name], name  # zip dates set to 1980 aside


def test_displayer_reads_what_was_meant_and_what_the_device_reads(written):
    from device.metadata import read_model_info
    from tests.converter.tiny_models import CONFIG, LABELS

    shown = display(written)
    assert set(shown) == {"float32", "float16", "dynamic", "int8", "int8_int8io"}
    for name, data in written.items():
        assert shown[name]["metadata"] == _expected_metadata(name), name
        assert shown[name]["packed_files"] == ["labels.txt", "edge_kit_preprocessing.json"]
        assert shown[name]["files"]["labels.txt"].decode("utf-8").splitlines() == LABELS
        assert json.loads(shown[name]["files"]["edge_kit_preprocessing.json"]) == CONFIG.to_dict()
        info = read_model_info(data)
        assert displayer_view(info.metadata) == shown[name]["metadata"], name
        assert info.packed_files == shown[name]["files"]
        assert info.labels == LABELS and info.preprocessing == CONFIG.to_dict()


def test_min_parser_version_agrees_with_tflite_support():
    from converter import metadata_writer as mw
    from converter.tflite_metadata_fb import metadata_schema_py_generated as md

    def buffer(**subgraph_fields) -> bytes:
        meta = mw.model_metadata(name="x")
        sub = md.SubGraphMetadataT()
        for k, v in subgraph_fields.items():
            setattr(sub, k, v)
        meta.subgraphMetadata = [sub]
        meta.minParserVersion = mw.min_parser_version(meta)
        import flatbuffers

        builder = flatbuffers.Builder(0)
        builder.Finish(meta.Pack(builder), mw.METADATA_FILE_IDENTIFIER)
        return bytes(builder.Output())

    versioned = mw.associated_file("l.txt")
    versioned.version = "2"
    tokenizer = md.ProcessUnitT()
    tokenizer.optionsType, tokenizer.options = md.ProcessUnitOptions.RegexTokenizerOptions, md.RegexTokenizerOptionsT()
    audio = md.TensorMetadataT()
    audio.content = md.ContentT()
    audio.content.contentPropertiesType = md.ContentProperties.AudioProperties
    audio.content.contentProperties = md.AudioPropertiesT()
    cases = [
        buffer(),
        buffer(associatedFiles=[mw.associated_file("v.txt", file_type=md.AssociatedFileType.VOCABULARY)]),
        buffer(inputProcessUnits=[]),
        buffer(inputTensorGroups=[]),
        buffer(inputProcessUnits=[tokenizer]),
        buffer(inputTensorMetadata=[audio]),
        buffer(associatedFiles=[mw.associated_file("s", file_type=md.AssociatedFileType.SCANN_INDEX_FILE)]),
        buffer(associatedFiles=[versioned]),
        buffer(customMetadata=[]),
    ]
    ours = [md.ModelMetadata.GetRootAs(b, 0).MinParserVersion().decode() for b in cases]
    assert ours == ["1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.2.1", "1.3.0", "1.4.0", "1.4.1", "1.5.0"]
    assert min_parser_versions(cases) == ours


def test_committed_golden_files_display_as_recorded():
    names = sorted(p.stem for p in GOLDEN.glob("*.tflite"))
    assert len(names) == 5
    shown = display({n: GOLDEN / f"{n}.tflite" for n in names})
    for name in names:
        golden = json.loads((GOLDEN / f"{name}.displayer.json").read_text(encoding="utf-8"))
        assert shown[name]["metadata"] == golden["metadata"]
        assert shown[name]["packed_files"] == golden["packed_files"]
        assert {k: v.decode("utf-8") for k, v in shown[name]["files"].items()} == golden["files"]
