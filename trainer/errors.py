"""Errors raised by the trainer. Every message names the folder or file at fault and says how to fix it."""
from __future__ import annotations

from common.errors import EdgeKitError, EdgeKitWarning
from common.run_folder import RunFolderError  # noqa: F401  (re-exported; defined with the run folder's files)


class TrainerError(EdgeKitError):
    """Base class of the trainer's deliberate errors (bad configuration, unusable weights, ...)."""


class DatasetError(TrainerError, ValueError):
    """The photo folder cannot be trained on: missing, empty, one class, too few photos, clashing class names."""


class SkippedFilesWarning(EdgeKitWarning):
    """Some files in the photo folder could not be used (corrupt, truncated, empty, not an image) and were skipped."""

__all__ = ["DatasetError", "RunFolderError", "SkippedFilesWarning", "TrainerError"]
