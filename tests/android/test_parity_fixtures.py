"""The Kotlin parity files (android-sample/core/src/test/resources/parity/) are what tests/android/make_parity.py
makes from today's Python code: a Python change that alters them (labels, preprocessing, input encoding, scores,
ranking) fails here until the files are regenerated, so the Kotlin tests never compare against a stale Python.

Runs make_parity.py in a process of its own (the interpreter must not share a process with TensorFlow)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAKE_PARITY = REPO / "tests" / "android" / "make_parity.py"

# Made once, compared twice: with the committed folder (must be current) and with a copy where one file was edited
# by hand (must be flagged, that file only), so this check is known to be able to fail.
_CHECK = textwrap.dedent(
    """
    import json, shutil, sys, tempfile
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import make_parity as mp

    def replay(name, raw):
        recorded = mp.committed_raw(name)
        return recorded if mp.same_up_to_cpu_rounding(raw, recorded) else raw

    made = mp.render_parity(replay)
    current = mp.compare(made, mp.OUT)
    with tempfile.TemporaryDirectory() as tmp:
        edited = Path(tmp) / "parity"
        shutil.copytree(mp.OUT, edited)
        case = sorted(edited.glob("*.case.txt"))[0]
        lines = case.read_text(encoding="utf-8").splitlines(keepends=True)
        top = next(i for i, line in enumerate(lines) if line.startswith("top\\t"))
        lines[top] = lines[top].rstrip("\\n") + "1\\n"  # one more digit on the best score
        case.write_text("".join(lines), encoding="utf-8")
        flagged = mp.compare(made, edited)
    print(json.dumps({"files": len(made), "current": current, "edited": case.name, "flagged": flagged}))
    """
)


def test_the_kotlin_parity_files_are_what_make_parity_makes_now(assets_dir: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), EDGE_KIT_ASSETS=str(assets_dir), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", _CHECK, str(MAKE_PARITY.parent)], capture_output=True, text=True,
                          env=env, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["files"] > 20  # every model and case file, index.txt
    assert result["current"] == [], ("the parity files are stale; regenerate them with "
                                     "`.venv/bin/python tests/android/make_parity.py --keep-tiny`:\n"
                                     + "\n".join(result["current"]))
    assert len(result["flagged"]) == 1 and result["flagged"][0].startswith(result["edited"]), result["flagged"]
