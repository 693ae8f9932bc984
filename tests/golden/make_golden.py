"""Generate the preprocessing contract's golden vectors (``tests/golden/``).

Run from the repository root:  ``python tests/golden/make_golden.py``

Every case is a synthetic image made here (no external data), saved as a source file (PNG, lossless, or JPEG for the
decoder-dependent cases), plus:

* ``<case>.rgba.gz``: stored pixels after mode conversion, before alpha and orientation (raw H x W x 4 bytes, gzip): the
  input of the Kotlin port, which receives its pixels from Android's decoder;
* ``<case>.out``: the contract's output (raw out_h x out_w x 3 bytes);
* ``manifest.json``: sizes, orientation, crop, background and SHA-256 of each output.

The expected outputs come from ``device.preprocess`` (whose resize is Pillow's: ``pillow-bilinear``);
``tests/device/test_preprocess_contract.py`` checks them against an independent reference written from
``docs/preprocessing.md``, so a regression cannot hide behind regenerated files. Cases named ``v1_*`` use contract
version 1's resize (``box-bilinear-int``), which runtimes still apply to models made with it.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from device.image_decode import apply_orientation, composite_rgba, decode_rgba  # noqa: E402
from device.preprocess import CONTRACT_VERSION, PreprocessConfig, load_and_preprocess, preprocess  # noqa: E402
from device.resize import LEGACY_RESIZE_FILTER  # noqa: E402


def zone_plate(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = h / 2, w / 2
    r2 = ((x - cx) ** 2 + (y - cy) ** 2) / max(h, w)
    base = (127.5 + 127.5 * np.cos(np.pi * r2 * 0.9)).astype(np.uint8)
    return np.stack([base, base[::-1], base[:, ::-1]], axis=2)


def checker(h: int, w: int, cell: int = 1) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    c = (((x // cell) + (y // cell)) % 2 * 255).astype(np.uint8)
    return np.stack([c, 255 - c, (x * 255 // max(1, w - 1)).astype(np.uint8)], axis=2)


def lines(h: int, w: int) -> np.ndarray:
    img = np.full((h, w, 3), 30, np.uint8)
    img[::3, :, 0] = 250
    img[:, ::5, 1] = 220
    img[np.arange(min(h, w)), np.arange(min(h, w)), 2] = 255
    return img


def noise(h: int, w: int, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def gradient(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack(
        [(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)), ((x + y) * 255 // max(1, w + h - 2))], axis=2
    ).astype(np.uint8)


def arrow(h: int, w: int) -> np.ndarray:
    """Asymmetric content so that every EXIF orientation gives a different result."""
    img = gradient(h, w)
    img[: h // 4, : w // 3] = (255, 0, 0)
    img[h // 2 :, w - w // 5 :] = (0, 0, 255)
    return img


def encode(image: Image.Image, fmt: str, orientation: int = 1) -> bytes:
    buf = io.BytesIO()
    kwargs = {}
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    if fmt == "JPEG":
        kwargs["quality"] = 92
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def rgba_image(h: int, w: int) -> Image.Image:
    rgb = zone_plate(h, w)
    y, x = np.mgrid[0:h, 0:w]
    alpha = ((x * 255) // max(1, w - 1)).astype(np.uint8)
    alpha[: h // 3] = 0
    alpha[-(h // 4) :] = 255
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def palette_image(h: int, w: int, transparent: bool) -> Image.Image:
    img = Image.fromarray(checker(h, w, 3)).convert("P", palette=Image.ADAPTIVE, colors=16)
    if transparent:
        img.info["transparency"] = 0
    return img


def gray16_image(h: int, w: int) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    values = ((x * 65535) // max(1, w - 1) ^ (y * 97)) & 0xFFFF
    return Image.fromarray(values.astype(np.uint16))


# name -> (image factory, format, orientation, config)
Case = Dict[str, object]


def cases() -> List[Case]:
    out: List[Case] = []

    def add(name: str, make: Callable[[], Image.Image], fmt: str = "PNG", orientation: int = 1, **cfg) -> None:
        out.append({"name": name, "make": make, "format": fmt, "orientation": orientation,
                    "config": PreprocessConfig(**cfg)})

    add("checker_1px_640x480_224", lambda: Image.fromarray(checker(480, 640)), height=224, width=224)
    add("zone_plate_701x523_224", lambda: Image.fromarray(zone_plate(523, 701)), height=224, width=224)
    add("zone_plate_701x523_224_stretch", lambda: Image.fromarray(zone_plate(523, 701)), height=224, width=224,
        crop="stretch")
    add("lines_prime_331x199_96", lambda: Image.fromarray(lines(199, 331)), height=96, width=96)
    add("noise_upscale_37x23_224", lambda: Image.fromarray(noise(23, 37)), height=224, width=224)
    add("noise_tiny_1x1_96", lambda: Image.fromarray(noise(1, 1)), height=96, width=96)
    add("noise_nonsquare_model_500x300_160x128", lambda: Image.fromarray(noise(300, 500, 3)), height=128,
        width=160)
    add("lines_extreme_aspect_2000x45_128", lambda: Image.fromarray(lines(45, 2000)), height=128, width=128)
    add("lines_extreme_aspect_2000x45_128_stretch", lambda: Image.fromarray(lines(45, 2000)), height=128,
        width=128, crop="stretch")
    add("checker_large_downscale_1999x2503_224", lambda: Image.fromarray(checker(2503, 1999, 2)), height=224,
        width=224)
    add("exact_size_224x224_224", lambda: Image.fromarray(noise(224, 224, 5)), height=224, width=224)
    add("exact_double_448x448_224", lambda: Image.fromarray(noise(448, 448, 6)), height=224, width=224)
    for orientation in range(1, 9):
        add(f"exif_orientation_{orientation}_123x77_64", lambda: Image.fromarray(arrow(77, 123)),
            orientation=orientation, height=64, width=64, crop="stretch")
        add(f"exif_orientation_{orientation}_123x77_64_center", lambda: Image.fromarray(arrow(77, 123)),
            orientation=orientation, height=64, width=64)
    add("rgba_partial_alpha_301x211_96", lambda: rgba_image(211, 301), height=96, width=96)
    add("rgba_partial_alpha_black_background_301x211_96", lambda: rgba_image(211, 301), height=96, width=96,
        background=(0, 0, 0))
    add("grayscale_8bit_257x190_96", lambda: Image.fromarray(zone_plate(190, 257)[..., 0], "L"), height=96,
        width=96)
    add("grayscale_16bit_250x180_96", lambda: gray16_image(180, 250), height=96, width=96)
    add("palette_143x101_96", lambda: palette_image(101, 143, False), height=96, width=96)
    add("palette_transparent_143x101_96", lambda: palette_image(101, 143, True), height=96, width=96)
    add("jpeg_exif6_640x480_224", lambda: Image.fromarray(arrow(480, 640)), fmt="JPEG", orientation=6,
        height=224, width=224)
    add("jpeg_dct_scaled_1920x1440_224", lambda: Image.fromarray(zone_plate(1440, 1920)), fmt="JPEG", height=224,
        width=224)
    # Contract version 1's resize, for models made with it: a few cases covering its integer paths (upscale,
    # int32 and exact-float numerators, orientation, alpha, stretch).
    v1 = dict(resize=LEGACY_RESIZE_FILTER)
    add("v1_checker_1px_640x480_224", lambda: Image.fromarray(checker(480, 640)), height=224, width=224, **v1)
    add("v1_checker_large_downscale_1999x2503_224", lambda: Image.fromarray(checker(2503, 1999, 2)), height=224,
        width=224, **v1)
    add("v1_lines_prime_331x199_96", lambda: Image.fromarray(lines(199, 331)), height=96, width=96, **v1)
    add("v1_lines_extreme_aspect_2000x45_128_stretch", lambda: Image.fromarray(lines(45, 2000)), height=128,
        width=128, crop="stretch", **v1)
    add("v1_noise_upscale_37x23_224", lambda: Image.fromarray(noise(23, 37)), height=224, width=224, **v1)
    add("v1_exif_orientation_6_123x77_64_center", lambda: Image.fromarray(arrow(77, 123)), orientation=6,
        height=64, width=64, **v1)
    return out


def main() -> None:
    manifest = {"contract": PreprocessConfig().to_dict()["contract"], "version": CONTRACT_VERSION, "cases": []}
    for old in HERE.glob("*"):
        if old.suffix in (".png", ".jpg", ".gz", ".out"):
            old.unlink()
    for case in cases():
        name = str(case["name"])
        config: PreprocessConfig = case["config"]  # type: ignore[assignment]
        image: Image.Image = case["make"]()  # type: ignore[operator]
        ext = "jpg" if case["format"] == "JPEG" else "png"
        data = encode(image, str(case["format"]), int(case["orientation"]))  # type: ignore[arg-type]
        (HERE / f"{name}.{ext}").write_bytes(data)
        rgba, orientation = decode_rgba(data, target=config.target)
        assert orientation == case["orientation"], (name, orientation)
        expected = preprocess(apply_orientation(composite_rgba(rgba, config.background), orientation), config)
        assert np.array_equal(expected, load_and_preprocess(data, config)), name
        (HERE / f"{name}.rgba.gz").write_bytes(gzip.compress(rgba.tobytes(), compresslevel=9, mtime=0))
        (HERE / f"{name}.out").write_bytes(expected.tobytes())
        manifest["cases"].append({
            "name": name,
            "source": f"{name}.{ext}",
            "stored_width": int(rgba.shape[1]),
            "stored_height": int(rgba.shape[0]),
            "orientation": orientation,
            "config": config.to_dict(),
            "rgba": f"{name}.rgba.gz",
            "expected": f"{name}.out",
            "expected_sha256": hashlib.sha256(expected.tobytes()).hexdigest(),
        })
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
    print(f"wrote {len(manifest['cases'])} cases to {HERE} ({total / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
