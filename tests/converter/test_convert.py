"""End-to-end: a real run folder converted to every variant, with metadata, evaluated by the TFLite interpreter."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _interpreter(path):
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    return interp


def test_every_variant_converts_runs_and_is_reported(converted, run_folder):
    assert set(converted.files) == {"float32", "float16", "dynamic", "int8"}
    for variant, path in converted.files.items():
        assert path == run_folder / "tflite" / f"model_{variant}.tflite"
        interp = _interpreter(path)
        detail = interp.get_input_details()[0]
        assert list(detail["shape"]) == [1, 96, 96, 3]
        interp.set_tensor(detail["index"], np.full(detail["shape"], 128, dtype=detail["dtype"]))
        interp.invoke()
        assert interp.get_output_details()[0]["shape"][-1] == 5

    report = json.loads((run_folder / "tflite" / "report.json").read_text())
    assert report["validation_photos"] == 50
    assert report["interpreter"] == "ai-edge-litert"  # what edge-classify and the Android app run
    v = report["variants"]
    for name in ("float32", "float16", "dynamic", "int8"):
        for key in ("top1", "top5", "agreement_with_keras", "mean_abs_score_diff", "latency_median_ms",
                    "latency_p90_ms", "size_bytes", "per_class", "per_class_change_vs_float32", "convert_seconds"):
            assert key in v[name], (name, key)
        assert v[name]["latency_p90_ms"] >= v[name]["latency_median_ms"] > 0
    # float32 TFLite computes the same function as Keras
    assert v["float32"]["agreement_with_keras"] == 1.0
    assert v["float32"]["mean_abs_score_diff"] < 1e-3
    assert v["float32"]["top1"] == pytest.approx(report["keras_top1"])
    # quantized variants are smaller and still close to the model
    assert v["float16"]["size_ratio_vs_float32"] < 0.6
    assert v["int8"]["size_ratio_vs_float32"] < 0.45
    assert v["int8"]["agreement_with_keras"] >= 0.8
    assert v["int8"]["mean_abs_score_diff"] < 0.1
    for name in ("report.md", "report.png"):
        assert (run_folder / "tflite" / name).stat().st_size > 0
    md = (run_folder / "tflite" / "report.md").read_text()
    assert "| int8 |" in md and "Per-class accuracy" in md
    assert (run_folder / "tflite" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_int8_model_is_integer_only_with_uint8_io(converted):
    from converter.variants import check_integer_only, tensor_types

    data = converted.files["int8"].read_bytes()
    info = tensor_types(data)
    assert info["input"] == "uint8" and info["output"] == "uint8"
    assert info["ops"] and all(set(op["types"]) <= {"int8", "uint8", "int32"} for op in info["ops"]), info["ops"]
    check_integer_only(data)
    interp = _interpreter(converted.files["int8"])
    scale, zero_point = interp.get_input_details()[0]["quantization"]
    assert scale == pytest.approx(1.0, abs=0.05) and zero_point == 0  # raw 0-255 pixels go straight in


def test_check_integer_only_rejects_a_float_model(converted):
    from converter.errors import ConvertError
    from converter.variants import check_integer_only

    with pytest.raises(ConvertError, match="input/output are float32"):
        check_integer_only(converted.files["float32"].read_bytes())
    with pytest.raises(ConvertError, match="float operators"):
        check_integer_only(converted.files["dynamic"].read_bytes(), int8_io="float32")


def test_int8_io_option_gives_int8_tensors(run_folder):
    from converter import trace
    from converter.calibration import load_calibration_images, representative_dataset
    from converter.run_input import load_run
    from converter.variants import tensor_types

    run = load_run(run_folder)
    frozen = trace.freeze(trace.load_keras_model(run.model_path))
    from converter.photos import RunPhotos

    calib = load_calibration_images(RunPhotos(run), run.train, 10)
    from converter.variants import convert_variant

    info = tensor_types(convert_variant(frozen.function, "int8", representative_dataset(calib), "int8"))
    assert info["input"] == "int8" and info["output"] == "int8"


@pytest.mark.reference
def test_metadata_round_trips_with_tflite_support(converted, run_folder):
    """tflite-support 0.4.4 (the reference of the format, in .venv-reference) reads every variant's metadata."""
    from tests.reference import SKIP_REASON, display, reference_python

    from device.metadata import read_model_info
    from device.preprocess import PreprocessConfig

    if reference_python() is None:
        pytest.skip(SKIP_REASON)
    labels = (run_folder / "labels.txt").read_text().split()
    contract = json.loads((run_folder / "config.json").read_text())["preprocessing"]
    shown = display(dict(converted.files))
    for variant, path in converted.files.items():
        meta, files = shown[variant]["metadata"], shown[variant]["files"]
        assert meta["name"] and meta["version"] == "1" and meta["author"] == "edge-kit"
        assert meta["license"] == "Apache-2.0" and variant in meta["description"]
        sub = meta["subgraph_metadata"][0]
        norm = sub["input_tensor_metadata"][0]["process_units"][0]["options"]
        assert norm["mean"] == [0.0] and norm["std"] == [1.0]
        assert sub["input_tensor_metadata"][0]["content"]["content_properties"]["color_space"] == "RGB"
        out = sub["output_tensor_metadata"][0]
        assert out["associated_files"][0]["name"] == "labels.txt"
        assert out["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"
        assert shown[variant]["packed_files"] == ["labels.txt", "edge_kit_preprocessing.json"]
        assert files["labels.txt"].decode().split() == labels
        packed = json.loads(files["edge_kit_preprocessing.json"])
        assert packed == contract
        assert PreprocessConfig.from_dict(packed).size == (96, 96)
        ours = read_model_info(path)  # edge-kit's device reader sees the same
        assert ours.labels == labels and ours.preprocessing == packed
        assert ours.metadata.min_parser_version == meta["min_parser_version"]


def test_device_runtime_reads_the_metadata(converted, run_folder):
    from device.metadata import read_model_info

    info = read_model_info(converted.files["int8"])
    assert info.labels == (run_folder / "labels.txt").read_text().split()
    assert info.metadata.inputs[0].mean == (0.0,) and info.metadata.inputs[0].std == (1.0,)
    assert info.preprocessing["height"] == 96 and info.preprocessing["contract"] == "edge-kit-preprocess"


def test_metadata_check_refuses_a_mismatch(converted, run_folder):
    from converter.errors import ConvertError
    from converter.metadata import verify_metadata
    from device.preprocess import PreprocessConfig

    data = converted.files["float16"].read_bytes()
    labels = (run_folder / "labels.txt").read_text().split()
    cfg = PreprocessConfig(96, 96, "center")
    verify_metadata(data, labels, cfg, "m.tflite")  # what was written passes
    with pytest.raises(ConvertError, match="4 labels packed|packed labels differ"):
        verify_metadata(data, labels[:4], cfg, "m.tflite")
    with pytest.raises(ConvertError, match="does not match the contract size"):
        verify_metadata(data, labels, PreprocessConfig(128, 128, "center"), "m.tflite")
    with pytest.raises(ConvertError, match="differs from the run's preprocessing"):
        verify_metadata(data, labels, PreprocessConfig(96, 96, "stretch"), "m.tflite")


def test_export_copies_atomically(converted, run_folder, tmp_path, monkeypatch):
    from converter.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["export", str(run_folder), "--variant", "int8"]) == 2  # no such folder here: refused, not created
    assert not (tmp_path / "android-sample").exists()
    assert main(["export", str(run_folder), "--variant", "int8", "--create"]) == 0
    default = tmp_path / "android-sample/app/src/main/assets/model.tflite"
    assert default.read_bytes() == converted.files["int8"].read_bytes()
    assert (default.parent / "labels.txt").read_text().splitlines() == (run_folder / "labels.txt").read_text().splitlines()
    assert (converted.files["int8"].parent / "labels.txt").read_text() == (run_folder / "labels.txt").read_text()
    (tmp_path / "app").mkdir()
    assert main(["export", str(run_folder), "--variant", "float16", "-o", "app/"]) == 0
    assert (tmp_path / "app/model.tflite").read_bytes() == converted.files["float16"].read_bytes()

    # an interrupted copy leaves the previous model intact and no temporary file behind
    import common.atomic

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(common.atomic, "_fsync_file", interrupted)
    assert main(["export", str(run_folder), "--variant", "float32", "-o", "app/model.tflite"]) == 130
    assert (tmp_path / "app/model.tflite").read_bytes() == converted.files["float16"].read_bytes()
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == ["labels.txt", "model.tflite"]


