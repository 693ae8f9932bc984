"""Bad data folders and output locations for ``edge-train``, ``edge-convert`` and ``edge-kit``: the exit status and
the one-line message each must give, and the promise that nothing finished is lost.

Re-runnable sweep (what a user could type)::

    .venv/bin/python tests/pipeline/bad_inputs.py [--keep DIR]

builds a small world in a temporary folder (the committed tiny photos, broken photo folders, a finished run folder,
a converted one, a file where a folder should be, and, as root, a read-only mount and a full 64 KiB tmpfs), runs every
row of :data:`CASES` as ``python -m <command> ...`` and prints one line per row: the exit status, the first stderr
line, and whether it keeps the promise (docs/reliability.md). ``tests/pipeline/test_bad_inputs.py`` runs the same
table under pytest. Every row fails before any training or model loading, so the sweep takes seconds per row.

A row keeps the promise when: the exit status is the expected one (``common/exit_codes.py``), stderr holds the
expected text and no traceback, and every file of the finished run folders is unchanged (nothing finished removed).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
PHOTOS = REPO / "tests" / "fixtures" / "photos"
MODULES = {"edge-train": "trainer", "edge-convert": "converter", "edge-kit": "pipeline"}


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv`` with ``{name}`` placeholders for the world's paths (see :func:`build_world`)."""

    name: str
    command: str  #: edge-train | edge-convert | edge-kit
    argv: Sequence[str]
    code: int  #: expected exit status
    text: str  #: expected in stderr
    needs: str = ""  #: "mount": a read-only mount and a full tmpfs (root); "busy": {converted} locked by another
    #: process (:func:`hold_lock`)


