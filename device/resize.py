"""Step 2 of the preprocessing contract: crop to the model's aspect, then resize, in exact integer arithmetic.

The filter (named ``area-down-bilinear-up-int``) is defined per axis, independently for width and height:

* **Downscale or same size** (``src >= dst``): *area average*. Output pixel ``i`` covers source interval
  ``[i*src/dst, (i+1)*src/dst)``; each source pixel contributes in proportion to its overlap. Scaling coordinates
  by ``dst`` makes every overlap an integer, so the weights are integers summing to ``src``. This is the
  antialiasing a 12-megapixel photo needs: every source pixel counts, nothing aliases.
* **Upscale** (``src < dst``): *bilinear* with half-pixel centres, clamped at the edges. The source coordinate of
  output ``i`` is ``((2i+1)*src - dst) / (2*dst)``; with ``n = max(0, (2i+1)*src - dst)``, ``x0 = n // (2*dst)``,
  ``f = n - x0*2*dst``, ``x1 = min(x0+1, src-1)``, the weights are ``2*dst - f`` and ``f`` (sum ``2*dst``).

The two axes are combined without intermediate rounding: the output is
``(sum_y sum_x wy*wx*p + D//2) // D`` with ``D = den_x * den_y`` (round half up). Every value is an exact
integer below 2**40, so any language with 64-bit integers reproduces the bytes exactly, in either axis order.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

#: Name of the resize filter, as stored in run folders and model metadata.
RESIZE_FILTER = "area-down-bilinear-up-int"

#: Crop modes: "center" keeps the largest centred region with the model's aspect ratio; "stretch" keeps everything.
CROP_MODES = ("center", "stretch")


def crop_box(width: int, height: int, out_width: int, out_height: int, crop: str = "center") -> Tuple[int, int, int, int]:
    """Return ``(x0, y0, crop_width, crop_height)`` of the region of a ``width x height`` image to resize.

    ``center``: if the image is wider than the target aspect, ``crop_width = height*out_width // out_height``
    (at least 1), else ``crop_height = width*out_height // out_width``; offsets are ``(size - crop) // 2``.
    ``stretch``: the whole image.
    """
    if crop not in CROP_MODES:
        raise ValueError(f"unknown crop mode {crop!r}; use one of {', '.join(CROP_MODES)}")
    if crop == "stretch":
        return 0, 0, width, height
    if width * out_height > height * out_width:  # too wide: crop the sides
        crop_w = max(1, height * out_width // out_height)
        return (width - crop_w) // 2, 0, crop_w, height
    crop_h = max(1, width * out_height // out_width)
    return 0, (height - crop_h) // 2, width, crop_h


def resize_uint8(pixels: np.ndarray, out_height: int, out_width: int) -> np.ndarray:
    """Resize ``H x W x C`` uint8 pixels to ``out_height x out_width x C`` with the contract's integer filter."""
    if pixels.ndim != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"expected H x W x C uint8 pixels, got {pixels.shape} {pixels.dtype}")
    if out_height < 1 or out_width < 1:
        raise ValueError(f"output size must be positive, got {out_height}x{out_width}")
    # Reduce the axis that shrinks most first: the second pass then runs on fewer values.
    height, width = pixels.shape[:2]
    if height / out_height >= width / out_width:
        num, den_y = _resize_axis(pixels, 0, out_height)
        num, den_x = _resize_axis(num, 1, out_width)
    else:
        num, den_x = _resize_axis(pixels, 1, out_width)
        num, den_y = _resize_axis(num, 0, out_height)
    den = den_x * den_y
    return ((num + den // 2) // den).astype(np.uint8)


def _resize_axis(values: np.ndarray, axis: int, dst: int) -> Tuple[np.ndarray, int]:
    """Apply one axis' integer weights; returns (int64 numerators, denominator of this axis)."""
    src = values.shape[axis]
    if src >= dst:
        return _area_axis(values, axis, src, dst), src
    return _bilinear_axis(values, axis, src, dst), 2 * dst


def _area_axis(values: np.ndarray, axis: int, src: int, dst: int) -> np.ndarray:
    # In units of 1/dst source pixel, output i spans [i*src, (i+1)*src). With k = t // dst and r = t % dst, the
    # integral of the signal from 0 to t is dst*sum(p[:k]) + r*p[k]; the output numerator is the difference of
    # that integral at both ends of its span.
    t = np.arange(dst + 1, dtype=np.int64) * src
    k = t // dst
    r = t % dst  # r[dst] == 0, so p[k] at k == src is never needed
    segments = np.add.reduceat(values, k[:-1], axis=axis, dtype=np.int64)
    empty = k[1:] == k[:-1]  # reduceat returns p[k] for an empty segment; it must count as 0
    if empty.any():
        shape = [1] * values.ndim
        shape[axis] = dst
        segments = np.where(empty.reshape(shape), 0, segments)
    edge = np.take(values, np.minimum(k, src - 1), axis=axis).astype(np.int64)
    shape = [1] * values.ndim
    shape[axis] = dst + 1
    edge *= r.reshape(shape)
    start = [slice(None)] * values.ndim
    stop = [slice(None)] * values.ndim
    start[axis] = slice(0, dst)
    stop[axis] = slice(1, dst + 1)
    return dst * segments + edge[tuple(stop)] - edge[tuple(start)]


def _bilinear_axis(values: np.ndarray, axis: int, src: int, dst: int) -> np.ndarray:
    n = np.maximum((2 * np.arange(dst, dtype=np.int64) + 1) * src - dst, 0)
    x0 = n // (2 * dst)
    frac = n - x0 * 2 * dst
    x1 = np.minimum(x0 + 1, src - 1)
    shape = [1] * values.ndim
    shape[axis] = dst
    w1 = frac.reshape(shape)
    w0 = 2 * dst - w1
    return np.take(values, x0, axis=axis).astype(np.int64) * w0 + np.take(values, x1, axis=axis).astype(np.int64) * w1
