"""Per-tensor affine quantization, as TFLite defines it: ``real = scale * (q - zero_point)``.

A tensor whose ``scale`` is 0 is not quantized (TFLite reports ``(0.0, 0)`` for float tensors): :func:`quantize`
then only casts and :func:`dequantize` returns float32 values unchanged.
"""
from __future__ import annotations

from typing import Any, Mapping, Tuple, Union

import numpy as np

DTypeLike = Union[type, np.dtype, str]


def _scalar(value: Any, what: str) -> float:
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        return 0.0
    if arr.size > 1 and not np.all(arr == arr[0]):
        raise ValueError(f"per-channel {what} ({arr.size} values) is not supported here; expected one per tensor")
    return float(arr[0])


def quantize(x: Any, scale: Any, zero_point: Any, dtype: DTypeLike) -> np.ndarray:
    """Quantize real values ``x`` to ``dtype``: ``clip(round(x / scale) + zero_point)`` (round half to even,
    as TFLite's reference kernels do for float-to-int conversion of inputs).

    ``scale == 0`` means "not quantized": ``x`` is cast to ``dtype`` (float dtypes stay exact; integer dtypes are
    rounded and clipped to their range).
    """
    dtype = np.dtype(dtype)
    s = _scalar(scale, "scale")
    zp = _scalar(zero_point, "zero point")
    values = np.asarray(x, dtype=np.float64) if dtype.kind in "iu" else np.asarray(x)
    if dtype.kind == "f":
        if s == 0.0:
            return values.astype(dtype)
        raise ValueError(f"cannot quantize to float dtype {dtype} with scale {s}")
    if dtype.kind not in "iu":
        raise ValueError(f"unsupported quantized dtype {dtype}")
    info = np.iinfo(dtype)
    q = np.rint(values) if s == 0.0 else np.rint(values / s) + zp
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: Any, scale: Any, zero_point: Any) -> np.ndarray:
    """Real values of quantized ``q`` as float32: ``scale * (q - zero_point)``; ``scale == 0``: ``q`` as float32."""
    s = _scalar(scale, "scale")
    zp = _scalar(zero_point, "zero point")
    values = np.asarray(q)
    if s == 0.0:
        return values.astype(np.float32)
    return ((values.astype(np.float32) - np.float32(zp)) * np.float32(s)).astype(np.float32)


def tensor_quantization(detail: Mapping[str, Any]) -> Tuple[float, int]:
    """``(scale, zero_point)`` of an interpreter tensor detail dict (``get_input_details()[i]``).

    Reads ``quantization_parameters`` when present (refusing true per-channel quantization), else the legacy
    ``quantization`` tuple. ``(0.0, 0)`` means not quantized.
    """
    params = detail.get("quantization_parameters")
    if params is not None and np.asarray(params.get("scales", [])).size > 0:
        scale = _scalar(params["scales"], "scale")
        zero_point = int(round(_scalar(params.get("zero_points", [0]), "zero point")))
        return scale, zero_point
    legacy = detail.get("quantization", (0.0, 0))
    return float(legacy[0]), int(legacy[1])
