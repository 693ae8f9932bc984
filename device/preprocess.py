"""The preprocessing contract: one definition of the pixels a model sees, shared by every part of edge-kit.

Training, evaluation, int8 calibration, the device runtime and the Android app all call this (the app through its
byte-identical Kotlin port, tested against ``tests/golden/``). Specification: ``docs/preprocessing.md``.

    decode (EXIF orientation, RGB, alpha on background)  ->  crop (center | stretch)  ->  resize (Pillow's
    fixed-point box reduction, then its bilinear)  ->  H x W x 3 uint8, values 0-255

Normalisation is *not* part of it: every edge-kit model takes 0-255 RGB and normalises inside itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Tuple

import numpy as np

from device.image_decode import DEFAULT_MAX_PIXELS, ImageSource, decode_image
from device.resize import (
    CROP_MODES,
    LEGACY_RESIZE_FILTER,
    RESIZE_FILTER,
    RESIZE_FILTERS,
    V2_RESIZE_FILTER,
    crop_box,
    resize_uint8,
)

CONTRACT_NAME = "edge-kit-preprocess"
#: Version 3 puts Pillow's box reduction before the bilinear (``pillow-reduce-bilinear``); version 2 changed the
#: resize to ``pillow-bilinear`` and converts ICC-profiled colour photos to sRGB (step 2); version 1
#: (``box-bilinear-int``). Models of every version are read and keep their resize. The ICC rule is a decoding rule
#: and applies to models of every version: it makes the photo's pixels those the phone's decoder shows.
CONTRACT_VERSION = 3
#: The resize filter each contract version defines (what a block without a ``resize`` field means).
FILTER_OF_VERSION = {1: LEGACY_RESIZE_FILTER, 2: V2_RESIZE_FILTER, 3: RESIZE_FILTER}
#: The contract version that defines each filter (what :meth:`PreprocessConfig.to_dict` records).
VERSION_OF_FILTER = {name: version for version, name in FILTER_OF_VERSION.items()}


@dataclass(frozen=True)
class PreprocessConfig:
    """Parameters of the contract. Stored as JSON (:meth:`to_dict`) in run folders and in ``.tflite`` metadata."""

    height: int = 224
    width: int = 224
    crop: str = "center"
    background: Tuple[int, int, int] = field(default=(255, 255, 255))
    resize: str = RESIZE_FILTER

    def __post_init__(self) -> None:
        if not (isinstance(self.height, int) and isinstance(self.width, int)) or self.height < 1 or self.width < 1:
            raise ValueError(f"input size must be positive integers, got {self.height}x{self.width}")
        if self.crop not in CROP_MODES:
            raise ValueError(f"unknown crop mode {self.crop!r}; use one of: {', '.join(CROP_MODES)}")
        if self.resize not in RESIZE_FILTERS:
            raise ValueError(
                f"unknown resize filter {self.resize!r}; this version implements {', '.join(RESIZE_FILTERS)}"
            )
        bg = tuple(int(c) for c in self.background)
        if len(bg) != 3 or not all(0 <= c <= 255 for c in bg):
            raise ValueError(f"background must be three values 0-255, got {self.background!r}")
        object.__setattr__(self, "background", bg)

    @property
    def size(self) -> Tuple[int, int]:
        """``(height, width)`` of the model input."""
        return self.height, self.width

    @property
    def target(self) -> Tuple[int, int, str]:
        """``(height, width, crop)``: what :func:`device.image_decode.decode_image` needs for JPEG DCT scaling."""
        return self.height, self.width, self.crop

    @property
    def version(self) -> int:
        """The contract version that defines :attr:`resize` (1 for ``box-bilinear-int``, 2 for ``pillow-bilinear``,
        3 for ``pillow-reduce-bilinear``), so that a model made with an older filter stays readable by runtimes
        that know only that version."""
        return VERSION_OF_FILTER[self.resize]

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form: ``{"contract", "version", "height", "width", "crop", "resize", "background"}``."""
        return {
            "contract": CONTRACT_NAME,
            "version": self.version,
            "height": self.height,
            "width": self.width,
            "crop": self.crop,
            "resize": self.resize,
            "background": list(self.background),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PreprocessConfig":
        """Parse :meth:`to_dict` output; refuses other contracts and newer versions with a clear message.

        A block of an older version without a ``resize`` field gets its version's filter, so its model keeps
        seeing the pixels it was trained on."""
        if data.get("contract", CONTRACT_NAME) != CONTRACT_NAME:
            raise ValueError(f"not an edge-kit preprocessing block (contract={data.get('contract')!r})")
        version = int(data.get("version", CONTRACT_VERSION))
        if version > CONTRACT_VERSION:
            raise ValueError(
                f"preprocessing contract version {version} is newer than this edge-kit ({CONTRACT_VERSION}); "
                "upgrade edge-kit"
            )
        return cls(
            height=int(data["height"]),
            width=int(data["width"]),
            crop=str(data.get("crop", "center")),
            background=tuple(data.get("background", (255, 255, 255))),  # type: ignore[arg-type]
            resize=str(data.get("resize") or FILTER_OF_VERSION.get(version, RESIZE_FILTER)),
        )


def preprocess(rgb: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Crop and resize decoded ``H x W x 3`` uint8 RGB to the model input, ``height x width x 3`` uint8.

    ``rgb`` may be any view (a camera frame with reversed channel order, ``bgr[:, :, ::-1]``, included): it is
    not copied before the resize reads it."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected H x W x 3 uint8 RGB from decode_image, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    x0, y0, crop_w, crop_h = crop_box(width, height, config.width, config.height, config.crop)
    region = rgb[y0 : y0 + crop_h, x0 : x0 + crop_w]  # a view: the resize reads the crop in place
    if region.shape[:2] == (config.height, config.width):
        return np.ascontiguousarray(region)
    return resize_uint8(region, config.height, config.width, config.resize)


def load_and_preprocess(
    source: ImageSource, config: PreprocessConfig, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Decode ``source`` and preprocess it: the model input for one photo, ``height x width x 3`` uint8."""
    rgb = decode_image(source, background=config.background, max_pixels=max_pixels, target=config.target)
    return preprocess(rgb, config)
