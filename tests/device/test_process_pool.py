"""Worker processes for big folders (device.process_pool): same answers as in-process, order kept, bad photos
reported, bad models refused before any worker starts, workers stopped when the caller stops early."""
from __future__ import annotations

import io
import json

import pytest

from device.errors import ModelError
from device.process_pool import (MAX_CHUNKSIZE, MIN_PHOTOS_FOR_PROCESSES, ProcessPoolClassifier, default_chunksize,
                                 use_processes)

from .conftest import EXPECTED_TOP1


def test_workers_give_the_in_process_answers_in_order_and_skip_bad_photos(tmp_path, coral_quant, coral_classifier,
                                                                           sanity_dir):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 broken")
    photos = [sanity_dir / p for p in EXPECTED_TOP1]
    sources = photos[:4] + [bad] + photos[4:]
    with ProcessPoolClassifier(coral_quant, processes=2) as pool:
        results = list(pool.classify_many(sources, top_k=3, chunksize=2))
    plain = list(coral_classifier.classify_many(sources, top_k=3, workers=0))
    assert [r.source for r in results] == [str(s) for s in sources]
    assert not results[4].ok and "bad.jpg" in results[4].error
    assert [r.predictions for r in results] == [r.predictions for r in plain]
    assert results[0].predictions[0][0] == "chickadee" and all(r.ok for i, r in enumerate(results) if i != 4)


def test_chunks_shrink_for_short_lists_and_a_generator_is_classified_whole(coral_quant, coral_classifier,
                                                                           sanity_dir):
    assert default_chunksize(10_000, 2) == MAX_CHUNKSIZE and default_chunksize(None, 2) == MAX_CHUNKSIZE
    assert default_chunksize(150, 2) == 12 and default_chunksize(5, 4) == 1 and default_chunksize(0, 2) == 1
    photos = [sanity_dir / p for p in EXPECTED_TOP1] * 3
    with ProcessPoolClassifier(coral_quant, processes=2) as pool:
        results = list(pool.classify_many((p for p in photos), top_k=1))  # length unknown: chunks of 16
    assert [r.source for r in results] == [str(p) for p in photos]
    assert [r.predictions for r in results] == [coral_classifier.classify(p, top_k=1) for p in photos]


def test_a_bad_model_is_refused_in_the_calling_process(tmp_path):
    model = tmp_path / "model.tflite"
    model.write_bytes(b"\0" * 64)
    with pytest.raises(ModelError, match="model.tflite"):
        ProcessPoolClassifier(model, processes=2)
    with pytest.raises(ValueError, match="processes"):
        ProcessPoolClassifier(model, processes=0)


def test_stopping_early_stops_the_workers(coral_quant, bird):
    pool = ProcessPoolClassifier(coral_quant, processes=1)
    results = pool.classify_many([bird] * 50, top_k=1)
    assert next(results).predictions[0][0] == "chickadee"
    results.close()  # the consumer stops (as on Ctrl-C or a closed pipe)
    assert pool._pool is None
    with pytest.raises(RuntimeError, match="closed"):
        next(pool.classify_many([bird]))


def test_processes_only_for_big_folders_unless_asked(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert not use_processes(MIN_PHOTOS_FOR_PROCESSES - 1)
    assert use_processes(MIN_PHOTOS_FOR_PROCESSES)
    assert use_processes(2, processes=2) and not use_processes(1, processes=2)
    assert not use_processes(10 * MIN_PHOTOS_FOR_PROCESSES, processes=0)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert not use_processes(MIN_PHOTOS_FOR_PROCESSES)


def test_cli_processes_print_what_threads_print(coral_quant, tmp_path, sanity_dir):
    from device.cli import main

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in list(EXPECTED_TOP1)[:5]:
        (folder / name).write_bytes((sanity_dir / name).read_bytes())
    (folder / "broken.png").write_bytes(b"not an image")
    outputs = []
    for processes in ("0", "2"):
        out, err = io.StringIO(), io.StringIO()
        code = main([str(coral_quant), str(folder), "--json", "-k", "2", "--processes", processes],
                    stdout=out, stderr=err)
        assert code == 1 and "1 of 6 photos could not be read" in err.getvalue()
        outputs.append([json.loads(line) for line in out.getvalue().splitlines()])
    assert outputs[0] == outputs[1] and len(outputs[1]) == 6


def test_ctrl_c_stops_edge_classify_and_its_workers(coral_quant, bird):
    import os
    import signal
    import subprocess
    import sys
    import time

    code = "import sys; from device.cli import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", code, str(coral_quant), *[str(bird)] * 3000, "--processes", "2", "-k", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    assert "chickadee" in proc.stdout.readline()  # the workers are classifying
    workers = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                  text=True).stdout.split()]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "edge-classify: interrupted" in err and "Traceback" not in err
    deadline = time.time() + 10
    while time.time() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}")], "workers left running"
