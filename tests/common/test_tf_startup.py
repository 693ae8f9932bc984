"""TensorFlow's C++ start-up lines are hidden unless -v; anything else it prints still reaches the user."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_TF = '''import os
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
os.write(2, b"E0000 cuda_driver.cc:152] failed call to cuInit: CUDA_ERROR_NO_DEVICE\\n")
os.write(2, b"E0000 computation placer already registered. Please check linkage\\n")
os.write(2, b"W0000 something the user must see\\n")
'''


@pytest.mark.parametrize("verbose,env_set", [(False, False), (True, False), (False, True)])
def test_startup_noise_hidden_unless_verbose(tmp_path, verbose, env_set):
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TF)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(REPO)])
    if env_set:
        env["TF_CPP_MIN_LOG_LEVEL"] = "0"
    code = (f"from common.tf_startup import import_tensorflow_quietly; import_tensorflow_quietly({verbose}); "
            "import tensorflow")  # imported quietly, or (verbose) later as usual
    err = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60).stderr
    assert "something the user must see" in err
    shown = verbose or env_set
    assert ("cuInit" in err) == shown and ("computation placer" in err) == shown and ("absl" in err) == shown
