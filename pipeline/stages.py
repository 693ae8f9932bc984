"""The five pipeline stages. Each has two functions:

* ``<stage>_material(ctx) -> dict``: everything the stage's result depends on (its configuration, and the identity of
  its input files). Its hash is the stage fingerprint; an unchanged fingerprint means the stage is not run again.
* ``run_<stage>(ctx) -> (outputs, summary)``: do the work; return the files written (hashed into the state file)
  and a small JSON summary.

The stages call the other parts' library APIs (``trainer.train``, ``converter.convert``, ``converter.export_variant``)
and the device runtime as a child process; nothing here re-implements them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from pipeline.state import PipelineError, PipelineState, explain_os_error, file_digest, file_stamp, tree_stamp, \
    write_or_explain
from common import exit_codes
from common import run_folder as rf
from common.atomic import atomic_write_json
from common import gates
from common.gates import drop_points
from common.metrics import SPLIT_ROLES

STAGES: Tuple[str, ...] = ("train", "convert", "classify", "export", "report")

#: The run folder files the trainer must write (the converter's inputs), and those it writes when it can.
RUN_FILES = rf.REQUIRED
RUN_EXTRAS = rf.TRAINER_EXTRAS
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

Outputs = Tuple[List[Path], Dict[str, Any]]

#: ``--export-variant auto``: int8 when it stays within ``--max-accuracy-drop``, else the first variant of
#: :data:`AUTO_FALLBACK` (smallest file first) that does; float32 always qualifies.
AUTO = "auto"
AUTO_PREFERRED = "int8"
AUTO_FALLBACK: Tuple[str, ...] = ("dynamic", "float16", "float32")


class StageBlocked(PipelineError):
    """The stage refused to run for a reason the report should show (e.g. the int8 accuracy gate); later stages
    that do not depend on it still run, and the pipeline ends with an error."""


@dataclass
class StageContext:
    """What every stage sees: the pipeline configuration, the output folder, the state and a logger."""

    config: Any  #: pipeline.api.PipelineConfig
    out: Path
    state: PipelineState
    log: Callable[[str], None]
    notes: List[str] = field(default_factory=list)  #: messages for the report (e.g. why export was blocked)
    choice: Optional["ExportChoice"] = None  #: the resolved ``--export-variant`` (set after the convert stage)

    @property
    def variant(self) -> str:
        """The variant the classify, export and report stages use: ``--export-variant``, or auto's choice."""
        if self.choice is not None:
            return self.choice.variant
        requested = self.config.export_variant
        return requested if requested != AUTO else auto_fallback_order(self.config.variants)[0]


def _digests(folder: Path, names) -> Dict[str, Optional[str]]:
    return {name: (file_digest(folder / name) if (folder / name).is_file() else None) for name in names}


def _require(folder: Path, names, fix: str, exit_code: int = exit_codes.BAD_INPUT) -> None:
    """Raise :class:`PipelineError` naming the first of ``names`` missing from ``folder``: a stage asked for
    without its inputs is bad usage (exit status 2) unless ``exit_code`` says otherwise."""
    for name in names:
        if not (folder / name).is_file():
            raise PipelineError(f"{folder / name}: missing; {fix}", exit_code=exit_code)


# ------------------------------------------------------------------------------------------------------- train

def train_config(ctx: StageContext):
    """The ``trainer.TrainConfig`` this pipeline trains with."""
    from trainer.config import TrainConfig

    cfg = ctx.config
    if not cfg.data_dir:
        raise PipelineError("the train stage needs the photo folder: edge-kit DATA_DIR --out OUT "
                            "(one sub-folder of photos per class)")
    options = dict(cfg.train_options)
    return TrainConfig(data_dir=str(cfg.data_dir), out_dir=str(ctx.out), backbone=cfg.backbone, alpha=cfg.alpha,
                       size=cfg.size,
                       weights=cfg.weights, verbose=cfg.verbose, **options)


def _resumes(tc, out: Path) -> bool:
    """Whether ``out`` holds an interrupted training with the same settings (the trainer resumes it)."""
    import json

    return (out / rf.CHECKPOINT_DIR).is_dir() and rf.read_checkpoint_key(out) == json.loads(json.dumps(tc.resume_key()))


def train_material(ctx: StageContext) -> Dict[str, Any]:
    tc = train_config(ctx)
    weights = tc.weights
    weights_id: Any = weights
    if weights and weights != "imagenet":
        path = Path(weights)
        weights_id = {"path": str(path.resolve()), "stamp": file_stamp(path) if path.is_file() else None}
    return {"config": tc.resume_key(), "weights": weights_id,
            "photos": tree_stamp(Path(tc.data_dir), PHOTO_SUFFIXES)}


