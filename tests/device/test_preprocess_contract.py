"""The preprocessing contract: golden vectors, an independent reference, and the awkward photos users have."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from device.errors import ImageError
from device.image_decode import apply_orientation, composite_rgba, decode_image, decode_rgba
from device.preprocess import PreprocessConfig, load_and_preprocess, preprocess
from device.resize import box_factor, crop_box, resize_uint8

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())


def reference_resize(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """docs/preprocessing.md step 6 written as dense integer weight matrices: slow, obvious, independent."""

    def weights(src: int, dst: int):
        k = box_factor(src, dst)
        s, off = src // k, (src % k) // 2
        box = np.zeros((s, src), np.int64)
        for i in range(s):
            box[i, off + i * k : off + (i + 1) * k] = 1
        bil = np.zeros((dst, s), np.int64)
        for i in range(dst):
            n = max((2 * i + 1) * s - dst, 0)
            x0 = n // (2 * dst)
            f = n - x0 * 2 * dst
            bil[i, x0] += 2 * dst - f
            bil[i, min(x0 + 1, s - 1)] += f
        return bil @ box, k * 2 * dst

    wy, dy = weights(img.shape[0], out_h)
    wx, dx = weights(img.shape[1], out_w)
    rows = np.tensordot(wy, img.astype(np.int64), axes=(1, 0))  # out_h x W x C
    num = np.tensordot(rows, wx, axes=(1, 1)).transpose(0, 2, 1)  # out_h x out_w x C
    den = dx * dy
    return ((num + den // 2) // den).astype(np.uint8)


@pytest.mark.parametrize(
    "shape,out",
    [((7, 5), (3, 4)), ((100, 37), (17, 50)), ((31, 300), (96, 96)), ((5, 5), (9, 2)), ((1, 1), (3, 3)),
     ((480, 480), (224, 224)), ((449, 447), (224, 224)), ((1000, 777), (96, 160)), ((50, 3000), (20, 20)),
     ((800, 800), (96, 96))],  # the last needs numerators beyond int32: the float64 route
)
def test_resize_equals_the_written_definition(shape, out):
    img = np.random.default_rng(sum(shape)).integers(0, 256, shape + (3,), dtype=np.uint8)
    assert np.array_equal(resize_uint8(img, *out), reference_resize(img, *out))


def test_resize_keeps_flat_colours_exact_even_for_huge_downscales():
    for value in (0, 1, 128, 254, 255):
        img = np.full((3001, 4003, 3), value, np.uint8)
        assert np.all(resize_uint8(img, 224, 224) == value)


def test_large_downscale_does_not_alias():
    """A 1-pixel checkerboard must become flat grey, not a moire pattern (the plain-bilinear failure)."""
    y, x = np.mgrid[0:3000, 0:4000]
    board = np.repeat((((x + y) % 2) * 255).astype(np.uint8)[..., None], 3, axis=2)
    out = resize_uint8(board, 224, 224).astype(int)
    assert abs(out.mean() - 127.5) < 1 and out.std() < 3
    # What a plain 2-tap bilinear resize (OpenCV INTER_LINEAR, tf.image.resize without antialias) does instead:
    ys = ((np.arange(224) + 0.5) * 3000 / 224 - 0.5).astype(int)
    xs = ((np.arange(224) + 0.5) * 4000 / 224 - 0.5).astype(int)
    sampled = board[ys][:, xs].astype(int)
    assert sampled.std() > 100


def test_crop_box_center_and_stretch():
    assert crop_box(640, 480, 224, 224, "center") == (80, 0, 480, 480)
    assert crop_box(480, 640, 224, 224, "center") == (0, 80, 480, 480)
    assert crop_box(500, 300, 160, 128, "center") == (62, 0, 375, 300)
    assert crop_box(640, 480, 224, 224, "stretch") == (0, 0, 640, 480)
    with pytest.raises(ValueError, match="crop"):
        crop_box(10, 10, 5, 5, "zoom")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow_exif_transpose(orientation):
    stored = np.random.default_rng(orientation).integers(0, 256, (5, 9, 3), dtype=np.uint8)
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(buf, "PNG", exif=exif.tobytes())
    upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue()))))
    assert np.array_equal(apply_orientation(stored, orientation), upright)
    assert np.array_equal(decode_image(buf.getvalue()), upright)


def test_alpha_composite_formula():
    rgba = np.array([[[200, 100, 0, 0], [200, 100, 0, 255], [200, 100, 0, 128]]], np.uint8)
    out = composite_rgba(rgba, (255, 255, 255))
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[0, 1].tolist() == [200, 100, 0]
    assert out[0, 2].tolist() == [(200 * 128 + 255 * 127 + 127) // 255, (100 * 128 + 255 * 127 + 127) // 255,
                                  (255 * 127 + 127) // 255]


@pytest.mark.parametrize("case", MANIFEST["cases"], ids=lambda c: c["name"])
def test_golden_vectors(case):
    """Each golden source file preprocesses to the committed bytes, from the file and from the raw RGBA."""
    config = PreprocessConfig.from_dict(case["config"])
    expected = (GOLDEN / case["expected"]).read_bytes()
    assert hashlib.sha256(expected).hexdigest() == case["expected_sha256"]
    out = load_and_preprocess(GOLDEN / case["source"], config)
    assert out.shape == (config.height, config.width, 3) and out.dtype == np.uint8
    assert out.tobytes() == expected
    rgba = np.frombuffer(gzip.decompress((GOLDEN / case["rgba"]).read_bytes()), np.uint8)
    rgba = rgba.reshape(case["stored_height"], case["stored_width"], 4)
    stored, orientation = decode_rgba(GOLDEN / case["source"], target=config.target)
    assert orientation == case["orientation"]
    if not case["source"].endswith(".jpg"):  # PNG decoding is exact; JPEG decoders may differ slightly
        assert np.array_equal(stored, rgba)
    upright = apply_orientation(composite_rgba(rgba, config.background), case["orientation"])
    assert preprocess(upright, config).tobytes() == expected
    x0, y0, cw, ch = crop_box(upright.shape[1], upright.shape[0], config.width, config.height, config.crop)
    assert np.array_equal(out, reference_resize(upright[y0 : y0 + ch, x0 : x0 + cw], config.height, config.width))


def test_golden_covers_what_the_contract_promises():
    names = " ".join(c["name"] for c in MANIFEST["cases"])
    assert {c["orientation"] for c in MANIFEST["cases"]} == set(range(1, 9))
    for needed in ("rgba", "grayscale_8bit", "grayscale_16bit", "palette_transparent", "stretch", "upscale",
                   "large_downscale", "checker_1px", "jpeg"):
        assert needed in names


def _save(path: Path, image: Image.Image, fmt: str = "PNG") -> Path:
    image.save(path, fmt)
    return path


def test_modes_become_rgb(tmp_path):
    gray = _save(tmp_path / "g.png", Image.new("L", (8, 6), 77))
    assert decode_image(gray)[0, 0].tolist() == [77, 77, 77]
    g16 = _save(tmp_path / "g16.png", Image.fromarray(np.full((6, 8), 0xABCD, np.uint16)))
    assert decode_image(g16)[0, 0].tolist() == [0xAB] * 3
    cmyk = _save(tmp_path / "c.jpg", Image.new("CMYK", (8, 6), (0, 255, 255, 0)), "JPEG")
    r, g, b = decode_image(cmyk)[3, 4].tolist()
    assert r > 200 and g < 60 and b < 60  # red stays red
    pal = Image.new("P", (8, 6), 1)
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    assert decode_image(_save(tmp_path / "p.png", pal))[0, 0].tolist() == [10, 200, 30]
    transparent = _save(tmp_path / "t.png", Image.new("RGBA", (8, 6), (0, 0, 0, 0)))
    assert decode_image(transparent)[0, 0].tolist() == [255, 255, 255]
    assert decode_image(transparent, background=(0, 128, 0))[0, 0].tolist() == [0, 128, 0]
    one_bit = _save(tmp_path / "b.png", Image.new("1", (8, 6), 1))
    assert decode_image(one_bit)[0, 0].tolist() == [255, 255, 255]


def test_bad_images_raise_errors_that_name_the_file(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    good = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(good, "JPEG")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    for path, words in [(empty, "empty"), (text, "not a recognised image"), (truncated, "truncated"),
                        (tmp_path / "missing.jpg", "no such file"), (tmp_path, "folder")]:
        with pytest.raises(ImageError, match=words) as info:
            decode_image(path)
        assert str(path) in str(info.value)


def test_decompression_bomb_limit(tmp_path):
    path = _save(tmp_path / "big.png", Image.new("L", (3000, 2000)))
    with pytest.raises(ImageError, match="megapixels") as info:
        decode_image(path, max_pixels=5_000_000)
    assert "big.png" in str(info.value)
    assert decode_image(path, max_pixels=6_000_000).shape == (2000, 3000, 3)


def test_large_jpegs_are_decoded_with_dct_scaling(tmp_path):
    """Contract step 1: a JPEG >= 2x the crop is decoded at 1/2, 1/4 or 1/8; the result stays close to a full decode."""
    from device.resize import decode_scale

    assert decode_scale(640, 480, 224, 224) == 2
    assert decode_scale(4000, 3000, 224, 224) == 8
    assert decode_scale(447, 447, 224, 224) == 1
    assert decode_scale(4000, 300, 96, 96, "stretch") == 2
    y, x = np.mgrid[0:1440, 0:1920]
    photo = np.stack([x % 256, y % 256, (x + y) // 16 % 256], axis=2).astype(np.uint8)
    path = tmp_path / "big.jpg"
    Image.fromarray(photo).save(path, quality=95)
    config = PreprocessConfig()
    assert decode_image(path, target=config.target).shape == (360, 480, 3)  # 1/4: crop 1440 // 224 = 6
    scaled = load_and_preprocess(path, config).astype(int)
    full = preprocess(decode_image(path), config).astype(int)
    assert np.abs(scaled - full).mean() < 2.0


def test_config_round_trip_and_validation():
    cfg = PreprocessConfig(height=160, width=128, crop="stretch", background=(0, 0, 0))
    assert PreprocessConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="crop"):
        PreprocessConfig(crop="fit")
    with pytest.raises(ValueError, match="newer"):
        PreprocessConfig.from_dict({**cfg.to_dict(), "version": 99})
    with pytest.raises(ValueError, match="filter"):
        PreprocessConfig(resize="bicubic")


def test_atomic_writes_leave_complete_files_with_normal_permissions(tmp_path):
    import stat

    from common.atomic import atomic_path, atomic_write_json

    target = atomic_write_json(tmp_path / "out" / "a.json", {"x": 1})
    assert json.loads(target.read_text()) == {"x": 1}
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_current_umask()
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out" / "a.json") as tmp:
            tmp.write_text('{"x": 2, "half')
            raise RuntimeError("interrupted")
    assert json.loads(target.read_text()) == {"x": 1}  # old content intact
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.json"]  # no temp file left



def _current_umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
