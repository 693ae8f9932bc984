"""Step 1 of the preprocessing contract: decode a photo into upright 8-bit RGB pixels.

This is the only place in edge-kit where a photo is decoded. It

* refuses missing, zero-byte, non-image, corrupt, truncated and over-large files with an :class:`ImageError` that
  names the file;
* converts every Pillow mode to 8-bit RGB (or RGBA where it has transparency) (grayscale, palette, CMYK, 16-bit, ...), exactly as described in
  ``docs/preprocessing.md``;
* converts colour photos with an embedded ICC profile (Display P3, Adobe RGB, CMYK press profiles) to sRGB with
  that profile, as Android's decoder does (contract version 2, :func:`to_srgb`);
* composites transparent pixels on the contract's background colour in integer arithmetic;
* applies the EXIF orientation tag (phone photos are stored sideways) as a pure re-indexing of the pixels.

The RGBA-to-RGB and orientation steps are separate public functions so that the Android port, which gets its
RGBA pixels from Android's own decoder, is tested against exactly the same arithmetic.
"""
from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

try:  # littlecms ships in Pillow's wheels; a source build without it cannot convert ICC profiles (warned, ignored)
    from PIL import ImageCms
except ImportError:  # pragma: no cover - depends on how Pillow was built
    ImageCms = None  # type: ignore[assignment]

from device.errors import ImageError
from device.resize import decode_scale

#: Largest photo accepted, in pixels (150 megapixels: above any phone camera in common use, below what would
#: exhaust a Raspberry Pi's memory). Larger inputs are refused as possible decompression bombs.
DEFAULT_MAX_PIXELS = 150_000_000
#: Largest image decoded at once, in pixels (40 megapixels, e.g. 8000 x 5000). A JPEG much larger than the model is
#: decoded reduced (DCT scaling), so this limit concerns the formats decoded whole (PNG, BMP, TIFF, WebP, GIF): their
#: decoding time and memory grow with every pixel (docs/benchmarks.md), and one such photo must not exhaust a small
#: board. The Kotlin port refuses the same (``Preprocessor.MAX_PIXELS``).
DEFAULT_MAX_DECODED_PIXELS = 40_000_000

#: Modes whose embedded ICC profile is applied (step 2; palettes become RGB(A) first); greyscale profiles are
#: ignored (values kept as stored).
ICC_MODES = ("RGB", "RGBA", "CMYK")

#: A profile whose conversion moves no probe colour by more than this is treated as sRGB: the stored pixels are kept
#: (Android's decoder likewise skips profiles approximately equal to sRGB).
SRGB_TOLERANCE = 1

#: EXIF tag number of "Orientation".
EXIF_ORIENTATION_TAG = 0x0112

ImageSource = Union[str, "os.PathLike[str]", bytes, Image.Image]

#: Largest photo read from a pipe, FIFO or character device (which have no size to check before reading).
MAX_STREAM_BYTES = 256 * 1024 * 1024

#: File extensions of HEIF photos (iPhone default), which Pillow does not decode.
HEIF_EXTENSIONS = (".heic", ".heif")
#: ISO-BMFF brands (bytes 8-12 of the file) of HEIF images.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
#: What to do about a HEIF photo (one line, after the file name).
HEIF_HINT = (
    "HEIC/HEIF photos cannot be decoded here; convert them to JPEG first (e.g. `heif-convert IMG.heic IMG.jpg` "
    "from libheif-examples, `sips -s format jpeg IMG.heic --out IMG.jpg` on a Mac), or set the iPhone camera "
    "to Most Compatible."
)


#: ``(height, width, crop)`` of the model input a photo is decoded for; enables JPEG DCT scaling (contract step 1).
Target = Tuple[int, int, str]


def decode_image(
    source: ImageSource,
    background: Tuple[int, int, int] = (255, 255, 255),
    max_pixels: int = DEFAULT_MAX_PIXELS,
    target: Optional[Target] = None,
    max_decoded_pixels: int = DEFAULT_MAX_DECODED_PIXELS,
) -> np.ndarray:
    """Decode ``source`` (a path, the encoded bytes, or an open Pillow image) to upright RGB.

    Returns a C-contiguous ``H x W x 3`` uint8 array: EXIF orientation applied, alpha composited on ``background``.
    With ``target`` (the model input's ``(height, width, crop)``), a JPEG much larger than the model is decoded
    directly at 1/2, 1/4 or 1/8 scale, as the contract's step 1 says (:func:`device.resize.decode_scale`).
    Raises :class:`ImageError` naming the file when it cannot be used: over ``max_pixels`` as stored, or over
    ``max_decoded_pixels`` as it would be decoded (a PNG is decoded whole, a large JPEG reduced).
    """
    pixels, orientation = _decode(source, max_pixels, target, max_decoded_pixels)
    if pixels.shape[2] == 4:
        pixels = composite_rgba(pixels, background)
    return apply_orientation(pixels, orientation)


