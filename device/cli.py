"""``edge-classify``: classify photos, folders or a live camera with a .tflite model, no TensorFlow needed."""
from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, TextIO

from common.console import never_crash_on_encoding
from common.errors import EdgeKitError
from device.records import FORMATS, csv_header, label_indices, make_record, write_record

#: The photo argument that means standard input, and the path it is read from (a pipe or file; read as a stream).
STDIN, STDIN_PATH = "-", "/dev/stdin"
#: File extensions picked up when a folder is given.
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}

EXAMPLES = """\
examples:
  edge-classify model.tflite photo.jpg
      top-5 labels and scores of one photo
  edge-classify model.tflite photos/ --top-k 1 --threshold 0.5
      every photo in a folder (recursively), best label only, hide scores under 50%
  edge-classify model.tflite big-folder/ --processes 2 --top-k 1
      a worker process per core, each decoding and classifying whole photos (the default from 1000 photos on)
  edge-classify model.tflite photos/ --format jsonl > results.jsonl
      one JSON object per line: {"file", "frame", "predictions": [{"label", "index", "score"}], "error", ...}
      (the same fields for photos, camera frames and --evaluate; --format csv: one row per prediction)
  edge-classify model.tflite --evaluate val/ -o eval/
      labelled photos (one sub-folder per label): top-1, top-5, per-class precision/recall, confusion matrix,
      worst mistakes, latency; eval/evaluation.json and eval/confusion_matrix.png
  edge-classify model_unquant.tflite photo.jpg --mean 127.5 --std 127.5
      a float model without normalisation metadata that expects [-1, 1] (Teachable Machine, Keras MobileNet)
  edge-classify mobilenet.tflite cat.jpg --labels labels.txt
      a model without packed labels: give them (one per line, or Teachable Machine's "N Name" lines), or put
      labels.txt beside the model
  edge-classify model.tflite --camera
      live: Raspberry Pi camera (picamera2) or USB webcam 0; prints label, score and FPS (Ctrl-C stops)
  edge-classify model.tflite --camera 1 --show
      USB webcam 1 in a window with the label drawn on it (needs OpenCV)
  edge-classify model.tflite photo.jpg --benchmark
      latency: median/p90/p99 per stage (decode, preprocess, invoke, postprocess) and a thread sweep

Labels come from --labels if given (with a warning when the model packs different ones), else the model's
metadata, else labels.txt beside the model.
A photo that cannot be read is reported and skipped (HEIC photos too, with how to convert them).
Exit status: 0 all photos classified, 1 some photos could not be read, 2 bad model, photo list or arguments,
130 interrupted (Ctrl-C).
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edge-classify",
        description="Classify photos, folders of photos or a camera stream with a .tflite image classifier "
        "(LiteRT / tflite-runtime; TensorFlow not needed).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="the .tflite model (e.g. runs/flowers/tflite/model_int8.tflite)")
    p.add_argument("inputs", nargs="*", help="photos and/or folders of photos (searched recursively)")
    p.add_argument("-k", "--top-k", type=int, default=5, help="how many labels per photo (default 5)")
    p.add_argument("-t", "--threshold", type=_fraction, default=None, help="hide labels scoring below this (0-1)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="table (default), jsonl (one JSON record per line) or csv (one row per prediction)")
    p.add_argument("--json", action="store_true", help="the same as --format jsonl")
    p.add_argument("--labels", help="labels file (one per line) when the model has none packed (overrides packed "
                   "labels, with a warning when they differ)")
    p.add_argument("--backend", choices=["ai-edge-litert", "tflite-runtime", "tensorflow"], default=None,
                   help="interpreter (default: ai-edge-litert, else tflite-runtime)")
    p.add_argument("--threads", type=int, default=None,
                   help="interpreter threads (default: CPU cores, max 4; for several photos, 1 when the model is fast "
                   "enough that decoding photos on every core goes faster)")
    p.add_argument("--workers", type=int, default=None,
                   help="photo decoding threads for several photos (default: the cores the interpreter leaves; "
                   "0: sequential)")
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes for several photos, each with a 1-thread interpreter (default: one per "
                   "core for 1000 photos or more, else 0: threads in this process)")
    p.add_argument("--crop", choices=["center", "stretch"], default=None,
                   help="override the model's crop mode (default: from the model, else center)")
    p.add_argument("--keep-background", action="store_true", help="also report the 'background' class")
    p.add_argument("--camera", nargs="?", const="auto", default=None, metavar="SOURCE",
                   help="live mode: 'auto' (default), 'pi', a webcam index (0, 1) or a video device path")
    p.add_argument("--frames", type=int, default=None, help="camera: stop after this many frames")
    p.add_argument("--show", action="store_true", help="camera: show the video with the label (needs OpenCV)")
    p.add_argument("--mean", type=_floats, default=None, metavar="M",
                   help="input normalisation (pixel - mean) / std for a float model without it in its metadata: "
                        "one value or R,G,B (e.g. 127.5 for [-1, 1])")
    p.add_argument("--std", type=_floats, default=None, metavar="S", help="see --mean (e.g. 127.5)")
    p.add_argument("--evaluate", default=None, metavar="FOLDER",
                   help="evaluate on labelled photos: FOLDER has one sub-folder per label (case-insensitive)")
    p.add_argument("-o", "--out", default=None, metavar="DIR",
                   help="--evaluate: also write DIR/evaluation.json and DIR/confusion_matrix.png")
    p.add_argument("--worst", type=int, default=10, help="--evaluate: how many worst mistakes to list (default 10)")
    p.add_argument("--benchmark", action="store_true", help="measure latency on the first photo given")
    p.add_argument("--runs", type=int, default=50, help="benchmark: timed runs per stage (default 50)")
    return p


def _floats(text: str) -> List[float]:
    """argparse type of ``--mean``/``--std``: comma-separated numbers (checked by
    :func:`device.input_encoding.check_normalization` once both are known)."""
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or three comma-separated numbers, got {text!r}")


def _fraction(text: str) -> float:
    """argparse type of ``--threshold``: a score from 0 to 1 (:func:`device.postprocess.check_threshold`)."""
    from device.postprocess import check_threshold  # lazy: numpy is not needed for --help

    try:
        return check_threshold(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a score from 0 to 1 (e.g. 0.5)") from None


def _check_counts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse counts out of range with a usage error (exit 2) before any work."""
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.workers is not None and args.workers < 0:
        parser.error("--workers must be 0 (sequential) or more")
    if args.processes is not None and args.processes < 0:
        parser.error("--processes must be 0 (threads in this process) or more")
    if args.frames is not None and args.frames < 1:
        parser.error("--frames must be at least 1")


