"""``edge-convert``: a thin command line over :func:`converter.convert` and :func:`converter.export_variant`."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from converter.config import DEFAULT_VARIANTS, VARIANTS, ConvertConfig
from converter.errors import AccuracyGateError
from common import defaults
from common.errors import EdgeKitError
from common import exit_codes
from common.console import never_crash_on_encoding
from common.paths import explain_os_error, user_path
from common.requirements import require

EPILOG = """\
examples:
  edge-convert runs/flowers                          all variants, report in runs/flowers/tflite/
  edge-convert runs/flowers --variants float32,int8  only these two
  edge-convert runs/flowers --calibration-size 400   more int8 calibration photos
  edge-convert runs/flowers --no-qat                 plain post-training int8 (faster; loses more accuracy)
  edge-convert runs/flowers --int8-io int8           int8 (not uint8) input/output tensors
  edge-convert runs/flowers --max-accuracy-drop 0.5  fail (exit 3) if int8 loses > 0.5 top-1 points
  edge-convert export runs/flowers --variant int8    copy to android-sample/app/src/main/assets/model.tflite
  edge-convert export runs/flowers --variant float16 --to my-app/assets/

variants: float32 (reference), float16 (half-size weights), dynamic (int8 weights, float compute),
int8 (full-integer, integer-only ops; what NPUs, Edge TPU and most phones run fastest).
Exit status (as every edge-kit command): 0 ok, 1 failed (e.g. the disk filled up while writing), 2 bad usage or
input (run folder, options, output location, a missing extra), 3 accuracy gate failed (files are still written),
130 interrupted.
"""


def _convert_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edge-convert",
        description="Convert an edge-train run folder into .tflite variants with metadata, evaluate each one on the "
                    "validation photos with the TFLite interpreter, and write a report.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="run folder written by edge-train (holds model.keras, labels.txt, ...)")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help=f"comma-separated, from {','.join(VARIANTS)} (default: all)")
    p.add_argument("--calibration-size", type=int, default=defaults.CALIBRATION_SIZE, metavar="N",
                   help="training photos used to calibrate int8, stratified over classes (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="picks the calibration photos (default 0)")
    p.add_argument("--qat", action=argparse.BooleanOptionalAction, default=defaults.QAT,
                   help="quantization-aware fine-tune before the int8 export (default on, as in edge-kit: plain "
                        "post-training int8 loses several points); --no-qat: faster")
    p.add_argument("--qat-epochs", type=int, default=defaults.QAT_EPOCHS,
                   help="epochs of the QAT fine-tune (default %(default)s)")
    p.add_argument("--max-accuracy-drop", type=float, default=defaults.MAX_ACCURACY_DROP, metavar="POINTS",
                   help="allowed int8 top-1 loss vs float32 in percentage points (default %(default)s); negative "
                        "disables")
    p.add_argument("--int8-io", choices=("uint8", "int8"), default="uint8",
                   help="int8 model input/output type (default uint8, as Android and the Task Library expect)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads for evaluation/latency")
    p.add_argument("--output-dir", default=None, help="where to write (default RUN_DIR/tflite)")
    p.add_argument("--no-evaluate", action="store_true", help="convert only; skip evaluation and the report")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def _export_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edge-convert export",
        description="Copy a converted variant into an app (atomically).",
        epilog="example:\n  edge-convert export runs/flowers --variant int8 --to android-sample/app/src/main/assets/",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="run folder that edge-convert has converted")
    p.add_argument("--variant", default="int8", help=f"one of {', '.join(VARIANTS)} (default int8)")
    p.add_argument("--to", default=None, dest="destination",
                   help="file or folder (default android-sample/app/src/main/assets/model.tflite)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    never_crash_on_encoding()  # a non-ASCII label or path on an ASCII terminal: escapes, not a crash
    try:
        if args_list and args_list[0] == "export":
            args = _export_parser().parse_args(args_list[1:])
            from converter.export import export_variant

            destination = None if args.destination is None else _user_path_keeping_slash(args.destination)
            path = export_variant(user_path(args.run_dir), args.variant, destination)
            print(f"exported {args.variant} -> {path}")
            return 0
        args = _convert_parser().parse_args(args_list)
        require("edge-convert", ["convert"])  # one line naming the missing extra, not a traceback (e.g. on a board)
        # User paths resolved once, here, against the user's working folder.
        args.run_dir = str(user_path(args.run_dir))
        args.output_dir = None if args.output_dir is None else str(user_path(args.output_dir))
        cfg = ConvertConfig(
            variants=args.variants, calibration_size=args.calibration_size, seed=args.seed, int8_io=args.int8_io,
            qat=args.qat, qat_epochs=args.qat_epochs,
            max_accuracy_drop=None if args.max_accuracy_drop < 0 else args.max_accuracy_drop,
            num_threads=args.threads, evaluate=not args.no_evaluate, output_dir=args.output_dir,
            verbose=not args.quiet)
        from converter.api import convert
        from common.interrupts import InterruptGuard

        try:
            with InterruptGuard() as guard:  # a Ctrl-C swallowed by a finalizer still stops at the next progress line
                say = (lambda message: print(message, flush=True)) if cfg.verbose else (lambda message: None)
                convert(args.run_dir, cfg, progress=guard.wrap(say))
        except KeyboardInterrupt:
            print("\nedge-convert: interrupted; the variants already written are complete (each file is written "
                  "atomically). Run the same command again to convert them all.", file=sys.stderr)
            return exit_codes.INTERRUPTED
        return exit_codes.OK
    except AccuracyGateError as exc:
        print(f"edge-convert: accuracy gate failed: {exc}", file=sys.stderr)
        return exit_codes.REFUSED
    except EdgeKitError as exc:
        print(f"edge-convert: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # e.g. the disk filled up while writing a variant: finished files are complete
        where = exc.filename or args.output_dir or f"{args.run_dir}/tflite"
        print(f"edge-convert: error: {explain_os_error(exc, where, '--output-dir')}", file=sys.stderr)
        return exit_codes.FAILED


def _user_path_keeping_slash(path: str) -> str:
    """:func:`user_path`, keeping a trailing slash (``--to app/`` means a folder)."""
    return str(user_path(path)) + ("/" if path.endswith(("/", "\\")) else "")
