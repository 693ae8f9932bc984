"""``edge-convert``: a thin command line over :func:`converter.convert` and :func:`converter.export_variant`."""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import List, Optional

from converter.config import DEFAULT_VARIANTS, VARIANTS, ConvertConfig
from converter.errors import AccuracyGateError, ConvertError
from common import defaults
from common.errors import EdgeKitError
from common import exit_codes
from common.console import never_crash_on_encoding, show_warnings_plainly
from common.locks import folder_lock
from common.paths import check_output_dir, explain_os_error, user_path
from common.requirements import require
from common.tf_startup import import_tensorflow_quietly
from device.resize import CROP_MODES

EPILOG = """\
examples:
  edge-convert runs/flowers                          all variants, report in runs/flowers/tflite/
  edge-convert convert runs/flowers -o out/          the same ("convert" may be left out), written to out/
  edge-convert runs/flowers --variants float32,int8  only these two
  edge-convert runs/flowers --calibration-size 400   more int8 calibration photos
  edge-convert runs/flowers --qat                    always quantization-aware int8 (minutes more)
  edge-convert runs/flowers --int8-io int8           int8 (not uint8) input/output tensors
  edge-convert runs/flowers --max-accuracy-drop 0.5  fail (exit 3) if int8 loses > 0.5 top-1 points
  edge-convert export runs/flowers --variant int8    copy to android-sample/app/src/main/assets/model.tflite
  edge-convert export runs/flowers --variant float16 -o my-app/assets/
  edge-convert metadata model.tflite --labels labels.txt --mean 127.5 --std 127.5 -o model_meta.tflite
                                                     labels + normalisation into any image classifier

sub-commands: convert (the default when the first argument is a run folder), export, metadata.
  `edge-convert SUB-COMMAND --help` for each. A run folder named like a sub-command: edge-convert convert export
variants: float32 (reference), float16 (half-size weights), dynamic (int8 weights, float compute),
int8 (full-integer, integer-only ops; what NPUs, Edge TPU and most phones run fastest).
Exit status (as every edge-kit command): 0 ok, 1 failed (e.g. the disk filled up while writing), 2 bad usage or
input (run folder, options, output location, a missing extra), 3 accuracy gate failed (files are still written),
130 interrupted.
"""

SUBCOMMANDS = ("convert", "export", "metadata")


