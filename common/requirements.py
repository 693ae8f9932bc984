"""Is the extra a command needs installed? One line naming what is missing and what to install, instead of a trace.

``pip install "edge-kit[device]"`` (what a Raspberry Pi gets) puts every command on the PATH, but only
``edge-classify`` can run there: ``edge-train``, ``edge-convert`` and ``edge-kit`` need TensorFlow and friends,
which belong on a desktop or server. Each of those commands calls :func:`require` right after parsing its arguments
(so ``--help`` still works), before it reads or writes anything.

The check only looks the packages up (:func:`importlib.util.find_spec`); it imports none of them.
"""
from __future__ import annotations

import importlib.util
import sys
from typing import Callable, Dict, Iterable, List, Optional, Tuple

#: What each job needs: (importable module, the package that provides it, what it is used for).
NEEDS: Dict[str, Tuple[Tuple[str, str, str], ...]] = {
    "train": (
        ("tensorflow", "tensorflow", "training"),
        ("tf_keras", "tf-keras", "the Keras model"),
        ("matplotlib", "matplotlib", "the run folder's plots"),
    ),
    "convert": (
        ("tensorflow", "tensorflow", "the TFLite converter"),
        ("tf_keras", "tf-keras", "loading the Keras model"),
        ("tensorflow_model_optimization", "tensorflow-model-optimization", "quantization-aware training"),
        ("matplotlib", "matplotlib", "the report's charts"),
        ("flatbuffers", "flatbuffers", "the metadata writer"),
    ),
    "report": (
        ("matplotlib", "matplotlib", "the report's charts"),
    ),
}

#: The extra of ``pyproject.toml`` that installs each job's needs.
EXTRA: Dict[str, str] = {"train": "train", "convert": "convert", "report": "train"}

#: Exit status of a command whose extra is missing (the same as for bad arguments).
EXIT_MISSING = 2


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed package
        return False


def missing(jobs: Iterable[str], installed: Optional[Callable[[str], bool]] = None) -> List[Tuple[str, str]]:
    """``[(package, what it is for)]`` that ``jobs`` need and that are not installed, each package once."""
    installed = installed or _installed
    seen: Dict[str, str] = {}
    for job in jobs:
        for module, package, purpose in NEEDS[job]:
            if package not in seen and not installed(module):
                seen[package] = purpose
    return list(seen.items())


def problem(command: str, jobs: Iterable[str], installed: Optional[Callable[[str], bool]] = None) -> Optional[str]:
    """The one-line message for ``command`` when a package of ``jobs`` is missing, else None."""
    jobs = list(jobs)
    lacking = missing(jobs, installed)
    if not lacking:
        return None
    extra = "convert" if any(EXTRA[j] == "convert" for j in jobs) else EXTRA[jobs[0]]
    what = ", ".join(f"{package} ({purpose})" for package, purpose in lacking)
    return (f"{command}: missing {what}; install it with: pip install \"edge-kit[{extra}]\" "
            "(training and conversion are meant for a desktop or server; on a board, install edge-kit[device] "
            "and run the converted .tflite with edge-classify)")


def require(command: str, jobs: Iterable[str], installed: Optional[Callable[[str], bool]] = None) -> None:
    """Print :func:`problem`'s line to stderr and exit with :data:`EXIT_MISSING` when something is missing."""
    message = problem(command, jobs, installed)
    if message is not None:
        print(message, file=sys.stderr)
        raise SystemExit(EXIT_MISSING)
