"""``edge-convert metadata``: metadata for image classifiers made elsewhere (Teachable Machine, reference models).

Classification runs in a subprocess through ``edge-classify`` (as a user would), so the interpreter never shares a
process with a TensorFlow another test may have imported.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from converter.cli import main
from converter.foreign import inspect_classifier
from device.labels import read_labels_file, strip_label_numbers
from device.metadata import read_model_info

from ..device.conftest import EXPECTED_TOP1

TM_LABELS = ["FRESH APPLE", "FRESH BANANA", "FRESH ORANGE", "ROTTEN APPLE", "ROTTEN ORANGE", "ROTTEN BANANA"]


@pytest.fixture(scope="session")
def tm_dir(assets_dir: Path) -> Path:
    return assets_dir / "foreign-models" / "teachable-machine-fruit"


def classify_jsonl(model: Path, *inputs: Path, extra=()) -> list:
    """``edge-classify --json`` in its own process: one record per photo."""
    proc = subprocess.run([sys.executable, "-m", "device", str(model), *map(str, inputs), "--json", "-k", "1",
                           *extra], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_teachable_machine_label_lines_keep_their_numbers(tmp_path):
    assert strip_label_numbers(["1 b", "0 a", "2 c"]) == ["a", "b", "c"]
    assert strip_label_numbers(["7 Up", "Coke"]) == ["7 Up", "Coke"]  # not every line numbered: kept whole
    assert strip_label_numbers(["1 a", "2 b"]) == ["1 a", "2 b"]  # numbers not 0..N-1: kept whole
    f = tmp_path / "labels.txt"
    f.write_text("0 FRESH APPLE\r\n1 FRESH BANANA\r\n")
    assert read_labels_file(f) == ["FRESH APPLE", "FRESH BANANA"]


@pytest.mark.parametrize("model,extra,minimum", [
    ("model_unquant.tflite", ["--mean", "127.5", "--std", "127.5"], 58),
    ("model.tflite", [], 56),
])
def test_teachable_machine_models_classify_their_photos(tm_dir, tmp_path, model, extra, minimum):
    out = tmp_path / "fruit.tflite"
    before = (tm_dir / model).read_bytes()
    assert main(["metadata", str(tm_dir / model), "--labels", str(tm_dir / "labels.txt"), *extra,
                 "-o", str(out)]) == 0
    assert (tm_dir / model).read_bytes() == before
    info = read_model_info(out)
    assert info.labels == TM_LABELS  # the file's order, not alphabetical
    records = classify_jsonl(out, tm_dir / "photos")
    assert len(records) == 60
    right = sum(Path(r["file"]).parent.name == r["predictions"][0]["label"] for r in records)
    assert right >= minimum, f"{right}/60"


def test_float_model_without_normalisation_is_refused(tm_dir, tmp_path, capsys):
    out = tmp_path / "x.tflite"
    assert main(["metadata", str(tm_dir / "model_unquant.tflite"), "--labels", str(tm_dir / "labels.txt"),
                 "-o", str(out)]) == 2
    assert "--mean and --std" in capsys.readouterr().err and not out.exists()


def test_wrong_label_count_and_non_classifier_are_refused(tm_dir, models_dir, tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\nc\n")
    assert main(["metadata", str(tm_dir / "model.tflite"), "--labels", str(labels), "-o",
                 str(tmp_path / "o.tflite")]) == 2
    assert "3 labels for an output of 6 scores" in capsys.readouterr().err
    # The same model with a grey 1x224x224x1 input: refused, naming the shape found.
    from converter.tflite_schema import read_model, write_model

    model_t = read_model((tm_dir / "model.tflite").read_bytes())
    graph = model_t.subgraphs[0]
    graph.tensors[graph.inputs[0]].shape = [1, 224, 224, 1]
    grey = tmp_path / "grey.tflite"
    grey.write_bytes(write_model(model_t))
    assert main(["metadata", str(grey), "--labels", str(tm_dir / "labels.txt"), "-o", str(tmp_path / "g.tflite")]) == 2
    err = capsys.readouterr().err
    assert "not an image classifier" in err and "1x224x224x1" in err
    assert not (tmp_path / "g.tflite").exists()


@pytest.fixture(scope="session")
def models_dir(assets_dir: Path) -> Path:
    return assets_dir / "reference-models"


def test_default_output_never_overwrites_the_input(tm_dir, tmp_path):
    model = tmp_path / "model.tflite"
    shutil.copy(tm_dir / "model.tflite", model)
    assert main(["metadata", str(model), "--labels", str(tm_dir / "labels.txt")]) == 0
    assert model.read_bytes() == (tm_dir / "model.tflite").read_bytes()
    assert read_model_info(tmp_path / "model_metadata.tflite").labels == TM_LABELS
    assert main(["metadata", str(model), "--labels", str(tm_dir / "labels.txt"), "-o", str(model)]) == 0
    assert read_model_info(model).labels == TM_LABELS  # named by -o: replaced


def test_quantized_mobilenet_without_metadata_gives_the_reference_top1(models_dir, tmp_path):
    """The official quantized MobileNetV2 (no metadata, logits out) + labels.txt -> metadata -> the same top-1
    as the coral model on the sanity photos (computed on the whole photo: --crop stretch)."""
    src = models_dir / "tflite-support" / "mobilenet_v2_1.0_224_quant.tflite"
    assert read_model_info(src).metadata is None
    shape = inspect_classifier(src.read_bytes())
    assert (shape.height, shape.width, shape.input_type, shape.num_scores, shape.softmax) == (224, 224, "uint8",
                                                                                               1001, False)
    out = tmp_path / "mobilenet.tflite"
    assert main(["metadata", str(src), "--labels", str(models_dir / "tflite-support" / "labels.txt"),
                 "--crop", "stretch", "-o", str(out)]) == 0
    sanity = models_dir.parent / "sanity-images"
    code = ("import json, sys\nfrom device import Classifier\nclf = Classifier.from_file(sys.argv[1])\n"
            "print(json.dumps({p: clf.classify(sys.argv[2] + '/' + p, top_k=1)[0][0] for p in sys.argv[3:]}))")
    proc = subprocess.run([sys.executable, "-c", code, str(out), str(sanity), *EXPECTED_TOP1], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    got = {p: label.split(",")[0] for p, label in json.loads(proc.stdout).items()}
    assert got == EXPECTED_TOP1


def test_existing_metadata_normalisation_is_kept(models_dir, tmp_path):
    src = models_dir / "tflite-support" / "mobilenet_v1_0.25_224_1_metadata_1.tflite"
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(read_model_info(src).labels) + "\n")
    out = tmp_path / "v1.tflite"
    assert main(["metadata", str(src), "--labels", str(labels), "-o", str(out)]) == 0
    tensor = read_model_info(out).metadata.inputs[0]
    assert (tensor.mean, tensor.std) == ((127.5,), (127.5,))


def test_normalisation_contradicting_a_quantized_input_is_refused(models_dir, tmp_path, capsys):
    """A uint8 input's quantization already says what its pixels mean; a --mean/--std that disagrees would make
    every runtime requantize the pixels into values the model never saw."""
    src = models_dir / "tflite-support" / "mobilenet_v2_1.0_224_quant.tflite"
    labels = ["--labels", str(models_dir / "tflite-support" / "labels.txt")]
    out = tmp_path / "m.tflite"
    assert main(["metadata", str(src), *labels, "--mean", "0", "--std", "1", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "contradict its uint8 input quantization" in err and "--mean 128 --std 128" in err
    assert not out.exists()
    # what the quantization implies is accepted, as is leaving them out
    assert main(["metadata", str(src), *labels, "--mean", "128", "--std", "128", "-o", str(out)]) == 0
    assert main(["metadata", str(src), *labels, "-o", str(out)]) == 0
