"""device.postprocess: the ranking rules (ties, threshold) and the ``auto`` score type, with hand-worked values."""
from __future__ import annotations

import numpy as np
import pytest

from device.postprocess import quantized_range_is_probability, to_scores, top_k

LABELS = ["background", "a", "b", "c", "d"]


def test_exact_ties_in_uint8_scores_go_to_the_lower_index():
    """A quantized model's output often ties exactly: the lower index ranks first, whatever order numpy finds."""
    raw = np.array([[10, 64, 200, 64, 64]], np.uint8)  # c, then a, b and d tied at 64/256
    scores = to_scores(raw, 1 / 256, 0)
    assert [label for label, _ in top_k(scores, LABELS, k=5)] == ["b", "a", "c", "d", "background"]
    assert [label for label, _ in top_k(scores, LABELS, k=2)] == ["b", "a"]  # the tie cut at k: index 1 wins
    assert top_k(scores, LABELS, k=3, skip_index=0) == [("b", 0.78125), ("a", 0.25), ("c", 0.25)]
    every_tie = to_scores(np.full((1, 5), 51, np.uint8), 1 / 256, 0)
    assert [label for label, _ in top_k(every_tie, LABELS, k=5)] == LABELS


def test_a_score_equal_to_the_threshold_is_kept():
    """``threshold`` drops scores *below* it: 0.25 (exact in float32) stays at threshold 0.25."""
    scores = np.array([0.125, 0.5, 0.25, 0.125, 0.0], np.float32)
    assert top_k(scores, LABELS, k=5, threshold=0.25) == [("a", 0.5), ("b", 0.25)]
    assert top_k(scores, LABELS, k=5, threshold=0.26) == [("a", 0.5)]
    assert top_k(scores, LABELS, k=5, threshold=0.5) == [("a", 0.5)]


@pytest.mark.parametrize("dtype,scale,zero_point,expected", [
    (np.uint8, 1 / 256, 0, True),       # TFLite's softmax output: 0 .. 255/256
    (np.int8, 1 / 256, -128, True),     # the same in int8
    (np.uint8, 1.01 / 255, 0, True),    # up to 1.01: the 1% slack
    (np.uint8, 1.02 / 255, 0, False),   # 1.02: beyond it
    (np.uint8, 1 / 200, 0, False),      # 0 .. 1.275: a range a probability never needs
    (np.uint8, 1 / 128, 128, False),    # -1 .. 0.99: negative values
])
def test_quantized_output_holds_probabilities_only_when_its_range_fits_0_to_1(dtype, scale, zero_point, expected):
    assert quantized_range_is_probability(dtype, scale, zero_point) is expected


def test_a_quantized_output_reaching_1_275_is_read_as_logits():
    """uint8 with scale 1/200 can represent up to 1.275, so ``auto`` treats it as logits and applies a softmax:
    softmax(1, 0, 0.275) = (e, 1, e^0.275) / (e + 1 + e^0.275) = (0.5399, 0.1986, 0.2615)."""
    raw = np.array([[200, 0, 55]], np.uint8)
    scores = to_scores(raw, 1 / 200, 0)
    assert scores == pytest.approx([0.5399, 0.1986, 0.2615], abs=1e-4)
    assert to_scores(raw, 1 / 200, 0, "probabilities") == pytest.approx([1.0, 0.0, 0.275])
