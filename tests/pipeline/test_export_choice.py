"""``--export-variant auto``: the choice rule on stand-in converter reports (no TensorFlow), and the pipeline using the
choice in classify/export/report with incremental re-runs."""
from __future__ import annotations

import json

import pytest

import pipeline.api as pipeline
from pipeline.api import AUTO, PipelineConfig, choose_export_variant, run_pipeline
from pipeline.cli import build_parser, config_from_args, main
from pipeline.state import PipelineError
from tests.pipeline.helpers import write_synthetic_run

ALL = ("float32", "float16", "dynamic", "int8")


def stand_in(top1, sizes=None, keras_top1=None):
    """A converter report with just what the rule reads: top-1 (and file size) per variant."""
    sizes = sizes or {"float32": 1_600_000, "float16": 820_000, "dynamic": 550_000, "int8": 520_000}
    report = {"variants": {name: {"top1": t, "size_bytes": sizes.get(name)} for name, t in top1.items()}}
    if keras_top1 is not None:
        report["keras_top1"] = keras_top1
    return report


def test_int8_within_the_limit_is_chosen():
    choice = choose_export_variant(stand_in({"float32": 0.93, "float16": 0.93, "dynamic": 0.925, "int8": 0.925}),
                                   ALL, AUTO, 1.0)
    assert choice.variant == "int8" and not choice.fallback
    assert choice.drops["int8"] == pytest.approx(0.5)


def test_int8_exactly_at_the_limit_qualifies():
    choice = choose_export_variant(stand_in({"float32": 0.90, "int8": 0.89}), ("float32", "int8"), AUTO, 1.0)
    assert choice.variant == "int8"


def test_int8_beyond_the_limit_falls_back_to_dynamic_with_the_reason():
    report = stand_in({"float32": 0.930, "float16": 0.930, "dynamic": 0.925, "int8": 0.888})
    choice = choose_export_variant(report, ALL, AUTO, 1.0, out="runs/flowers")
    assert choice.variant == "dynamic" and choice.fallback
    assert choice.reason.startswith("int8 lost 4.2 points (limit 1.0): exported dynamic instead (0.55 MB, 92.5%)")
    assert "`edge-convert runs/flowers --qat`" in choice.reason and "calibration photos" in choice.reason
    with_qat = choose_export_variant({**report, "qat": True}, ALL, AUTO, 1.0, out="runs/flowers")
    assert "--qat-epochs 5" in with_qat.reason  # QAT already ran: the advice is more of it


def test_the_pipeline_runs_qat_only_when_needed_by_default_and_the_flags_force_it():
    from pipeline.api import PipelineConfig
    from pipeline.cli import build_parser, config_from_args
    from pipeline.stages import StageContext, convert_config

    assert PipelineConfig(data_dir="d", out_dir="o").qat is None  # automatic: when post-training int8 fails the gate
    auto = config_from_args(build_parser().parse_args(["photos", "--out", "runs/x", "--max-accuracy-drop", "2"]))
    on = config_from_args(build_parser().parse_args(["photos", "--out", "runs/x", "--qat"]))
    off = config_from_args(build_parser().parse_args(["photos", "--out", "runs/x", "--no-qat"]))
    assert (auto.qat, on.qat, off.qat) == (None, True, False)
    auto_cfg = convert_config(StageContext(auto, None, None, print))
    assert auto_cfg.qat is None and auto_cfg.qat_limit == 2.0  # the decision uses edge-kit's gate limit
    assert auto_cfg.max_accuracy_drop is None  # the gate itself is the export stage's
    assert convert_config(StageContext(on, None, None, print)).qat is True
    assert convert_config(StageContext(off, None, None, print)).qat is False


def test_the_gate_allows_for_the_noise_of_the_photos_it_counted():
    """One photo out of a hundred is within noise; the same share out of many photos, or a larger loss, is not."""
    def check(right_to_wrong, wrong_to_right, photos):
        from common.gates import quantization_check
        import numpy as np

        labels = np.zeros(photos, int)
        reference = np.eye(2)[labels]
        mine = reference.copy()
        mine[:right_to_wrong] = np.eye(2)[1]  # int8 wrong where float32 was right
        return {"variants": {"float32": {"top1": 1.0},
                             "int8": {"top1": 0.0, "quantization": quantization_check(reference, mine, labels)}}}

    from common.gates import drop_points, passes

    one_of_100 = check(2, 0, 100)  # 2 points lost on 100 photos: noise is 1.4 points
    assert drop_points(one_of_100, "int8") == pytest.approx(2.0) and passes(one_of_100, "int8", 1.0)
    many = check(20, 0, 1000)  # the same 2 points on 1000 photos: noise 0.45
    assert not passes(many, "int8", 1.0)
    assert not passes(check(5, 0, 100), "int8", 1.0)  # 5 points, noise 2.2


def test_dynamic_too_lossy_falls_back_to_float16_then_float32():
    report = stand_in({"float32": 0.93, "float16": 0.929, "dynamic": 0.90, "int8": 0.88})
    choice = choose_export_variant(report, ALL, AUTO, 1.0)
    assert choice.variant == "float16" and "dynamic lost 3.0" in choice.reason
    report = stand_in({"float32": 0.93, "float16": 0.90, "dynamic": 0.90, "int8": 0.88})
    assert choose_export_variant(report, ALL, AUTO, 1.0).variant == "float32"  # float32 always qualifies
    assert choose_export_variant(report, ALL, AUTO, 0.0).variant == "float32"


