"""Errors raised by edge-kit's device runtime and preprocessing contract.

Every message names the offending file and says what to do about it; callers show ``str(error)`` as is.
"""
from __future__ import annotations

from common.errors import EdgeKitError


class ImageError(EdgeKitError, ValueError):
    """A photo could not be decoded: missing, empty, corrupt, truncated, not an image, or too large."""


class ModelError(EdgeKitError, ValueError):
    """A ``.tflite`` model (or its labels or metadata) cannot be used."""
