"""The accuracy gate: how many top-1 points a quantized variant may lose against float32, judged on enough photos.

One rule for ``edge-convert`` (``--max-accuracy-drop``; its outcome decides whether quantization-aware training
runs) and ``edge-kit`` (the exported variant, and ``--export-variant auto``'s choice); one exit status when a command
refuses a model because of it (:data:`EXIT_REFUSED`). The limit's default is :data:`common.defaults.MAX_ACCURACY_DROP`.

The photos: a quantized variant and float32 are run on the same validation photos (a bounded stratified sample of
them on large sets; :mod:`converter.quantization_check` picks them and explains why training photos do not vote).
:func:`quantization_check` counts, label-free, the photos whose top-1 changed and the largest score difference, and
with the labels the paired change: ``right_to_wrong`` photos float32 got right and the variant wrong,
``wrong_to_right`` the other way. The estimated loss is ``(right_to_wrong - wrong_to_right) / photos``.

The rule: a variant passes unless its estimated loss exceeds the limit by more than :data:`NOISE_Z` standard
deviations of the paired noise, ``100 * sqrt(right_to_wrong + wrong_to_right) / photos`` points (the sign test: were
quantization harmless, each changed photo would be a coin flip). A report without this check (an older converter)
falls back to the validation top-1 difference, without a noise allowance.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np

from common import exit_codes

#: Exit status of ``edge-convert`` and ``edge-kit`` when the gate refuses a model (its files stay complete on disk).
EXIT_REFUSED = exit_codes.REFUSED
#: Standard deviations of paired noise a loss must exceed the limit by before the gate refuses a variant.
NOISE_Z = 1.0

#: Float comparisons: a drop equal to the limit passes.
_TOLERANCE = 1e-9


def quantization_check(reference_scores: np.ndarray, scores: np.ndarray,
                       labels: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Compare a variant's scores with the reference's (float32) on the same photos (N x classes each).

    Returns the JSON block of ``tflite/report.json``: ``photos``, ``agreement`` (share of photos with the same
    top-1), ``changed``, ``max_score_diff``, ``mean_abs_score_diff``, and with ``labels`` also ``right_to_wrong``,
    ``wrong_to_right``, ``drop_points`` and ``noise_points``.
    """
    ref = np.asarray(reference_scores, dtype=np.float64)
    mine = np.asarray(scores, dtype=np.float64)
    n = int(len(ref))
    ref_top, my_top = ref.argmax(1), mine.argmax(1)
    changed = int(np.sum(ref_top != my_top))
    diff = np.abs(ref - mine)
    out: Dict[str, Any] = {"photos": n, "agreement": 1.0 - changed / n if n else None, "changed": changed,
                           "max_score_diff": float(diff.max()) if n else None,
                           "mean_abs_score_diff": float(diff.mean()) if n else None}
    if labels is not None and n:
        y = np.asarray(labels)
        c = int(np.sum((ref_top == y) & (my_top != y)))
        b = int(np.sum((ref_top != y) & (my_top == y)))
        out.update({"right_to_wrong": c, "wrong_to_right": b, "drop_points": 100.0 * (c - b) / n,
                    "noise_points": 100.0 * math.sqrt(c + b) / n})
    return out


def baseline_name(report: Mapping[str, Any]) -> str:
    """What the drop is measured against: ``"float32"``, or ``"Keras model"`` when float32 was not converted."""
    return "float32" if "float32" in (report.get("variants") or {}) else "Keras model"


def drop_points(report: Any, variant: str) -> Optional[float]:
    """Top-1 points ``variant`` is estimated to lose vs float32, from a conversion report (``tflite/report.json``
    as a dict): the quantization check's paired estimate, else the validation top-1 difference (vs float32, or the
    Keras model when float32 was not converted); None when unknown."""
    try:
        variants = report["variants"]
        check = variants[variant].get("quantization") or {}
        if isinstance(check.get("drop_points"), (int, float)):
            return float(check["drop_points"])
        mine = variants[variant]["top1"]
        base = variants["float32"]["top1"] if "float32" in variants else report["keras_top1"]
        return 100.0 * (float(base) - float(mine))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def noise_points(report: Any, variant: str) -> float:
    """The paired noise of :func:`drop_points` in points (0 when the report has no quantization check)."""
    try:
        value = report["variants"][variant]["quantization"]["noise_points"]
        return float(value) if isinstance(value, (int, float)) else 0.0
    except (KeyError, TypeError, ValueError):
        return 0.0


def within_limit(variant: str, drop: Optional[float], limit: Optional[float], noise: float = 0.0) -> bool:
    """The gate: float32, no limit (None), or an unknown drop pass; otherwise the drop, less :data:`NOISE_Z` times
    its ``noise``, must be <= the limit."""
    return (limit is None or variant == "float32" or drop is None
            or drop - NOISE_Z * noise <= limit + _TOLERANCE)


def passes(report: Any, variant: str, limit: Optional[float]) -> bool:
    """:func:`within_limit` on a conversion report: the gate's verdict for ``variant``."""
    return within_limit(variant, drop_points(report, variant), limit, noise_points(report, variant))


def describe(report: Any, variant: str) -> str:
    """``"lost 0.4 top-1 points +- 0.5 on 120 validation photos (agreement 99.1%)"`` for messages and reports."""
    drop = drop_points(report, variant)
    if drop is None:
        return "n/a"
    try:
        check = report["variants"][variant].get("quantization") or {}
    except (KeyError, TypeError, AttributeError):
        check = {}
    if "noise_points" not in check:
        return f"lost {drop:.1f} top-1 points on the validation photos"
    extra = check.get("augmented_training")
    more = (f"; {100 * extra['agreement']:.1f}% on {extra['photos']} augmented training photos"
            if isinstance(extra, dict) and extra.get("photos") else "")
    kind = f" {check['photos_kind']}" if check.get("photos_kind") else ""
    return (f"lost {drop:.1f} top-1 points +- {check['noise_points']:.1f} on {check['photos']}{kind} photos (top-1 "
            f"agreement with float32 {100 * check['agreement']:.1f}%{more})")