def run_train(ctx: StageContext) -> Outputs:
    from trainer import train

    tc = train_config(ctx)
    # This stage only runs when its inputs changed, so a finished run in the folder is out of date: the trainer
    # replaces it, but only once the new run is complete (a refused photo folder or a failed training keeps it),
    # and resumes an interrupted training with the same settings.
    tc.overwrite = True
    if _resumes(tc, ctx.out):
        ctx.log("  resuming the interrupted training from its last checkpoint")
    from converter.backbone_costs import measure

    run = train(tc, measure=measure)  # the backbone search times each candidate's int8 model here
    _require(ctx.out, RUN_FILES, "the trainer did not write a complete run folder", exit_codes.FAILED)
    outputs = [ctx.out / n for n in RUN_FILES + RUN_EXTRAS if (ctx.out / n).is_file()]
    summary: Dict[str, Any] = {"val_top1": run.val_top1}
    if isinstance(run.metrics.get("test"), dict):  # the number no decision saw
        summary["test_top1"] = float(run.metrics["test"]["top1"])
    return outputs, summary


# ----------------------------------------------------------------------------------------------------- convert

def convert_config(ctx: StageContext):
    """The ``converter.ConvertConfig`` used. The accuracy gate is applied by the export stage, not here, so that
    changing ``--max-accuracy-drop`` never forces a new conversion."""
    from converter.config import ConvertConfig

    cfg = ctx.config
    options = {"qat": cfg.qat if "int8" in cfg.variants else False, "qat_limit": cfg.max_accuracy_drop,
               **dict(cfg.convert_options)}
    return ConvertConfig(variants=cfg.variants, max_accuracy_drop=None, verbose=cfg.verbose, **options)


def convert_material(ctx: StageContext) -> Dict[str, Any]:
    cc = dataclasses.asdict(convert_config(ctx))
    for neutral in ("verbose", "max_accuracy_drop", "num_threads"):
        cc.pop(neutral, None)
    return {"config": cc, "run": _digests(ctx.out, RUN_FILES)}


def run_convert(ctx: StageContext) -> Outputs:
    from converter.api import convert

    _require(ctx.out, RUN_FILES, "train first (edge-kit DATA_DIR --out OUT, or --stage train)")
    cc = convert_config(ctx)
    result = convert(ctx.out, cc, progress=ctx.log if cc.verbose else None)  # the pipeline's logger: its Ctrl-C check
    outputs = [Path(p) for p in result.files.values()] + [Path(p) for p in result.report_files.values()]
    summary = {name: {"top1": v.get("top1"), "size_bytes": v.get("size_bytes")}
               for name, v in result.report.get("variants", {}).items()}
    return outputs, {"variants": summary, "timings": {k: round(v, 2) for k, v in result.timings.items()}}


def tflite_path(ctx: StageContext, variant: Optional[str] = None) -> Path:
    return ctx.out / rf.tflite_model(variant or ctx.variant)


# ------------------------------------------------------------------------------- choosing the exported variant