def test_export_of_a_missing_variant_says_convert_first(run_folder, tmp_path, capsys):
    from converter.cli import main

    assert main(["export", str(tmp_path / "nowhere"), "--variant", "int8", "-o", str(tmp_path)]) == 2
    assert "convert first" in capsys.readouterr().err


def _with_test_split(run_folder, dest, per_class: int = 2):
    """A copy of ``run_folder`` whose splits.json also lists ``per_class`` test photos of each class."""
    import shutil

    shutil.copytree(run_folder, dest)
    splits = json.loads((dest / "splits.json").read_text())
    root = Path(splits["root"])
    used = {p for name in ("train", "val") for p, _ in splits[name]}
    for index, label in enumerate(splits["labels"]):
        spare = [f"{label}/{f.name}" for f in sorted((root / label).iterdir()) if f"{label}/{f.name}" not in used]
        splits["test"] += [[rel, index] for rel in spare[:per_class]]
    (dest / "splits.json").write_text(json.dumps(splits))
    return dest, [root / rel for rel, _ in splits["test"]], [root / rel for rel in used]


def test_qat_exports_an_integer_only_int8_model_without_reading_the_test_photos(run_folder, tmp_path, monkeypatch):
    from converter import ConvertConfig, convert
    from converter.variants import tensor_types
    from tests.read_spy import record_reads

    run, test_photos, other_photos = _with_test_split(run_folder, tmp_path / "run")
    log = record_reads(monkeypatch)
    result = convert(run, ConvertConfig(variants="int8", qat=True, calibration_size=20, verbose=False,
                                        max_accuracy_drop=None, output_dir=str(tmp_path / "qat")))
    info = tensor_types(result.files["int8"].read_bytes())
    assert info["input"] == "uint8" and all(set(op["types"]) <= {"int8", "uint8", "int32"} for op in info["ops"])
    assert result.report["qat"] is True and "qat" in result.timings
    assert 0.0 <= result.report["variants"]["int8"]["top1"] <= 1.0
    # Calibration, QAT and the evaluation that the accuracy gate and --export-variant auto decide on read the
    # training and validation photos, never the test photos.
    assert log.read_positions(other_photos) and log.read_positions(test_photos) == []