CASES: List[Case] = [
    # ---- photo folders
    Case("train: missing photo folder", "edge-train", ["{tmp}/nope", "--out", "{tmp}/new"], 2, "no such folder"),
    Case("train: photo folder is a file", "edge-train", ["{file}", "--out", "{tmp}/new"], 2, "is a file"),
    Case("train: empty photo folder", "edge-train", ["{empty}", "--out", "{tmp}/new"], 2, "{empty}"),
    Case("train: a class with one photo", "edge-train", ["{one_photo}", "--out", "{tmp}/new"], 2, "too few"),
    Case("train --overwrite: missing photo folder keeps the run", "edge-train",
         ["{tmp}/nope", "--out", "{finished}", "--overwrite"], 2, "no such folder"),
    Case("train --overwrite: a class with one photo keeps the run", "edge-train",
         ["{one_photo}", "--out", "{finished}", "--overwrite", "--weights", "none"], 2, "too few"),
    Case("kit: missing photo folder", "edge-kit", ["{tmp}/nope", "--out", "{tmp}/new", "--weights", "none"], 2,
         "no such folder"),
    Case("kit: retrain on a refused photo folder keeps the run", "edge-kit",
         ["{one_photo}", "--out", "{finished}", "--weights", "none", "--force", "train", "--no-export"], 2,
         "too few"),
    Case("kit: retrain on an empty photo folder keeps the run", "edge-kit",
         ["{empty}", "--out", "{finished}", "--weights", "none", "--force", "train", "--no-export"], 2, "{empty}"),
    Case("train: a class folder name with a line break", "edge-train",
         ["{newline_class}", "--out", "{tmp}/new", "--weights", "none"], 2, "'da\\nisy' holds a line break"),
    Case("kit: a class folder name with a line break", "edge-kit",
         ["{newline_class}", "--out", "{tmp}/new", "--weights", "none", "--no-export"], 2,
         "'da\\nisy' holds a line break"),
    # ---- what was made from an earlier model is never shipped as the current one
    Case("export: a model converted before the run was retrained", "edge-convert",
         ["export", "{retrained}", "--variant", "float32", "--out", "{tmp}/"], 2,
         "model_float32.tflite: was converted from another model than"),
    Case("kit: export of a model converted before the run was retrained", "edge-kit",
         ["--out", "{retrained}", "--stage", "export", "--export-variant", "float32", "--variants", "float32",
          "--android-assets", "{tmp}/assets"], 2, "model_float32.tflite: was converted from another model than"),
    # ---- a folder another command is writing (one long command per folder)
    Case("train: --out in use by another command", "edge-train",
         ["{photos}", "--out", "{converted}", "--weights", "none", "--overwrite"], 2,
         "{converted}: in use by process", needs="busy"),
    Case("convert: run folder in use by another command", "edge-convert", ["{converted}"], 2,
         "{converted}: in use by process", needs="busy"),
    Case("export: run folder in use by another command", "edge-convert",
         ["export", "{converted}", "--variant", "float32", "--out", "{tmp}/"], 2, "{converted}: in use by process",
         needs="busy"),
    Case("kit: --out in use by another command", "edge-kit", ["--out", "{converted}", "--stage", "report"], 2,
         "{converted}: in use by process", needs="busy"),
    # ---- output locations
    Case("train: --out name longer than 255 bytes", "edge-train",
         ["{photos}", "--out", "{tmp}/" + "r" * 300, "--weights", "none"], 2, "is 300 bytes, longer than the file "
                                                                             "system allows"),
    Case("convert: --out name longer than 255 bytes", "edge-convert", ["{converted}", "--out", "{tmp}/" + "r" * 300],
         2, "is 300 bytes, longer than the file system allows"),
    Case("kit: --out name longer than 255 bytes", "edge-kit",
         ["{photos}", "--out", "{tmp}/" + "r" * 300 + "/run", "--weights", "none"], 2,
         "is 300 bytes, longer than the file system allows"),
    Case("train: --out is a file", "edge-train", ["{photos}", "--out", "{file}", "--weights", "none"], 2,
         "a file is in the way"),
    Case("train: --out under a file", "edge-train", ["{photos}", "--out", "{file}/run", "--weights", "none"], 2,
         "a file is in the way"),
    Case("train: --out read-only", "edge-train", ["{photos}", "--out", "{readonly}/run", "--weights", "none"], 2,
         "read-only", needs="mount"),
    Case("train: --out on a full disk", "edge-train", ["{photos}", "--out", "{full}/run", "--weights", "none"], 2,
         "disk is full", needs="mount"),
    Case("convert: --out is a file", "edge-convert", ["{converted}", "--out", "{file}"], 2,
         "a file is in the way"),
    Case("convert: --out under a file", "edge-convert", ["{converted}", "--out", "{file}/x"], 2,
         "a file is in the way"),
    Case("convert: --out read-only", "edge-convert", ["{converted}", "--out", "{readonly}/x"], 2,
         "read-only", needs="mount"),
    Case("convert: --out on a full disk", "edge-convert", ["{converted}", "--out", "{full}/x"], 2,
         "disk is full", needs="mount"),
    Case("convert: missing run folder", "edge-convert", ["{tmp}/nope"], 2, "{tmp}/nope"),
    Case("export: no --out and no android-sample here", "edge-convert", ["export", "{converted}", "--variant",
                                                                         "float32"], 2, "no such folder"),
    Case("export: --out a missing folder", "edge-convert", ["export", "{converted}", "--variant", "float32", "--out",
                                                           "{tmp}/typo/"], 2, "no such folder"),
    Case("export: --out under a file", "edge-convert", ["export", "{converted}", "--variant", "float32", "--out",
                                                       "{file}/model.tflite"], 2, "a file is in the way"),
    Case("export: --out read-only", "edge-convert", ["export", "{converted}", "--variant", "float32", "--out",
                                                    "{readonly}/"], 2, "read-only", needs="mount"),
    Case("export: --out a full disk", "edge-convert", ["export", "{converted}", "--variant", "float32", "--out",
                                                      "{full}/"], 2, "disk is full", needs="mount"),
    Case("kit: --out is a file", "edge-kit", ["{photos}", "--out", "{file}", "--weights", "none"], 2,
         "a file is in the way"),
    Case("kit: --out read-only", "edge-kit", ["{photos}", "--out", "{readonly}/run", "--weights", "none"], 2,
         "read-only", needs="mount"),
    Case("kit: --out on a full disk", "edge-kit", ["{photos}", "--out", "{full}/run", "--weights", "none"], 2,
         "disk is full", needs="mount"),
    Case("kit: mistyped --out of a later stage", "edge-kit", ["--out", "{tmp}/typo", "--stage", "classify"], 2,
         "no such run folder"),
    # ---- numbers and types, checked where they enter (flags, --set and TOML alike)
    Case("train: --learning-rate nan", "edge-train", ["{photos}", "--out", "{tmp}/new", "--weights", "none",
                                                      "--learning-rate", "nan"], 2, "fine_tune_learning_rate=nan"),
    Case("train: --seed -1", "edge-train", ["{photos}", "--out", "{tmp}/new", "--weights", "none", "--seed", "-1"],
         2, "seed=-1 must be from 0 to 4294967295"),
    Case("train: --seed too large", "edge-train", ["{photos}", "--out", "{tmp}/new", "--weights", "none", "--seed",
                                                   "99999999999999999999999"], 2, "must be from 0 to 4294967295"),
    Case("kit: --set train.seed=abc", "edge-kit", ["{photos}", "--out", "{tmp}/new", "--weights", "none", "--set",
                                                   "train.seed=abc"], 2, "seed='abc' must be a whole number"),
    Case("kit: --set train.fine_tune_learning_rate=inf", "edge-kit",
         ["{photos}", "--out", "{tmp}/new", "--weights", "none", "--set", "train.fine_tune_learning_rate=inf"], 2,
         "fine_tune_learning_rate=inf must be a finite number"),
    Case("kit: TOML fine_tune_epochs = \"two\"", "edge-kit",
         ["{photos}", "--out", "{tmp}/new", "--weights", "none", "--config", "{toml_two}"], 2,
         "fine_tune_epochs='two' must be a whole number"),
    Case("kit: TOML fine_tune_epochs = 2.7", "edge-kit",
         ["{photos}", "--out", "{tmp}/new", "--weights", "none", "--config", "{toml_float}"], 2,
         "fine_tune_epochs=2.7 must be a whole number"),
    Case("convert: --max-accuracy-drop nan", "edge-convert", ["{converted}", "--max-accuracy-drop", "nan"], 2,
         "max_accuracy_drop=nan must be a finite number"),
    Case("kit: --android-assets on a full disk", "edge-kit",
         ["--out", "{converted}", "--stage", "export", "--export-variant", "float32", "--variants", "float32",
          "--android-assets", "{full}/assets"], 2, "--android-assets", needs="mount"),
]


