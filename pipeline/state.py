"""What the pipeline has already done: stage fingerprints in ``<out>/pipeline_state.json``.

A stage's *fingerprint* is a SHA-256 over its configuration and the identity of its input files (content hashes for
the run folder's files, size + modification time for the photos). A stage is skipped when the fingerprint recorded
after its last successful run equals the current one **and** every output it recorded is still on disk with the
same content hash. The state file is written atomically, and only after the stage's outputs are in place, so a
crash at any point leaves either the old record (the stage runs again) or the new one (its outputs are complete).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional

from common import exit_codes, paths
from common import run_folder as rf
from common.atomic import atomic_write_json
from common.errors import EdgeKitError

STATE_FILE = rf.PIPELINE_STATE
STATE_VERSION = 1


class PipelineError(EdgeKitError):
    """The pipeline cannot run or continue: a bad option, an unusable folder, a failed stage. Names the fix.

    Exit status 1 (a stage failed) unless raised with ``exit_code`` (2 for bad usage or input)."""

    exit_code = exit_codes.FAILED


#: SHA-256 (hex) of a file's content (the run folder's one definition).
file_digest = rf.file_sha256


def file_stamp(path: Path) -> List[int]:
    """``[size, mtime_ns]``: a cheap identity for files too many to hash (photos)."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def tree_stamp(root: Path, suffixes: Optional[Iterable[str]] = None) -> Dict[str, List[int]]:
    """``{relative path: [size, mtime_ns]}`` of every file under ``root`` (hidden files and folders skipped)."""
    wanted = {s.lower() for s in suffixes} if suffixes else None
    out: Dict[str, List[int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if wanted is not None and Path(name).suffix.lower() not in wanted:
                continue
            path = Path(dirpath) / name
            with contextlib.suppress(OSError):
                out[path.relative_to(root).as_posix()] = file_stamp(path)
    return out


def fingerprint(material: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of ``material`` (a stage's config and input identities)."""
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


@dataclass
class StageRecord:
    """What the state file remembers of one finished stage."""

    fingerprint: str
    outputs: Dict[str, str]  #: path relative to the output folder (or absolute) -> SHA-256 of its content
    seconds: float
    finished_at: float
    summary: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return {"fingerprint": self.fingerprint, "outputs": self.outputs, "seconds": round(self.seconds, 3),
                "finished_at": self.finished_at, "summary": self.summary}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "StageRecord":
        return cls(str(data["fingerprint"]), dict(data.get("outputs", {})), float(data.get("seconds", 0.0)),
                   float(data.get("finished_at", 0.0)), dict(data.get("summary", {})))


class PipelineState:
    """Load, query and update ``<out>/pipeline_state.json``."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / STATE_FILE
        self.stages: Dict[str, StageRecord] = {}
        self.warnings: List[str] = []
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {STATE_VERSION}")
            self.stages = {name: StageRecord.from_dict(rec) for name, rec in data.get("stages", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # Written atomically, so this is a hand edit or a foreign file: redo everything rather than trust it.
            self.stages = {}
            self.warnings.append(f"{self.path}: unreadable ({exc}); every stage will run again")

    def resolve(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.out_dir / p

    def is_current(self, stage: str, fp: str) -> bool:
        """True when ``stage`` last finished with fingerprint ``fp`` and all its outputs are intact."""
        rec = self.stages.get(stage)
        if rec is None or rec.fingerprint != fp:
            return False
        for rel, digest in rec.outputs.items():
            path = self.resolve(rel)
            try:
                if file_digest(path) != digest:
                    return False
            except OSError:
                return False
        return True

    def why_stale(self, stage: str, fp: str) -> Optional[str]:
        """Why ``stage``, which finished here before, is not up to date (one phrase), or None when it never ran or
        is current: the user sees why a stage runs again (a replaced model.keras retrains, for instance)."""
        rec = self.stages.get(stage)
        if rec is None:
            return None
        if rec.fingerprint != fp:
            return "its settings or inputs changed since it ran"
        for rel, digest in rec.outputs.items():
            path = self.resolve(rel)
            try:
                if file_digest(path) != digest:
                    return f"{rel} changed since this pipeline wrote it"
            except OSError:
                return f"{rel} is missing"
        return None

    def output_digest(self, stage: str, rel: str) -> Optional[str]:
        rec = self.stages.get(stage)
        return None if rec is None else rec.outputs.get(rel)

    def record(self, stage: str, fp: str, outputs: Iterable[Path], seconds: float,
               summary: Optional[Dict[str, Any]] = None) -> StageRecord:
        """Hash ``outputs`` (they must exist), remember them under ``stage`` and save the state file."""
        hashed: Dict[str, str] = {}
        for path in outputs:
            path = Path(path)
            try:
                rel = path.resolve().relative_to(self.out_dir.resolve()).as_posix()
            except ValueError:
                rel = str(path.resolve())
            hashed[rel] = file_digest(path)
        rec = StageRecord(fp, hashed, seconds, time.time(), summary or {})
        self.stages[stage] = rec
        self.save()
        return rec

    def forget(self, stage: str) -> None:
        """Drop ``stage``'s record (before re-running it: a crash mid-stage must not leave the old record valid)."""
        if self.stages.pop(stage, None) is not None:
            self.save()

    def save(self) -> None:
        data = {"version": STATE_VERSION, "stages": {k: v.to_dict() for k, v in self.stages.items()}}
        write_or_explain(lambda: atomic_write_json(self.path, data), self.path)


def write_or_explain(write, path: Path):
    """Run ``write()``; turn disk-full / permission / read-only errors into a :class:`PipelineError` naming ``path``."""
    try:
        return write()
    except OSError as exc:
        raise PipelineError(explain_os_error(exc, path)) from exc


def explain_os_error(exc: OSError, path: Path, flag: str = "--out") -> str:
    """A one-line message for a failed write: what happened to which file, and the fix (``common.paths``), naming
    the option the location came from (``--out``, ``--android-assets``)."""
    return paths.explain_os_error(exc, path, flag, after="; then run the same command again: finished stages are "
                                                       "kept, the pipeline continues where it stopped.")


def remove_stale_temporaries(folder: Path) -> List[Path]:
    """Delete temporary files that an interrupted atomic write left behind (``.<name>.<random><suffix>``).

    Only call while holding the folder's lock (:func:`common.locks.folder_lock`): then no writer is active in it.
    """
    removed: List[Path] = []
    if not folder.is_dir():
        return removed
    for dirpath, dirnames, filenames in os.walk(folder):
        if Path(dirpath) != folder and len(Path(dirpath).relative_to(folder).parts) > 2:
            continue
        for name in filenames + list(dirnames):
            if not _TEMP_NAME.match(name):
                continue
            path = Path(dirpath) / name
            with contextlib.suppress(OSError):
                if path.is_dir():
                    import shutil

                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
    return removed


#: ``tempfile.mkstemp(prefix=".<dest name>.", suffix=<".ext" or ".tmp">)`` as used by ``common.atomic.atomic_path``.
_TEMP_NAME = re.compile(r"^\.(?P<dest>.+)\.(?P<rand>[a-z0-9_]{8})(?P<suffix>\.[A-Za-z0-9]{1,8})$")
