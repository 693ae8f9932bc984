"""Figures draw without noise: a home folder matplotlib cannot write to and class names its font lacks (emoji)
add no warning lines to a command's output."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_no_warnings_for_an_unwritable_home_or_an_emoji_class_name(tmp_path):
    (tmp_path / "a-file").write_text("HOME below a file: nothing can be created there\n")
    code = ("from common import figures\n"
            "png = figures.confusion_matrix_png(['\\U0001F339 rose', 'daisy \\U0001F33C'], [[3, 1], [0, 4]], "
            "'validation \\U0001F600')\n"
            "assert png[:4] == b'\\x89PNG'\n"
            "print('drawn')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(tmp_path / "a-file" / "home"), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout == "drawn\n", proc.stderr
    assert proc.stderr == ""  # no "Matplotlib created a temporary cache directory", no "Glyph ... missing"
