"""Tiny synthetic photo folders for trainer tests (Pillow only)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable

import numpy as np
from PIL import Image


def write_photo(path: Path, seed: int, mode: str = "RGB", size=(24, 18), fmt: str = "JPEG") -> Path:
    """A small random photo in ``mode`` (RGB, L, P, RGBA, CMYK, I;16)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rgb = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65536, (size[1], size[0]), dtype=np.uint16)).convert("I;16")
        fmt = "PNG"
    elif mode == "P":
        image = rgb.convert("P", palette=Image.Palette.ADAPTIVE)
        fmt = "PNG" if fmt == "JPEG" else fmt
    elif mode == "RGBA":
        image = rgb.convert("RGBA")
        fmt = "PNG"
    else:
        image = rgb.convert(mode)
    image.save(path, format=fmt)
    return path


def make_class_folders(root: Path, counts: Dict[str, int], start_seed: int = 0) -> Path:
    """``root/<class>/img_<i>.jpg`` with ``counts[class]`` photos each."""
    seed = start_seed
    for name, n in counts.items():
        for i in range(n):
            write_photo(root / name / f"img_{i:03d}.jpg", seed)
            seed += 1
    return root


def link_photos(source: Path, dest: Path, classes: Iterable[str], per_class: int) -> Path:
    """A folder of symlinks to the first ``per_class`` photos of each class of ``source`` (no copies)."""
    for name in classes:
        (dest / name).mkdir(parents=True, exist_ok=True)
        for photo in sorted((source / name).iterdir())[:per_class]:
            (dest / name / photo.name).symlink_to(photo)
    return dest
