"""The accuracy gate: how many top-1 points a quantized variant may lose against float32, and what happens beyond.

One rule for ``edge-convert`` (``--max-accuracy-drop``: int8 against float32, or against the Keras model when float32
was not converted) and ``edge-kit`` (the exported variant, and ``--export-variant auto``'s choice); one exit status
when a command refuses a model because of it (:data:`EXIT_REFUSED`). The limit's default is
:data:`common.defaults.MAX_ACCURACY_DROP`.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from common import exit_codes

#: Exit status of ``edge-convert`` and ``edge-kit`` when the gate refuses a model (its files stay complete on disk).
EXIT_REFUSED = exit_codes.REFUSED

#: Float comparisons: a drop equal to the limit passes.
_TOLERANCE = 1e-9


def baseline_name(report: Mapping[str, Any]) -> str:
    """What the drop is measured against: ``"float32"``, or ``"Keras model"`` when float32 was not converted."""
    return "float32" if "float32" in (report.get("variants") or {}) else "Keras model"


def drop_points(report: Any, variant: str) -> Optional[float]:
    """Top-1 points ``variant`` lost vs float32 (or vs the Keras model) in a conversion report (``tflite/report.json``
    as a dict); None when unknown."""
    try:
        variants = report["variants"]
        mine = variants[variant]["top1"]
        base = variants["float32"]["top1"] if "float32" in variants else report["keras_top1"]
        return 100.0 * (float(base) - float(mine))
    except (KeyError, TypeError, ValueError):
        return None


def within_limit(variant: str, drop: Optional[float], limit: Optional[float]) -> bool:
    """The gate: float32, no limit (None), or an unknown drop pass; otherwise the drop must be <= the limit."""
    return limit is None or variant == "float32" or drop is None or drop <= limit + _TOLERANCE
