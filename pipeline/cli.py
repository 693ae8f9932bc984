"""``edge-kit``: photos -> trained, converted, verified, exported model and an HTML report, in one command."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from common import defaults
from common import exit_codes
from common.console import never_crash_on_encoding, show_warnings_plainly
from common.paths import user_path
from common.requirements import require
from common.tf_startup import import_tensorflow_quietly
from converter.config import VARIANTS
from trainer import backbones
from trainer.cli import BACKBONE_HELP

EXAMPLES = """\
examples:
  edge-kit photos/ --out runs/flowers --weights imagenet
      everything: train, convert float32/float16/dynamic/int8, evaluate each with the TFLite interpreter,
      classify held-out photos with the device runtime, copy the chosen model into the Android sample, write
      runs/flowers/report.html (one self-contained page) + report.md + report.json. The chosen model
      (--export-variant auto): int8 when it loses at most --max-accuracy-drop top-1 points vs float32, else
      the smallest of dynamic, float16, float32 that does; the output and the report's first lines say which and why

  edge-kit photos/ --out runs/flowers --alpha 0.35 --size 224 \\
      --weights ../shared/assets/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5
      offline: a local no-top MobileNetV2 weights file instead of the Keras download
      (or copy that file under its official name into ~/.keras/models/ and keep --weights imagenet)

  edge-kit photos/ --out runs/flowers --variants float32,int8 --export-variant int8 \\
      --android-assets android-sample/app/src/main/assets
      fewer variants; where the app's model.tflite goes; an explicit --export-variant is shipped as asked, or
      refused (exit 3, the app keeps its previous model) when it loses more than --max-accuracy-drop

  edge-kit photos/ --out runs/flowers
      run it again: stages whose inputs did not change are skipped (state in runs/flowers/pipeline_state.json);
      after Ctrl-C, a crash or a tweaked option it continues where it stopped instead of starting over

  edge-kit --out runs/flowers --stage report          one stage alone (train|convert|classify|export|report)
  edge-kit --out runs/flowers --stage convert --force convert     redo a stage even though nothing changed

