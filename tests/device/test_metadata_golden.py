"""device.metadata reads edge-kit-written metadata exactly as tflite-support 0.4.4 (the format's reference) does.

The golden files in tests/golden/metadata/ are tiny models of every variant (float32, float16, dynamic, int8 with
uint8 and with int8 I/O) whose metadata edge-kit's writer wrote, each with the JSON tflite-support's
MetadataDisplayer printed for it (tests/golden/make_metadata_golden.py). No TensorFlow, no assets needed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from device.metadata import AssociatedFile, TensorInfo, parse_labels, read_model_info
from device.preprocess import PreprocessConfig

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "metadata"
VARIANTS = ["float32", "float16", "dynamic", "int8", "int8_int8io"]


def _files(files: List[AssociatedFile]) -> List[Dict[str, Any]]:
    out = []
    for f in files:
        entry = {"name": f.name, "description": f.description, "type": f.type}
        if f.locale:
            entry["locale"] = f.locale
        out.append({k: v for k, v in entry.items() if v})
    return out


def _tensor(t: TensorInfo) -> Dict[str, Any]:
    """A tensor as device.metadata read it, in the shape of tflite-support's metadata JSON."""
    out: Dict[str, Any] = {"name": t.name, "description": t.description}
    if t.color_space is not None:
        out["content"] = {"content_properties_type": "ImageProperties",
                          "content_properties": {"color_space": t.color_space}}
    else:
        out["content"] = {"content_properties_type": "FeatureProperties", "content_properties": {}}
    if t.mean is not None:
        out["process_units"] = [{"options_type": "NormalizationOptions",
                                 "options": {"mean": list(t.mean), "std": list(t.std)}}]
    stats = {}
    if t.stats_max is not None:
        stats["max"] = list(t.stats_max)
    if t.stats_min is not None:
        stats["min"] = list(t.stats_min)
    out["stats"] = stats
    if t.associated_files:
        out["associated_files"] = _files(t.associated_files)
    return out


@pytest.mark.parametrize("variant", VARIANTS)
def test_device_reader_sees_what_tflite_support_sees(variant):
    golden = json.loads((GOLDEN / f"tiny_{variant}.displayer.json").read_text(encoding="utf-8"))
    info = read_model_info(GOLDEN / f"tiny_{variant}.tflite")
    meta = info.metadata
    ours = {
        "name": meta.name, "description": meta.description, "version": meta.version,
        "subgraph_metadata": [{"input_tensor_metadata": [_tensor(t) for t in meta.inputs],
                               "output_tensor_metadata": [_tensor(t) for t in meta.outputs]}],
        "author": meta.author, "license": meta.license, "associated_files": _files(meta.associated_files),
        "min_parser_version": meta.min_parser_version,
    }
    assert ours == golden["metadata"]
    assert list(info.packed_files) == golden["packed_files"] == ["labels.txt", "edge_kit_preprocessing.json"]
    assert {k: v.decode("utf-8") for k, v in info.packed_files.items()} == golden["files"]
    assert info.labels == parse_labels(golden["files"]["labels.txt"]) == ["daisy", "dandelion", "café ☕ rose"]
    assert info.preprocessing == json.loads(golden["files"]["edge_kit_preprocessing.json"])
    assert PreprocessConfig.from_dict(info.preprocessing) == PreprocessConfig(24, 32, "center")


def test_value_ranges_follow_the_tensor_types():
    """What tflite-support's image-classifier writer stores: 0-255 for uint8 tensors, the pixel range for a float
    input and 0-1 for float probabilities, nothing for int8 tensors."""
    ranges = {}
    for variant in VARIANTS:
        meta = read_model_info(GOLDEN / f"tiny_{variant}.tflite").metadata
        ranges[variant] = [(t.stats_min, t.stats_max) for t in (meta.inputs[0], meta.outputs[0])]
    assert ranges["float32"] == ranges["float16"] == ranges["dynamic"] == [((0.0,), (255.0,)), ((0.0,), (1.0,))]
    assert ranges["int8"] == [((0.0,), (255.0,)), ((0.0,), (255.0,))]
    assert ranges["int8_int8io"] == [(None, None), (None, None)]
