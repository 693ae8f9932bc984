"""The preprocessing contract: golden vectors, an independent reference, and the awkward photos users have."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from device.errors import ImageError
from device.image_decode import apply_orientation, composite_rgba, decode_image, decode_rgba
from device.preprocess import CONTRACT_VERSION, PreprocessConfig, load_and_preprocess, preprocess
from device.resize import (
    LEGACY_RESIZE_FILTER,
    MAX_REDUCE,
    RESIZE_FILTER,
    V2_RESIZE_FILTER,
    box_factor,
    crop_box,
    pillow_rgb,
    reduce_factor,
    resize_uint8,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())


def tent_taps(src: int, dst: int):
    """docs/preprocessing.md step 6 for one axis, in plain Python floats (IEEE doubles, the documented order):
    ``(first source index, fixed-point coefficients)`` of every output."""
    scale = float(src) / dst
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    inv = 1.0 / filterscale
    taps = []
    for i in range(dst):
        center = (i + 0.5) * scale
        xmin = max(0, int(center - support + 0.5))
        count = min(src, int(center + support + 0.5)) - xmin
        w = [max(0.0, 1.0 - abs((j + xmin - center + 0.5) * inv)) for j in range(count)]
        total = 0.0
        for v in w:
            total += v
        if total != 0.0:
            w = [v / total for v in w]
        taps.append((xmin, [int(0.5 + v * (1 << 22)) for v in w]))
    return taps


def reference_pillow_bilinear(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """The contract's resize (version 2) as written in docs/preprocessing.md: slow, obvious, independent of Pillow."""

    def one_pass(x: np.ndarray, dst: int) -> np.ndarray:  # along axis 0
        outs = []
        for first, coefficients in tent_taps(x.shape[0], dst):
            acc = np.full(x.shape[1:], 1 << 21, np.int64)
            for j, c in enumerate(coefficients):
                acc += x[first + j].astype(np.int64) * c
            outs.append(np.clip(acc >> 22, 0, 255))
        return np.stack(outs).astype(np.uint8)

    out = img
    if img.shape[1] != out_w:  # horizontal pass first
        out = one_pass(out.transpose(1, 0, 2), out_w).transpose(1, 0, 2)
    if img.shape[0] != out_h:
        out = one_pass(out, out_h)
    return out


def reduce_multiplier(n: int) -> int:
    """docs/preprocessing.md step 6, version 3: ``trunc(float32(2^32 / float32(256 n)))``."""
    def f32(v: float) -> float:
        return struct.unpack("f", struct.pack("f", v))[0]
    return int(f32(float(2**32) / f32(256.0 * n)))


