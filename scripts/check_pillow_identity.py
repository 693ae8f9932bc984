"""Check that the preprocessing contract's bytes do not depend on the Pillow version.

    python scripts/check_pillow_identity.py        # with the python of a venv that has numpy and one Pillow version

Runs every golden case of ``tests/golden/`` (from its raw RGBA, and from its PNG source) and 400 random resizes with
each of Pillow's filters of the contract (``pillow-reduce-bilinear``, ``pillow-bilinear``), and prints the Pillow
version, the goldens that differ and a digest of the random resizes. Run it in small venvs with only numpy and one
Pillow each (e.g. 9.1.0, edge-kit's minimum, up to the newest): every version must print no differing golden and
the same digests. Needs nothing but numpy and Pillow (the repository's ``device`` package is imported from here).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import PIL

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from device.image_decode import apply_orientation, composite_rgba  # noqa: E402
from device.preprocess import PreprocessConfig, load_and_preprocess, preprocess  # noqa: E402
from device.resize import RESIZE_FILTER, V2_RESIZE_FILTER, resize_uint8  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"


def main() -> int:
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    differ = []
    for case in manifest["cases"]:
        config = PreprocessConfig.from_dict(case["config"])
        expected = (GOLDEN / case["expected"]).read_bytes()
        rgba = np.frombuffer(gzip.decompress((GOLDEN / case["rgba"]).read_bytes()), np.uint8)
        rgba = rgba.reshape(case["stored_height"], case["stored_width"], 4)
        upright = apply_orientation(composite_rgba(rgba, config.background), case["orientation"])
        if preprocess(upright, config).tobytes() != expected:
            differ.append(f"{case['name']} (from its RGBA)")
        # JPEG decoders are not part of the identity promise; PNG decoding is.
        if not case["source"].endswith(".jpg") and load_and_preprocess(GOLDEN / case["source"], config).tobytes() != expected:
            differ.append(f"{case['name']} (from its file)")
    rng = np.random.default_rng(2026)
    digests = {RESIZE_FILTER: hashlib.sha256(), V2_RESIZE_FILTER: hashlib.sha256()}
    for i in range(400):
        out_h, out_w = (int(v) for v in rng.integers(1, 64, 2))
        if i % 4 == 0:  # any size, upscales included
            h, w = (int(v) for v in rng.integers(1, 200, 2))
        else:  # reductions by 1-11 per axis with a remainder: every block shape of Pillow's reduce
            h = out_h * int(rng.integers(1, 12)) + int(rng.integers(0, out_h))
            w = out_w * int(rng.integers(1, 12)) + int(rng.integers(0, out_w))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for name, digest in digests.items():
            digest.update(resize_uint8(img, out_h, out_w, name).tobytes())
    print(f"Pillow {PIL.__version__}, numpy {np.__version__}: {len(manifest['cases'])} golden cases, "
          f"{len(differ)} differ{': ' + ', '.join(differ) if differ else ''}")
    for name, digest in digests.items():
        print(f"  400 random resizes, {name}: sha256 {digest.hexdigest()}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
