"""Mutation check of the core rules: each rule broken on purpose, one at a time, must fail a test.

Each row of :data:`MUTANTS` names a file, a text in it, the text that breaks the rule, and the tests that should
notice. For every row, in a scratch copy of the working tree (tracked and untracked, not ignored, files: your
uncommitted edits included), the text is replaced, the tests are run, and the file is put back; a row is
**caught** when a test fails, **survived** when they all pass. Before that, every test selection runs once on the
unchanged copy: a selection that already fails makes the check meaningless, so it stops there.

Your working tree is never written to, so nothing needs restoring after Ctrl-C, a kill or a crash: the scratch
copy (in the system's temporary folder) is deleted at the end, also on Ctrl-C and SIGTERM.

Usage (from the repository root; ``scripts/mutants.sh`` runs it with ``.venv``'s Python)::

    .venv/bin/python scripts/mutants.py              # the Python rows (about a minute)
    .venv/bin/python scripts/mutants.py --kotlin     # also the Kotlin rows (scripts/test_kotlin.sh, ~2 min each)
    .venv/bin/python scripts/mutants.py --list       # the table only
    .venv/bin/python scripts/mutants.py --only crop  # the rows whose name contains "crop"

Exit status: 0 when every row is caught, 1 when one survived, 2 when the table is out of date (a text is not
found exactly once) or a test selection fails before any change.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
KOTLIN = "kotlin"  #: the runner of rows checked by scripts/test_kotlin.sh instead of pytest


@dataclass(frozen=True)
class Mutant:
    """One broken rule: ``replacements`` (text, broken text) in ``path``, to be caught by ``tests``."""

    name: str
    path: str
    replacements: Tuple[Tuple[str, str], ...]
    tests: Tuple[str, ...]  #: pytest arguments (paths, ``-k``), or ``(KOTLIN,)``


CROP_TESTS = ("tests/device/test_preprocess_contract.py", "-k", "rounds_down")  # hand-worked boxes + goldens
POSTPROCESS_TESTS = ("tests/device/test_postprocess.py",)
METRICS_TESTS = ("tests/common/test_metrics.py",)
LABELS_TESTS = ("tests/device/test_metadata.py", "tests/converter/test_metadata_writer.py", "-k",
                "byte_order or locale or default_language")

MUTANTS: Tuple[Mutant, ...] = (
    Mutant("crop width rounds up", "device/resize.py",
           (("crop_w = max(1, height * out_width // out_height)", "crop_w = max(1, -(-height * out_width // out_height))"),),
           CROP_TESTS),
    Mutant("crop height rounds up", "device/resize.py",
           (("crop_h = max(1, width * out_height // out_width)", "crop_h = max(1, -(-width * out_height // out_width))"),),
           CROP_TESTS),
    Mutant("threshold drops a score equal to it", "device/postprocess.py",
           (("if score >= threshold]", "if score > threshold]"),), POSTPROCESS_TESTS),
    Mutant("top_k ties go to the higher index", "device/postprocess.py",
           (("np.lexsort((candidates, -scores[candidates]))", "np.lexsort((-candidates, -scores[candidates]))"),),
           POSTPROCESS_TESTS),
    Mutant("metrics top-1 ties go to the higher index", "common/metrics.py",
           (("pred = scores.argmax(axis=1) if len(y)",
             "pred = scores.shape[1] - 1 - scores[:, ::-1].argmax(axis=1) if len(y)"),), METRICS_TESTS),
    Mutant("per-class precision and recall swapped", "common/metrics.py",
           (('"precision": tp / predicted if predicted else None', '"precision": tp / support if support else None'),
            ('"recall": tp / support if support else None', '"recall": tp / predicted if predicted else None')),
           METRICS_TESTS),
    Mutant("quantize rounds half up", "device/quantization.py",
           (("q = np.rint(values) if s == 0.0 else np.rint(values / s) + zp",
             "q = np.floor(values + 0.5) if s == 0.0 else np.floor(values / s + 0.5) + zp"),),
           ("tests/device/test_backends_quantization.py", "-k", "half")),
    Mutant("labels keep a byte-order mark", "device/metadata.py",
           ((r'for line in text.lstrip("\ufeff").splitlines()', "for line in text.splitlines()"),), LABELS_TESTS),
    Mutant("the localized labels file is preferred", "device/metadata.py",
           (("matches.sort(key=lambda f: bool(f.locale))", "matches.sort(key=lambda f: not f.locale)"),),
           LABELS_TESTS),
    Mutant("auto score type accepts a quantized range up to 1.5", "device/postprocess.py",
           (("return low >= -0.01 and high <= 1.01", "return low >= -0.01 and high <= 1.5"),), POSTPROCESS_TESTS),
    # The Kotlin port of the crop box, against the same golden cases (--kotlin).
    Mutant("Kotlin crop width rounds up", "android-sample/core/src/main/kotlin/dev/edgekit/core/Preprocessor.kt",
           (("val cw = Math.max(1L, height.toLong() * outW / outH).toInt()",
             "val cw = Math.max(1L, (height.toLong() * outW + outH - 1) / outH).toInt()"),), (KOTLIN,)),
    Mutant("Kotlin crop height rounds up", "android-sample/core/src/main/kotlin/dev/edgekit/core/Preprocessor.kt",
           (("val ch = Math.max(1L, width.toLong() * outH / outW).toInt()",
             "val ch = Math.max(1L, (width.toLong() * outH + outW - 1) / outW).toInt()"),), (KOTLIN,)),
)


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that ``finally`` blocks run."""


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise Interrupted()