def reference_pillow_reduce_bilinear(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """The contract's resize (version 3) as written in docs/preprocessing.md: trim to whole blocks (centred), box
    sums with Pillow's fixed-point rounding, then version 2's bilinear; independent of Pillow."""
    h, w = img.shape[:2]
    ky, kx = min(max(1, h // out_h), MAX_REDUCE), min(max(1, w // out_w), MAX_REDUCE)
    top, left = (h % ky) // 2, (w % kx) // 2
    rows, cols = h // ky, w // kx
    blocks = img[top : top + rows * ky, left : left + cols * kx].astype(np.int64)
    sums = blocks.reshape(rows, ky, cols, kx, 3).sum(axis=(1, 3))
    n = kx * ky
    reduced = (((sums + n // 2) * reduce_multiplier(n)) >> 24).astype(np.uint8)
    return reference_pillow_bilinear(reduced, out_h, out_w)


def reference_resize(img: np.ndarray, out_h: int, out_w: int, filter: str = RESIZE_FILTER) -> np.ndarray:
    """The written definition of ``filter``."""
    if filter == RESIZE_FILTER:
        return reference_pillow_reduce_bilinear(img, out_h, out_w)
    if filter == V2_RESIZE_FILTER:
        return reference_pillow_bilinear(img, out_h, out_w)
    return reference_box_bilinear_int(img, out_h, out_w)


def reference_box_bilinear_int(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Version 1's step 6 written as dense integer weight matrices: slow, obvious, independent."""

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


@pytest.mark.parametrize("filter", [RESIZE_FILTER, V2_RESIZE_FILTER, LEGACY_RESIZE_FILTER])
@pytest.mark.parametrize(
    "shape,out",
    [((7, 5), (3, 4)), ((100, 37), (17, 50)), ((31, 300), (96, 96)), ((5, 5), (9, 2)), ((1, 1), (3, 3)),
     ((480, 480), (224, 224)), ((449, 447), (224, 224)), ((1000, 777), (96, 160)), ((50, 3000), (20, 20)),
     ((800, 800), (96, 96))],  # the last needs numerators beyond int32: the float64 route
)
def test_resize_equals_the_written_definition(shape, out, filter):
    img = np.random.default_rng(sum(shape)).integers(0, 256, shape + (3,), dtype=np.uint8)
    assert np.array_equal(resize_uint8(img, *out, filter), reference_resize(img, *out, filter))


def test_pillow_bilinear_equals_the_written_definition_on_many_sizes():
    """Random sizes, up- and downscaling, each axis alone and both: Pillow's bytes are the documented ones."""
    rng = np.random.default_rng(21)
    for _ in range(60):
        h, w, out_h, out_w = (int(v) for v in rng.integers(1, 90, 4))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        assert np.array_equal(resize_uint8(img, out_h, out_w, V2_RESIZE_FILTER),
                              reference_pillow_bilinear(img, out_h, out_w)), (h, w, out_h, out_w)


def test_pillow_reduce_bilinear_equals_the_written_definition_for_every_block_shape():
    """Every block shape Pillow's reduce has its own code for (1x2 ... 5x5, 1xN, Nx1, NxM), with remainders to
    trim on either axis: Pillow's bytes are the documented ones."""
    rng = np.random.default_rng(22)
    for _ in range(120):
        kx, ky = (int(v) for v in rng.integers(1, 12, 2))
        out_h, out_w = (int(v) for v in rng.integers(1, 24, 2))
        h, w = ky * out_h + int(rng.integers(0, out_h)), kx * out_w + int(rng.integers(0, out_w))
        assert (reduce_factor(h, out_h), reduce_factor(w, out_w)) == (ky, kx)
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        assert np.array_equal(resize_uint8(img, out_h, out_w), reference_pillow_reduce_bilinear(img, out_h, out_w)), (
            h, w, out_h, out_w)


def test_reduce_factor_is_capped_where_pillows_sums_stay_exact():
    """Pillow's reduce sums a block in 32 bits and multiplies by its reciprocal: below the cap nothing overflows."""
    assert reduce_factor(10_000, 3) == MAX_REDUCE and reduce_factor(479, 224) == 2 and reduce_factor(100, 224) == 1
    n = MAX_REDUCE * MAX_REDUCE
    assert (255 * n + n // 2) * reduce_multiplier(n) < 2**32
    img = np.random.default_rng(4).integers(0, 256, (300, 290, 3), dtype=np.uint8)
    assert np.array_equal(resize_uint8(img, 2, 3), reference_pillow_reduce_bilinear(img, 2, 3))


def test_views_are_read_in_place_with_the_same_result():
    """A crop, and a BGR frame seen as RGB through a reversed-channel view, resize without being copied first and
    give the bytes of a contiguous RGB copy; views Pillow cannot read row by row (flipped rows) are copied."""
    frame = np.random.default_rng(5).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    rgb_view = frame[:, :, ::-1]  # what a camera source hands over for a BGR frame
    for view in (frame[3:40, 10:50], rgb_view, rgb_view[5:, 8:60], frame[::-1], frame[:, ::2]):
        expected = resize_uint8(np.ascontiguousarray(view), 20, 24)
        assert np.array_equal(resize_uint8(view, 20, 24), expected)
        assert np.array_equal(np.asarray(pillow_rgb(view)), view)


@pytest.mark.parametrize("filter", [RESIZE_FILTER, V2_RESIZE_FILTER, LEGACY_RESIZE_FILTER])
def test_resize_keeps_flat_colours_exact_even_for_huge_downscales(filter):
    for value in (0, 1, 128, 254, 255):
        img = np.full((3001, 4003, 3), value, np.uint8)
        assert np.all(resize_uint8(img, 224, 224, filter) == value)


@pytest.mark.parametrize("filter", [RESIZE_FILTER, V2_RESIZE_FILTER, LEGACY_RESIZE_FILTER])
def test_large_downscale_does_not_alias(filter):
    """A 1-pixel checkerboard must become flat grey, not a moire pattern (the plain-bilinear failure)."""
    y, x = np.mgrid[0:3000, 0:4000]
    board = np.repeat((((x + y) % 2) * 255).astype(np.uint8)[..., None], 3, axis=2)
    out = resize_uint8(board, 224, 224, filter).astype(int)
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


@pytest.mark.parametrize("size,model,box", [
    # too wide: crop_width = floor(199 * 96 / 72) = floor(265.33) = 265, x0 = (401 - 265) // 2 = 68
    ((401, 199), (96, 72), (68, 0, 265, 199)),
    # too tall: crop_height = floor(150 * 72 / 96) = floor(112.5) = 112, y0 = (301 - 112) // 2 = 94
    ((150, 301), (96, 72), (0, 94, 150, 112)),
    # too wide: floor(300 * 224 / 223) = floor(301.35) = 301, x0 = (640 - 301) // 2 = 169
    ((640, 300), (224, 223), (169, 0, 301, 300)),
    # too tall, almost the model's aspect: floor(100 * 3 / 7) = floor(42.86) = 42, y0 = (43 - 42) // 2 = 0
    ((100, 43), (7, 3), (0, 0, 100, 42)),
    # a crop below one pixel is one pixel: floor(1 * 5 / 7) = 0 -> 1, x0 = (9 - 1) // 2 = 4
    ((9, 1), (5, 7), (4, 0, 1, 1)),
], ids=["wide", "tall", "wide_near_square", "tall_near_aspect", "below_one_pixel"])
def test_crop_box_rounds_down_where_the_aspect_does_not_divide(size, model, box):
    """The centre crop's size rounds down (docs/preprocessing.md step 5); the values are worked by hand."""
    (width, height), (out_width, out_height) = size, model
    assert crop_box(width, height, out_width, out_height, "center") == box


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
    if "crop_box" in case:  # worked by hand in make_golden.py, where the crop does not divide
        assert (x0, y0, cw, ch) == tuple(case["crop_box"])
    region = upright[y0 : y0 + ch, x0 : x0 + cw]
    assert np.array_equal(out, reference_resize(region, config.height, config.width, config.resize))


def test_golden_covers_what_the_contract_promises():
    names = " ".join(c["name"] for c in MANIFEST["cases"])
    assert {c["orientation"] for c in MANIFEST["cases"]} == set(range(1, 9))
    for needed in ("rgba", "grayscale_8bit", "grayscale_16bit", "palette_transparent", "stretch", "upscale",
                   "large_downscale", "checker_1px", "jpeg", "v1_", "v2_", "reduce_capped"):
        assert needed in names
    for shape in ("2x2", "3x3", "4x4", "5x5", "7x7", "2x1", "1x2", "3x1", "1x3", "9x1", "1x9", "4x3"):
        assert f"reduce_{shape}_" in names
    assert MANIFEST["version"] == CONTRACT_VERSION
    assert {c["config"]["resize"] for c in MANIFEST["cases"]} == {RESIZE_FILTER, V2_RESIZE_FILTER, LEGACY_RESIZE_FILTER}
    for case in MANIFEST["cases"]:
        assert case["config"]["version"] == {"v1_": 1, "v2_": 2}.get(case["name"][:3], CONTRACT_VERSION)
    # Centre crops that round down, on each axis, with their box written down by hand (Kotlin reads them too).
    rounded = set()
    for case in MANIFEST["cases"]:
        if "crop_box" in case:
            w, h = case["stored_width"], case["stored_height"]
            w, h = (h, w) if case["orientation"] >= 5 else (w, h)
            out_w, out_h = case["config"]["width"], case["config"]["height"]
            rounded.add("width" if w * out_h > h * out_w and (h * out_w) % out_h else
                        "height" if w * out_h <= h * out_w and (w * out_h) % out_w else "exact")
    assert rounded == {"width", "height"}


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


def test_what_is_decoded_whole_is_refused_above_the_decoded_pixel_limit(tmp_path):
    """A huge PNG took seconds and more than a gigabyte to classify: a PNG is decoded whole, so beyond
    DEFAULT_MAX_DECODED_PIXELS it is refused (before anything is decoded, EXIF included); a JPEG as large is decoded
    reduced when a model input is given, and accepted."""
    from device.image_decode import DEFAULT_MAX_DECODED_PIXELS

    assert DEFAULT_MAX_DECODED_PIXELS == 40_000_000  # the number docs/preprocessing.md and the Kotlin port state
    png = _save(tmp_path / "big.png", Image.new("1", (9000, 5000)))  # 45 megapixels, a few kB
    with pytest.raises(ImageError, match=r"big\.png: decoding it takes 9000x5000 = 45 megapixels at once, over the "
                                         r"limit of 40 megapixels") as info:
        decode_image(png, target=(224, 224, "center"))
    assert "Downscale" in str(info.value)
    small = _save(tmp_path / "small.png", Image.new("L", (2000, 1000)))
    with pytest.raises(ImageError, match="2000x1000 = 2 megapixels"):
        decode_image(small, max_decoded_pixels=1_999_999)
    assert decode_image(small, max_decoded_pixels=2_000_000).shape == (1000, 2000, 3)
    jpeg = _save(tmp_path / "big.jpg", Image.new("L", (9000, 5000), 128), "JPEG")
    assert load_and_preprocess(jpeg, PreprocessConfig(224, 224)).shape == (224, 224, 3)  # decoded at 1/8
    with pytest.raises(ImageError, match="9000x5000 = 45 megapixels"):
        decode_image(jpeg)  # no model input given: it would be decoded whole


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


def test_models_of_older_contract_versions_keep_their_resize():
    """A model made before the resize changed says version 1 or 2: it gets its version's filter (the pixels it was
    trained on) and keeps saying its version; new models say version 3 and Pillow's reduce + bilinear."""
    new = PreprocessConfig()
    assert new.to_dict()["version"] == CONTRACT_VERSION == 3 and new.to_dict()["resize"] == RESIZE_FILTER
    old_block = {"contract": "edge-kit-preprocess", "version": 1, "height": 224, "width": 224, "crop": "center",
                 "resize": "box-bilinear-int", "background": [255, 255, 255]}
    old = PreprocessConfig.from_dict(old_block)
    assert old.resize == LEGACY_RESIZE_FILTER and old.to_dict() == old_block
    assert PreprocessConfig.from_dict({k: v for k, v in old_block.items() if k != "resize"}).resize == LEGACY_RESIZE_FILTER
    frame = np.random.default_rng(3).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert np.array_equal(preprocess(frame, old), reference_box_bilinear_int(frame[:, 80:560], 224, 224))
    v2_block = {**old_block, "version": 2, "resize": "pillow-bilinear"}
    v2 = PreprocessConfig.from_dict(v2_block)
    assert v2.resize == V2_RESIZE_FILTER and v2.to_dict() == v2_block
    assert PreprocessConfig.from_dict({k: v for k, v in v2_block.items() if k != "resize"}).resize == V2_RESIZE_FILTER
    assert np.array_equal(preprocess(frame, v2), reference_pillow_bilinear(frame[:, 80:560], 224, 224))
    assert np.array_equal(preprocess(frame, new), reference_pillow_reduce_bilinear(frame[:, 80:560], 224, 224))
    assert not np.array_equal(preprocess(frame, new), preprocess(frame, v2))
    with pytest.raises(ValueError, match="version 4 is newer than this edge-kit"):
        PreprocessConfig.from_dict({**old_block, "version": 4})


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


# ICC colour profiles (contract version 2): colour photos are converted to sRGB with their embedded profile.

def _jpeg_with_profile(path: Path, icc: bytes, image: Optional[Image.Image] = None) -> Path:
    image = image or Image.fromarray(np.array([[[230, 40, 40], [40, 200, 60], [128, 128, 128], [200, 100, 50]]],
                                              np.uint8).repeat(8, 0).repeat(8, 1))
    image.save(path, "JPEG", quality=95, icc_profile=icc)
    return path


def test_display_p3_golden_is_converted_to_srgb():
    """The P3 golden's stored pixels are the sRGB conversion (littlecms) of what a profile-blind decoder gives."""
    case = next(c for c in MANIFEST["cases"] if c["name"] == "jpeg_display_p3_320x240_224")
    assert case["icc_profile"] == "display_p3" and case["config"]["version"] == CONTRACT_VERSION == 3
    with Image.open(GOLDEN / case["source"]) as image:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        converted = ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB"),
                                              renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
        raw = np.asarray(image.convert("RGB"))
    stored, _ = decode_rgba(GOLDEN / case["source"])
    assert np.array_equal(stored[..., :3], np.asarray(converted))
    assert np.abs(stored[..., :3].astype(int) - raw).max() > 20  # the profile matters for saturated colours


def test_srgb_profile_keeps_the_stored_pixels(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    plain = decode_image(_jpeg_with_profile(tmp_path / "plain.jpg", b""))
    assert np.array_equal(decode_image(_jpeg_with_profile(tmp_path / "srgb.jpg", srgb)), plain)


def test_broken_or_unusable_profiles_are_ignored_with_a_warning(tmp_path):
    plain = decode_image(_jpeg_with_profile(tmp_path / "plain.jpg", b""))
    broken = _jpeg_with_profile(tmp_path / "broken.jpg", b"not an icc profile" * 10)
    with pytest.warns(UserWarning, match="broken.jpg: its ICC colour profile is unreadable"):
        assert np.array_equal(decode_image(broken), plain)
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # not an RGB profile
    with pytest.warns(UserWarning, match="ICC colour profile"):
        assert np.array_equal(decode_image(_jpeg_with_profile(tmp_path / "lab.jpg", lab)), plain)


def test_palette_photos_use_their_profile(tmp_path):
    with Image.open(GOLDEN / "jpeg_display_p3_320x240_224.jpg") as golden:
        p3 = golden.info["icc_profile"]
    palette = Image.new("RGB", (8, 6), (230, 40, 40)).convert("P", palette=Image.ADAPTIVE, colors=4)
    palette.save(tmp_path / "plain.png")
    palette.save(tmp_path / "p3.png", icc_profile=p3)
    plain, converted = decode_image(tmp_path / "plain.png"), decode_image(tmp_path / "p3.png")
    assert plain[0, 0].tolist() == [230, 40, 40] and converted[0, 0, 0] > 245 and converted[0, 0, 1] < 20


def test_greyscale_profiles_are_ignored(tmp_path):
    gray = tmp_path / "g.png"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("L", (8, 6), 77).save(gray, icc_profile=srgb)
    assert decode_image(gray)[0, 0].tolist() == [77, 77, 77]


def test_without_littlecms_the_profile_is_ignored_with_a_warning(tmp_path, monkeypatch):
    from device import image_decode

    with Image.open(GOLDEN / "jpeg_display_p3_320x240_224.jpg") as golden:
        p3 = _jpeg_with_profile(tmp_path / "p3.jpg", golden.info["icc_profile"])
    plain = decode_image(_jpeg_with_profile(tmp_path / "plain.jpg", b""))
    assert not np.array_equal(decode_image(p3), plain)
    monkeypatch.setattr(image_decode, "ImageCms", None)
    with pytest.warns(UserWarning, match="no littlecms"):
        assert np.array_equal(decode_image(p3), plain)


def test_version_1_parameters_still_load():
    old = {"contract": "edge-kit-preprocess", "version": 1, "height": 96, "width": 128, "crop": "stretch"}
    config = PreprocessConfig.from_dict(old)
    assert (config.height, config.width, config.crop) == (96, 128, "stretch")
    # A version-1 model keeps its resize and says so when written again; today's models are version 3.
    assert config.to_dict()["version"] == 1 and config.resize == LEGACY_RESIZE_FILTER
    assert PreprocessConfig(96, 128).to_dict()["version"] == CONTRACT_VERSION == 3


def test_profile_transforms_are_cached_and_shared_by_threads():
    from concurrent.futures import ThreadPoolExecutor

    from device import image_decode

    case = next(c for c in MANIFEST["cases"] if c["name"] == "jpeg_display_p3_320x240_224")
    expected = np.frombuffer(gzip.decompress((GOLDEN / case["rgba"]).read_bytes()), np.uint8)
    decode_rgba(GOLDEN / case["source"])
    cached = dict(image_decode._TRANSFORMS)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: decode_rgba(GOLDEN / case["source"])[0], range(8)))
    assert all(np.array_equal(r.reshape(-1), expected) for r in results)
    assert image_decode._TRANSFORMS == cached  # built once, then reused
