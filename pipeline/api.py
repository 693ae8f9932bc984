"""One command from photos to a verified, app-ready model: ``run_pipeline(PipelineConfig) -> PipelineResult``.

    >>> from pipeline.api import PipelineConfig, run_pipeline
    >>> result = run_pipeline(PipelineConfig("photos/", "runs/flowers", weights="weights.h5", alpha=0.35))
    >>> result.report_html                      # runs/flowers/report.html
    >>> result.stages["convert"].status         # "ran" or "skipped" (inputs unchanged since the last run)

Stages, in order (``STAGES``): **train** (``trainer.train``) -> **convert** (``converter.convert``: every variant,
evaluated with the TFLite interpreter) -> **classify** (held-out photos through the device runtime in a child
process) -> **export** (the chosen variant into the Android sample's assets) -> **report** (HTML + Markdown + JSON).

Each stage's inputs are fingerprinted into ``<out>/pipeline_state.json`` after its outputs are written; a stage whose
fingerprint is unchanged and whose outputs are intact is skipped, so re-running after a crash, Ctrl-C or a tweak
continues where it stopped. One pipeline at a time per output folder (an ``flock``).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from common import defaults, exit_codes
from common import run_folder as rf
from common.errors import EdgeKitError
from common.locks import folder_lock
from common.metrics import accuracy_lines
from common.paths import OutputLocationError, check_output_dir, user_path
from common.validation import Rule, check_fields
from converter.config import VARIANTS, parse_variants
from trainer.config import normalize_weights
from pipeline.stages import AUTO, MATERIAL, RUNNERS, STAGES, ExportChoice, StageBlocked, StageContext, \
    choose_export_variant, resolve_export_variant
from pipeline.state import PipelineError, PipelineState, explain_os_error, fingerprint, remove_stale_temporaries

__all__ = ["AUTO", "ExportChoice", "PipelineConfig", "PipelineError", "PipelineResult", "StageOutcome", "STAGES",
           "choose_export_variant", "run_pipeline"]

#: The Android sample's assets folder, relative to the repository root / current folder.
ANDROID_ASSETS = Path("android-sample/app/src/main/assets")


#: The range of each :class:`PipelineConfig` field checked here (besides its type).
RULES = {
    "classify_limit": Rule(1, hint="the number of held-out photos to classify on the device runtime"),
    "max_accuracy_drop": Rule(0, hint="top-1 points; -1 turns the gate off"),
    "grid_size": Rule(1),
}


@dataclass
class PipelineConfig:
    """What :func:`run_pipeline` does.

    data_dir: the photo folder (one sub-folder per class, or train/ val/ [test/]); only the train stage needs it.
    out_dir: the run folder; the trainer's files, ``tflite/``, ``classify.json``, ``report.*``, the state file.
    weights: ``"imagenet"`` (MobileNetV2: the Keras cache or internet; EfficientNet-Lite0: its package), a local
        weights file of the backbone (MobileNetV2: a no-top ``.h5``; EfficientNet-Lite0: a ``.pth``), or None.
    backbone: a registry name (``trainer/backbones.py``), "auto" (the default: the backbone search, every backbone
        whose weights are here scored on the training photos, their int8 models timed here), or None for MobileNetV2
        at width ``alpha``.
    alpha / size: MobileNetV2 width (set, it picks MobileNetV2 at that width: no search) and square input size.
    variants: ``.tflite`` variants to convert; must include ``export_variant`` (unless it is "auto").
    export_variant: the variant classified on the device runtime and copied into the app. "auto" (default): after
        conversion, int8 if its top-1 drop vs float32 is within ``max_accuracy_drop``, else the smallest other
        converted variant within it (dynamic, float16, float32; float32 always qualifies); the report says which
        and why. An explicit variant is used as given, and the gate refuses its export when it loses too much.
    android_assets: folder (or ``.tflite`` path) to export to; None = ``android-sample/app/src/main/assets`` when that
        folder exists under the current folder, else the export stage is skipped.
    export: False skips the export stage.
    stages: run only these stages (each still skipped when up to date, unless in ``force``); None = all.
    force: stages to run even when their inputs are unchanged.
    qat: quantization-aware fine-tuning before the int8 export: None (default, as for ``edge-convert``) only when
        post-training int8 fails the accuracy gate, True always, False never (common/defaults.py).
    train_options / convert_options: extra ``TrainConfig`` / ``ConvertConfig`` fields (e.g. ``{"fine_tune_epochs": 20}``).
    max_accuracy_drop: top-1 points the exported variant may lose vs float32; beyond, auto picks another variant and
        an explicit one is refused. None: no gate.
    classify_limit: at most this many held-out photos are classified on the device runtime (class-balanced).
    grid_size: thumbnails in the report's photo grid.
    """

    data_dir: Optional[str]
    out_dir: str
    weights: Optional[str] = defaults.WEIGHTS
    backbone: Optional[str] = "auto"
    alpha: Optional[float] = None
    size: int = defaults.SIZE
    variants: Tuple[str, ...] = VARIANTS
    export_variant: str = AUTO
    android_assets: Optional[str] = None
    export: bool = True
    stages: Optional[Tuple[str, ...]] = None
    force: Tuple[str, ...] = ()
    train_options: Dict[str, Any] = field(default_factory=dict)
    convert_options: Dict[str, Any] = field(default_factory=dict)
    qat: Optional[bool] = defaults.QAT
    max_accuracy_drop: Optional[float] = defaults.MAX_ACCURACY_DROP
    classify_limit: Optional[int] = 200
    grid_size: int = 36
    verbose: bool = True

    def __post_init__(self) -> None:
        if self.data_dir is not None:
            self.data_dir = str(self.data_dir)
        self.out_dir = str(self.out_dir)
        self.weights = normalize_weights(self.weights)  # as TrainConfig reads it
        try:
            self.variants = parse_variants(self.variants)
            if str(self.export_variant).strip().lower() == AUTO:
                self.export_variant = AUTO
            else:
                (self.export_variant,) = parse_variants([self.export_variant])
        except EdgeKitError as exc:
            raise PipelineError(f"{exc} (or auto)") from exc
        if self.export_variant != AUTO and self.export_variant not in self.variants:
            raise PipelineError(f"--export-variant {self.export_variant} is not among the converted variants "
                                f"({', '.join(self.variants)}); add it to --variants.")
        for name in tuple(self.stages or ()) + tuple(self.force):
            if name not in STAGES:
                raise PipelineError(f"unknown stage {name!r}; stages are: {', '.join(STAGES)}")
        if self.stages is not None:
            self.stages = tuple(s for s in STAGES if s in self.stages)
        self.force = tuple(self.force)
        # Every field against its annotation and RULES (the trainer's and converter's options are checked by
        # TrainConfig and ConvertConfig themselves).
        check_fields(self, RULES, lambda message: PipelineError(message, exit_code=exit_codes.BAD_INPUT),
                     skip=("variants", "stages", "force", "train_options", "convert_options"))
        if self.android_assets is None and self.export and ANDROID_ASSETS.parent.is_dir():
            self.android_assets = str(user_path(ANDROID_ASSETS))  # printed and written as a full path
        if self.android_assets is not None:
            self.android_assets = str(self.android_assets)


@dataclass
class StageOutcome:
    """How one stage went: ``status`` is "ran", "skipped" (up to date), "blocked", "not requested" or "failed"."""

    name: str
    status: str
    seconds: float = 0.0
    outputs: List[Path] = field(default_factory=list)
    summary: Dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass
class PipelineResult:
    """What :func:`run_pipeline` did and where everything went."""

    out_dir: Path
    stages: Dict[str, StageOutcome]
    seconds: float
    errors: List[str] = field(default_factory=list)
    export_choice: Optional[ExportChoice] = None  #: the variant classify/export/report used, and why

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def report_html(self) -> Path:
        return self.out_dir / rf.PIPELINE_REPORT_FILES["html"]

    def files(self) -> Dict[str, Path]:
        """Main outputs that exist: model files per variant, the exported model, the reports."""
        out: Dict[str, Path] = {}
        for variant in VARIANTS:
            p = self.out_dir / rf.tflite_model(variant)
            if p.is_file():
                out[f"model_{variant}"] = p
        export = self.stages.get("export")
        if export and export.outputs:
            out["android_asset"] = export.outputs[0]
        for name in rf.PIPELINE_REPORT_FILES.values():
            if (self.out_dir / name).is_file():
                out[name] = self.out_dir / name
        return out


def _preflight(cfg: PipelineConfig, out: Path, wanted: Sequence[str]) -> None:
    """Fail in seconds, not after training, on an unusable folder or file (exit status 2: bad input)."""
    def bad(message: str) -> PipelineError:
        return PipelineError(message, exit_code=exit_codes.BAD_INPUT)

    if "train" in wanted:
        if not cfg.data_dir:
            raise bad("no photo folder given: edge-kit DATA_DIR --out OUT (DATA_DIR has one sub-folder of photos per "
                      "class)")
        data = Path(cfg.data_dir)
        if not data.is_dir():
            raise bad(f"{data}: no such folder; give the folder that holds one sub-folder of photos per class (e.g. "
                      "photos/daisy/*.jpg, photos/rose/*.jpg).")
        if not os.access(data, os.R_OK | os.X_OK):
            raise bad(f"{data}: cannot be read (permission denied); fix its permissions.")
        from trainer.config import TrainConfig, weights_problem  # no TensorFlow: checks before any folder is made

        try:
            TrainConfig(data_dir=cfg.data_dir, out_dir=str(out), backbone=cfg.backbone, alpha=cfg.alpha,
                        size=cfg.size, weights=cfg.weights, **dict(cfg.train_options))
        except (EdgeKitError, TypeError) as exc:
            raise bad(f"training option: {exc}") from exc
        problem = weights_problem(cfg.weights, cfg.alpha, cfg.size, cfg.backbone)
        if problem:
            raise bad(problem)
    try:
        check_output_dir(out, "--out")
        if "train" not in wanted and not out.exists():  # a mistyped --out is not a new folder
            raise bad(f"{out}: no such run folder; check the spelling of --out, or train first (edge-kit DATA_DIR "
                      f"--out {out}, or --stage train)")
        out.mkdir(parents=True, exist_ok=True)
    except OutputLocationError as exc:
        raise bad(str(exc)) from exc
    except OSError as exc:
        raise bad(explain_os_error(exc, Path(exc.filename) if exc.filename else out)) from exc
    if "export" in wanted and cfg.android_assets:
        dest = Path(cfg.android_assets)
        folder = dest.parent if dest.suffix == ".tflite" else dest
        try:
            check_output_dir(folder, "--android-assets")
        except OutputLocationError as exc:
            raise bad(str(exc)) from exc


def run_pipeline(config: PipelineConfig, log: Optional[Callable[[str], None]] = None) -> PipelineResult:
    """Run the stages of ``config`` in order, skipping those whose inputs are unchanged; returns what happened.

    Raises :class:`PipelineError` (a clear message naming the file and the fix) when a stage cannot run; every
    stage finished before it stays recorded, so the same call continues from there. ``KeyboardInterrupt``
    propagates after the same bookkeeping. A stage that is *blocked* (the accuracy gate) does not raise: the report
    still gets written and :attr:`PipelineResult.errors` says why; the CLI exits non-zero.
    """
    cfg = config
    say = log or ((lambda m: print(m, flush=True)) if cfg.verbose else (lambda m: None))
    out = Path(cfg.out_dir)
    wanted = list(cfg.stages or STAGES)
    if cfg.stages is not None and "export" in cfg.stages and not cfg.android_assets:
        raise PipelineError("--stage export needs --android-assets FOLDER (no android-sample/app/src/main here)")
    if "export" in wanted and (not cfg.export or not cfg.android_assets):
        wanted.remove("export")
        if cfg.stages is None and cfg.export:
            say("export: skipped (no --android-assets given and no android-sample/ folder here)")
    t_start = time.perf_counter()
    _preflight(cfg, out, wanted)
    outcomes: Dict[str, StageOutcome] = {name: StageOutcome(name, "not requested") for name in STAGES}
    errors: List[str] = []
    with folder_lock(out, "edge-kit"):  # one command at a time in the folder: "in use by process N" (exit status 2)
        for leftover in remove_stale_temporaries(out):
            say(f"removed {leftover} (a temporary file left by an interrupted run)")
        if cfg.android_assets and "export" in wanted:
            folder = Path(cfg.android_assets)
            remove_stale_temporaries(folder.parent if folder.suffix == ".tflite" else folder)
        state = PipelineState(out)
        for warning in state.warnings:
            say(f"warning: {warning}")
        ctx = StageContext(cfg, out, state, say)
        for index, name in enumerate(wanted, 1):
            if ctx.choice is None and name in ("classify", "export", "report"):
                # After the convert stage (ran or up to date): the stages from here on use the resolved variant,
                # and their fingerprints include it, so a different choice redoes them and the same one does not.
                ctx.choice = resolve_export_variant(ctx, exporting="export" in wanted)
                if ctx.choice.requested == AUTO:
                    say(f"export variant: {ctx.choice.reason}")
            outcome = _run_stage(ctx, name, f"[{index}/{len(wanted)}]", say)
            outcomes[name] = outcome
            if outcome.status == "blocked":
                errors.append(outcome.message)
                ctx.notes.append(outcome.message)
    result = PipelineResult(out, outcomes, time.perf_counter() - t_start, errors, ctx.choice)
    _print_summary(result, say)
    return result


def _run_stage(ctx: StageContext, name: str, tag: str, say: Callable[[str], None]) -> StageOutcome:
    try:
        fp = fingerprint(MATERIAL[name](ctx))
    except PipelineError:
        raise
    except OSError as exc:
        raise PipelineError(f"{name} stage: cannot read its inputs: {exc}") from exc
    except EdgeKitError as exc:  # e.g. an option the trainer or converter refuses
        raise PipelineError(f"{name} stage: {exc}", exit_code=exc.exit_code) from exc
    if name not in ctx.config.force and ctx.state.is_current(name, fp):
        rec = ctx.state.stages[name]
        say(f"{tag} {name}: up to date, skipped (inputs unchanged since it ran in {rec.seconds:.1f} s)")
        return StageOutcome(name, "skipped", 0.0, [ctx.state.resolve(r) for r in rec.outputs], rec.summary)
    why = None if name in ctx.config.force else ctx.state.why_stale(name, fp)
    if why is None:
        say(f"{tag} {name} ...")
    elif name == "train" and why.startswith(rf.MODEL):  # someone replaced the model this pipeline trained
        say(f"{tag} train: runs again: {why} (by hand, or by edge-train?); this command's settings train a new one. "
            f"To use that model instead, run the later stages only: edge-kit --out {ctx.out} --stage convert "
            "--stage classify --stage report")
    else:
        say(f"{tag} {name}: runs again: {why}")
    t0 = time.perf_counter()
    ctx.state.forget(name)  # a crash in the middle must not leave the previous record looking valid
    try:
        outputs, summary = RUNNERS[name](ctx)
    except StageBlocked as exc:
        say(f"{tag} {name}: BLOCKED: {exc}")
        return StageOutcome(name, "blocked", time.perf_counter() - t0, message=str(exc))
    except PipelineError:
        raise
    except OSError as exc:
        raise PipelineError(f"{name} stage: " + explain_os_error(exc, Path(exc.filename or ctx.out))) from exc
    except EdgeKitError as exc:  # its exit status too: a photo folder the trainer refuses is bad input (2)
        raise PipelineError(f"{name} stage failed: {exc}", exit_code=exc.exit_code) from exc
    seconds = time.perf_counter() - t0
    ctx.state.record(name, fp, outputs, seconds, summary)  # after the outputs: the record vouches for them
    say(f"{tag} {name}: done in {seconds:.1f} s")
    return StageOutcome(name, "ran", seconds, list(outputs), summary)


def _print_summary(result: PipelineResult, say: Callable[[str], None]) -> None:
    say("")
    say("stage      status          seconds")
    for name in STAGES:
        o = result.stages[name]
        say(f"{name:<10} {o.status:<15} {o.seconds:7.1f}")
    say(f"{'total':<10} {'':<15} {result.seconds:7.1f}")
    files = result.files()
    if files:
        say("")
        say("outputs:")
        for key, path in files.items():
            say(f"  {key:<16} {path}")
    metrics = rf.read_optional_json(result.out_dir / rf.METRICS)
    lines = accuracy_lines(metrics) if isinstance(metrics, dict) else []
    if lines:
        say("")
        say("accuracy of the trained (Keras) model:")
        for line in lines:
            say(f"  {line}")
    choice = result.export_choice
    if choice is not None and choice.fallback:
        say(f"notice: {choice.reason}")
    for error in result.errors:
        say(f"error: {error}")