def _write_photo(path: Path) -> None:
    shutil.copy(next(p for p in sorted(PHOTOS.rglob("*")) if p.is_file()), path)


def build_world(root: Path, mounts: bool) -> Dict[str, str]:
    """The folders the cases refer to, under ``root``; ``mounts``: also a read-only mount and a full tmpfs (root
    only; the caller unmounts them with :func:`unmount`)."""
    from common import run_folder as rf
    from device.preprocess import PreprocessConfig

    root.mkdir(parents=True, exist_ok=True)
    world = {"tmp": root, "photos": PHOTOS, "file": root / "a-file", "empty": root / "empty",
             "one_photo": root / "one-photo", "finished": root / "finished", "converted": root / "converted",
             "retrained": root / "retrained",
             "readonly": root / "readonly", "full": root / "full"}
    world["file"].write_text("not a folder\n")
    world["toml_two"], world["toml_float"] = root / "two.toml", root / "float.toml"
    world["toml_two"].write_text('[train]\nfine_tune_epochs = "two"\n')
    world["toml_float"].write_text("[train]\nfine_tune_epochs = 2.7\n")
    world["empty"].mkdir()
    for label, n in (("daisy", 1), ("rose", 6)):
        (world["one_photo"] / label).mkdir(parents=True)
        for i in range(n):
            _write_photo(world["one_photo"] / label / f"{i}.jpg")
    world["newline_class"] = root / "newline-class"
    for label in ("da\nisy", "rose"):
        (world["newline_class"] / label).mkdir(parents=True)
        for i in range(6):
            _write_photo(world["newline_class"] / label / f"{i}.jpg")
    for name in ("finished", "converted"):
        run = world[name]
        run.mkdir()
        labels = sorted(p.name for p in PHOTOS.iterdir() if p.is_dir())
        items = [(f"{label}/{p.name}", i) for i, label in enumerate(labels)
                 for p in sorted((PHOTOS / label).iterdir())]
        rf.write_splits(run, rf.Splits(PHOTOS, labels, train=[x for k, x in enumerate(items) if k % 5],
                                       val=[x for k, x in enumerate(items) if not k % 5]))
        rf.write_labels(run, labels)
        rf.write_json(run, rf.CONFIG, {"preprocessing": PreprocessConfig(96, 96).to_dict()})
        for extra in rf.TRAINER_FILES:
            if not (run / extra).exists():
                (run / extra).write_bytes(f"the finished run's {extra}\n".encode())
    (world["converted"] / rf.TFLITE_DIR).mkdir()
    (world["converted"] / rf.tflite_model("float32")).write_bytes(b"TFL3 stand-in model " * 50)
    rf.record_tflite(world["converted"] / rf.tflite_model("float32"), rf.model_digest(world["converted"]))
    # {retrained}: converted, then its model.keras replaced (retrained elsewhere)
    shutil.copytree(world["converted"], world["retrained"])
    (world["retrained"] / rf.MODEL).write_bytes(b"a model trained after the conversion\n")
    if mounts:
        world["readonly"].mkdir()
        subprocess.run(["mount", "--bind", str(world["readonly"]), str(world["readonly"])], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(world["readonly"])], check=True)
        world["full"].mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(world["full"])], check=True)
        with open(world["full"] / "filler", "wb", buffering=0) as f:  # fill it up
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * 4096)
    return {k: str(v) for k, v in world.items()}


