"""``edge-classify --evaluate``: metrics on labelled folders for any model with labels (here: the real Teachable
Machine export, which has no metadata: labels from its labels.txt in ``N Name`` form)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from device import Classifier
from device.evaluate import list_photos, match_class_folders
from device.errors import ModelError
from device.records import CSV_FIELDS, RECORD_FIELDS

from .test_cli import run

TM_LABELS = ["FRESH APPLE", "FRESH BANANA", "FRESH ORANGE", "ROTTEN APPLE", "ROTTEN ORANGE", "ROTTEN BANANA"]


@pytest.fixture(scope="session")
def tm_dir(assets_dir: Path) -> Path:
    return assets_dir / "foreign-models" / "teachable-machine-fruit"


def test_confusion_matrix_counts_what_classification_answers(tm_dir, tmp_path):
    """The matrix printed and written equals the counts of (folder, top-1 label) from plain classification."""
    code, out, err = run([tm_dir / "model.tflite", "--labels", tm_dir / "labels.txt", "--evaluate",
                          tm_dir / "photos", "-o", tmp_path / "eval"])
    assert code == 0, err
    result = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert result["labels"] == TM_LABELS and result["count"] == 60
    clf = Classifier.from_file(tm_dir / "model.tflite", labels=tm_dir / "labels.txt")
    counts = Counter((folder.name, clf.classify(photo, top_k=1)[0][0])
                     for photo, i in list_photos(match_class_folders(tm_dir / "photos", TM_LABELS))
                     for folder in [photo.parent])
    expected = [[counts[(t, p)] for p in TM_LABELS] for t in TM_LABELS]
    assert result["confusion_matrix"] == expected
    assert sum(expected[i][i] for i in range(6)) >= 56
    assert result["top1"] == pytest.approx(sum(expected[i][i] for i in range(6)) / 60)
    for i, label in enumerate(TM_LABELS):  # the table prints each row of that matrix
        assert f"{label:<13}" + "".join(f"{v:>5}" for v in expected[i]) in out
    wrong = [m for m in result["worst_mistakes"]]
    assert len(wrong) == 60 - sum(expected[i][i] for i in range(6))
    assert all(Path(m["file"]).parent.name == m["true"] != m["predicted"] for m in wrong)
    assert result["latency_ms"]["invoke"]["median"] > 0
    with Image.open(tmp_path / "eval" / "confusion_matrix.png") as im:
        assert im.format == "PNG" and im.width > 200


def test_folders_match_labels_case_insensitively_and_mismatches_are_listed_at_once(tm_dir, tmp_path):
    root = tmp_path / "photos"
    for label in TM_LABELS[:4]:
        (root / label.lower()).mkdir(parents=True)
    (root / "mango").mkdir()
    matched = None
    with pytest.raises(ModelError) as exc:
        matched = match_class_folders(root, TM_LABELS)
    message = str(exc.value)
    assert "'mango'" in message and "'ROTTEN ORANGE'" in message and "'ROTTEN BANANA'" in message
    assert matched is None
    code, _, err = run([tm_dir / "model.tflite", "--labels", tm_dir / "labels.txt", "--evaluate", root])
    assert code == 2 and "folders with no label: 'mango'" in err and len(err.strip().splitlines()) == 1
    (root / "mango").rmdir()
    for label in TM_LABELS[4:]:
        (root / label.lower()).mkdir()
    assert [i for i, _ in match_class_folders(root, TM_LABELS)] == [0, 1, 2, 3, 5, 4]  # sorted folder names


def test_float_model_warns_without_normalisation_and_mean_std_fix_it(tm_dir):
    model, labels, photos = tm_dir / "model_unquant.tflite", tm_dir / "labels.txt", tm_dir / "photos"
    code, _, err = run([model, "--labels", labels, "--evaluate", photos, "--format", "jsonl"])
    assert code == 0 and "--mean 127.5 --std 127.5" in err and err.count("warning") == 1
    code, out, err = run([model, "--labels", labels, "--mean", "127.5", "--std", "127.5", "--evaluate", photos,
                          "--format", "jsonl"])
    assert code == 0 and "warning" not in err
    lines = [json.loads(line) for line in out.splitlines()]
    summary = lines.pop()["evaluation"]
    assert summary["top1"] >= 56 / 60 and len(lines) == 60
    assert all(set(r) == set(RECORD_FIELDS) for r in lines)
    assert all(r["predictions"][0]["index"] == TM_LABELS.index(r["predictions"][0]["label"]) for r in lines)
    assert all(r["true"] == Path(r["file"]).parent.name and TM_LABELS[r["true_index"]] == r["true"] for r in lines)


def test_records_have_the_same_fields_for_files_in_every_format(tm_dir):
    photo = next((tm_dir / "photos" / "FRESH BANANA").iterdir())
    args = [tm_dir / "model.tflite", "--labels", tm_dir / "labels.txt", photo, "-k", "2"]
    code, out, _ = run(args + ["--json"])
    record = json.loads(out)
    assert code == 0 and set(record) == set(RECORD_FIELDS) and record["file"] == str(photo)
    assert record["predictions"][0] == {"label": "FRESH BANANA", "index": 1, "score": record["predictions"][0]["score"]}
    code, out, _ = run(args + ["--format", "csv"])
    rows = out.splitlines()
    assert rows[0].split(",") == list(CSV_FIELDS) and len(rows) == 3 and ",1,FRESH BANANA,1," in rows[1]
    code, out, _ = run(args)
    assert "FRESH BANANA  [1]" in out.splitlines()[0]


def test_benchmark_honours_format(tm_dir):
    photo = next((tm_dir / "photos" / "FRESH BANANA").iterdir())
    code, out, _ = run([tm_dir / "model.tflite", "--labels", tm_dir / "labels.txt", photo, "--benchmark", "--runs",
                        "2", "--format", "jsonl"])
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and {"decode", "invoke", "end_to_end", "invoke_thread_sweep"} <= {r["measure"] for r in rows}
    assert all(r["median"] > 0 and r["file"] == str(photo) for r in rows)
    code, out, _ = run([tm_dir / "model.tflite", "--labels", tm_dir / "labels.txt", photo, "--benchmark", "--runs",
                        "2", "--format", "csv"])
    assert code == 0 and out.splitlines()[0].startswith("model,file,backend,runs,measure,threads,median")


def _mount(target: Path, *options: str) -> None:
    import subprocess

    target.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", *options, str(target)], capture_output=True).returncode != 0:
        pytest.skip("needs permission to mount (root); the monkeypatched write failure below still runs")


@pytest.fixture()
def mounted():
    import subprocess

    done = []
    yield done
    for target in reversed(done):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_evaluate_to_a_read_only_or_full_folder_is_one_line_before_any_work(tm_dir, tmp_path, mounted):
    import subprocess

    readonly, full = tmp_path / "readonly", tmp_path / "full"
    _mount(readonly, "--bind", str(readonly))
    mounted.append(readonly)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(readonly)], check=True)
    _mount(full, "-t", "tmpfs", "-o", "size=64k", "tmpfs")
    mounted.append(full)
    with open(full / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    for out, expected in ((readonly / "eval", "read-only"), (full / "eval", "disk is full")):
        code, _, err = run([tm_dir / "model.tflite", "--labels", tm_dir / "labels.txt", "--evaluate",
                            tm_dir / "photos", "-o", out])
        assert code == 2 and err.count("\n") == 1 and expected in err and "-o" in err, err


def test_a_disk_filling_up_while_writing_the_evaluation_is_one_line(tm_dir, tmp_path, monkeypatch):
    import errno

    import common.atomic

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(common.atomic, "atomic_write_json", full)
    code, out, err = run([tm_dir / "model.tflite", "--labels", tm_dir / "labels.txt", "--evaluate",
                          tm_dir / "photos", "-o", tmp_path / "eval"])
    assert code == 1 and "Traceback" not in err and "the disk is full" in err and str(tmp_path / "eval") in err
    assert "top-1" in out  # the metrics were printed before the write failed