def decode_rgba(
    source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS, target: Optional[Target] = None,
    max_decoded_pixels: int = DEFAULT_MAX_DECODED_PIXELS,
) -> Tuple[np.ndarray, int]:
    """Decode ``source`` to its stored (not yet oriented) pixels as ``H x W x 4`` uint8 RGBA, plus the EXIF
    orientation (1-8, 1 when absent or invalid). This is what the Android port receives from Android's decoder."""
    pixels, orientation = _decode(source, max_pixels, target, max_decoded_pixels)
    if pixels.shape[2] == 3:
        pixels = np.concatenate([pixels, np.full(pixels.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return pixels, orientation


def _decode(source: ImageSource, max_pixels: int, target: Optional[Target] = None,
            max_decoded: int = DEFAULT_MAX_DECODED_PIXELS) -> Tuple[np.ndarray, int]:
    """Decode to stored pixels, ``H x W x 3`` (opaque modes) or ``H x W x 4`` (modes with alpha), plus orientation."""
    name = _describe(source)
    if isinstance(source, Image.Image):
        return _pillow_to_rgba(source, name, max_pixels, target, max_decoded)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ImageError(f"{name}: the image data is empty (0 bytes).")
        stream = io.BytesIO(data)
        return _open_and_convert(stream, name, max_pixels, target, max_decoded)
    path = Path(source)
    if not path.exists():
        raise ImageError(f"{path}: no such file. Check the path.")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file.")
    if not path.is_file():  # a pipe, FIFO or character device (`<(cat photo.jpg)`, /dev/stdin): no size to stat
        return _open_and_convert(io.BytesIO(read_stream(path)), name, max_pixels, target, max_decoded)
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes); re-copy or delete it.")
    with open(path, "rb") as stream:
        return _open_and_convert(stream, name, max_pixels, target, max_decoded)


def read_stream(path: Path, max_bytes: Optional[int] = None) -> bytes:
    """All bytes of a pipe, FIFO or character device, read once and bounded by ``max_bytes`` (default
    :data:`MAX_STREAM_BYTES`). Raises :class:`ImageError` naming ``path`` when it is empty, too long or unreadable."""
    limit = MAX_STREAM_BYTES if max_bytes is None else max_bytes
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc}); check the path and its permissions.") from exc
    if not data:
        raise ImageError(f"{path}: the stream is empty (0 bytes); check the command that writes the photo into it.")
    if len(data) > limit:
        raise ImageError(f"{path}: more than {limit} bytes, larger than any photo file; give a photo file instead.")
    return data


def _open_and_convert(stream, name: str, max_pixels: int, target: Optional[Target],
                      max_decoded: int = DEFAULT_MAX_DECODED_PIXELS) -> Tuple[np.ndarray, int]:
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                return _pillow_to_rgba(image, name, max_pixels, target, max_decoded)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(
            f"{name}: image is too large to decode safely ({exc}). Downscale it before classifying."
        ) from exc
    except UnidentifiedImageError as exc:
        if is_heif(stream, name):
            raise ImageError(f"{name}: {HEIF_HINT}") from exc
        raise ImageError(f"{name}: not a recognised image format (is it really a photo?); remove or convert it.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc}); re-export or delete it.") from exc


