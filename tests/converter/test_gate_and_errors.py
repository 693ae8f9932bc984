"""The accuracy gate, bad run folders, bad options, calibration sampling and atomic outputs."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from converter.config import ConvertConfig, parse_variants
from converter.errors import ConvertError


def test_calibration_sample_is_stratified_and_seeded():
    from converter.calibration import stratified_sample

    items = [(f"a/{i}.jpg", 0) for i in range(100)] + [(f"b/{i}.jpg", 1) for i in range(30)] + \
            [(f"c/{i}.jpg", 2) for i in range(5)]
    picked = stratified_sample(items, 60, seed=1)
    counts = Counter(label for _, label in picked)
    assert len(picked) == 60 and counts[2] == 5  # a small class gives all it has
    assert sorted([counts[0], counts[1]]) == [27, 28]  # the rest is shared evenly
    assert stratified_sample(items, 60, seed=1) == picked
    assert stratified_sample(items, 60, seed=2) != picked
    assert len(stratified_sample(items, 1000)) == len(items)


def test_unknown_variant_is_refused_with_the_choices(capsys):
    with pytest.raises(ConvertError, match="unknown variant 'int4'.*float32, float16, dynamic, int8"):
        parse_variants("float32,int4")
    with pytest.raises(ConvertError, match="calibration_size=0 must be at least 1"):
        ConvertConfig(calibration_size=0)
    from converter.cli import main

    assert main(["some/run", "--variants", "fp8"]) == 2
    assert "unknown variant 'fp8'" in capsys.readouterr().err


def test_help_teaches_with_examples(capsys):
    from converter.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "--calibration-size" in out and "edge-convert export runs/flowers --variant int8" in out


def _fake_report(float_top1: float, int8_top1: float) -> dict:
    return {"keras_top1": float_top1,
            "variants": {"float32": {"top1": float_top1}, "int8": {"top1": int8_top1}}}


def test_accuracy_gate_decision():
    from converter.api import _gate

    cfg = ConvertConfig(max_accuracy_drop=1.0, calibration_size=200)
    ok = _gate(_fake_report(0.90, 0.895), cfg)
    assert ok["passed"] and ok["drop_points"] == pytest.approx(0.5)
    bad = _gate(_fake_report(0.90, 0.87), cfg)
    assert not bad["passed"] and bad["drop_points"] == pytest.approx(3.0)
    assert "--calibration-size 400" in bad["message"] and "--qat" in bad["message"]
    assert _gate(_fake_report(0.9, 0.5), ConvertConfig(max_accuracy_drop=None)) is None


@pytest.mark.slow
def test_gate_failure_exits_3_and_keeps_complete_files(run_folder, tmp_path, capsys):
    """An int8 export that must lose accuracy, refused by the gate. The trained model's last layer is scaled by
    1e-4: float32 still ranks the classes as before (a softmax keeps the order of its inputs), but every score is
    then within 1e-4 of 1/classes, far inside int8's output step of 1/256, so all of int8's scores tie and its
    top-1 is always class 0 (ties go to the lower index). int8's top-1 is the share of class 0 among the validation
    photos, below float32's, and a 0-point limit refuses it: exit 3, the message, every file complete."""
    from converter.cli import main
    from converter.trace import load_keras_model

    work = tmp_path / "run"
    shutil.copytree(run_folder, work, ignore=shutil.ignore_patterns("tflite"))
    model = load_keras_model(work / "model.keras")
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel * 1e-4, bias * 1e-4])
    model.save(work / "model.keras")
    truth = [label for _, label in json.loads((work / "splits.json").read_text())["val"]]
    class0_share = truth.count(0) / len(truth)

    rc = main([str(work), "--variants", "float32,int8", "--calibration-size", "20", "--max-accuracy-drop", "0",
               "--no-qat", "--quiet"])
    err = capsys.readouterr().err
    report = json.loads((work / "tflite/report.json").read_text())
    float_top1, int8_top1 = report["variants"]["float32"]["top1"], report["variants"]["int8"]["top1"]
    assert int8_top1 == pytest.approx(class0_share)  # every int8 answer is class 0
    assert float_top1 > class0_share, "the trained model should beat always answering class 0"
    assert rc == 3, err[-2000:]
    assert report["gate"]["passed"] is False
    assert report["gate"]["drop_points"] == pytest.approx(100 * (float_top1 - class0_share))
    assert "accuracy gate failed" in err and "--qat" in err and "--calibration-size" in err
    for name in ("model_float32.tflite", "model_int8.tflite", "report.json", "report.md", "report.png"):
        assert (work / "tflite" / name).stat().st_size > 0
    assert not [p for p in (work / "tflite").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("missing", ["model.keras", "labels.txt", "config.json", "splits.json"])
def test_missing_run_file_is_named(fake_run, missing):
    from converter.run_input import load_run

    work = fake_run
    (work / missing).unlink()
    with pytest.raises(ConvertError, match=rf"{missing}: missing from the run folder; re-run edge-train"):
        load_run(work)


def test_labels_that_do_not_match_are_refused(fake_run):
    from converter.run_input import load_run

    work = fake_run
    labels = (work / "labels.txt").read_text().split()
    (work / "labels.txt").write_text("\n".join(labels[:2]) + "\n")
    with pytest.raises(ConvertError, match=r"splits.json.*labels.txt|labels.txt.*splits.json") as info:
        load_run(work)
    assert "edge-train" in str(info.value)


@pytest.mark.slow
def test_model_output_must_match_labels_and_be_probabilities(run_folder, tmp_path):
    import tf_keras as keras

    from converter import ConvertConfig, convert

    work = tmp_path / "run"
    shutil.copytree(run_folder, work, ignore=shutil.ignore_patterns("tflite", "model.keras"))
    inputs = keras.Input((96, 96, 3))
    h = keras.layers.GlobalAveragePooling2D()(inputs)
    keras.Model(inputs, keras.layers.Dense(5)(h)).save(work / "model.keras")  # logits, not probabilities
    with pytest.raises(ConvertError, match=r"model.keras: the output is not a probability over the labels"):
        convert(work, ConvertConfig(variants="float32", verbose=False))
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h)).save(work / "model.keras")
    with pytest.raises(ConvertError, match=r"model.keras: the model has 3 outputs but labels.txt has 5 labels"):
        convert(work, ConvertConfig(variants="float32", verbose=False))


