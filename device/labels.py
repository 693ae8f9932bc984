"""Where a classifier's labels come from, and the background class.

Order of precedence (first found wins):

1. labels given explicitly (``--labels file`` or a list);
2. the ``TENSOR_AXIS_LABELS`` file packed in the model's metadata;
3. ``labels.txt`` beside the model file.

The count must equal the number of model outputs. A first label named ``background`` or ``???`` (the convention
of the 1001-class ImageNet models) marks a background class, which classifiers drop from results by default.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import List, Optional, Sequence, Union

from device.errors import ModelError
from device.metadata import labels_from_bytes

#: Labels that mark index 0 as a background ("nothing recognised") class.
BACKGROUND_LABELS = ("background", "???")

#: Largest labels file read (1 MiB is ~20,000 long labels).
MAX_LABELS_BYTES = 1024 * 1024

LabelsSource = Union[str, "os.PathLike[str]", Sequence[str]]


_NUMBERED = re.compile(r"^(\d+)\s+(\S.*)$")


def strip_label_numbers(lines: Sequence[str]) -> List[str]:
    """Labels from lines that may carry their output index, Teachable Machine's ``N Name`` form.

    When every line is ``<number> <name>`` and the numbers are exactly 0..N-1 (in any order), label ``i`` is the
    name numbered ``i`` (the numbers, not the line order, say which output is which). Otherwise the lines are the
    labels as written (line i = output index i), so a label such as ``7 Up`` in an ordinary file is kept whole
    unless every line is numbered that way.
    """
    matches = [_NUMBERED.match(line) for line in lines]
    if not lines or not all(matches):
        return list(lines)
    numbered = {int(m.group(1)): m.group(2).strip() for m in matches if m}
    if sorted(numbered) != list(range(len(lines))):
        return list(lines)
    return [numbered[i] for i in range(len(lines))]


def read_labels_file(path: Union[str, "os.PathLike[str]"]) -> List[str]:
    """Labels from a text file: one per line (line i = output index i), or Teachable Machine's ``N Name`` lines
    (see :func:`strip_label_numbers`)."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: labels file not found. Give a text file with one label per line.")
    size = p.stat().st_size
    if size > MAX_LABELS_BYTES:
        raise ModelError(f"{p}: {size} bytes is too large for a labels file (limit {MAX_LABELS_BYTES} bytes).")
    labels = strip_label_numbers(labels_from_bytes(p.read_bytes(), str(p), packed=False))
    if not labels:
        raise ModelError(f"{p}: the labels file is empty. Put one label per line.")
    return labels


def resolve_labels(
    model_path: Optional[Union[str, "os.PathLike[str]"]],
    explicit: Optional[LabelsSource],
    packed: Optional[List[str]],
    num_outputs: int,
) -> List[str]:
    """The labels to use (see module docstring), checked against ``num_outputs``.

    Raises :class:`ModelError` when none are found or their count does not match the model.
    """
    model_name = str(model_path) if model_path is not None else "<model bytes>"
    if explicit is not None:
        if isinstance(explicit, (str, os.PathLike)):
            labels, origin = read_labels_file(explicit), str(explicit)
        else:
            labels, origin = [str(label) for label in explicit], "the labels given"
    elif packed:
        labels, origin = list(packed), f"{model_name} (labels packed in its metadata)"
    else:
        beside = Path(model_path).with_name("labels.txt") if model_path is not None else None
        if beside is None or not beside.is_file():
            where = f" or {beside}" if beside is not None else ""
            raise ModelError(
                f"{model_name}: no labels found: the model has no packed labels metadata{where}. "
                "Put a labels.txt (one label per line, in output order) beside the model, or pass --labels FILE."
            )
        labels, origin = read_labels_file(beside), str(beside)
    if len(labels) != num_outputs:
        hint = ""
        if len(labels) == num_outputs + 1 and is_background(labels[0]):
            hint = " The labels start with a background class the model does not have: remove the first line."
        elif len(labels) + 1 == num_outputs:
            hint = " The model has a background class at index 0: add a first line 'background'."
        raise ModelError(
            f"{origin}: {len(labels)} labels but the model {model_name} has {num_outputs} outputs; they must "
            f"match one to one.{hint}"
        )
    return labels


def is_background(label: str) -> bool:
    """Whether ``label`` names a background class (``background`` or ``???``, any case)."""
    return label.strip().lower() in BACKGROUND_LABELS
