"""``edge-classify``: classify photos, folders or a live camera with a .tflite model, no TensorFlow needed."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, TextIO

from common.errors import EdgeKitError

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
  edge-classify model.tflite photos/ --json > results.jsonl
      one JSON object per line: {"file": ..., "predictions": [{"label": ..., "score": ...}]}
      (or {"file": ..., "error": ...} for a photo that could not be read)
  edge-classify mobilenet.tflite cat.jpg --labels labels.txt
      a model without packed labels: give them (one per line), or put labels.txt beside the model
  edge-classify model.tflite --camera
      live: Raspberry Pi camera (picamera2) or USB webcam 0; prints label, score and FPS (Ctrl-C stops)
  edge-classify model.tflite --camera 1 --show
      USB webcam 1 in a window with the label drawn on it (needs OpenCV)
  edge-classify model.tflite photo.jpg --benchmark
      latency: median/p90/p99 per stage (decode, preprocess, invoke, postprocess) and a thread sweep

Labels come from the model's metadata, else labels.txt beside the model, else --labels.
A photo that cannot be read is reported and skipped; the exit status is then 1 (2: bad model or arguments).
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
    p.add_argument("-t", "--threshold", type=float, default=None, help="hide labels scoring below this (0-1)")
    p.add_argument("--json", action="store_true", help="one JSON result per line instead of a table")
    p.add_argument("--labels", help="labels file (one per line) when the model has none packed")
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
    p.add_argument("--benchmark", action="store_true", help="measure latency on the first photo given")
    p.add_argument("--runs", type=int, default=50, help="benchmark: timed runs per stage (default 50)")
    return p


def iter_images(inputs: Sequence[str]) -> Iterator[str]:
    """Files given explicitly (whatever their extension), and image files inside folders (sorted, recursive)."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS):
                yield str(sub)
        else:
            yield str(path)


def format_table_rows(source: str, predictions, error: Optional[str], width: int) -> List[str]:
    if error is not None:
        return [f"{source:<{width}}  ERROR: {error}"]
    if not predictions:
        return [f"{source:<{width}}  (no label above the threshold)"]
    rows = []
    for rank, (label, score) in enumerate(predictions):
        name = source if rank == 0 else ""
        rows.append(f"{name:<{width}}  {score * 100:6.2f}%  {label}")
    return rows


def main(argv: Optional[Sequence[str]] = None, stdout: TextIO = None, stderr: TextIO = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    if args.camera is None and not args.inputs:
        parser.error("give photos or folders to classify, or --camera (see examples below with --help)")
    if args.benchmark and args.camera is not None:
        parser.error("--benchmark works on a photo, not with --camera")
    if args.processes is not None and args.processes < 0:
        parser.error("--processes must be 0 (threads in this process) or more")

    from device.batch import classifier_for_many
    from device.classifier import Classifier
    from device.heap import keep_heap_pad
    from device.process_pool import ProcessPoolClassifier, use_processes

    keep_heap_pad()  # a photo after another: reuse freed memory, no page faults per photo (device/heap.py)
    paths: List[str] = []
    if not args.benchmark and args.camera is None:
        paths = list(iter_images(args.inputs))
    options = dict(backend=args.backend, labels=args.labels, crop=args.crop, keep_background=args.keep_background)
    pool = None
    try:
        if use_processes(len(paths), args.processes):  # many files: whole photos on worker processes
            pool = ProcessPoolClassifier(args.model, processes=args.processes or None, num_threads=args.threads or 1,
                                         **options)
            clf = pool.classifier
        elif len(paths) > 1:  # throughput mode: interpreter threads chosen for pipelining (see device/batch.py)
            clf = classifier_for_many(args.model, paths[0], num_threads=args.threads, **options)
        else:
            clf = Classifier.from_file(args.model, num_threads=args.threads, **options)
    except EdgeKitError as exc:
        print(f"edge-classify: error: {exc}", file=stderr)
        return 2

    finished = False
    try:
        if args.benchmark:
            code = _benchmark(clf, args, stdout, stderr)
        elif args.camera is not None:
            code = _camera(clf, args, stdout, stderr)
        elif pool is not None:
            code = _files(pool.classify_many, args, paths, stdout, stderr)
        else:
            code = _files(lambda *a, **k: clf.classify_many(*a, workers=args.workers, **k), args, paths, stdout,
                          stderr)
        finished = True
        return code
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


def _files(classify_many, args, paths: List[str], stdout: TextIO, stderr: TextIO) -> int:
    """Classify ``paths`` with ``classify_many(paths, top_k=, threshold=)`` (threads or processes), print each."""
    if not paths:
        print(f"edge-classify: error: no image files found in {', '.join(args.inputs)}", file=stderr)
        return 2
    width = min(60, max(len(p) for p in paths))
    failures = 0
    for result in classify_many(paths, top_k=args.top_k, threshold=args.threshold):
        if not result.ok:
            failures += 1
        if args.json:
            stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        else:
            for row in format_table_rows(result.source, result.predictions, result.error, width):
                print(row, file=stdout)
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

    def on_result(result, frame) -> None:
        if args.json:
            stdout.write(json.dumps({"frame": result.frame_index, "fps": round(result.fps, 2), "predictions": [
                {"label": label, "score": round(score, 6)} for label, score in result.predictions]}) + "\n")
        else:
            stdout.write("\r" + format_live(result))
        stdout.flush()
        if show is not None and not show.draw(frame, format_live(result)):
            raise KeyboardInterrupt

    count = run_live(clf, source, on_result, top_k=args.top_k, threshold=args.threshold, max_frames=args.frames)
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

    paths = list(iter_images(args.inputs))
    if not paths:
        print("edge-classify: error: --benchmark needs a photo", file=stderr)
        return 2
    try:
        stages = benchmark_stages(clf, paths[0], runs=args.runs)
    except EdgeKitError as exc:
        print(f"edge-classify: error: {exc}", file=stderr)
        return 2
    counts = sorted({1, 2, 4, default_num_threads(), clf.interpreter.num_threads})
    counts = [n for n in counts if n <= max(4, os.cpu_count() or 1)]
    sweep = thread_sweep(args.model, clf.interpreter.backend, counts, runs=max(10, args.runs // 2))
    header = (f"model {args.model} ({clf.interpreter.backend}, {clf.interpreter.num_threads} threads, "
              f"{clf.encoding.describe()}), photo {paths[0]}, {args.runs} runs after warm-up")
    print(format_report(stages, sweep, header), file=stdout)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