def test_empty_calibration_set_is_refused(run_folder, tmp_path):
    from converter import ConvertConfig, convert

    work = tmp_path / "run"
    shutil.copytree(run_folder, work, ignore=shutil.ignore_patterns("tflite"))
    splits = json.loads((work / "splits.json").read_text())
    splits["train"] = []
    (work / "splits.json").write_text(json.dumps(splits))
    with pytest.raises(ConvertError, match=r"splits.json: the training split is empty.*--variants"):
        convert(work, ConvertConfig(variants="int8", verbose=False))
    assert not (work / "tflite").exists()


@pytest.mark.slow
def test_interrupted_conversion_leaves_no_truncated_tflite(run_folder, tmp_path, monkeypatch):
    import converter.api as api
    from converter import ConvertConfig, convert

    work = tmp_path / "run"
    shutil.copytree(run_folder, work, ignore=shutil.ignore_patterns("tflite"))
    real = api.atomic_write_bytes

    def crash_on_int8(path, data):
        if Path(path).name == "model_int8.tflite":
            import common.atomic as atomic

            with atomic.atomic_path(path) as tmp:
                Path(tmp).write_bytes(data[: len(data) // 2])  # half written, then Ctrl-C
                raise KeyboardInterrupt
        return real(path, data)

    monkeypatch.setattr(api, "atomic_write_bytes", crash_on_int8)
    with pytest.raises(KeyboardInterrupt):
        convert(work, ConvertConfig(variants="float32,int8", calibration_size=20, evaluate=False, qat=False,
                                    verbose=False))
    assert sorted(p.name for p in (work / "tflite").iterdir()) == ["model_float32.tflite", "sources.json"]
    assert list(json.loads((work / "tflite" / "sources.json").read_text())) == ["model_float32.tflite"]