def is_heif(stream, name: str) -> bool:
    """Whether an undecodable photo is HEIF: by its extension, or by the ``ftyp`` brand at its start."""
    if name.lower().endswith(HEIF_EXTENSIONS):
        return True
    try:
        stream.seek(0)
        head = stream.read(12)
    except (OSError, ValueError):
        return False
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _pillow_to_rgba(
    image: Image.Image, name: str, max_pixels: int, target: Optional[Target] = None,
    max_decoded: int = DEFAULT_MAX_DECODED_PIXELS,
) -> Tuple[np.ndarray, int]:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"{name}: image has no pixels ({width}x{height}).")
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: {width}x{height} = {width * height / 1e6:.0f} megapixels exceeds the limit of "
            f"{max_pixels / 1e6:.0f} megapixels (decompression-bomb protection). Downscale the photo, or raise "
            "max_pixels if you trust it."
        )
    if image.format != "JPEG":  # decoded whole; checked before reading EXIF, which decodes a whole PNG
        _check_decoded_size(name, width, height, width, height, max_decoded)
    orientation = exif_orientation(image)
    if target is not None and image.format == "JPEG":
        upright_w, upright_h = (height, width) if orientation >= 5 else (width, height)
        scale = decode_scale(upright_w, upright_h, target[1], target[0], target[2])
        if scale > 1:
            image.draft(image.mode, (width // scale, height // scale))  # libjpeg scale_denom = scale
    _check_decoded_size(name, *image.size, width, height, max_decoded)  # after DCT scaling: what decoding makes
    image.load()  # decodes now: truncated files fail here, inside our error handling
    return to_pixel_array(to_srgb(image, name)), orientation


def _check_decoded_size(name: str, decoded_w: int, decoded_h: int, width: int, height: int, limit: int) -> None:
    if decoded_w * decoded_h <= limit:
        return
    reduced = "" if (decoded_w, decoded_h) == (width, height) else f" (reduced from {width}x{height})"
    raise ImageError(
        f"{name}: decoding it takes {decoded_w}x{decoded_h} = {decoded_w * decoded_h / 1e6:.0f} megapixels at "
        f"once{reduced}, over the limit of {limit / 1e6:.0f} megapixels for what is decoded whole (only a JPEG much "
        "larger than the model is decoded reduced). Downscale the photo (or save it as JPEG), or raise "
        "max_decoded_pixels if you trust it."
    )


#: A lattice of 9 levels per channel (0, 32, ..., 255): the colours the sRGB-equivalence test converts.
_PROBE = np.stack(np.meshgrid(*[np.minimum(np.arange(0, 257, 32), 255)] * 3, indexing="ij"), -1).reshape(1, -1, 3)
#: (profile bytes, mode) -> the transform to sRGB, None for an sRGB-equivalent profile, or the reason it is unusable.
#: Building a transform costs milliseconds; the photos of one camera share their profile.
_TRANSFORMS: Dict[Tuple[bytes, str], Union[object, None, str]] = {}
_TRANSFORMS_LOCK = threading.Lock()
_NOT_BUILT = object()
_MAX_TRANSFORMS = 32


def to_srgb(image: Image.Image, name: str = "<image>") -> Image.Image:
    """Contract step 2 for ICC-profiled photos: convert ``image`` to sRGB with its embedded profile.

    Applies to RGB, RGBA, palette and CMYK images with an ``icc_profile`` (relative colorimetric intent, alpha
    kept); returns ``image`` unchanged when there is no profile, the mode is another one (greyscale), the profile is
    sRGB or within :data:`SRGB_TOLERANCE` of it on a probe of colours, the profile's colour space does not match
    the mode, or the profile is unreadable. Unreadable profiles, and any profile when Pillow lacks littlecms, are
    ignored with a ``UserWarning`` naming the file: the photo stays usable. Transforms are cached per profile.
    """
    icc = image.info.get("icc_profile")
    if icc and image.mode == "P":  # palette colours are RGB: convert them as such (what Android's decoder does)
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if not icc or image.mode not in ICC_MODES:
        return image
    if ImageCms is None:
        warnings.warn(f"{name}: has an ICC colour profile but this Pillow has no littlecms (ImageCms); the profile "
                      "is ignored, so colours may differ from the phone. Install Pillow from its wheels.", UserWarning)
        return image
    key = (bytes(icc), image.mode)
    with _TRANSFORMS_LOCK:
        transform = _TRANSFORMS.get(key, _NOT_BUILT)
    if transform is _NOT_BUILT:
        transform = _build_transform(key[0], image.mode)
        with _TRANSFORMS_LOCK:
            if len(_TRANSFORMS) >= _MAX_TRANSFORMS:
                _TRANSFORMS.clear()
            _TRANSFORMS[key] = transform
    if isinstance(transform, str):
        warnings.warn(f"{name}: its ICC colour profile is unreadable or not for its colours ({transform}); "
                      "the profile is ignored and the stored values are used as sRGB.", UserWarning)
        return image
    if transform is None:
        return image  # an sRGB profile (or close enough): keep the stored pixels
    return ImageCms.applyTransform(image, transform)


def _build_transform(icc: bytes, mode: str) -> Union[object, None, str]:
    """The transform of :func:`to_srgb` for profile ``icc`` and ``mode``; None if sRGB-equivalent; else why not."""
    # Relative colorimetric, what Android's decoder (skcms) does; Pillow < 10 names the constants INTENT_*/FLAGS.
    intent = getattr(getattr(ImageCms, "Intent", None), "RELATIVE_COLORIMETRIC", None)
    intent = ImageCms.INTENT_RELATIVE_COLORIMETRIC if intent is None else intent
    no_cache = 0x0040  # cmsFLAGS_NOCACHE: the cached transform is shared by decoding threads
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        transform = ImageCms.buildTransform(profile, srgb, mode, "RGBA" if mode == "RGBA" else "RGB",
                                            renderingIntent=intent, flags=no_cache)
        if mode != "CMYK":
            probe = Image.fromarray(_PROBE.astype(np.uint8), "RGB").convert(mode)
            moved = np.asarray(ImageCms.applyTransform(probe, transform).convert("RGB"), np.int16) - _PROBE
            if np.abs(moved).max() <= SRGB_TOLERANCE:
                return None
        return transform
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        return str(exc)[:120] or type(exc).__name__


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation of ``image`` (1-8); 1 when the tag is missing or invalid."""
    try:
        value = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except Exception:  # malformed EXIF must not make a good photo unusable
        return 1
    try:
        value = int(value)
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def to_pixel_array(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to 8-bit pixels following the contract's mode rules.

    Returns ``H x W x 4`` straight-alpha RGBA for modes with transparency (``RGBA``, ``LA``, ``PA``, ``RGBa``,
    ``La``, palette with a transparency entry), else ``H x W x 3`` RGB:

    * 16- and 32-bit integer grayscale (``I;16*``, ``I``): clipped to 0..65535, then the high byte (``v >> 8``).
    * 8-bit grayscale: the value repeated in R, G and B.
    * 1-bit, palette, CMYK, YCbCr, LAB, HSV, float: Pillow's own conversion to RGB(A).
    """
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image).astype(np.int64)
        return _gray_to_rgb((np.clip(values, 0, 65535) >> 8).astype(np.uint8))
    if mode in ("F", "1"):
        return _gray_to_rgb(np.asarray(image.convert("L"), dtype=np.uint8))
    if mode == "L":
        return _gray_to_rgb(np.asarray(image, dtype=np.uint8))
    if mode == "RGB":
        return np.asarray(image, dtype=np.uint8)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        return np.asarray(image if mode == "RGBA" else image.convert("RGBA"), dtype=np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, None], 3, axis=2)


