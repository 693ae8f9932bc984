"""``edge-train``: the command line of the trainer (a thin layer over :func:`trainer.train`)."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from common import defaults, exit_codes
from common.errors import EdgeKitError
from common.metrics import accuracy_lines
from common.console import never_crash_on_encoding
from common.paths import explain_os_error, user_path
from common.requirements import require
from common.tf_startup import import_tensorflow_quietly
from trainer.config import ALPHAS, CROP_MODES, MAX_SIZE, MIN_SIZE, TrainConfig, normalize_weights
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
  # ImageNet weights from the Keras cache (downloaded once to ~/.keras/models when online)
  edge-train photos/ --out runs/flowers

  # offline: give the weights file itself (MobileNetV2 no-top .h5 for the chosen alpha)
  edge-train photos/ --out runs/flowers --alpha 0.35 --size 224 \\
      --weights ~/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5

  # offline with --weights imagenet: copy that file to ~/.keras/models/ under the same name first

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


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig(data_dir=".")
    p = argparse.ArgumentParser(
        prog="edge-train",
        description="Train an image classifier (MobileNetV2, transfer learning) on a folder of labelled photos.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data_dir", help="folder with one sub-folder of photos per class (or train/ val/ [test/])")
    p.add_argument("-o", "--out", default=d.out_dir, help="run folder to write (default: %(default)s)")
    m = p.add_argument_group("model")
    m.add_argument("--alpha", type=float, default=d.alpha, choices=ALPHAS,
                   help="MobileNetV2 width: smaller is faster and less accurate (default: %(default)s). "
                        + defaults.ALPHA_ADVICE)
    m.add_argument("--size", type=int, default=d.size,
                   help=f"input size in pixels, {MIN_SIZE}-{MAX_SIZE} (default: %(default)s)")
    m.add_argument("--weights", default=d.weights,
                   help="'imagenet' (Keras cache), PATH.h5 (local no-top weights, works offline) or 'none' "
                        "(default: %(default)s)")
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
    t.add_argument("--no-refit-head", dest="refit_head", action="store_false",
                   help="when the head wins, keep it as fitted on the training photos instead of fitting it again "
                        "on the training and validation photos")
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
        data_dir=args.data_dir, out_dir=args.out, alpha=args.alpha, size=args.size, weights=args.weights,
        crop=args.crop, dropout=args.dropout, batch_size=args.batch_size, fine_tune=args.fine_tune,
        fine_tune_epochs=args.epochs, fine_tune_blocks=args.fine_tune_blocks, fine_tune_learning_rate=args.learning_rate,
        fine_tune_views=args.fine_tune_views, augment=args.augment, refit_head=args.refit_head,
        label_smoothing=args.label_smoothing, class_weights=args.class_weights,
        val_split=args.val_split, test_split=args.test_split, seed=args.seed,
        min_photos_per_class=args.min_photos, overwrite=args.overwrite, deterministic=args.deterministic,
        verbose=not args.quiet,
    )


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    never_crash_on_encoding()  # a non-ASCII label or path on an ASCII terminal: escapes, not a crash
    require("edge-train", ["train"])  # one line naming the missing extra, not a traceback (e.g. on a board)
    # User paths resolved once, here, against the user's working folder.
    args.data_dir, args.out = str(user_path(args.data_dir)), str(user_path(args.out))
    weights = normalize_weights(args.weights)
    args.weights = weights if weights in (None, "imagenet") else str(user_path(weights))
    import_tensorflow_quietly(args.verbose)
    if args.check_only:
        return _check_only(args)
    try:
        config = config_from_args(args)
        from common.interrupts import InterruptGuard
        from trainer.training import train

        with InterruptGuard() as guard:  # a Ctrl-C swallowed by a finalizer still stops after the epoch under way
            run = train(config, hooks=[lambda phase, epoch, logs: guard.check()])
    except KeyboardInterrupt:
        print(f"\ninterrupted: the last finished epoch is saved in {args.out}/checkpoint; run the same command "
              "again to resume.", file=sys.stderr)
        return exit_codes.INTERRUPTED
    except (TrainerError, EdgeKitError) as exc:
        print(f"edge-train: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # e.g. the disk filled up while writing: one line, the finished run is kept
        print(f"edge-train: error: {explain_os_error(exc, exc.filename or args.out)} A finished run in {args.out} "
              "is kept; run the same command again to resume.", file=sys.stderr)
        return exit_codes.FAILED
    if args.quiet:  # otherwise the training has just said it
        for line in accuracy_lines(run.metrics):
            print(line)
        print(f"run folder: {run.path}")
    return 0


def _check_only(args: argparse.Namespace) -> int:
    """``--check-only``: the dataset health check alone; the same input errors as a training."""
    try:
        from trainer.check_only import check_only

        result = check_only(config_from_args(args))
    except KeyboardInterrupt:
        print(f"\ninterrupted: nothing was written to {args.out}.", file=sys.stderr)
        return exit_codes.INTERRUPTED
    except (TrainerError, EdgeKitError) as exc:
        print(f"edge-train: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"edge-train: error: {explain_os_error(exc, exc.filename or args.out)}", file=sys.stderr)
        return exit_codes.FAILED
    if args.quiet:  # otherwise the check has just said it
        print(result.report.summary(str(result.path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
