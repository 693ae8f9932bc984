"""The device runtime never imports TensorFlow (checked in a fresh interpreter)."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def test_classifying_never_imports_tensorflow(coral_quant, bird, tmp_path):
    code = textwrap.dedent(
        f"""
        import sys, io
        import device
        from device import Classifier
        from device.cli import main
        clf = Classifier.from_file({str(coral_quant)!r})
        assert clf.classify({str(bird)!r}, top_k=1)[0][0] == "chickadee"
        list(clf.classify_many([{str(bird)!r}] * 3))
        assert main([{str(coral_quant)!r}, {str(bird)!r}, "--json"], stdout=io.StringIO()) == 0
        bad = [m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow.")]
        assert not bad, bad
        print("OK", clf.interpreter.backend)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "OK" in result.stdout
