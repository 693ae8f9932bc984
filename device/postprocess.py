"""From a model's raw output tensor to ``[(label, score), ...]``.

1. **Dequantize** uint8/int8 outputs with the tensor's own scale and zero point (float outputs as they are).
2. **Scores**: probabilities are kept; logits go through a softmax. ``score_type="auto"`` (default) decides:

   * a **quantized** output holds probabilities when the range it can represent lies within ``[0, 1]`` (give or
     take 1%): TFLite quantizes softmax outputs with scale 1/256 and zero point 0 (uint8) or -128 (int8), a range
     no logits tensor has;
   * a **float** output holds probabilities when every value lies in ``[-0.001, 1.001]`` and they sum to
     ``1 +- 0.01``; anything else is treated as logits.

   Pass ``"probabilities"`` or ``"logits"`` to force it.
3. **Ranking**: the background class (index 0 named ``background``/``???``) is dropped unless kept on purpose;
   ``top_k`` highest scores, ties broken by index; ``threshold`` drops lower scores.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

from device.errors import ModelError
from device.quantization import dequantize

SCORE_TYPES = ("auto", "probabilities", "logits")
Prediction = Tuple[str, float]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis, float32."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def looks_like_probabilities(values: np.ndarray) -> bool:
    """The ``auto`` rule for float outputs: all values in ``[-0.001, 1.001]``, summing to ``1 +- 0.01``."""
    if values.size == 0:
        return False
    return bool(values.min() >= -0.001 and values.max() <= 1.001 and abs(float(values.sum()) - 1.0) <= 0.01)


def quantized_range_is_probability(dtype: np.dtype, scale: float, zero_point: int) -> bool:
    """The ``auto`` rule for quantized outputs: the representable real range lies within ``[-0.01, 1.01]``."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu" or scale == 0.0:
        return False
    info = np.iinfo(dtype)
    low, high = scale * (info.min - zero_point), scale * (info.max - zero_point)
    return low >= -0.01 and high <= 1.01


def to_scores(raw: np.ndarray, scale: float, zero_point: int, score_type: str = "auto") -> np.ndarray:
    """Flat float32 class scores (probabilities) from one raw output tensor."""
    if score_type not in SCORE_TYPES:
        raise ValueError(f"score_type must be one of {SCORE_TYPES}, got {score_type!r}")
    raw = np.asarray(raw)
    values = dequantize(raw, scale, zero_point).reshape(-1)
    if score_type == "auto":
        if raw.dtype.kind in "iu" and scale != 0.0:
            is_prob = quantized_range_is_probability(raw.dtype, scale, zero_point)
        else:
            is_prob = looks_like_probabilities(values)
        score_type = "probabilities" if is_prob else "logits"
    return softmax(values) if score_type == "logits" else values


def check_threshold(threshold: Optional[float]) -> Optional[float]:
    """``threshold`` as a float when it is a score from 0 to 1 (or None: no threshold). Raises ``ValueError``
    otherwise: NaN would hide every label (nothing compares above it), a value outside 0-1 every label or none.
    The one rule for ``--threshold`` and the library's ``threshold=`` argument."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating, np.integer)):
        raise ValueError(f"threshold={threshold!r} is not a score from 0 to 1 (e.g. 0.5)")
    value = float(threshold)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"threshold={threshold!r} is not a score from 0 to 1 (e.g. 0.5)")
    return value


def check_top_k(k: int) -> int:
    """``k`` when it is a whole number of at least 1; ``ValueError`` otherwise."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_k must be a whole number of at least 1, got {k!r}")
    return int(k)


def top_k(
    scores: np.ndarray,
    labels: Sequence[str],
    k: int = 5,
    threshold: Optional[float] = None,
    skip_index: Optional[int] = None,
) -> List[Prediction]:
    """The ``k`` best ``(label, score)`` pairs, best first (ties: lower index first).

    ``skip_index``: a class never reported (the background). ``threshold``: drop scores below it.
    """
    k = check_top_k(k)
    threshold = check_threshold(threshold)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if skip_index is not None:
        scores = scores.copy()
        scores[skip_index] = -np.inf
    n = min(k, scores.size - (1 if skip_index is not None else 0))
    if n <= 0:
        return []
    if n < scores.size:
        candidates = np.argpartition(-scores, n - 1)[: n]
        # argpartition may split ties arbitrarily: include every index tied with the n-th score, then sort.
        kth = scores[candidates].min()
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(scores.size)
    order = candidates[np.lexsort((candidates, -scores[candidates]))][:n]  # score desc, then index asc
    out = [(labels[i], float(scores[i])) for i in order.tolist() if np.isfinite(scores[i])]
    if threshold is not None:
        out = [(label, score) for label, score in out if score >= threshold]
    return out


def check_output_shape(shape: Sequence[int], source: str) -> int:
    """Number of classes of a classifier output of ``shape`` (``[N]`` or ``[1, N]``)."""
    dims = [int(d) for d in shape]
    if len(dims) == 1 or (len(dims) == 2 and dims[0] == 1):
        return dims[-1]
    raise ModelError(
        f"{source}: output shape {dims} is not a classifier output ([1, classes]); is this an image classifier?"
    )


def check_output_dtype(dtype: np.dtype, source: str) -> None:
    """Raise :class:`ModelError` unless the output type is float32/float16/uint8/int8."""
    if np.dtype(dtype).name not in ("float32", "float16", "uint8", "int8"):
        raise ModelError(
            f"{source}: output tensor type {np.dtype(dtype).name} is not supported; a classifier outputs "
            "float32, float16, uint8 or int8 scores. Re-convert the model."
        )