def test_qat_gives_the_same_int8_model_whatever_ran_before_in_the_process(run_folder, tmp_path):
    """`edge-kit` trains and converts in one process (the trainer seeds TensorFlow's global state), `edge-convert`
    starts fresh: both must produce the same int8 file for the same run folder and seed."""
    import tensorflow as tf

    from converter import ConvertConfig, convert

    files = []
    for i, global_seed in enumerate((None, 123)):
        if global_seed is not None:  # what a training run in the same process leaves behind
            tf.keras.utils.set_random_seed(global_seed)
            tf.random.uniform((3,))
        result = convert(run_folder, ConvertConfig(variants="int8", qat=True, qat_epochs=1, calibration_size=20,
                                                   verbose=False, evaluate=False, output_dir=str(tmp_path / str(i))))
        files.append(result.files["int8"].read_bytes())
    assert files[0] == files[1]


def test_report_accuracy_is_what_the_device_runtime_gets(converted, run_folder):
    """Every variant's top-1 in the report equals edge-classify's on the same validation photos (dynamic-range
    kernels differ between interpreters: the converter measures with the one devices run)."""
    from converter.run_input import load_run
    from device import Classifier

    report = json.loads((run_folder / "tflite" / "report.json").read_text())
    run = load_run(run_folder)
    for variant, path in converted.files.items():
        clf = Classifier.from_file(path)
        right = [int(clf.scores(clf.prepare(run.data_root / rel)).argmax()) == label for rel, label in run.val]
        assert report["variants"][variant]["interpreter"] == clf.interpreter.backend
        assert report["variants"][variant]["top1"] == pytest.approx(sum(right) / len(right)), variant


def test_edge_classify_evaluate_gives_the_reports_int8_top1(converted, run_folder, tmp_path):
    """``edge-classify MODEL --evaluate FOLDER`` on the validation photos (laid out one folder per class) gives
    the top-1 the converter reported for the int8 model."""
    from converter.run_input import load_run
    from device.cli import main as classify

    report = json.loads((run_folder / "tflite" / "report.json").read_text())
    run = load_run(run_folder)
    for rel, label in run.val:
        folder = tmp_path / "val" / run.labels[label].upper()  # folder names match labels case-insensitively
        folder.mkdir(parents=True, exist_ok=True)
        (folder / rel.replace("/", "_")).symlink_to(run.data_root / rel)
    assert classify([str(converted.files["int8"]), "--evaluate", str(tmp_path / "val"), "-o",
                     str(tmp_path / "eval")]) == 0
    result = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert result["count"] == len(run.val)
    assert result["top1"] == pytest.approx(report["variants"]["int8"]["top1"])


def test_no_converter_step_holds_the_training_set_in_memory(run_folder, tmp_path, monkeypatch):
    """Calibration, the quantization check, QAT and the evaluation take photos through ``RunPhotos`` a batch at a
    time: with 120 training photos, no step asks for more than a batch (or the calibration sample) at once."""
    from converter import ConvertConfig, convert
    from converter import photos as photos_module

    largest = {"batch": 0, "load": 0}
    batches, load = photos_module.RunPhotos.batches, photos_module.RunPhotos.load

    def spy_batches(self, items, batch_size=32):
        for x, y in batches(self, items, batch_size):
            largest["batch"] = max(largest["batch"], len(x))
            yield x, y

    def spy_load(self, items):
        largest["load"] = max(largest["load"], len(items))
        return load(self, items)

    monkeypatch.setattr(photos_module.RunPhotos, "batches", spy_batches)
    monkeypatch.setattr(photos_module.RunPhotos, "load", spy_load)
    result = convert(run_folder, ConvertConfig(variants=("float32", "int8"), qat=True, qat_epochs=1,
                                               calibration_size=20, verbose=False, max_accuracy_drop=None,
                                               output_dir=str(tmp_path / "out")))
    train = len(json.loads((run_folder / "splits.json").read_text())["train"])
    assert train == 120 and result.report["qat"] is True
    assert 0 < largest["batch"] <= 64 and largest["load"] <= 20  # never the 120 training photos at once
    check = result.report["variants"]["int8"]["quantization"]
    assert check["photos"] == 50 and check["photos_kind"] == "validation"  # the photos the verdict is taken on
    assert check["augmented_training"]["photos"] == train  # and every training photo, augmented, reported beside
