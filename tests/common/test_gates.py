"""common.gates: the one accuracy-gate rule edge-convert and edge-kit apply."""
from __future__ import annotations

import pytest

from common.gates import baseline_name, drop_points, within_limit


def report(**top1):
    return {"keras_top1": 0.95, "variants": {name: {"top1": t} for name, t in top1.items()}}


def test_drop_is_measured_against_float32_else_the_keras_model():
    assert drop_points(report(float32=0.9, int8=0.88), "int8") == pytest.approx(2.0)
    assert baseline_name(report(float32=0.9, int8=0.88)) == "float32"
    assert drop_points(report(int8=0.9), "int8") == pytest.approx(5.0)
    assert baseline_name(report(int8=0.9)) == "Keras model"
    assert drop_points(report(float32=0.9), "int8") is None and drop_points(None, "int8") is None


@pytest.mark.parametrize("variant, drop, limit, passes", [
    ("int8", 1.0, 1.0, True),        # equal to the limit passes
    ("int8", 1.0000001, 1.0, False),
    ("dynamic", 5.0, None, True),    # no gate
    ("float32", 5.0, 1.0, True),     # the reference always passes
    ("int8", None, 1.0, True),       # unknown drop: nothing to refuse on
])
def test_within_limit(variant, drop, limit, passes):
    assert within_limit(variant, drop, limit) is passes