def composite_rgba(rgba: np.ndarray, background: Tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Composite straight-alpha RGBA on an opaque ``background``: ``(c*a + bg*(255-a) + 127) // 255`` per channel.

    Fully opaque pixels are returned unchanged; the result is ``H x W x 3`` uint8.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected H x W x 4 uint8 RGBA, got {rgba.shape} {rgba.dtype}")
    alpha = rgba[..., 3]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgba[..., :3])
    a = alpha.astype(np.int32)[..., None]
    bg = np.asarray(background, dtype=np.int32).reshape(1, 1, 3)
    out = (rgba[..., :3].astype(np.int32) * a + bg * (255 - a) + 127) // 255
    return out.astype(np.uint8)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Re-index stored pixels so the photo is upright, for EXIF orientation 1-8 (same result as Pillow's
    ``ImageOps.exif_transpose``). Works on any ``H x W x C`` array; returns a C-contiguous array."""
    if orientation == 2:
        out = pixels[:, ::-1]
    elif orientation == 3:
        out = pixels[::-1, ::-1]
    elif orientation == 4:
        out = pixels[::-1]
    elif orientation == 5:
        out = pixels.transpose(1, 0, 2)
    elif orientation == 6:
        out = pixels.transpose(1, 0, 2)[:, ::-1]
    elif orientation == 7:
        out = pixels.transpose(1, 0, 2)[::-1, ::-1]
    elif orientation == 8:
        out = pixels.transpose(1, 0, 2)[::-1]
    else:
        out = pixels
    return np.ascontiguousarray(out)


def _describe(source: ImageSource) -> str:
    if isinstance(source, Image.Image):
        return getattr(source, "filename", "") or "<image>"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<image bytes>"
    return str(source)
