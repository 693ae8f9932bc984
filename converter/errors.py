"""Errors raised by the converter. Every message names the file involved and says what to do."""
from __future__ import annotations

from common.errors import EdgeKitError


class ConvertError(EdgeKitError, ValueError):
    """The run folder, the model, the calibration photos or an option cannot be used for conversion."""


class AccuracyGateError(EdgeKitError):
    """The int8 model lost more top-1 accuracy than allowed. The files written are complete and stay on disk."""

    def __init__(self, message: str, drop_points: float, limit_points: float) -> None:
        super().__init__(message)
        self.drop_points = drop_points
        self.limit_points = limit_points