def iter_images(inputs: Sequence[str]) -> Iterator[str]:
    """Files given explicitly (whatever their extension), and image files inside folders (sorted, recursive);
    HEIC/HEIF photos in folders are included so that they are reported, not silently skipped."""
    from device.image_decode import HEIF_EXTENSIONS  # lazy: numpy and Pillow are not needed for --help

    picked = IMAGE_EXTENSIONS | set(HEIF_EXTENSIONS)
    for item in inputs:
        if item == STDIN:
            yield STDIN_PATH
            continue
        path = Path(item)
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in picked):
                yield str(sub)
        else:
            yield str(path)


def is_stream(path: str) -> bool:
    """Whether ``path`` is a pipe, FIFO or character device (e.g. ``<(cat photo.jpg)``): readable once only."""
    p = Path(path)
    return p.exists() and not p.is_file() and not p.is_dir()


def _is_unicode(stream: TextIO) -> bool:
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name.startswith("utf")
    except LookupError:
        return False


def main(argv: Optional[Sequence[str]] = None, stdout: TextIO = None, stderr: TextIO = None) -> int:
    """Run ``edge-classify`` (see :data:`EXAMPLES`); returns the exit status: 0 ok, 1 some photos could not be
    read, 2 bad model, input or arguments, 130 interrupted."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    never_crash_on_encoding(stdout, stderr)
    try:
        return _main(argv, stdout, stderr)
    except KeyboardInterrupt:  # Ctrl-C while loading the model or listing folders (later ones are handled inside)
        print("\nedge-classify: interrupted", file=stderr)
        return 130


def _main(argv: Optional[Sequence[str]], stdout: TextIO, stderr: TextIO) -> int:
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)  # photos may follow options (model --labels l.txt photo.jpg)
    _check_counts(parser, args)
    if args.json:
        if args.format not in (None, "jsonl"):
            parser.error("--json means --format jsonl; give one of them")
        args.format = "jsonl"
    args.format = args.format or "table"
    if (args.mean is None) != (args.std is None):
        parser.error("give --mean and --std together (the model sees (pixel - mean) / std)")
    if args.mean is not None:
        from device.input_encoding import check_normalization  # lazy: numpy is not needed for --help

        try:
            args.mean, args.std = check_normalization(args.mean, args.std)
        except ValueError as exc:
            parser.error(str(exc))
    if args.evaluate is not None and (args.inputs or args.camera is not None or args.benchmark):
        parser.error("--evaluate takes the labelled folder only (no other photos, --camera or --benchmark)")
    if args.out is not None and args.evaluate is None:
        parser.error("-o/--out is for --evaluate (where evaluation.json and confusion_matrix.png go)")
    if args.camera is None and not args.inputs and args.evaluate is None:
        parser.error("give photos or folders to classify, --evaluate FOLDER, or --camera (see examples with --help)")
    if args.benchmark and args.camera is not None:
        parser.error("--benchmark works on a photo, not with --camera")
    if STDIN in args.inputs and sys.stdin is not None and sys.stdin.isatty():
        parser.error("'-' reads a photo from standard input, which is a terminal here; pipe one in: "
                     f"{parser.prog} MODEL - < photo.jpg")
    if args.out is not None:  # before loading the model and classifying every photo
        from common.paths import OutputLocationError, check_output_dir

        try:
            args.out = str(check_output_dir(args.out, "-o"))
        except OutputLocationError as exc:
            print(f"edge-classify: error: {exc}", file=stderr)
            return 2

    stale = _stale_model(args.model)
    if stale:
        print(f"edge-classify: error: {stale}", file=stderr)
        return 2
    from device.batch import classifier_for_many
    from device.classifier import Classifier
    from device.heap import keep_heap_pad
    from device.process_pool import ProcessPoolClassifier, use_processes

    keep_heap_pad()  # a photo after another: reuse freed memory, no page faults per photo (device/heap.py)
    paths: List[str] = []
    if not args.benchmark and args.camera is None and args.evaluate is None:
        paths = list(iter_images(args.inputs))
    options = dict(backend=args.backend, labels=args.labels, crop=args.crop, keep_background=args.keep_background)
    if args.mean is not None:
        options["normalization"] = (args.mean, args.std)
    streams = any(is_stream(p) for p in paths)  # a pipe is read once, by this process: no sample, no workers
    pool = None
    try:
        if not streams and use_processes(len(paths), args.processes):  # many files: photos on worker processes
            pool = ProcessPoolClassifier(args.model, processes=args.processes or None, num_threads=args.threads or 1,
                                         **options)
            clf = pool.classifier
        elif len(paths) > 1 and not streams:  # throughput: interpreter threads chosen for pipelining (device/batch.py)
            clf = classifier_for_many(args.model, paths[0], num_threads=args.threads, **options)
        else:
            clf = Classifier.from_file(args.model, num_threads=args.threads, **options)
    except EdgeKitError as exc:
        print(f"edge-classify: error: {exc}", file=stderr)
        return 2
    _warn_labels_override(clf, args, stderr)
    _warn_repeated_labels(clf, args, stderr)
    _warn_no_normalisation(clf, args, stderr)

    finished = False
    try:
        if args.evaluate is not None:
            code = _evaluate(clf, args, stdout, stderr)
        elif args.benchmark:
            code = _benchmark(clf, args, stdout, stderr)
        elif args.camera is not None:
            code = _camera(clf, args, stdout, stderr)
        elif pool is not None:
            code = _files(pool.classify_many, clf.labels, args, paths, stdout, stderr)
        else:
            code = _files(lambda *a, **k: clf.classify_many(*a, workers=args.workers, **k), clf.labels, args, paths,
                          stdout, stderr)
        finished = True
        return code
    except EdgeKitError as exc:  # the model loaded but fails to run: a bad model, reported in one line
        print(f"edge-classify: error: {exc}", file=stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`: stop quietly
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("\nedge-classify: interrupted", file=stderr)
        return 130
    finally:
        if pool is not None:  # workers finish their last photos only when the run did; else they stop now
            pool.close() if finished else pool.terminate()


def _stale_model(model: str) -> Optional[str]:
    """Why ``model``, a ``.tflite`` in a run folder's ``tflite/``, no longer describes that run's model.keras (None
    otherwise, and for a model anywhere else). The run folder's rule (:func:`common.run_folder.check_tflite`),
    imported here only: the device library itself never reads run folders."""
    from common.run_folder import StaleOutputError, check_tflite

    try:
        check_tflite(Path(model))
    except StaleOutputError as exc:
        return str(exc)
    return None


def _warn_labels_override(clf, args, stderr: TextIO) -> None:
    """One warning line when ``--labels`` replaces different labels packed in the model (a wrong file would
    otherwise silently mislabel every photo)."""
    packed = clf.info.labels
    if args.labels is None or not packed or list(packed) == list(clf.labels):
        return
    first = next(i for i, (a, b) in enumerate(zip(packed, clf.labels)) if a != b)
    print(f"edge-classify: warning: --labels {args.labels} replaces the labels packed in {args.model} (they differ "
          f"from line {first + 1}: {clf.labels[first]!r} instead of {packed[first]!r}); drop --labels to use the "
          "model's own.", file=stderr)


def _warn_repeated_labels(clf, args, stderr: TextIO) -> None:
    """One warning line when a label names more than one output (a labels file with a class written twice, or
    ImageNet's two "crane"s): answers with that label do not say which output they are."""
    from device.metadata import repeated_labels

    repeated = repeated_labels(list(clf.labels))
    if not repeated:
        return
    listed = "; ".join(f"{label!r}: outputs {', '.join(map(str, indices))}"
                       for label, indices in list(repeated.items())[:3])
    more = f"; and {len(repeated) - 3} more" if len(repeated) > 3 else ""
    print(f"edge-classify: warning: labels of {args.model} name more than one output ({listed}{more}); answers "
          "with those labels cannot be told apart.", file=stderr)


def _warn_no_normalisation(clf, args, stderr: TextIO) -> None:
    """One warning line for a float model with no normalisation in its metadata and no ``--mean/--std``: raw
    0-255 pixels go in, and a model that expects [-1, 1] or [0, 1] then answers confidently and wrongly."""
    if args.mean is not None or clf.encoding.mode != "float":
        return
    meta_in = clf.info.metadata.inputs[0] if clf.info.metadata and clf.info.metadata.inputs else None
    if meta_in is not None and meta_in.mean is not None:
        return
    print(f"edge-classify: warning: {args.model} takes float input and says nothing about normalisation; feeding "
          "raw 0-255 pixels. If it expects [-1, 1] (Teachable Machine, Keras MobileNet) give --mean 127.5 --std "
          "127.5, for [0, 1] --mean 0 --std 255 (or store them once: edge-convert metadata).", file=stderr)


def _evaluate(clf, args, stdout: TextIO, stderr: TextIO) -> int:
    """``--evaluate FOLDER``: metrics printed as a table (or per-photo records + a summary), files with -o."""
    from common.atomic import atomic_write_bytes, atomic_write_json
    from device.evaluate import confusion_matrix_png, evaluate_folder, format_report

    def progress(done: int, total: int) -> None:
        if args.format == "table" and stderr.isatty():
            stderr.write(f"\revaluating: {done}/{total} photos")
            stderr.flush()

    result = evaluate_folder(clf, Path(args.evaluate), worst=args.worst, progress=progress)
    if args.format == "table" and stderr.isatty():
        stderr.write("\n")
    summary = {k: v for k, v in result.items() if k != "predictions"}
    if args.format == "table":
        stdout.write("\n".join(format_report(result)) + "\n")
    else:
        indices = label_indices(clf.labels)
        if args.format == "csv":
            csv_header(stdout)
        ascii_json = not _is_unicode(stdout)
        for p in result["predictions"]:
            record = make_record([(p["label"], p["score"])], indices, file=p["file"], true=p["true"],
                                 true_index=p["true_index"])
            write_record(stdout, record, args.format, ascii_json=ascii_json)
        if args.format == "jsonl":
            stdout.write(json.dumps({"evaluation": summary}, ensure_ascii=ascii_json) + "\n")
        else:
            stderr.write("\n".join(format_report(result)[:2]) + "\n")
    if args.out is not None:
        from common.paths import explain_os_error

        out = Path(args.out)
        png = confusion_matrix_png(result["labels"], result["confusion_matrix"],
                                   f"{Path(args.model).name} on {args.evaluate}: top-1 {result['top1']:.1%}")
        try:  # the disk may fill up (or be remounted read-only) after the check at the start
            out.mkdir(parents=True, exist_ok=True)
            atomic_write_json(out / "evaluation.json", result)
            atomic_write_bytes(out / "confusion_matrix.png", png)
        except OSError as exc:
            print(f"edge-classify: error: {explain_os_error(exc, out, '-o')}", file=stderr)
            return 1
        print(f"wrote {out / 'evaluation.json'} and {out / 'confusion_matrix.png'}", file=stderr)
    elif args.format == "table":
        print("(-o DIR also writes evaluation.json and confusion_matrix.png)", file=stderr)
    return 1 if result["unreadable"] else 0


def _files(classify_many, labels: Sequence[str], args, paths: List[str], stdout: TextIO, stderr: TextIO) -> int:
    """Classify ``paths`` with ``classify_many(paths, top_k=, threshold=)`` (threads or processes), print each
    as a record (:mod:`device.records`) in ``args.format``."""
    if not paths:
        print(f"edge-classify: error: no image files found in {', '.join(args.inputs)} (looked for "
              f"{', '.join(sorted(IMAGE_EXTENSIONS))}); give photos, or folders that hold some", file=stderr)
        return 2
    width = min(60, max(len(p) for p in paths))
    ascii_json = not _is_unicode(stdout)  # JSON stays valid on a non-UTF-8 terminal: \u escapes
    indices = label_indices(labels)
    failures = 0
    if args.format == "csv":
        csv_header(stdout)
    for result in classify_many(paths, top_k=args.top_k, threshold=args.threshold):
        if not result.ok:
            failures += 1
        record = make_record(result.predictions if result.ok else [], indices, file=result.source,
                             error=result.error)
        write_record(stdout, record, args.format, width, ascii_json)
        stdout.flush()
    if failures:
        print(f"edge-classify: {failures} of {len(paths)} photos could not be read (reported above, skipped)",
              file=stderr)
        return 1
    return 0


def _camera(clf, args, stdout: TextIO, stderr: TextIO) -> int:
    from device.camera import CameraError, format_live, open_camera, run_live

    try:
        source = open_camera(args.camera)
    except CameraError as exc:
        print(f"edge-classify: error: {exc}", file=stderr)
        return 2
    show = _Window() if args.show else None

    indices = label_indices(clf.labels)
    if args.format == "csv":
        csv_header(stdout)

    def on_result(result, frame) -> None:
        if args.format != "table":
            write_record(stdout, make_record(result.predictions, indices, frame=result.frame_index, fps=result.fps),
                         args.format)
        else:
            stdout.write("\r" + format_live(result))
        stdout.flush()
        if show is not None and not show.draw(frame, format_live(result)):
            raise KeyboardInterrupt

    try:
        count = run_live(clf, source, on_result, top_k=args.top_k, threshold=args.threshold, max_frames=args.frames)
    except CameraError as exc:  # the camera stopped delivering frames (unplugged, taken by another app)
        print(f"\nedge-classify: error: {exc}", file=stderr)
        return 1
    if show is not None:
        show.close()
    print(f"\n{count} frames classified", file=stderr)
    return 0


class _Window:
    """An OpenCV preview window (only with --show)."""

    def __init__(self) -> None:
        import cv2  # imported lazily: only needed for --show

        self.cv2 = cv2

    def draw(self, frame, text: str) -> bool:
        bgr = frame[:, :, ::-1].copy()
        self.cv2.putText(bgr, text, (10, 30), self.cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 2)
        self.cv2.imshow("edge-classify", bgr)
        return (self.cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)

    def close(self) -> None:
        self.cv2.destroyAllWindows()


def _benchmark(clf, args, stdout: TextIO, stderr: TextIO) -> int:
    from device.backends import default_num_threads
    from device.benchmark import benchmark_stages, format_report, thread_sweep
    from device.image_decode import read_stream

    paths = list(iter_images(args.inputs))
    if not paths:
        print("edge-classify: error: --benchmark needs a photo", file=stderr)
        return 2
    photo = paths[0]
    try:
        if is_stream(photo):  # a pipe can be read once: decode its bytes at every run
            photo = read_stream(Path(photo))
        stages = benchmark_stages(clf, photo, runs=args.runs)
    except EdgeKitError as exc:
        print(f"edge-classify: error: {exc}", file=stderr)
        return 2
    counts = sorted({1, 2, 4, default_num_threads(), clf.interpreter.num_threads})
    counts = [n for n in counts if n <= max(4, os.cpu_count() or 1)]
    sweep = thread_sweep(args.model, clf.interpreter.backend, counts, runs=max(10, args.runs // 2))
    header = (f"model {args.model} ({clf.interpreter.backend}, {clf.interpreter.num_threads} threads, "
              f"{clf.encoding.describe()}), photo {paths[0]}, {args.runs} runs after warm-up")
    if args.format == "table":
        print(format_report(stages, sweep, header), file=stdout)
        return 0
    # jsonl / csv: one record per measurement (a stage at the chosen threads, or end to end at n threads), in ms
    rows = [{"measure": stage, "threads": clf.interpreter.num_threads, **stats} for stage, stats in stages.items()]
    rows += [{"measure": "invoke_thread_sweep", "threads": n, **stats} for n, stats in sweep.items()]
    common = {"model": args.model, "file": paths[0], "backend": clf.interpreter.backend, "runs": args.runs}
    if args.format == "jsonl":
        for row in rows:
            stdout.write(json.dumps({**common, **row}) + "\n")
    else:
        import csv

        fields = list(common) + ["measure", "threads", "median", "p90", "p99", "min", "mean"]
        writer = csv.DictWriter(stdout, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({**common, **row} for row in rows)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
