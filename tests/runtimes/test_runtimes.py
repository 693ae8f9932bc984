"""edge-kit models in MediaPipe Tasks' and the TFLite Task Library's ImageClassifier give edge-classify's answers.

Every exported variant (float32, float16, dynamic-range, int8 with uint8 I/O, int8 with int8 I/O) of one flowers
model on the 120 parity photos, and the Teachable Machine export given metadata by ``edge-convert metadata`` (one
mean/std, ImageNet-style R,G,B means/stds, the quantized export) on its 60 photos. What each runtime takes, the
labels it reads, and its scores (``tests/runtimes/agreement.py`` says how each mode feeds the photo):

* with edge-kit's pixels the scores are edge-classify's (a top-1 may differ only at a tie within the tolerance);
* resizing the photo its own way, the runtime keeps edge-classify's top-1 on at least :data:`AGREEMENT_FLOOR` of
  the photos (measured values in docs/runtimes.md), and its centre-crop region gets closer than the whole photo.
"""
from __future__ import annotations

from typing import Dict, Tuple

import pytest

from tests.runtimes.agreement import (AGREEMENT_FLOOR, EXPORTS, METADATA_MODELS, NOT_TAKEN, Case, Run, compare,
                                      same_pixels_tolerance)

pytestmark = pytest.mark.slow

Results = Tuple[str, Dict[str, Run]]


def _taken(runtime: Results) -> Dict[str, Run]:
    name, runs = runtime
    return {model: run for model, run in runs.items() if model not in NOT_TAKEN[name]}


def test_takes_every_model_except_the_documented_ones(runtime: Results):
    name, runs = runtime
    assert set(runs) == set(EXPORTS) | set(METADATA_MODELS)
    for model, run in runs.items():
        refusal = NOT_TAKEN[name].get(model)
        if refusal is None:
            assert run.error is None, f"{name} does not take {model}: {run.error}"
        else:  # a limitation docs/runtimes.md states: if a new version lifts it, say so there
            assert run.error is not None and refusal in run.error, f"{name} on {model}: {run.error or 'taken'}"
    # The default export (int8, uint8 I/O) and the float ones are what apps ship: every runtime must take them.
    assert {"float32", "float16", "int8", "tm_scalar", "tm_quant"} <= set(_taken(runtime))


def test_reads_the_labels_edge_classify_reads(runtime: Results, runtime_cases: Dict[str, Case]):
    for model, run in _taken(runtime).items():
        assert run.labels == runtime_cases[model].labels, model


def test_edge_kit_pixels_give_edge_classifys_scores(runtime: Results, runtime_cases: Dict[str, Case]):
    name, _ = runtime
    for model, run in _taken(runtime).items():
        stats = compare(runtime_cases[model], run.scores["same_pixels"])
        tolerance = same_pixels_tolerance(model)
        assert stats.max_diff <= tolerance, f"{name} {model}: scores differ by up to {stats.max_diff:.6f}"
        assert stats.widest_flip_margin <= tolerance, (
            f"{name} {model}: a top-1 changed where edge-classify's top two were {stats.widest_flip_margin:.6f} apart")


def test_own_resize_keeps_most_top1_and_the_centre_crop_gets_closer(runtime: Results,
                                                                     runtime_cases: Dict[str, Case]):
    name, _ = runtime
    same = {mode: 0 for mode in AGREEMENT_FLOOR}
    for model, run in _taken(runtime).items():
        for mode, floor in AGREEMENT_FLOOR.items():
            stats = compare(runtime_cases[model], run.scores[mode])
            same[mode] += stats.same_top1
            assert stats.same_top1 >= floor * stats.photos, (
                f"{name} {model} {mode}: edge-classify's top-1 on {stats.same_top1}/{stats.photos} photos only")
    assert same["centre_crop"] > same["whole_photo"], f"{name}: {same}"
