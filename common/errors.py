"""The base class of every error edge-kit raises on purpose (each part derives its own errors from it).

Every message names the offending file or option and says what to do about it; callers show ``str(error)`` as is.
"""
from __future__ import annotations


class EdgeKitError(Exception):
    """Base class of every error edge-kit raises on purpose."""
