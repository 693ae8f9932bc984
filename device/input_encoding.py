"""From preprocessed pixels (``H x W x 3`` uint8, 0-255) to the values a model's input tensor expects.

The rule, per input tensor type:

* **float32 / float16**: ``(pixel - mean) / std`` with the mean/std of the metadata's ``NormalizationOptions``.
  Without metadata: mean 0, std 1 (edge-kit models take raw 0-255 values and normalise inside themselves).
* **uint8 / int8**: the real value ``(pixel - mean) / std`` is quantized with the tensor's own scale and zero
  point. When that composition is the identity up to rounding (``|1/(std*scale) - 1| < 1%`` and the offset within
  one step of 0 for uint8 or -128 for int8), pixels are fed exactly (``pixel`` or ``pixel - 128``), avoiding
  off-by-one rounding noise. Without metadata, uint8 inputs take raw pixels and int8 inputs ``pixel - 128`` (the
  convention of quantized image models, edge-kit's included).

Any other input type raises :class:`ModelError`. ``normalization=(mean, std)`` overrides the metadata.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from device.errors import ModelError
from device.quantization import quantize

SUPPORTED_INPUT_TYPES = ("float32", "float16", "uint8", "int8")


@dataclass(frozen=True)
class InputEncoding:
    """How to turn ``H x W x 3`` uint8 pixels into one input tensor (batch of one)."""

    dtype: np.dtype
    mode: str  #: "float" | "exact" (integer pixels + offset) | "quantize"
    mean: Tuple[float, ...] = (0.0,)
    std: Tuple[float, ...] = (1.0,)
    scale: float = 0.0
    zero_point: int = 0
    offset: int = 0  #: for mode "exact": value added to the pixels

    def encode(self, pixels: np.ndarray) -> np.ndarray:
        """``1 x H x W x 3`` array of :attr:`dtype` for the interpreter."""
        batch = pixels[None]
        if self.mode == "exact":
            if self.offset == 0 and self.dtype == np.uint8:
                return np.ascontiguousarray(batch)
            return (batch.astype(np.int16) + self.offset).astype(self.dtype)
        real = (batch.astype(np.float32) - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        if self.mode == "float":
            return real.astype(self.dtype)
        return quantize(real, self.scale, self.zero_point, self.dtype)

    def describe(self) -> str:
        """One line for ``--benchmark`` / ``--verbose`` output."""
        if self.mode == "exact":
            return f"{self.dtype.name}: pixel{self.offset:+d}" if self.offset else f"{self.dtype.name}: raw pixels"
        norm = f"(pixel - {_fmt(self.mean)}) / {_fmt(self.std)}"
        if self.mode == "float":
            return f"{self.dtype.name}: {norm}"
        return f"{self.dtype.name}: quantize({norm}, scale={self.scale:g}, zero_point={self.zero_point})"


def _fmt(values: Sequence[float]) -> str:
    return f"{values[0]:g}" if len(set(values)) == 1 else "[" + ", ".join(f"{v:g}" for v in values) + "]"


def check_normalization(mean: Sequence[float], std: Sequence[float]) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
    """A user's input normalisation ``(pixel - mean) / std`` as tuples, when each is one value or three (R, G, B),
    every value finite and every std above 0. Raises ``ValueError`` naming the bad value otherwise: NaN makes every
    answer empty, an infinite std the same answer for every photo, a negative one inverts the image. The one rule
    for ``edge-classify --mean/--std``, ``edge-convert metadata --mean/--std`` and ``Classifier(normalization=)``."""
    out = []
    for what, values in (("mean", mean), ("std", std)):
        try:
            vals = tuple(float(v) for v in values)
        except (TypeError, ValueError):
            raise ValueError(f"--{what} {values!r}: expected one number or three (R,G,B)") from None
        if len(vals) not in (1, 3):
            raise ValueError(f"--{what} has {len(vals)} values; give one or three (R,G,B)")
        text = ",".join(f"{v:g}" for v in vals)
        if not all(math.isfinite(v) for v in vals):
            raise ValueError(f"--{what} {text}: every value must be a finite number")
        if what == "std" and not all(v > 0 for v in vals):
            raise ValueError(f"--std {text}: every value must be above 0 (the model sees (pixel - mean) / std)")
        out.append(vals)
    return out[0], out[1]


def _per_channel(values: Optional[Sequence[float]], default: float, what: str, source: str) -> Tuple[float, ...]:
    if not values:
        return (default,)
    vals = tuple(float(v) for v in values)
    if len(vals) not in (1, 3):
        raise ModelError(f"{source}: input normalisation {what} has {len(vals)} values; expected 1 or 3.")
    if not all(math.isfinite(v) for v in vals):
        raise ModelError(f"{source}: input normalisation {what} {vals} is not finite; fix the model metadata "
                         "(edge-convert metadata --mean/--std) or pass normalization.")
    if what == "std" and any(v == 0 for v in vals):
        raise ModelError(f"{source}: input normalisation std is 0; fix the model metadata or pass normalization.")
    return vals


def make_input_encoding(
    dtype: np.dtype,
    scale: float,
    zero_point: int,
    mean: Optional[Sequence[float]] = None,
    std: Optional[Sequence[float]] = None,
    source: str = "<model>",
) -> InputEncoding:
    """Choose the encoding for an input tensor of ``dtype`` with quantization ``(scale, zero_point)``.

    ``mean``/``std``: the metadata NormalizationOptions (``None`` when the model has none).
    """
    dtype = np.dtype(dtype)
    if dtype.name not in SUPPORTED_INPUT_TYPES:
        raise ModelError(
            f"{source}: input tensor type {dtype.name} is not supported; image classifiers take "
            f"{', '.join(SUPPORTED_INPUT_TYPES)}. Re-convert the model with one of those input types."
        )
    have_norm = mean is not None or std is not None
    m = _per_channel(mean, 0.0, "mean", source)
    s = _per_channel(std, 1.0, "std", source)
    if dtype.kind == "f":
        return InputEncoding(dtype=dtype, mode="float", mean=m, std=s)
    natural = 0 if dtype == np.uint8 else -128
    if not have_norm or scale == 0.0:
        if scale == 0.0 and have_norm and (m, s) != ((0.0,), (1.0,)):
            raise ModelError(
                f"{source}: {dtype.name} input without quantization parameters but with normalisation "
                f"mean {m} std {s}; cannot encode pixels. Re-convert the model."
            )
        return InputEncoding(dtype=dtype, mode="exact", scale=scale, zero_point=zero_point, offset=natural)
    m3 = m * 3 if len(m) == 1 else m
    s3 = s * 3 if len(s) == 1 else s
    gains = [1.0 / (sd * scale) for sd in s3]
    offsets = [zero_point - mu / (sd * scale) for mu, sd in zip(m3, s3)]
    if all(abs(g - 1.0) < 0.01 for g in gains) and all(abs(b - natural) <= 1.0 for b in offsets):
        return InputEncoding(dtype=dtype, mode="exact", mean=m, std=s, scale=scale, zero_point=zero_point,
                             offset=natural)
    return InputEncoding(dtype=dtype, mode="quantize", mean=m, std=s, scale=scale, zero_point=zero_point)