@contextlib.contextmanager
def hold_lock(folder: str, command: str = "edge-kit") -> Iterator[subprocess.Popen]:
    """Another process holding ``folder``'s lock (as a running command would) for the block."""
    code = ("import sys, time\nfrom common.locks import folder_lock\nwith folder_lock(sys.argv[1], sys.argv[2]):\n"
            "    print('held', flush=True)\n    time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, folder, command], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def unmount(world: Dict[str, str]) -> None:
    for name in ("full", "readonly"):
        subprocess.run(["umount", "-l", world[name]], capture_output=True)


def can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


def digests(world: Dict[str, str]) -> Dict[str, str]:
    """Content hash of every file of the finished run folders (nothing finished may change)."""
    out = {}
    for name in ("finished", "converted"):
        for path in sorted(Path(world[name]).rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@dataclass
class Outcome:
    code: int
    stderr: str
    problems: List[str]


def run_case(case: Case, world: Dict[str, str], cwd: Optional[Path] = None, timeout: float = 300) -> Outcome:
    """Run ``case`` as a user would (``python -m <package> ...`` in ``cwd``); what went against the promise."""
    argv = [a.format(**world) for a in case.argv]
    before = digests(world)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", MODULES[case.command], *argv], capture_output=True, text=True,
                          timeout=timeout, cwd=str(cwd or world["tmp"]), env=env)
    problems = []
    if proc.returncode != case.code:
        problems.append(f"exit status {proc.returncode}, expected {case.code}")
    text = case.text.format(**world)
    if text not in proc.stderr:
        problems.append(f"stderr lacks {text!r}")
    if "Traceback" in proc.stderr:
        problems.append("a traceback")
    after = digests(world)
    changed = [p for p in before if after.get(p) != before[p]]
    if changed:
        problems.append(f"finished files changed or removed: {', '.join(changed)}")
    return Outcome(proc.returncode, proc.stderr, problems)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", default=None, help="build the world in this folder and keep it")
    args = parser.parse_args(argv)
    root = Path(args.keep or tempfile.mkdtemp(prefix="edge-kit-bad-inputs-"))
    root.mkdir(parents=True, exist_ok=True)
    mounts = can_mount()
    failures = 0
    try:
        cases = [c for c in CASES if mounts or c.needs != "mount"]
        for case in cases:
            world = build_world(root / f"case{CASES.index(case)}", mounts=case.needs == "mount")
            try:
                with hold_lock(world["converted"]) if case.needs == "busy" else contextlib.nullcontext():
                    outcome = run_case(case, world)
            finally:
                if case.needs == "mount":
                    unmount(world)
            first = next((line for line in outcome.stderr.splitlines() if line.strip()), "")
            verdict = "ok" if not outcome.problems else "FAIL: " + "; ".join(outcome.problems)
            failures += bool(outcome.problems)
            print(f"{case.name:<58} exit {outcome.code:<3} {verdict:<6} {first[:150]}", flush=True)
        print(f"{len(cases) - failures}/{len(cases)} rows keep the promise"
              + ("" if mounts else " (rows needing mounts skipped: run as root)"))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