def working_tree_files(root: Path) -> List[str]:
    """Tracked and untracked files that git does not ignore (what a developer's tests see), relative to ``root``."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                         capture_output=True, check=True).stdout
    return [p for p in out.decode().split("\0") if p and (root / p).is_file() and not (root / p).is_symlink()]


def copy_tree(root: Path, dest: Path) -> None:
    for rel in working_tree_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)


def assets_dir(root: Path) -> str:
    """The test assets as the tests would find them from ``root`` (the copy lives elsewhere)."""
    return os.environ.get("EDGE_KIT_ASSETS") or str(root.parent / "shared" / "assets")


def run_tests(tests: Sequence[str], work: Path, python: str, timeout: float) -> Tuple[str, List[str], str]:
    """Run one test selection in ``work``: ``("passed" | "failed" | "error", failing test names, output tail)``."""
    env = dict(os.environ, PYTHONPATH=str(work), EDGE_KIT_ASSETS=assets_dir(ROOT), PYTHONDONTWRITEBYTECODE="1",
               TF_CPP_MIN_LOG_LEVEL="2")
    if tests == (KOTLIN,):
        cmd = ["bash", "scripts/test_kotlin.sh"]
    else:
        cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", "--no-header", *tests]
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "error", [], f"timed out after {timeout:.0f} s (--timeout)"
    except BaseException:  # Ctrl-C, SIGTERM: stop the whole test run, then pass it on
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    tail = "\n".join(output.splitlines()[-15:])
    if tests == (KOTLIN,):
        failed = re.findall(r"^\d+\) (\w+)\(([\w.]+)\)", output, re.M)
        names = [f"{cls.rsplit('.', 1)[-1]}.{method}" for method, cls in failed]
        if proc.returncode == 0:
            return "passed", [], tail
        return ("failed" if names else "error"), names, tail
    names = re.findall(r"^FAILED (\S+)", output, re.M)
    if proc.returncode == 0:
        return "passed", [], tail
    return ("failed" if proc.returncode == 1 and names else "error"), names, tail


def apply(path: Path, replacements: Sequence[Tuple[str, str]]) -> Optional[str]:
    """Replace each text of ``replacements`` in ``path``; the problem (one line) when one is not there exactly
    once."""
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        count = text.count(old)
        if count != 1:
            return f"{path.name}: {old!r} found {count} times (expected once): update the table in scripts/mutants.py"
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kotlin", action="store_true", help="also the Kotlin rows (kotlinc, JUnit; minutes each)")
    parser.add_argument("--only", metavar="TEXT", help="only the rows whose name contains TEXT")
    parser.add_argument("--list", action="store_true", help="print the table and exit")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per test run (default 900)")
    args = parser.parse_args(argv)
    rows = [m for m in MUTANTS if (args.kotlin or m.tests != (KOTLIN,)) and (not args.only or args.only in m.name)]
    if args.list:
        for m in rows:
            for old, new in m.replacements:
                print(f"{m.name}\n  {m.path}: {old}\n  -> {new}\n  tests: {' '.join(m.tests)}")
        return 0
    if not rows:
        print("no row matches", file=sys.stderr)
        return 2
    python = sys.executable
    signal.signal(signal.SIGTERM, _on_sigterm)
    scratch = Path(tempfile.mkdtemp(prefix="edge-kit-mutants-"))
    work = scratch / ROOT.name
    results: List[Tuple[Mutant, str, List[str], float]] = []
    try:
        copy_tree(ROOT, work)
        print(f"scratch copy of the working tree: {work}")
        for tests in dict.fromkeys(m.tests for m in rows):
            status, names, tail = run_tests(tests, work, python, args.timeout)
            print(f"unchanged code: {' '.join(tests)}: {status}")
            if status != "passed":
                print(tail + "\nthese tests do not pass on the unchanged code: fix them first", file=sys.stderr)
                return 2
        for m in rows:
            target = work / m.path
            original = target.read_bytes()
            t0 = time.monotonic()
            try:
                problem = apply(target, m.replacements)
                if problem:
                    print(problem, file=sys.stderr)
                    return 2
                status, names, tail = run_tests(m.tests, work, python, args.timeout)
            finally:
                target.write_bytes(original)  # revert before anything else happens
            outcome = {"failed": "caught", "passed": "SURVIVED"}.get(status, "ERROR")
            results.append((m, outcome, names, time.monotonic() - t0))
            print(f"{outcome:8} {m.name} ({time.monotonic() - t0:.0f} s)" + (f"\n{tail}" if outcome == "ERROR" else ""))
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted: your working tree was never changed; removing the scratch copy", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n| rule | file | result | caught by |\n|---|---|---|---|")
    for m, outcome, names, _ in results:
        print(f"| {m.name} | {m.path} | {outcome} | {', '.join(names) or '-'} |")
    caught = sum(1 for _, o, _, _ in results if o == "caught")
    print(f"\n{caught} of {len(results)} mutations caught")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
