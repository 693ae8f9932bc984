"""Resumable training state: one ``.npz`` per phase, written atomically after every epoch.

A checkpoint file holds the model weights, the optimizer's variables (step counter and moments), the best weights
so far (for early stopping's restore) and a JSON state (epochs done, best validation loss, patience counter,
history). Everything is in one file, replaced with ``os.replace``, so a power cut leaves either the previous epoch's
checkpoint or this one, never a mix.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from common.atomic import atomic_write_bytes


def save(path: Path, weights: Sequence[np.ndarray], optimizer_vars: Sequence[np.ndarray],
         best_weights: Sequence[np.ndarray], state: Dict[str, Any]) -> None:
    arrays: Dict[str, np.ndarray] = {"state": np.frombuffer(json.dumps(state).encode("utf-8"), dtype=np.uint8)}
    for prefix, values in (("w", weights), ("o", optimizer_vars), ("b", best_weights)):
        for i, value in enumerate(values):
            arrays[f"{prefix}{i}"] = np.asarray(value)
    write_npz(path, arrays)


def write_npz(path: Path, arrays: Dict[str, np.ndarray]) -> None:
    """``np.savez`` to ``path`` atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load(path: Path) -> Optional[Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray], Dict[str, Any]]]:
    """``(weights, optimizer_vars, best_weights, state)``, or None when there is no readable checkpoint."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            state = json.loads(bytes(data["state"]).decode("utf-8"))
            out = []
            for prefix in ("w", "o", "b"):
                n = sum(1 for k in data.files if k[0] == prefix and k[1:].isdigit())
                out.append([data[f"{prefix}{i}"] for i in range(n)])
    except (OSError, ValueError, KeyError):
        return None
    return out[0], out[1], out[2], state


def optimizer_values(optimizer: Any) -> List[np.ndarray]:
    return [np.asarray(v.numpy()) for v in optimizer.variables]


def set_optimizer_values(optimizer: Any, variables: Sequence[Any], values: Sequence[np.ndarray]) -> bool:
    """Build ``optimizer`` for ``variables`` and load ``values``; False (left fresh) when they do not fit."""
    optimizer.build(list(variables))
    slots = optimizer.variables
    if len(slots) != len(values) or any(tuple(s.shape) != v.shape for s, v in zip(slots, values)):
        return False
    for slot, value in zip(slots, values):
        slot.assign(value)
    return True
