"""Generate the preprocessing contract's golden vectors (``tests/golden/``).

Run from the repository root:  ``python tests/golden/make_golden.py``

Every case is a synthetic image made here (no external data), saved as a source file (PNG, lossless, or JPEG for the
decoder-dependent cases; one JPEG carries a Display P3 ICC profile built here, :func:`display_p3_icc`), plus:

* ``<case>.rgba.gz``: stored pixels after mode conversion, before alpha and orientation (raw H x W x 4 bytes, gzip): the
  input of the Kotlin port, which receives its pixels from Android's decoder;
* ``<case>.out``: the contract's output (raw out_h x out_w x 3 bytes);
* ``manifest.json``: sizes, orientation, crop, background and SHA-256 of each output; for the cases whose centre
  crop does not divide, the crop box worked by hand (``crop_box``: x0, y0, width, height of the upright photo), from
  which their output is made.

The expected outputs come from ``device.preprocess`` (whose resize is Pillow's: ``pillow-reduce-bilinear``);
``tests/device/test_preprocess_contract.py`` checks them against an independent reference written from
``docs/preprocessing.md``, so a regression cannot hide behind regenerated files. Cases named ``v1_*`` and ``v2_*``
use contract version 1's resize (``box-bilinear-int``) and version 2's (``pillow-bilinear``), which runtimes still
apply to models made with them; ``reduce_*`` cases cover every block shape of version 3's box step (Pillow has
special code for 1x2, 2x1, 2x2, 1x3, 3x1, 3x3, 4x4, 5x5, 1xN, Nx1 and NxM) and its cap.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import struct

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from device.image_decode import apply_orientation, composite_rgba, decode_rgba  # noqa: E402
from device.preprocess import CONTRACT_VERSION, PreprocessConfig, load_and_preprocess, preprocess  # noqa: E402
from device.resize import LEGACY_RESIZE_FILTER, MAX_REDUCE, V2_RESIZE_FILTER, resize_uint8  # noqa: E402


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


def display_p3_icc() -> bytes:
    """A Display P3 ICC profile (v2 matrix/TRC: P3 primaries, D65 white adapted to D50 with Bradford, sRGB curve)."""
    def xyz(x, y):
        return np.array([x / y, 1.0, (1 - x - y) / y])
    prim = np.stack([xyz(0.680, 0.320), xyz(0.265, 0.690), xyz(0.150, 0.060)], axis=1)
    white = xyz(0.3127, 0.3290)
    rgb_to_xyz = prim * np.linalg.solve(prim, white)
    bradford = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    d50 = np.array([0.9642, 1.0, 0.8249])
    adapt = np.linalg.inv(bradford) @ np.diag((bradford @ d50) / (bradford @ white)) @ bradford
    colorants = adapt @ rgb_to_xyz

    def s15(v):
        return struct.pack(">i", int(round(v * 65536)))

    def xyz_tag(v):
        return b"XYZ " + bytes(4) + b"".join(s15(c) for c in v)

    desc_text = b"Display P3 (edge-kit test)\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(desc_text)) + desc_text + bytes(4 + 4 + 2 + 1 + 67)
    curve = b"para" + bytes(4) + struct.pack(">HH", 3, 0) + b"".join(
        s15(v) for v in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
    text = b"text" + bytes(4) + b"Public domain\0"
    tags = [(b"desc", desc), (b"wtpt", xyz_tag(d50)), (b"rXYZ", xyz_tag(colorants[:, 0])),
            (b"gXYZ", xyz_tag(colorants[:, 1])), (b"bXYZ", xyz_tag(colorants[:, 2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve), (b"cprt", text)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    size = 128 + len(body)
    header = (struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + bytes(12) + b"acsp"
              + bytes(4) + bytes(4) + bytes(4) + bytes(4) + bytes(8) + struct.pack(">I", 0)
              + s15(d50[0]) + s15(d50[1]) + s15(d50[2]) + bytes(4) + bytes(16) + bytes(28))
    assert len(header) == 128, len(header)
    return header + body


def colour_chart(h: int, w: int) -> np.ndarray:
    """Gradients plus saturated patches: colours a Display P3 -> sRGB conversion moves a lot."""
    img = gradient(h, w)
    img[h // 6 : h // 2, w // 8 : w // 2] = (230, 40, 40)
    img[h // 2 : h - h // 6, w // 2 : w - w // 10] = (40, 200, 60)
    img[h // 8 : h // 3, w - w // 3 : w - w // 12] = (200, 100, 50)
    return img


def encode(image: Image.Image, fmt: str, orientation: int = 1, icc_profile: bytes = b"") -> bytes:
    buf = io.BytesIO()
    kwargs = {"icc_profile": icc_profile} if icc_profile else {}
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

    def add(name: str, make: Callable[[], Image.Image], fmt: str = "PNG", orientation: int = 1, icc: str = "",
            crop_box: Optional[Tuple[int, int, int, int]] = None, **cfg) -> None:
        out.append({"name": name, "make": make, "format": fmt, "orientation": orientation, "icc": icc,
                    "crop_box": crop_box, "config": PreprocessConfig(**cfg)})

    add("checker_1px_640x480_224", lambda: Image.fromarray(checker(480, 640)), height=224, width=224)
    add("zone_plate_701x523_224", lambda: Image.fromarray(zone_plate(523, 701)), height=224, width=224)
    add("zone_plate_701x523_224_stretch", lambda: Image.fromarray(zone_plate(523, 701)), height=224, width=224,
        crop="stretch")
    add("lines_prime_331x199_96", lambda: Image.fromarray(lines(199, 331)), height=96, width=96)
    add("noise_upscale_37x23_224", lambda: Image.fromarray(noise(23, 37)), height=224, width=224)
    add("noise_tiny_1x1_96", lambda: Image.fromarray(noise(1, 1)), height=96, width=96)
    add("noise_nonsquare_model_500x300_160x128", lambda: Image.fromarray(noise(300, 500, 3)), height=128,
        width=160)
    # Centre crops whose size does not divide (non-square models), with the crop box worked by hand from
    # docs/preprocessing.md step 5 (x0, y0, width, height of the upright photo), not taken from the code: the
    # expected output is made from this box, so a crop that rounds otherwise fails here, in Python and in Kotlin.
    # Too wide: cw = floor(199 * 96 / 72) = floor(265.33) = 265, x0 = (401 - 265) // 2 = 68.
    add("crop_rounds_down_wide_401x199_96x72", lambda: Image.fromarray(zone_plate(199, 401)), height=72, width=96,
        crop_box=(68, 0, 265, 199))
    # Too tall once upright (EXIF 6 turns the stored 301x150 into 150x301): ch = floor(150 * 72 / 96) =
    # floor(112.5) = 112, y0 = (301 - 112) // 2 = 94.
    add("crop_rounds_down_tall_exif6_301x150_96x72", lambda: Image.fromarray(arrow(150, 301)), orientation=6,
        height=72, width=96, crop_box=(0, 94, 150, 112))
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
    # Decoded at full size (no DCT scaling): the JVM stand-in of Android's decoder reads these too.
    add("jpeg_srgb_320x240_224", lambda: Image.fromarray(colour_chart(240, 320)), fmt="JPEG", height=224, width=224)
    # A wide-gamut phone photo: Display P3 profile embedded; step 2 converts it to sRGB (contract version 2).
    add("jpeg_display_p3_320x240_224", lambda: Image.fromarray(colour_chart(240, 320)), fmt="JPEG",
        icc="display_p3", height=224, width=224)
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
    # Contract version 2's resize: the cases that cover its paths (both axes, one axis, upscale, orientation, alpha,
    # stretch, a large downscale).
    v2 = dict(resize=V2_RESIZE_FILTER)
    add("v2_checker_1px_640x480_224", lambda: Image.fromarray(checker(480, 640)), height=224, width=224, **v2)
    add("v2_checker_large_downscale_1999x2503_224", lambda: Image.fromarray(checker(2503, 1999, 2)), height=224,
        width=224, **v2)
    add("v2_lines_extreme_aspect_2000x45_128_stretch", lambda: Image.fromarray(lines(45, 2000)), height=128,
        width=128, crop="stretch", **v2)
    add("v2_lines_prime_331x199_96", lambda: Image.fromarray(lines(199, 331)), height=96, width=96, **v2)
    add("v2_noise_upscale_37x23_224", lambda: Image.fromarray(noise(23, 37)), height=224, width=224, **v2)
    add("v2_noise_nonsquare_model_200x120_80x64", lambda: Image.fromarray(noise(120, 200, 3)), height=64,
        width=80, **v2)
    add("v2_exif_orientation_6_123x77_64_center", lambda: Image.fromarray(arrow(77, 123)), orientation=6,
        height=64, width=64, **v2)
    add("v2_rgba_partial_alpha_301x211_96", lambda: rgba_image(211, 301), height=96, width=96, **v2)
    # Version 3's box step: every block shape Pillow's reduce has its own code for (noise: every rounding case of
    # the block sums), with sizes that leave a remainder to trim; the reduced size equal to the model's (no
    # bilinear pass) or not. Stretch crops give different factors per axis.
    for kx, ky, seed in ((2, 2, 11), (3, 3, 12), (4, 4, 13), (5, 5, 14), (7, 7, 15), (2, 1, 16), (1, 2, 17),
                         (3, 1, 18), (1, 3, 19), (9, 1, 20), (1, 9, 21), (4, 3, 22), (6, 11, 23)):
        w, h = 40 * kx + 1 + kx // 2, 40 * ky + 3 * (ky > 1)  # reduced to 40 or 41 per axis
        add(f"reduce_{kx}x{ky}_{w}x{h}_40", lambda w=w, h=h, seed=seed: Image.fromarray(noise(h, w, seed)),
            height=40, width=40, crop="stretch")
    # The box step on rotated and mirrored photos (the Kotlin port walks the stored pixels in every direction).
    for orientation in range(1, 9):
        add(f"reduce_exif_orientation_{orientation}_263x167_64", lambda: Image.fromarray(arrow(167, 263)),
            orientation=orientation, height=64, width=64)
    # The cap: 300 // 3 = 100 > MAX_REDUCE, so 64x64 blocks of the centred 256x256, then the bilinear 4 -> 3.
    assert 300 // 3 > MAX_REDUCE
    add("reduce_capped_300x300_3", lambda: Image.fromarray(noise(300, 300, 24)), height=3, width=3)
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
        icc = display_p3_icc() if case["icc"] == "display_p3" else b""
        data = encode(image, str(case["format"]), int(case["orientation"]), icc)  # type: ignore[arg-type]
        (HERE / f"{name}.{ext}").write_bytes(data)
        rgba, orientation = decode_rgba(data, target=config.target)
        assert orientation == case["orientation"], (name, orientation)
        upright = apply_orientation(composite_rgba(rgba, config.background), orientation)
        expected = preprocess(upright, config)
        assert np.array_equal(expected, load_and_preprocess(data, config)), name
        if case["crop_box"] is not None:  # the output of the hand-worked box, whatever device.resize.crop_box says
            x0, y0, cw, ch = case["crop_box"]  # type: ignore[misc]
            by_hand = resize_uint8(upright[y0 : y0 + ch, x0 : x0 + cw], config.height, config.width, config.resize)
            if not np.array_equal(expected, by_hand):
                sys.exit(f"{name}: device.resize.crop_box disagrees with the crop box {case['crop_box']} worked by "
                         "hand (docs/preprocessing.md step 5); fix the code, not the golden case")
        (HERE / f"{name}.rgba.gz").write_bytes(gzip.compress(rgba.tobytes(), compresslevel=9, mtime=0))
        (HERE / f"{name}.out").write_bytes(expected.tobytes())
        manifest["cases"].append({
            "name": name,
            "source": f"{name}.{ext}",
            "stored_width": int(rgba.shape[1]),
            "stored_height": int(rgba.shape[0]),
            "orientation": orientation,
            **({"icc_profile": str(case["icc"])} if case["icc"] else {}),
            **({"crop_box": list(case["crop_box"])} if case["crop_box"] is not None else {}),  # type: ignore[call-overload]
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
