"""One result record for every way ``edge-classify`` classifies: files, folders, camera frames, ``--evaluate``.

A record is a dict with the same fields everywhere (``None`` where a field does not apply):

* ``file``: the photo's path (``None`` for a camera frame); ``frame``: the frame number (``None`` for a file);
* ``predictions``: ``[{"label", "index", "score"}]``, best first (``index``: the model's output index);
* ``error``: why the photo could not be read (then ``predictions`` is empty);
* ``true`` / ``true_index``: the photo's class under ``--evaluate``; ``fps``: the camera's frame rate.

:func:`write_record` prints it as ``--format jsonl`` (one JSON object per line), ``csv`` (one row per prediction,
columns :data:`CSV_FIELDS`) or ``table`` (aligned text).
"""
from __future__ import annotations

import csv
import json
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

FORMATS = ("table", "jsonl", "csv")
RECORD_FIELDS = ("file", "frame", "predictions", "error", "true", "true_index", "fps")
CSV_FIELDS = ("file", "frame", "rank", "label", "index", "score", "error", "true", "true_index", "fps")


def label_indices(labels: Sequence[str]) -> Dict[str, int]:
    """``{label: output index}`` (the first index when a label repeats)."""
    out: Dict[str, int] = {}
    for i, label in enumerate(labels):
        out.setdefault(label, i)
    return out


def make_record(predictions: Sequence[Tuple[str, float]], indices: Dict[str, int], file: Optional[str] = None,
                frame: Optional[int] = None, error: Optional[str] = None, true: Optional[str] = None,
                true_index: Optional[int] = None, fps: Optional[float] = None) -> Dict[str, Any]:
    """A record (see the module docstring) from ``(label, score)`` predictions."""
    return {"file": file, "frame": frame,
            "predictions": [{"label": label, "index": indices.get(label), "score": round(float(score), 6)}
                            for label, score in (predictions or [])],
            "error": error, "true": true, "true_index": true_index,
            "fps": None if fps is None else round(float(fps), 2)}


def csv_header(stream: TextIO) -> None:
    """The CSV header line (:data:`CSV_FIELDS`)."""
    csv.writer(stream, lineterminator="\n").writerow(CSV_FIELDS)


def csv_rows(record: Dict[str, Any]) -> List[List[Any]]:
    """One CSV row per prediction (one row with the error and no prediction when the photo was unreadable)."""
    base = {k: record.get(k) for k in CSV_FIELDS}
    rows = []
    for rank, p in enumerate(record["predictions"] or [None], 1):
        row = dict(base)
        if p is not None:
            row.update(rank=rank, label=p["label"], index=p["index"], score=p["score"])
        rows.append(["" if row.get(k) is None else row.get(k) for k in CSV_FIELDS])
    return rows


def table_rows(record: Dict[str, Any], width: int) -> List[str]:
    """Aligned text: the source, then ``score  label  [index]`` per prediction."""
    source = record["file"] if record["file"] is not None else f"frame {record['frame']}"
    if record["error"] is not None:
        return [f"{source:<{width}}  ERROR: {record['error']}"]
    extra = f"  (true: {record['true']})" if record.get("true") is not None else ""
    if not record["predictions"]:
        return [f"{source:<{width}}  (no label above the threshold){extra}"]
    rows = []
    for n, p in enumerate(record["predictions"]):
        head = source if n == 0 else ""
        rows.append(f"{head:<{width}}  {p['score']:7.2%}  {p['label']}  [{p['index']}]" + (extra if n == 0 else ""))
    return rows


def write_record(stream: TextIO, record: Dict[str, Any], fmt: str, width: int = 40, ascii_json: bool = False) -> None:
    """Print ``record`` in ``fmt`` (``table``, ``jsonl`` or ``csv``; the CSV header is :func:`csv_header`)."""
    if fmt == "jsonl":
        stream.write(json.dumps(record, ensure_ascii=ascii_json) + "\n")
    elif fmt == "csv":
        csv.writer(stream, lineterminator="\n").writerows(csv_rows(record))
    else:
        stream.write("\n".join(table_rows(record, width)) + "\n")
