"""Steps 5 and 6 of the preprocessing contract: crop to the model's aspect, then resize to the model's input.

The resize of contract version 3, ``pillow-reduce-bilinear``, runs two of Pillow's fixed-point resamplers in C on
the cropped pixels: first ``Image.reduce((kx, ky))``, a box average over whole blocks of ``kx x ky`` pixels with
``k = min(max(1, crop // model), MAX_REDUCE)`` per axis (the crop trimmed, centred, to a multiple of ``k``), then
version 2's bilinear passes from the reduced size (between once and twice the model's) to the model's size. The
box average does most of a large reduction with a few additions per pixel, so the tent filter that follows only
spans two or three pixels; both steps are integer arithmetic with fixed rules, so the Kotlin port reproduces the
bytes. The exact rules are in ``docs/preprocessing.md`` and ``tests/golden/`` is made by Pillow. Using the library
makes the resize run in C on every device that has Pillow (already a dependency), with no extension of our own.

Version 2's ``pillow-bilinear`` is the same without the reduction: Pillow's BILINEAR filter
(``Image.resize(size, Image.BILINEAR, reducing_gap=None)``), a tent whose support grows with the reduction factor,
coefficients computed in double precision and rounded to 22-bit fixed point; two passes with 8-bit rounding and
clipping, the horizontal one first (one Pillow call per pass, so that the order is the same on every Pillow
version).

The crop is made *before* handing the pixels to Pillow (not with ``resize(box=...)`` or ``reduce(box=...)``): with
the crop's origin at 0, none of Pillow's double-precision expressions has a multiply-add whose fused and unfused
results could differ, so the bytes do not depend on the compiler that built the wheel.

Contract version 1's filter, ``box-bilinear-int`` (exact integer box reduction then bilinear), and version 2's stay
available for models made with them: :func:`resize_uint8` takes the filter's name.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import numpy as np
from PIL import Image

#: Name of the contract's resize filter (version 3), as stored in run folders and model metadata.
RESIZE_FILTER = "pillow-reduce-bilinear"

#: The filter of contract version 2 (Pillow's bilinear without the reduction), still applied to models naming it.
V2_RESIZE_FILTER = "pillow-bilinear"

#: The filter of contract version 1, still applied to models whose metadata names it.
LEGACY_RESIZE_FILTER = "box-bilinear-int"

#: Every filter this version implements.
RESIZE_FILTERS = (RESIZE_FILTER, V2_RESIZE_FILTER, LEGACY_RESIZE_FILTER)

#: Largest per-axis factor of ``pillow-reduce-bilinear``'s box step: Pillow's 32-bit sums of ``kx * ky`` pixels
#: times its reciprocal stay exact only up to ``kx * ky`` of about 32000, and 64 x 64 is well inside; only crops
#: over 64 times the model's size reach it, and the tent filter after the box step does the rest.
MAX_REDUCE = 64

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


def reduce_factor(src: int, dst: int) -> int:
    """The box step's factor of one axis in ``pillow-reduce-bilinear``: ``min(max(1, src // dst), MAX_REDUCE)``.

    The reduced size ``src // k`` is then at least ``dst`` (and below ``2 * dst`` unless the factor was capped), so
    the tent filter that follows only removes what is left of the reduction."""
    return min(max(1, src // dst), MAX_REDUCE)


def resize_uint8(pixels: np.ndarray, out_height: int, out_width: int, filter: str = RESIZE_FILTER) -> np.ndarray:
    """Resize ``H x W x C`` uint8 pixels to ``out_height x out_width x C`` with one of :data:`RESIZE_FILTERS`.

    ``pillow-reduce-bilinear`` and ``pillow-bilinear`` take 3-channel RGB; any view with 3-byte pixels (a crop of a frame, a reversed-channel
    view of a BGR camera frame) is handed to Pillow without a copy. Returns a new C-contiguous array.
    """
    if pixels.ndim != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"expected H x W x C uint8 pixels, got {pixels.shape} {pixels.dtype}")
    if out_height < 1 or out_width < 1:
        raise ValueError(f"output size must be positive, got {out_height}x{out_width}")
    if filter == RESIZE_FILTER:
        return _resize_pillow(pixels, out_height, out_width, reduce=True)
    if filter == V2_RESIZE_FILTER:
        return _resize_pillow(pixels, out_height, out_width, reduce=False)
    if filter == LEGACY_RESIZE_FILTER:
        return _resize_box_bilinear_int(pixels, out_height, out_width)
    raise ValueError(f"unknown resize filter {filter!r}; use one of {', '.join(RESIZE_FILTERS)}")


def _resize_pillow(pixels: np.ndarray, out_height: int, out_width: int, reduce: bool) -> np.ndarray:
    """``pillow-reduce-bilinear`` (``reduce=True``) or ``pillow-bilinear``: the optional box step, then the two
    bilinear passes, each one Pillow call on the previous result."""
    if pixels.shape[2] != 3:
        raise ValueError(f"Pillow's filters resize RGB pixels (H x W x 3), got {pixels.shape}")
    height, width = pixels.shape[:2]
    ky = kx = 1
    if reduce:
        ky, kx = reduce_factor(height, out_height), reduce_factor(width, out_width)
        # Whole blocks only (a view, centred): Pillow's reduce then never averages a partial block at the edges.
        top, left = (height % ky) // 2, (width % kx) // 2
        height, width = height // ky, width // kx
        pixels = pixels[top : top + height * ky, left : left + width * kx]
    image = pillow_rgb(pixels)
    if ky > 1 or kx > 1:
        image = image.reduce((kx, ky))
    # One pass per call, horizontal first (the order of Pillow's single call up to Pillow 12, and of the plain
    # script users write): Pillow 13 picks the order itself, and the rounding between the passes makes the order
    # visible in the bytes.
    if width != out_width:
        image = image.resize((out_width, height), Image.BILINEAR, reducing_gap=None)
    if height != out_height:
        image = image.resize((out_width, out_height), Image.BILINEAR, reducing_gap=None)
    return np.array(image, dtype=np.uint8)  # a writable array the caller owns


def pillow_rgb(pixels: np.ndarray) -> Image.Image:
    """An ``RGB`` Pillow image of ``H x W x 3`` uint8 pixels, read straight from their memory when every row is
    contiguous 3-byte pixels in RGB or reversed (BGR) channel order, else from a contiguous copy.

    Pillow stores RGB as 4 bytes per pixel, so it unpacks the pixels once either way; handing it the rows in place
    (the raw decoder's row stride) saves the copy a crop or a BGR-to-RGB swap would otherwise need.
    """
    height, width = pixels.shape[:2]
    row, step, channel = pixels.strides
    if step == 3 and channel == 1 and row > 0:
        first, rawmode = pixels, "RGB"
    elif step == 3 and channel == -1 and row > 0:
        first, rawmode = pixels[:, :, ::-1], "BGR"
    else:
        first, rawmode = np.ascontiguousarray(pixels), "RGB"
        row = first.strides[0]
    span = (height - 1) * row + width * 3
    data = np.lib.stride_tricks.as_strided(first, shape=(span,), strides=(1,), writeable=False)
    return Image.frombuffer("RGB", (width, height), data, "raw", rawmode, row, 1)


def _resize_box_bilinear_int(pixels: np.ndarray, out_height: int, out_width: int) -> np.ndarray:
    """Contract version 1's ``box-bilinear-int`` (``docs/preprocessing.md``, "Version 1"), per axis: sum runs of
    ``k = max(1, src // dst)`` pixels (centred), then :func:`bilinear_taps` with half-pixel centres; nothing is
    rounded until ``(N + D // 2) // D`` with ``D = kx*ky * 2*dst_x * 2*dst_y``: exact integers throughout."""
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
    # Indices in the platform's index type: np.take refuses int64 indices where it is int32 (32-bit ARM).
    x0 = x0.astype(np.intp)
    x1 = np.minimum(x0 + 1, src - 1)
    for array in (x0, x1, w1):
        array.setflags(write=False)
    w0 = 2 * dst - w1
    w0.setflags(write=False)
    return x0, x1, w0, w1
