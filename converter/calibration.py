"""The int8 calibration set: training photos through the preprocessing contract, stratified over classes."""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Callable, Iterator, List, Sequence, Tuple

import numpy as np

from converter.errors import ConvertError

if TYPE_CHECKING:
    from converter.photos import RunPhotos


def stratified_sample(items: Sequence[Tuple[str, int]], size: int, seed: int = 0) -> List[Tuple[str, int]]:
    """Pick ``size`` items (all when fewer) spread evenly over the label indices, reproducibly for ``seed``.

    Classes are visited round-robin, each class's photos in a seeded shuffled order, so every class gets
    ``size // n_classes`` photos (or all it has) and the remainder goes to the larger classes.
    """
    rng = random.Random(seed)
    by_class: dict = {}
    for item in items:
        by_class.setdefault(item[1], []).append(item)
    queues = []
    for label in sorted(by_class):
        photos = sorted(by_class[label])
        rng.shuffle(photos)
        queues.append(photos)
    picked: List[Tuple[str, int]] = []
    depth = 0
    while len(picked) < size and any(depth < len(q) for q in queues):
        for q in queues:
            if depth < len(q) and len(picked) < size:
                picked.append(q[depth])
        depth += 1
    return picked


def load_calibration_images(photos: "RunPhotos", items: Sequence[Tuple[str, int]], size: int, seed: int = 0,
                            source: str = "splits.json") -> np.ndarray:
    """Preprocessed ``N x H x W x 3`` uint8 calibration photos: a stratified sample of ``items`` (the training
    split), read through ``photos`` (the trainer's decoded cache, else decoded; unreadable ones are left out).

    Raises :class:`ConvertError` when none is usable (the training split is empty or every photo is unreadable).
    """
    if not items:
        raise ConvertError(
            f"{source}: the training split is empty, so there are no photos to calibrate the int8 model; "
            "re-run edge-train on a folder with photos, or convert without int8 (--variants float32,float16,dynamic)."
        )
    chosen = stratified_sample(items, size, seed)
    images, _ = photos.load(chosen)
    if not len(images):
        raise ConvertError(
            f"{source}: none of the {len(chosen)} calibration photos under {photos.run.data_root} could be read; "
            "check that the photo folder still exists (splits.json \"root\") or re-run edge-train."
        )
    return images


def representative_dataset(images: np.ndarray) -> Callable[[], Iterator[List[np.ndarray]]]:
    """A TFLite ``representative_dataset``: one 1 x H x W x 3 float32 (0-255) sample per photo."""
    if len(images) == 0:
        raise ConvertError("the calibration set is empty; give at least one photo (--calibration-size)")

    def generate() -> Iterator[List[np.ndarray]]:
        for image in images:
            yield [image[None].astype(np.float32)]

    return generate
