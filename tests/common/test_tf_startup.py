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


def test_converter_boilerplate_hidden_other_lines_kept_and_everything_on_failure():
    """What TFLiteConverter.convert() prints on every conversion is hidden; other lines stay; a failure shows all."""
    lines = ("WARNING:absl:Please consider providing the trackable_obj argument in the from_concrete_functions.\n"
             "W0000 00:00:1.0 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.\n"
             "fully_quantize: 0, inference_type: 6, input_inference_type: UINT8, output_inference_type: UINT8\n"
             "W0000 a warning about the user's model\n")
    for fail in (False, True):
        code = ("import os\nfrom common.tf_startup import CONVERTER_NOISE, filtered_stderr\n"
                f"try:\n    with filtered_stderr(CONVERTER_NOISE):\n        os.write(2, {lines.encode()!r})\n"
                f"        if {fail}: raise ValueError('conversion failed')\nexcept ValueError:\n    pass\n")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        err = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60).stderr
        assert "a warning about the user's model" in err
        assert ("trackable_obj" in err) == fail and ("Ignored output_format" in err) == fail
        assert ("fully_quantize" in err) == fail