Photo folder layout: one sub-folder per class (photos/daisy/*.jpg, photos/rose/*.jpg ...), or train/ and val/
(and test/) folders each holding class sub-folders. Exit status (as every edge-kit command): 0 done (also when auto
shipped another variant than int8: a notice, not an error), 1 a stage failed, 2 bad usage or input (arguments, a
missing or refused photo folder, an unusable --out, a missing extra), 3 the accuracy gate refused the export of a
named --export-variant (the report says why; as edge-convert), 130 interrupted (run the same command again to
continue). A stage that fails keeps what the previous run finished (a refused retrain keeps the trained model).
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edge-kit",
        description="From a folder of labelled photos to an app-ready, verified .tflite image classifier and a "
                    "report, in one command (train -> convert -> evaluate -> classify -> export -> report).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data_dir", nargs="?", help="photo folder, one sub-folder per class (not needed with --stage "
                                               "convert/classify/export/report)")
    p.add_argument("-o", "--out", required=True, help="run folder for every output, e.g. runs/flowers")
    g = p.add_argument_group("model and training")
    g.add_argument("--backbone", default=backbones.AUTO, choices=(backbones.AUTO,) + backbones.names(),
                   metavar="NAME", help=BACKBONE_HELP + ". edge-kit times each candidate's int8 model here")
    g.add_argument("--weights", default=defaults.WEIGHTS,
                   help="'imagenet' (MobileNetV2: Keras cache or download; efficientnet_lite0: its package), a local "
                        "weights file (MobileNetV2: a no-top .h5; efficientnet_lite0: a .pth), a folder of such files "
                        "(the backbone search's candidates), or 'none' (random)")
    g.add_argument("--alpha", type=float, default=None,
                   help=f"MobileNetV2 at this width, no search: 0.35 (fastest) ... 1.4. {defaults.ALPHA_ADVICE}")
    g.add_argument("--max-latency-ms", type=float, default=None, metavar="MS",
                   help="the backbone search keeps to candidates whose int8 model runs in at most this many ms per "
                        "photo, one thread, timed on this machine (a phone or a Pi differs: time the export there "
                        "with edge-classify MODEL --benchmark)")
    g.add_argument("--max-size-mb", type=float, default=None, metavar="MB",
                   help="the backbone search keeps to candidates whose int8 model is at most this large")
    g.add_argument("--size", type=int, default=defaults.SIZE,
                   help="input size in pixels, square (96-224, default %(default)s)")
    g.add_argument("--epochs", "--fine-tune-epochs", dest="epochs", type=int, default=None,
                   help="fine-tuning epochs (trainer default if omitted; 0 disables fine-tuning). The head needs "
                        "none: it is fitted by cross-validation in seconds")
    g.add_argument("--val-split", type=float, default=None, help="fraction of each class held out (default 0.2)")
    g.add_argument("--test-split", type=float, default=None,
                   help=f"fraction of each class held out for the final test, read by no decision (default "
                        f"{defaults.TEST_SPLIT:g} when every class has {defaults.TEST_SPLIT_MIN_PHOTOS}+ photos and "
                        "there is no test/ folder, else none: the report then says its numbers are validation "
                        "numbers; 0: off)")
    g.add_argument("--seed", type=int, default=None, help="random seed of the split and training")
    g.add_argument("--config", default=None, metavar="FILE.toml",
                   help="every trainer/converter option: [train] and [convert] tables with the field names of "
                        "TrainConfig/ConvertConfig (e.g. [train] fine_tune_epochs = 12); the flags here win")
    g.add_argument("--set", action="append", default=[], metavar="SECTION.NAME=VALUE",
                   help="one trainer/converter option, e.g. --set train.label_smoothing=0.05 (repeatable)")
    g = p.add_argument_group("conversion, check and export")
    g.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated (default {','.join(VARIANTS)})")
    g.add_argument("--export-variant", default="auto", metavar="{auto," + ",".join(VARIANTS) + "}",
                   help="variant checked on the device runtime and shipped. auto (default): int8 if it loses at most "
                        "--max-accuracy-drop points vs float32, else the smallest of dynamic, float16, float32 "
                        "within it. A named variant is used as given, and its export refused beyond the limit")
    g.add_argument("--android-assets", default=None,
                   help="folder for the app's model.tflite (default android-sample/app/src/main/assets if present)")
    g.add_argument("--no-export", action="store_true", help="do not copy the model into the app")
    g.add_argument("--max-accuracy-drop", type=float, default=defaults.MAX_ACCURACY_DROP,
                   help="top-1 points the shipped variant may lose vs float32 (default %(default)s; -1: no gate): "
                        "auto picks a variant within it, a named --export-variant beyond it is refused (exit 3)")
    g.add_argument("--calibration-size", type=int, default=None,
                   help=f"int8 calibration photos (default {defaults.CALIBRATION_SIZE})")
    g.add_argument("--qat", action=argparse.BooleanOptionalAction, default=defaults.QAT,
                   help="quantization-aware fine-tuning (minutes) before the int8 export: --qat always, --no-qat "
                        "never (default: only when post-training int8 fails the accuracy gate on the training and "
                        "validation photos, as in edge-convert)")
    g.add_argument("--classify-limit", type=int, default=200, help="held-out photos run on the device runtime")
    g = p.add_argument_group("stages")
    g.add_argument("--stage", action="append", choices=["train", "convert", "classify", "export", "report"],
                   help="run only this stage (repeatable); each still skipped when its inputs are unchanged")
    g.add_argument("--force", action="append", default=[], choices=["train", "convert", "classify", "export",
                                                                     "report", "all"],
                   help="run this stage even when its inputs are unchanged (repeatable; 'all')")
    g.add_argument("-q", "--quiet", action="store_true", help="no training/conversion progress; stage lines and the summary only")
    p.add_argument("-v", "--verbose", action="store_true", help="also show TensorFlow's C++ start-up log lines")
    return p


def config_from_args(args: argparse.Namespace):
    """The :class:`~pipeline.api.PipelineConfig` the command line asks for."""
    from pipeline.api import STAGES, PipelineConfig
    from trainer.config import normalize_weights

    from pipeline.options import parse_set, read_config_file

    train_options, convert_options = read_config_file(args.config) if args.config else ({}, {})
    set_train, set_convert = parse_set(args.set)
    train_options.update(set_train)
    convert_options.update(set_convert)
    for arg, name in (("epochs", "fine_tune_epochs"), ("val_split", "val_split"), ("test_split", "test_split"),
                      ("max_latency_ms", "max_latency_ms"), ("max_size_mb", "max_size_mb"),
                      ("seed", "seed")):
        value = getattr(args, arg)
        if value is not None:
            train_options[name] = value
    if args.epochs == 0:
        train_options["fine_tune"] = False
    if args.calibration_size is not None:
        convert_options["calibration_size"] = args.calibration_size
    force = tuple(STAGES) if "all" in args.force else tuple(args.force)
    # User paths resolved once, here, against the user's working folder (child processes run elsewhere).
    weights = normalize_weights(args.weights)
    return PipelineConfig(
        data_dir=None if args.data_dir is None else str(user_path(args.data_dir)), out_dir=str(user_path(args.out)),
        weights=weights if weights in (None, "imagenet") else str(user_path(weights)), backbone=args.backbone,
        alpha=args.alpha, size=args.size,
        variants=args.variants, export_variant=args.export_variant,
        android_assets=None if args.android_assets is None else str(user_path(args.android_assets)),
        export=not args.no_export, stages=tuple(args.stage) if args.stage else None, force=force,
        train_options=train_options, convert_options=convert_options, qat=args.qat,
        max_accuracy_drop=None if args.max_accuracy_drop < 0 else args.max_accuracy_drop,
        classify_limit=args.classify_limit, verbose=not args.quiet)


def main(argv: Optional[Sequence[str]] = None) -> int:
    never_crash_on_encoding()  # a non-ASCII label or path on an ASCII terminal: escapes, not a crash
    show_warnings_plainly("edge-kit")  # "edge-kit: warning: skipped 2 photos ...", not Python's file:line form
    parser = build_parser()
    args = parser.parse_args(argv)
    stages = args.stage or ["train", "convert", "report"]  # classify and export need no extra
    require("edge-kit", [job for job in ("train", "convert", "report") if job in stages])
    from pipeline.api import run_pipeline
    from common.errors import EdgeKitError

    try:
        config = config_from_args(args)
    except EdgeKitError as exc:
        parser.error(str(exc))
    from common.interrupts import InterruptGuard

    with InterruptGuard() as guard:  # a Ctrl-C swallowed by a finalizer still stops the run at the next log line
        try:
            if any(job in stages for job in ("train", "convert")):
                import_tensorflow_quietly(args.verbose)  # Ctrl-C while it imports: KeyboardInterrupt, below
            result = run_pipeline(config, log=guard.wrap(lambda message: print(message, flush=True)))
        except KeyboardInterrupt:
            return _interrupted(config.out_dir)
        except Exception as exc:
            if guard.fired:  # Ctrl-C inside a C extension (e.g. while TensorFlow imports) surfaces as another error
                return _interrupted(config.out_dir)
            if not isinstance(exc, EdgeKitError):
                raise
            print(f"edge-kit: error: {exc}{_kept(Path(config.out_dir))}", file=sys.stderr)
            return exc.exit_code
    if not result.ok:  # a stage was blocked: the accuracy gate refused the export
        return exit_codes.REFUSED
    if result.report_html.is_file():
        print(f"\nopen the report: {result.report_html.resolve().as_uri()}", flush=True)
    return 0


def _finished_stages(out: Path) -> bool:
    """Whether ``out`` holds a stage this pipeline finished (recorded in its state), or a trained run."""
    from common import run_folder as rf
    from pipeline.state import PipelineState

    try:
        return bool(PipelineState(out).stages) or rf.has_training_output(out)
    except OSError:  # a path the file system refuses (a name too long): nothing there
        return False


def _kept(out: Path) -> str:
    """What the one-line error adds: that finished stages are kept, only when there are some."""
    if not _finished_stages(out):
        return ""
    return " (finished stages are kept: fix this and run the same command again to continue)"


def _interrupted(out: str) -> int:
    if _finished_stages(Path(out)):
        print(f"\nedge-kit: interrupted. Finished stages are kept in {out}; run the same command again to "
              "continue.", file=sys.stderr)
    else:
        print("\nedge-kit: interrupted before any stage finished; run the same command again to continue (a training "
              "under way resumes from its last finished epoch).", file=sys.stderr)
    return exit_codes.INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