@dataclass
class ExportChoice:
    """Which variant the classify, export and report stages use, and why.

    requested: ``--export-variant`` as given ("auto" or a variant). variant: the one used. fallback: True when auto
    passed over int8 because of its accuracy loss (the report shows ``reason`` as an amber notice).
    drops: top-1 points each converted variant lost vs float32 (None where unknown).
    """

    requested: str
    variant: str
    reason: str
    fallback: bool = False
    limit: Optional[float] = None
    drops: Dict[str, Optional[float]] = field(default_factory=dict)

    def to_json(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def _points(value: float) -> str:
    """``1`` -> ``"1.0"``, ``0.25`` -> ``"0.25"``."""
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"


def auto_fallback_order(variants) -> Tuple[str, ...]:
    """The converted variants auto considers, in the order it considers them (int8 first)."""
    order = (AUTO_PREFERRED,) + AUTO_FALLBACK
    return tuple(v for v in order if v in variants) or tuple(variants)


def choose_export_variant(report: Optional[Dict[str, Any]], variants, requested: str,
                          limit: Optional[float], out: Any = "RUN", exporting: bool = True) -> ExportChoice:
    """Resolve ``--export-variant`` against the converter's report (``tflite/report.json`` as a dict, or None).

    An explicit variant is used as given (the export stage's gate may still refuse it). ``auto``: int8 if its top-1
    drop vs float32 is within ``limit``, else the first of dynamic, float16, float32 (converted ones only) within it.
    Without a report (not converted yet) auto keeps its first candidate; the stages needing the model then say so.
    """
    converted = [v for v in variants if report is None or v in (report.get("variants") or {})] or list(variants)
    drops = {v: drop_points(report, v) for v in converted} if report is not None else {}
    if requested != AUTO:
        return ExportChoice(requested, requested, f"--export-variant {requested}", limit=limit, drops=drops)
    order = auto_fallback_order(converted)
    if report is None:
        return ExportChoice(AUTO, order[0], f"auto: {order[0]} (no conversion report yet to compare variants)",
                            limit=limit)
    picked = next((v for v in order if gates.passes(report, v, limit)), None)
    if picked is None:  # nothing qualifies (no float32 to fall back on): the export gate refuses the first candidate
        return ExportChoice(AUTO, order[0], f"auto: no converted variant is within --max-accuracy-drop {_points(limit)}; "
                                            f"add float32 to --variants", limit=limit, drops=drops)
    gate = "no accuracy gate" if limit is None else f"limit {_points(limit)}"

    def lost(v: str) -> str:
        if drops.get(v) is None:
            return "n/a"
        noise = gates.noise_points(report, v)
        return f"{drops[v]:.1f}" + (f" +- {noise:.1f}" if noise else "")

    if picked == order[0]:
        return ExportChoice(AUTO, picked, f"auto: {picked} (lost {lost(picked)} top-1 points vs float32, {gate})",
                            limit=limit, drops=drops)
    from pipeline.report_markdown import mb, pct

    row = report["variants"].get(picked, {})
    verb = "exported" if exporting else "using"
    if AUTO_PREFERRED not in converted:
        reason = (f"int8 not converted: {verb} {picked} ({mb(row.get('size_bytes'))}, {pct(row.get('top1'))}), "
                  f"the smallest variant within the {gate}")
        return ExportChoice(AUTO, picked, reason, fallback=False, limit=limit, drops=drops)
    skipped = [v for v in order[:order.index(picked)]]
    others = "".join(f"; {v} lost {lost(v)}" for v in skipped[1:])
    reason = (f"{skipped[0]} lost {lost(skipped[0])} points (limit {_points(limit)}{others}): {verb} {picked} instead "
              f"({mb(row.get('size_bytes'))}, {pct(row.get('top1'))}); "
              + (f"try more quantization-aware epochs for int8 (`edge-convert {out} --qat --qat-epochs 5`)"
                 if report.get("qat") else
                 f"try `edge-convert {out} --qat` or more calibration photos for int8 (--calibration-size)"))
    return ExportChoice(AUTO, picked, reason, fallback=True, limit=limit, drops=drops)


def resolve_export_variant(ctx: StageContext, exporting: bool = True) -> ExportChoice:
    """:func:`choose_export_variant` on ``<out>/tflite/report.json`` (None when missing or unreadable)."""
    report = rf.read_conversion_report(ctx.out)
    if report is not None and (not isinstance(report.get("variants"), dict)
                               or rf.stale_problem(ctx.out, report, rf.CONVERSION_REPORT, "convert again")):
        report = None  # nothing to choose with: that of another model would pick by another model's numbers
    cfg = ctx.config
    return choose_export_variant(report, cfg.variants, cfg.export_variant, cfg.max_accuracy_drop, ctx.out, exporting)


# ---------------------------------------------------------------------------------------------------- classify

def classify_material(ctx: StageContext) -> Dict[str, Any]:
    from pipeline.classify import held_out_photos

    model = tflite_path(ctx)
    _require(ctx.out, (rf.SPLITS,), "train first (edge-kit DATA_DIR --out OUT, or --stage train)")
    split, root, labels, items = held_out_photos(ctx.out, ctx.config.classify_limit)
    stamps = {}
    for rel, _ in items:
        try:
            stamps[rel] = file_stamp(root / rel)
        except OSError:
            stamps[rel] = None
    return {"model": file_digest(model) if model.is_file() else None, "variant": ctx.variant,
            "splits": file_digest(ctx.out / rf.SPLITS), "photos": stamps, "limit": ctx.config.classify_limit}


def run_classify(ctx: StageContext) -> Outputs:
    from pipeline.classify import classify_held_out

    data = classify_held_out(ctx.out, tflite_path(ctx), ctx.variant, ctx.config.classify_limit)
    if not data["photos"]:  # nothing measured: a failure, and the previous classify.json stays
        first = data["unreadable"][0] if data["unreadable"] else {"file": "?", "reason": "no answer"}
        raise PipelineError(
            f"{data['data_root']}: none of the {len(data['unreadable'])} held-out photos could be classified (first: "
            f"{first['file']}: {first['reason']}); restore the photo folder that {ctx.out / rf.SPLITS} lists, or "
            f"train again on the photos you have. The previous {rf.CLASSIFY} is kept.")
    role = SPLIT_ROLES.get(data["split"], "held-out")
    ctx.log(f"  device runtime: {data['correct']}/{len(data['photos'])} {role} photos right "
            f"({100 * (data['top1'] or 0):.1f}%), {data['ms_per_photo']} ms per photo")
    path = ctx.out / rf.CLASSIFY
    write_or_explain(lambda: atomic_write_json(path, rf.with_model_digest(data, ctx.out)), path)
    return [path], {"top1": data["top1"], "photos": len(data["photos"])}


# ------------------------------------------------------------------------------------------------------ export

def export_destination(ctx: StageContext) -> Path:
    assets = Path(ctx.config.android_assets)
    return assets / "model.tflite" if assets.suffix != ".tflite" else assets


def accuracy_drop_points(out: Path, variant: str) -> Optional[float]:
    """Top-1 points ``variant`` lost vs float32 (or vs the Keras model) in ``tflite/report.json``; None if unknown."""
    return drop_points(rf.read_conversion_report(out), variant)


def passes_gate(out: Path, variant: str, limit: Optional[float]) -> bool:
    """The accuracy gate's verdict for ``variant`` from ``tflite/report.json`` (common/gates.py)."""
    return gates.passes(rf.read_conversion_report(out), variant, limit)


def export_material(ctx: StageContext) -> Dict[str, Any]:
    source = tflite_path(ctx)
    variant = ctx.variant
    # The gate's verdict (not the limit itself): a tighter limit that now refuses this variant runs the stage again.
    passes = passes_gate(ctx.out, variant, ctx.config.max_accuracy_drop)
    return {"source": file_digest(source) if source.is_file() else None, "variant": variant,
            "destination": str(export_destination(ctx).resolve()), "within_limit": passes}


def run_export(ctx: StageContext) -> Outputs:
    from converter.export import export_variant

    cfg = ctx.config
    variant = ctx.variant
    source = tflite_path(ctx)
    if not source.is_file():
        raise PipelineError(f"{source}: not found; convert first (--stage convert --variants {variant})",
                            exit_code=exit_codes.BAD_INPUT)
    drop = accuracy_drop_points(ctx.out, variant)
    if not passes_gate(ctx.out, variant, cfg.max_accuracy_drop):
        raise StageBlocked(
            f"not exported: the {variant} model lost {drop:.2f} top-1 points vs float32 beyond noise (limit "
            f"--max-accuracy-drop {cfg.max_accuracy_drop:g}); the app keeps its previous model. Ship another variant "
            f"(--export-variant dynamic, or --export-variant auto to pick one within the limit), calibrate on more photos, or accept the loss with --max-accuracy-drop "
            f"{drop + 0.5:.1f}. All files in {ctx.out} are complete.")
    dest = export_destination(ctx)
    try:
        written = Path(export_variant(ctx.out, variant, dest, create=True, flag="--android-assets"))
    except OSError as exc:  # the app's folder, not the run folder: the message names --android-assets
        raise PipelineError("export stage: " + explain_os_error(exc, dest, "--android-assets")) from exc
    record = {"variant": variant, "source": str(source), "destination": str(written.resolve()),
              "sha256": file_digest(written), "size_bytes": written.stat().st_size,
              "accuracy_drop_points": drop}
    path = ctx.out / rf.EXPORT
    write_or_explain(lambda: atomic_write_json(path, rf.with_model_digest(record, ctx.out)), path)
    return [written, path], {"destination": str(written)}


# ------------------------------------------------------------------------------------------------------ report

def report_material(ctx: StageContext) -> Dict[str, Any]:
    from pipeline.report import REPORT_INPUTS, REPORT_VERSION

    return {"inputs": _digests(ctx.out, REPORT_INPUTS), "version": REPORT_VERSION, "grid": ctx.config.grid_size,
            "notes": ctx.notes, "stage_seconds": stage_seconds(ctx.state),
            "choice": ctx.choice.to_json() if ctx.choice else None}


def stage_seconds(state: PipelineState) -> Dict[str, float]:
    return {name: round(state.stages[name].seconds, 1) for name in STAGES if name in state.stages
            and name != "report"}


def run_report(ctx: StageContext) -> Outputs:
    from pipeline.report import figure_files, write_report

    _require(ctx.out, (rf.SPLITS,), "train first (edge-kit DATA_DIR --out OUT, or --stage train)")
    choice = ctx.choice.to_json() if ctx.choice else None
    files = write_report(ctx.out, stage_seconds(ctx.state), grid=ctx.config.grid_size, problems=ctx.notes,
                         export_choice=choice)
    outputs = [files["html"], files["md"], files["json"]] + [p for p in figure_files(ctx.out) if p.is_file()]
    return outputs, {"html": str(files["html"])}


MATERIAL = {"train": train_material, "convert": convert_material, "classify": classify_material,
            "export": export_material, "report": report_material}
RUNNERS = {"train": run_train, "convert": run_convert, "classify": run_classify, "export": run_export,
           "report": run_report}
