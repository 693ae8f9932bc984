"""edge-classify: output formats, folders with bad photos, errors, --help, --benchmark."""
from __future__ import annotations

import io
import json
import shutil

import pytest

from device.cli import main


def run(args):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def photo_folder(tmp_path, sanity_dir):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(sanity_dir / "coral_bird.bmp", folder / "a_bird.bmp")
    shutil.copy(sanity_dir / "coral_parrot.jpg", folder / "sub" / "c_parrot.jpg")
    (folder / "b_broken.jpg").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("ignored: not an image extension")
    return folder


def test_table_output(coral_quant, bird):
    code, out, _ = run([coral_quant, bird, "--top-k", "2"])
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and str(bird) in lines[0] and "chickadee" in lines[0] and "%" in lines[0]


def test_json_lines_and_bad_photo_skipped(coral_quant, photo_folder):
    code, out, err = run([coral_quant, photo_folder, "--json", "-k", "1"])
    assert code == 1 and "1 of 3 photos could not be read" in err
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["file"].split("/")[-1] for r in results] == ["a_bird.bmp", "b_broken.jpg", "c_parrot.jpg"]
    assert results[0]["predictions"][0]["label"] == "chickadee" and 0 < results[0]["predictions"][0]["score"] <= 1
    assert "b_broken.jpg" in results[1]["error"]
    assert results[2]["predictions"][0]["label"] == "macaw"


def test_threshold_hides_low_scores(coral_quant, bird):
    code, out, _ = run([coral_quant, bird, "--threshold", "0.5", "--json"])
    assert code == 0 and [p["label"] for p in json.loads(out)["predictions"]] == ["chickadee"]


def test_bad_model_exit_code_2(tmp_path, bird):
    model = tmp_path / "model.tflite"
    model.write_bytes(b"\0" * 64)
    code, out, err = run([model, bird])
    assert code == 2 and str(model) in err and "not a TensorFlow Lite model" in err


def test_help_teaches_with_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "--camera" in text and "--json" in text and "labels.txt" in text


def test_no_inputs_is_a_usage_error(coral_quant):
    with pytest.raises(SystemExit) as exc:
        main([str(coral_quant)])
    assert exc.value.code == 2


def test_benchmark_prints_stages_and_thread_sweep(coral_quant, bird):
    code, out, _ = run([coral_quant, bird, "--benchmark", "--runs", "3", "--threads", "1"])
    assert code == 0
    for word in ("decode", "preprocess", "invoke", "postprocess", "end to end", "p99", "thread sweep", "1 thread"):
        assert word in out


def test_several_photos_pick_interpreter_threads_for_throughput(coral_quant, bird, photo_folder, monkeypatch):
    """Several photos: a 1-thread interpreter when the model's invoke is faster than preparing a photo (decoding
    threads then use the cores), else the default threads; one photo: the default; --threads always wins."""
    from device import batch
    from device.backends import default_num_threads
    from device.classifier import Classifier

    seen, timings = [], []
    original = Classifier.from_file.__func__

    def spy(cls, *args, **kwargs):
        clf = original(cls, *args, **kwargs)
        seen.append(clf.interpreter.num_threads)
        return clf

    monkeypatch.setattr(Classifier, "from_file", classmethod(spy))
    for single in (True, False):
        monkeypatch.setattr(batch, "prefers_single_thread", lambda p, i, single=single: timings.append((p, i)) or single)
        assert run([coral_quant, photo_folder, "--json"])[0] == 1  # one bad photo in the folder
    assert len(timings) == 2 and all(p > 0 and i > 0 for p, i in timings)  # measured (ms) on the first photo
    assert run([coral_quant, bird])[0] == 0
    assert run([coral_quant, photo_folder, "--threads", "2"])[0] == 1
    assert seen == [1, 1, default_num_threads(), default_num_threads(), 2]


def test_default_decoding_threads_use_the_cores_the_interpreter_leaves(monkeypatch):
    from device import batch

    monkeypatch.setattr(batch.os, "cpu_count", lambda: 4)
    assert [batch.default_workers(t) for t in (1, 2, 4)] == [3, 2, 1]
    monkeypatch.setattr(batch.os, "cpu_count", lambda: 2)
    assert [batch.default_workers(t) for t in (1, 2)] == [1, 1]
    monkeypatch.setattr(batch.os, "cpu_count", lambda: 16)
    assert batch.default_workers(1) == 4