def test_only_converted_variants_are_considered():
    report = stand_in({"float32": 0.93, "float16": 0.93, "int8": 0.88})  # no dynamic converted
    assert choose_export_variant(report, ("float32", "float16", "int8"), AUTO, 1.0).variant == "float16"
    report = stand_in({"float32": 0.93, "dynamic": 0.93})  # no int8: not a fallback, no notice
    choice = choose_export_variant(report, ("float32", "dynamic"), AUTO, 1.0)
    assert choice.variant == "dynamic" and not choice.fallback


def test_no_gate_keeps_int8():
    choice = choose_export_variant(stand_in({"float32": 0.93, "dynamic": 0.92, "int8": 0.50}), ALL, AUTO, None)
    assert choice.variant == "int8" and not choice.fallback


def test_explicit_variant_is_used_as_given():
    choice = choose_export_variant(stand_in({"float32": 0.93, "dynamic": 0.92, "int8": 0.80}), ALL, "int8", 1.0)
    assert choice.variant == "int8" and choice.requested == "int8" and not choice.fallback


def test_without_float32_the_keras_model_is_the_baseline_and_nothing_may_qualify():
    report = stand_in({"dynamic": 0.925, "int8": 0.85}, keras_top1=0.93)
    assert choose_export_variant(report, ("dynamic", "int8"), AUTO, 1.0).variant == "dynamic"
    report = stand_in({"dynamic": 0.85, "int8": 0.85}, keras_top1=0.93)
    choice = choose_export_variant(report, ("dynamic", "int8"), AUTO, 1.0)
    assert choice.variant == "int8" and "add float32" in choice.reason  # the export gate then refuses it


def test_without_a_report_auto_keeps_int8():
    assert choose_export_variant(None, ALL, AUTO, 1.0).variant == "int8"


def test_cli_default_is_auto_and_names_are_checked(tmp_path, capsys):
    args = build_parser().parse_args(["--out", str(tmp_path)])
    assert config_from_args(args).export_variant == AUTO
    assert PipelineConfig(None, str(tmp_path), export_variant="AUTO", variants=("float32",)).export_variant == AUTO
    with pytest.raises(PipelineError, match="unknown variant"):
        PipelineConfig(None, str(tmp_path), export_variant="int4")
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "auto (default)" in capsys.readouterr().out


def _fake_models(out):
    for name in ALL:
        (out / "tflite" / f"model_{name}.tflite").write_bytes(name.encode() * 100)


def test_auto_exports_a_variant_within_the_limit_and_says_so(tmp_path, photos_dir, monkeypatch):
    out = write_synthetic_run(tmp_path / "run", photos_dir)  # int8 -10, dynamic -5, float16 0 points
    _fake_models(out)
    assets = tmp_path / "assets"
    classified = []
    monkeypatch.setitem(pipeline.RUNNERS, "classify", lambda ctx: (classified.append(ctx.variant), ([], {}))[1])
    monkeypatch.setitem(pipeline.MATERIAL, "classify", lambda ctx: {"variant": ctx.variant})
    cfg = dict(stages=("classify", "export", "report"), verbose=False, android_assets=str(assets))
    logs = []
    result = run_pipeline(PipelineConfig(None, str(out), max_accuracy_drop=1.0, **cfg), log=logs.append)
    assert result.ok and result.stages["export"].status == "ran"
    assert result.export_choice.variant == "float16" and classified == ["float16"]
    assert (assets / "model.tflite").read_bytes() == (out / "tflite" / "model_float16.tflite").read_bytes()
    assert json.loads((out / "export.json").read_text())["variant"] == "float16"
    reason = result.export_choice.reason
    assert reason.startswith("int8 lost 10.0 points (limit 1.0; dynamic lost 5.0): exported float16 instead")
    assert any(reason in line for line in logs) and any(line.startswith("notice: ") for line in logs)
    html = (out / "report.html").read_text()
    assert html.index('id="notices"') < html.index('id="summary"') and 'class="notice"' in html
    assert 'id="problems"' not in html and "exported float16 instead" in html
    assert f"> **Notice:** {reason}" in (out / "report.md").read_text()
    data = json.loads((out / "report.json").read_text())
    assert data["notices"] == [reason] and data["export_choice"]["variant"] == "float16"

    # Same options: nothing runs again. A looser limit: auto picks dynamic, classify and export run again.
    again = run_pipeline(PipelineConfig(None, str(out), max_accuracy_drop=1.0, **cfg))
    assert {again.stages[s].status for s in cfg["stages"]} == {"skipped"} and classified == ["float16"]
    looser = run_pipeline(PipelineConfig(None, str(out), max_accuracy_drop=5.0, **cfg))
    assert looser.export_choice.variant == "dynamic" and classified == ["float16", "dynamic"]
    assert looser.stages["export"].status == "ran"
    # int8 within the limit: no notice any more.
    loosest = run_pipeline(PipelineConfig(None, str(out), max_accuracy_drop=12.0, **cfg))
    assert loosest.export_choice.variant == "int8" and not loosest.export_choice.fallback
    assert 'id="notices"' not in (out / "report.html").read_text()
    assert json.loads((out / "report.json").read_text())["notices"] == []
    # The named variant gets today's behaviour: refused, the run fails.
    named = run_pipeline(PipelineConfig(None, str(out), max_accuracy_drop=1.0, export_variant="int8", **cfg))
    assert not named.ok and named.stages["export"].status == "blocked"
