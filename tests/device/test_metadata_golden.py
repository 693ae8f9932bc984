"""device.metadata reads edge-kit-written metadata exactly as tflite-support 0.4.4 (the format's reference) does.

The golden files in tests/golden/metadata/ are tiny models of every variant (float32, float16, dynamic, int8 with
uint8 and with int8 I/O) whose metadata edge-kit's writer wrote, each with the JSON tflite-support's
MetadataDisplayer printed for it (tests/golden/make_metadata_golden.py). No TensorFlow, no assets needed.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from device.metadata import parse_labels, read_model_info
from device.preprocess import PreprocessConfig
from tests.reference import displayer_view

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "metadata"
VARIANTS = ["float32", "float16", "dynamic", "int8", "int8_int8io"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_device_reader_sees_what_tflite_support_sees(variant):
    golden = json.loads((GOLDEN / f"tiny_{variant}.displayer.json").read_text(encoding="utf-8"))
    info = read_model_info(GOLDEN / f"tiny_{variant}.tflite")
    ours = displayer_view(info.metadata)
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
