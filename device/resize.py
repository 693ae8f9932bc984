"""Step 2 of the preprocessing contract: crop to the model's aspect, then resize, in exact integer arithmetic.

The resize filter, named ``box-bilinear-int``, works per axis (width and height independently):

1. **Integer box reduction.** ``k = max(1, src // dst)``. The axis is trimmed to ``src' = (src // k) * k`` pixels
   (dropping ``(src - src') // 2`` at the start, the rest at the end) and every run of ``k`` pixels is *summed*
   (not yet divided). A 12-megapixel photo is thus averaged over every pixel, which is what stops aliasing.
2. **Bilinear** from ``s = src' // k`` to ``dst`` samples with half-pixel centres, clamped at the edges: with
   ``n = max(0, (2i+1)*s - dst)``, ``x0 = n // (2*dst)``, ``f = n - x0*2*dst``, ``x1 = min(x0+1, s-1)``, output
   ``i`` is ``(2*dst - f) * b[x0] + f * b[x1]``. After step 1 the remaining factor is below 2, so bilinear taps
   reach every pixel. When ``s == dst`` this is the identity; when ``s < dst`` it is an ordinary bilinear upscale.

Nothing is rounded in between: the output is ``(N + D // 2) // D`` (round half up) with ``N`` the sum of integer
products and ``D = kx*ky * 2*dst_x * 2*dst_y``. Every intermediate is an exact integer far below 2**63, so any
language with 64-bit integers reproduces the bytes exactly, in either axis order.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import numpy as np

#: Name of the resize filter, as stored in run folders and model metadata.
RESIZE_FILTER = "box-bilinear-int"

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


def decode_scale(width: int, height: int, out_width: int, out_height: int, crop: str = "center") -> int:
    """Step 1's DCT scaling for JPEG photos: the largest of 8, 4, 2, 1 that is at most
    ``min(crop_width // out_width, crop_height // out_height)`` of the upright photo's crop box.

    The JPEG decoder then produces the photo at ``ceil(width / s) x ceil(height / s)`` (libjpeg ``scale_denom``,
    Android ``inSampleSize``), an antialiased reduction that is several times faster to decode, and the crop and
    resize run on that smaller image. The crop region still has at least the model's size.
    """
    _, _, crop_w, crop_h = crop_box(width, height, out_width, out_height, crop)
    k = min(crop_w // out_width, crop_h // out_height)
    for scale in (8, 4, 2):
        if k >= scale:
            return scale
    return 1


def box_factor(src: int, dst: int) -> int:
    """The integer box-reduction factor of one axis: ``max(1, src // dst)``."""
    return max(1, src // dst)


def resize_uint8(pixels: np.ndarray, out_height: int, out_width: int) -> np.ndarray:
    """Resize ``H x W x C`` uint8 pixels to ``out_height x out_width x C`` with the contract's integer filter."""
    if pixels.ndim != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"expected H x W x C uint8 pixels, got {pixels.shape} {pixels.dtype}")
    if out_height < 1 or out_width < 1:
        raise ValueError(f"output size must be positive, got {out_height}x{out_width}")
    height, width = pixels.shape[:2]
    ky, kx = box_factor(height, out_height), box_factor(width, out_width)
    top, left = (height % ky) // 2, (width % kx) // 2
    region = pixels[top : top + (height // ky) * ky, left : left + (width // kx) * kx]
    denominator = ky * kx * (2 * out_height) * (2 * out_width)
    assert 255 * denominator < 2**53, "resize numerators exceed exact float64 range"
    if 255 * denominator < 2**31:
        # The common case (photos up to about 6x the model size per axis, i.e. every JPEG after DCT scaling):
        # every numerator fits int32, which numpy handles 2-4x faster than the float64 route below.
        rows = _box_then_bilinear(region, ky, out_height, np.int32, axis=0)  # out_height x W' x C
        both = _box_then_bilinear(rows, kx, out_width, np.int32, axis=1)  # out_height x out_width x C
        both += denominator // 2
        both //= denominator
        return both.astype(np.uint8)
    # Large box factors: floats are used only because numpy is much faster with them than with int64, and only
    # where every value stays an exact integer (below 2**24 for float32, 2**53 for float64).
    first_dtype = np.float32 if 255 * ky * 2 * out_height < 2**24 else np.float64
    rows = _box_then_bilinear(region, ky, out_height, first_dtype, axis=0)  # out_height x W' x C
    # Along the width via a transposed view: with box factors this large, summing whole rows of the view is faster
    # than axis=1's strided slices (3000x4000 -> 224: 41 ms vs 55 ms).
    both = _box_then_bilinear(rows.transpose(1, 0, 2), kx, out_width, np.float64, axis=0)  # out_w x out_h x C
    both += denominator // 2
    both /= denominator  # exact floor after division: quotients of integers < 2**53, far from the next integer
    np.floor(both, out=both)
    return np.ascontiguousarray(both.transpose(1, 0, 2)).astype(np.uint8)


def _box_then_bilinear(values: np.ndarray, k: int, dst: int, dtype: type, axis: int) -> np.ndarray:
    """Along ``axis`` (0 or 1) of a 3-D array: sum runs of ``k`` (the box step), then apply the bilinear taps."""
    n = values.shape[axis] // k
    if k > 1:
        if axis == 0:
            groups = values[: n * k].reshape((n, k) + values.shape[1:])
            acc = groups[:, 0].astype(dtype)
            for j in range(1, k):
                acc += groups[:, j]
        else:
            groups = values[:, : n * k].reshape((values.shape[0], n, k) + values.shape[2:])
            acc = groups[:, :, 0].astype(dtype)
            for j in range(1, k):
                acc += groups[:, :, j]
        values = acc
    x0, x1, w0, w1 = bilinear_taps(n, dst)
    out = np.take(values, x0, axis=axis).astype(dtype, copy=False)
    out *= _weights(w0, dtype, axis, out.shape)
    right = np.take(values, x1, axis=axis).astype(dtype, copy=False)
    right *= _weights(w1, dtype, axis, out.shape)
    out += right
    return out


def _weights(w: np.ndarray, dtype: type, axis: int, shape: Tuple[int, ...]) -> np.ndarray:
    """``w`` shaped to multiply an array of ``shape`` along ``axis``. Along axis 1 the weights are repeated over the
    channels: a ``(1, n, 1)`` operand would make numpy's inner loop 3 elements long (several times slower)."""
    if axis == 0:
        return w.astype(dtype).reshape(-1, 1, 1)
    return np.ascontiguousarray(np.broadcast_to(w.astype(dtype).reshape(1, -1, 1), (1,) + tuple(shape[1:])))


@lru_cache(maxsize=64)
def bilinear_taps(src: int, dst: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x0, x1, w0, w1)`` of the contract's bilinear step from ``src`` to ``dst`` samples (weights sum ``2*dst``)."""
    n = np.maximum((2 * np.arange(dst, dtype=np.int64) + 1) * src - dst, 0)
    x0 = n // (2 * dst)
    w1 = n - x0 * 2 * dst
    x1 = np.minimum(x0 + 1, src - 1)
    for array in (x0, x1, w1):
        array.setflags(write=False)
    w0 = 2 * dst - w1
    w0.setflags(write=False)
    return x0, x1, w0, w1
