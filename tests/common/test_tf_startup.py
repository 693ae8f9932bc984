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


def _args(command: str, tmp_path: Path, photos_dir: Path, fake_run: Path):
    return {"trainer": [str(photos_dir), "--out", str(tmp_path / "new"), "--weights", "none"],
            "converter": [str(fake_run)],
            "pipeline": [str(photos_dir), "--out", str(tmp_path / "new"), "--weights", "none", "--no-export"]}[command]


@pytest.mark.parametrize("command", ["trainer", "converter", "pipeline"])
def test_ctrl_c_while_tensorflow_imports_is_one_line(command, tmp_path, photos_dir, fake_run):
    """The first seconds of edge-train, edge-convert and edge-kit are TensorFlow's import: Ctrl-C there printed a
    KeyboardInterrupt traceback of dozens of lines."""
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the quiet import, as users run it
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen([sys.executable, "-m", command, *_args(command, tmp_path, photos_dir, fake_run)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:  # until TensorFlow's library is being loaded
        if "libtensorflow" in Path(f"/proc/{proc.pid}/maps").read_text(errors="replace"):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130 and "Traceback" not in err and len(lines) == 1, err
    assert "interrupted" in lines[0]
    if command != "converter":
        assert not (tmp_path / "new").exists()  # made only for its lock: not left behind


def test_converter_boilerplate_stays_hidden_on_ctrl_c():
    """Ctrl-C during a conversion is not a failure that needs the converter's boilerplate as context."""
    code = ("import os\nfrom common.tf_startup import CONVERTER_NOISE, filtered_stderr\ntry:\n"
            "    with filtered_stderr(CONVERTER_NOISE):\n"
            "        os.write(2, b'W0000 00:00:1.0 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.\\n')\n"
            "        raise KeyboardInterrupt\nexcept KeyboardInterrupt:\n    print('interrupted')\n")
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(REPO)),
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout == "interrupted\n" and "Ignored output_format" not in proc.stderr
