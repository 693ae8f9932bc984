"""edge-classify's reliability promises (docs/reliability.md): crafted models and bad inputs give the right exit
status and one line naming the file and the fix, never a traceback; nothing crashes on the terminal's encoding;
pipes are read; HEIC photos are named."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from device import image_decode
from device.backends import native_info_silenced
from device.cli import main
from device.errors import ImageError
from device.image_decode import decode_image, read_stream
from device.metadata import json_depth
from tests.device.crafted_models import CASES, prepare, run_case


@pytest.fixture(scope="module")
def crafted(tmp_path_factory, assets_dir):
    return prepare(tmp_path_factory.mktemp("crafted"), assets_dir)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_table(case, crafted):
    """Each row of the table, run as `python -m device ...`: exit status, one stderr line, no traceback."""
    outcome = run_case(case, crafted)
    assert not outcome.problems, f"{outcome.problems}\nstdout: {outcome.stdout[-2000:]}\nstderr: {outcome.stderr}"


def run(args, stdout=None):
    out, err = stdout or io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out, err.getvalue()


# item 12 -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 7, 3), (7, 0, 3)])
def test_empty_array_is_an_image_error(coral_classifier, shape):
    with pytest.raises(ImageError, match="at least one pixel"):
        coral_classifier.classify(np.zeros(shape, np.uint8))


# item 13 -----------------------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_photo_through_a_fifo_is_read(coral_quant, bird, tmp_path):
    """What `<(cat photo.jpg)` hands over: a pipe, whose size is 0 until it is read."""
    fifo = tmp_path / "photo.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(bird.read_bytes()))
    writer.start()
    code, out, err = run([coral_quant, fifo, "-k", "1"])
    writer.join(5)
    assert code == 0 and "chickadee" in out.getvalue(), err


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for process substitution")
def test_process_substitution_as_a_user_types_it(coral_quant, bird, tmp_path):
    command = f'"{sys.executable}" -m device "{coral_quant}" <(cat "{bird}") -k 1'
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and "chickadee" in proc.stdout, proc.stderr


def test_streams_are_read_bounded(monkeypatch):
    """A character device that never ends (/dev/zero) is refused once the bound is reached, naming it."""
    with pytest.raises(ImageError, match=r"/dev/zero: more than 1024 bytes"):
        read_stream(Path("/dev/zero"), max_bytes=1024)
    monkeypatch.setattr(image_decode, "MAX_STREAM_BYTES", 4096)
    with pytest.raises(ImageError, match="larger than any photo file"):
        decode_image("/dev/zero")
    with pytest.raises(ImageError, match=r"/dev/null: the stream is empty"):
        decode_image("/dev/null")


# item 10 -----------------------------------------------------------------------------------------------------
def test_heic_photos_are_named_with_how_to_convert(tmp_path):
    heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64
    with pytest.raises(ImageError, match=r"<image bytes>: HEIC/HEIF photos .*convert them to JPEG"):
        decode_image(heic)  # recognised by its content, whatever its name
    renamed = tmp_path / "IMG_0002.jpg"
    renamed.write_bytes(heic)
    with pytest.raises(ImageError, match=r"IMG_0002\.jpg: HEIC/HEIF"):
        decode_image(renamed)


def test_heic_in_a_folder_is_reported_beside_good_photos(coral_quant, bird, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(bird, folder / "a.bmp")
    (folder / "b.HEIC").write_bytes(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic")
    code, out, err = run([coral_quant, folder, "--json"])
    assert code == 1 and "1 of 2 photos could not be read" in err
    assert "b.HEIC: HEIC/HEIF photos" in out.getvalue() and "chickadee" in out.getvalue()


# item 11 -----------------------------------------------------------------------------------------------------
def test_non_ascii_results_on_an_ascii_stream(float_model, bird, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(["background"] + [f"\u00e9t\u00e9 {i}" for i in range(1, 1001)]), encoding="utf-8")
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    code, out, err = run([float_model, bird, "--labels", labels, "-k", "1"], stdout=ascii_out)
    out.flush()
    assert code == 0 and "\\xe9t\\xe9" in out.buffer.getvalue().decode("ascii")


# item 14 -----------------------------------------------------------------------------------------------------
def test_labels_option_replacing_packed_labels_warns_in_one_line(float_model, bird, tmp_path):
    packed = float_model.parent / "labels.txt"  # the same 1001 labels as packed in the model
    code, _, err = run([float_model, bird, "--labels", packed])
    assert code == 0 and "replaces the labels" not in err  # (ImageNet's two "crane"s still get their own warning)
    other = tmp_path / "other.txt"
    other.write_text("\n".join(f"class {i}" for i in range(1001)))
    code, out, err = run([float_model, bird, "--labels", other, "-k", "1"])
    assert code == 0 and "class " in out.getvalue()
    assert err.count("\n") == 1 and "warning: --labels" in err and str(float_model) in err
    assert "line 1: 'class 0' instead of 'background'" in err and "drop --labels" in err


# item 15 -----------------------------------------------------------------------------------------------------
def test_ctrl_c_while_loading_the_model_exits_130(coral_quant, bird, monkeypatch):
    from device.classifier import Classifier

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Classifier, "from_file", interrupted)
    code, _, err = run([coral_quant, bird])
    assert code == 130 and err.strip() == "edge-classify: interrupted"


# helpers -----------------------------------------------------------------------------------------------------
def test_json_depth_ignores_brackets_in_strings():
    assert json_depth('{"a": "[[[{{{", "b": [1, {"c": "]]]\\"[["}]}') == 3
    assert json_depth("[" * 500 + "]" * 500) == 500


def test_native_info_lines_are_dropped_and_warnings_kept(capfd):
    with native_info_silenced():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nWARNING: something real\n"
                    b"Error in cpuinfo: failed to parse the list of possible processors in /sys/devices/system/cpu/"
                    b"possible\n")  # no /sys (a container, an emulated board)
    assert capfd.readouterr().err == "WARNING: something real\n"


# a threshold or top_k the library cannot honour ----------------------------------------------------------------
@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), -0.1, 1.5, "0.5"])
def test_the_library_refuses_a_threshold_that_is_not_a_score(coral_classifier, bird, threshold):
    """NaN compares below nothing: it used to return no label at all, as if the photo matched nothing."""
    with pytest.raises(ValueError, match="is not a score from 0 to 1"):
        coral_classifier.classify(bird, threshold=threshold)
    with pytest.raises(ValueError, match="is not a score from 0 to 1"):
        coral_classifier.classify_many([bird], threshold=threshold)  # at the call, not at the first result
    assert coral_classifier.classify(bird, top_k=1, threshold=0.5)[0][0] == "chickadee"


def test_the_library_refuses_top_k_below_one(coral_classifier, bird):
    for k in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="top_k must be a whole number of at least 1"):
            coral_classifier.classify(bird, top_k=k)