class _DeprecatedAlias(argparse.Action):
    """An old option name kept for one release: stores into the new option's ``dest`` and says so on stderr."""

    def __init__(self, option_strings, dest, new_name: str = "", **kwargs):
        self.new_name = new_name
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: {option_string} is deprecated and will be removed in the next release; use "
              f"{self.new_name}.", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _floats(text: str) -> List[float]:
    """argparse type of ``--mean``/``--std``: comma-separated numbers (their rule:
    :func:`device.input_encoding.check_normalization`, applied by ``write_classifier_metadata``)."""
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or three comma-separated numbers, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    """The ``edge-convert`` parser: sub-commands ``convert``, ``export``, ``metadata``."""
    p = argparse.ArgumentParser(
        prog="edge-convert",
        description="Convert an edge-train run folder into .tflite variants with metadata (and evaluate and report "
                    "them), copy one into an app, or add labels and normalisation metadata to any image "
                    "classifier .tflite.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="{convert,export,metadata}")
    _add_convert(sub.add_parser("convert", help="run folder -> .tflite variants, evaluation, report (default)",
                                description="Convert an edge-train run folder into .tflite variants with metadata, "
                                            "evaluate each one on the validation photos with the TFLite "
                                            "interpreter, and write a report.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter))
    _add_export(sub.add_parser("export", help="copy a converted variant into an app (atomically)",
                               description="Copy a converted variant into an app (atomically).",
                               epilog="example:\n  edge-convert export runs/flowers --variant int8 "
                                      "-o android-sample/app/src/main/assets/",
                               formatter_class=argparse.RawDescriptionHelpFormatter))
    _add_metadata(sub.add_parser(
        "metadata", help="write labels + normalisation metadata into any image classifier .tflite",
        description="Write edge-kit metadata (labels, input normalisation, the preprocessing contract) into any "
                    "image-classifier .tflite (Teachable Machine, the official examples, another trainer), so "
                    "edge-classify, the Android sample and the TFLite Task Library read them. The input file is "
                    "never changed unless -o names it. TensorFlow is not needed.",
        epilog=METADATA_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter))
    return p


METADATA_EPILOG = """\
examples:
  edge-convert metadata model_unquant.tflite --labels labels.txt --mean 127.5 --std 127.5 -o fruit.tflite
                                     Teachable Machine float export (expects x/127.5 - 1)
  edge-convert metadata model.tflite --labels labels.txt -o fruit_quant.tflite
                                     a quantized input: the normalisation follows from its quantization
  edge-convert metadata mobilenet.tflite --labels imagenet_labels.txt --crop stretch

labels: one per line in output order, or Teachable Machine's "N Name" lines (the numbers give the order).
A 1001-score ImageNet model takes 'background' first; classifiers then drop that class from results.
normalisation: the model sees (pixel - mean) / std for pixels 0-255. Without --mean/--std: the model's existing
metadata, else for a uint8/int8 input its quantization; a float input with neither is refused.
"""


def _add_convert(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="run folder written by edge-train (holds model.keras, labels.txt, ...)")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help=f"comma-separated, from {','.join(VARIANTS)} (default: all)")
    p.add_argument("--calibration-size", type=int, default=defaults.CALIBRATION_SIZE, metavar="N",
                   help="training photos used to calibrate int8, stratified over classes (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="picks the calibration photos (default 0)")
    p.add_argument("--qat", action=argparse.BooleanOptionalAction, default=defaults.QAT,
                   help="quantization-aware fine-tune (minutes) before the int8 export: --qat always, --no-qat "
                        "never (default: only when post-training int8 fails the accuracy gate on the training and "
                        "validation photos, as in edge-kit)")
    p.add_argument("--qat-epochs", type=int, default=defaults.QAT_EPOCHS,
                   help="epochs of the QAT fine-tune (default %(default)s)")
    p.add_argument("--max-accuracy-drop", type=float, default=defaults.MAX_ACCURACY_DROP, metavar="POINTS",
                   help="allowed int8 top-1 loss vs float32 in percentage points (default %(default)s); negative "
                        "disables")
    p.add_argument("--int8-io", choices=("uint8", "int8"), default="uint8",
                   help="int8 model input/output type (default uint8, as Android and the Task Library expect)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads for evaluation/latency")
    p.add_argument("-o", "--out", default=None, metavar="DIR", help="where to write (default RUN_DIR/tflite)")
    p.add_argument("--output-dir", dest="out", action=_DeprecatedAlias, new_name="-o/--out", help=argparse.SUPPRESS)
    p.add_argument("--no-evaluate", action="store_true", help="convert only; skip evaluation and the report")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("-v", "--verbose", action="store_true", help="also show TensorFlow's C++ start-up log lines")


def _add_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="run folder that edge-convert has converted")
    p.add_argument("--variant", default="int8", help=f"one of {', '.join(VARIANTS)} (default int8)")
    p.add_argument("-o", "--out", default=None, dest="destination", metavar="PATH",
                   help="file or folder (default android-sample/app/src/main/assets/model.tflite)")
    p.add_argument("--create", action="store_true", help="create the destination folder if it does not exist")
    p.add_argument("--to", dest="destination", action=_DeprecatedAlias, new_name="-o/--out", help=argparse.SUPPRESS)


def _add_metadata(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="the .tflite image classifier (one 1xHxWx3 input, one 1xN output)")
    p.add_argument("--labels", default=None, metavar="FILE",
                   help="labels file, one per score (default: the labels already packed in the model)")
    p.add_argument("--mean", type=_floats, default=None, metavar="M",
                   help="input normalisation mean: one value or R,G,B (the model sees (pixel - mean) / std)")
    p.add_argument("--std", type=_floats, default=None, metavar="S", help="input normalisation std: one value or R,G,B")
    p.add_argument("--crop", choices=CROP_MODES, default="center",
                   help="how photos are fitted to the input: centre crop (default) or stretch the whole photo")
    p.add_argument("--name", default=None, help="model name in the metadata (default: the file name)")
    p.add_argument("-o", "--out", default=None, metavar="OUT.tflite",
                   help="where to write (default MODEL_metadata.tflite beside the model; the model itself only "
                        "when named here)")


def _parse(args_list: List[str]) -> argparse.Namespace:
    if not args_list or args_list[0] not in SUBCOMMANDS + ("-h", "--help"):
        args_list = ["convert"] + args_list  # a bare run folder means convert
    return build_parser().parse_args(args_list)


def main(argv: Optional[List[str]] = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    never_crash_on_encoding()  # a non-ASCII label or path on an ASCII terminal: escapes, not a crash
    show_warnings_plainly("edge-convert")  # edge-kit's warnings as one line, not Python's file:line form
    try:
        args = _parse(args_list)
        if args.command == "metadata":
            from converter.foreign import write_classifier_metadata, read_labels

            labels = read_labels(args.labels) if args.labels else None
            path = write_classifier_metadata(args.model, labels, args.out, args.mean, args.std, args.crop, args.name)
            print(f"metadata written -> {path}")
            return 0
        if args.command == "export":
            from converter.export import export_variant

            destination = None if args.destination is None else _user_path_keeping_slash(args.destination)
            run_dir = user_path(args.run_dir)
            if not run_dir.is_dir():
                raise ConvertError(f"{run_dir}: no such run folder; check the path, or train and convert first "
                                   "(edge-convert export RUN_DIR).")
            # not while a retrain replaces it (a read-only copy of a run folder is read without the lock)
            with folder_lock(run_dir, "edge-convert export", "run folder", read_only=True):
                path = export_variant(run_dir, args.variant, destination, create=args.create)
            print(f"exported {args.variant} -> {path}")
            return 0
        require("edge-convert", ["convert"])  # one line naming the missing extra, not a traceback (e.g. on a board)
        # User paths resolved once, here, against the user's working folder.
        args.run_dir = str(user_path(args.run_dir))
        args.out = None if args.out is None else str(user_path(args.out))
        cfg = ConvertConfig(
            variants=args.variants, calibration_size=args.calibration_size, seed=args.seed, int8_io=args.int8_io,
            qat=args.qat, qat_epochs=args.qat_epochs,
            max_accuracy_drop=None if args.max_accuracy_drop < 0 else args.max_accuracy_drop,
            num_threads=args.threads, evaluate=not args.no_evaluate, output_dir=args.out,
            verbose=not args.quiet)
        from converter.run_input import load_run

        load_run(args.run_dir)  # a wrong folder is reported at once, before TensorFlow's seconds of start-up
        with contextlib.ExitStack() as locks:  # "in use by process N" while another command writes these folders
            elsewhere = args.out is not None and not Path(args.out).is_relative_to(args.run_dir)
            locks.enter_context(folder_lock(args.run_dir, "edge-convert", "run folder", read_only=elsewhere))
            if elsewhere:
                check_output_dir(args.out, "--out")
                locks.enter_context(folder_lock(args.out, "edge-convert"))
            import_tensorflow_quietly(args.verbose)  # Ctrl-C while it imports: KeyboardInterrupt, below
            from converter.api import convert
            from common.interrupts import InterruptGuard

            try:
                with InterruptGuard() as guard:  # a Ctrl-C swallowed by a finalizer still stops at the next line
                    say = (lambda message: print(message, flush=True)) if cfg.verbose else (lambda message: None)
                    convert(args.run_dir, cfg, progress=guard.wrap(say))
            except KeyboardInterrupt:
                print("\nedge-convert: interrupted; the variants already written are complete (each file is written "
                      "atomically). Run the same command again to convert them all.", file=sys.stderr)
                return exit_codes.INTERRUPTED
        return exit_codes.OK
    except KeyboardInterrupt:  # TensorFlow's start-up, an export: every file is written whole or not at all
        print("\nedge-convert: interrupted; no file was left half-written. Run the same command again.",
              file=sys.stderr)
        return exit_codes.INTERRUPTED
    except AccuracyGateError as exc:
        print(f"edge-convert: accuracy gate failed: {exc}", file=sys.stderr)
        return exit_codes.REFUSED
    except EdgeKitError as exc:
        print(f"edge-convert: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # e.g. the disk filled up while writing a variant: finished files are complete
        where = exc.filename or args.out or f"{args.run_dir}/tflite"
        print(f"edge-convert: error: {explain_os_error(exc, where, '--out')}", file=sys.stderr)
        return exit_codes.FAILED


def _user_path_keeping_slash(path: str) -> str:
    """:func:`user_path`, keeping a trailing slash (``--to app/`` means a folder)."""
    return str(user_path(path)) + ("/" if path.endswith(("/", "\\")) else "")
