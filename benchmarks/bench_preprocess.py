"""Crop + resize of a 640x480 RGB frame vs the model's invoke, in wall time and CPU time.

    python benchmarks/bench_preprocess.py --model M [--repeats R] [--runs N]

Times the contract's resize (version 3, ``pillow-reduce-bilinear``), version 2's (``pillow-bilinear``) and
version 1's (``box-bilinear-int``) at the model's input size, crop and background (whatever version the model was
made with), and the invoke with the interpreter's default threads and with one thread, interleaved (``R`` repeats of ``N`` calls each). CPU time
(``time.process_time``, all threads of the process) is printed beside wall time because other processes on a
shared CPU disturb it less; a multi-threaded invoke's CPU time is the sum over its threads.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from device import Classifier  # noqa: E402
from device.heap import keep_heap_pad  # noqa: E402
from device.preprocess import PreprocessConfig, preprocess  # noqa: E402
from device.resize import LEGACY_RESIZE_FILTER, RESIZE_FILTER, V2_RESIZE_FILTER  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="an image classifier .tflite (e.g. the flowers int8 model)")
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--runs", type=int, default=40)
    args = p.parse_args()
    keep_heap_pad()
    clf = Classifier.from_file(args.model)
    single = Classifier.from_file(args.model, num_threads=1)
    y, x = np.mgrid[0:480, 0:640]
    frame = np.ascontiguousarray(np.dstack([x * 255 // 639, y * 255 // 479, (x ^ y) & 255]).astype(np.uint8))
    configs = {f: PreprocessConfig(clf.config.height, clf.config.width, clf.config.crop, clf.config.background, f)
               for f in (RESIZE_FILTER, V2_RESIZE_FILTER, LEGACY_RESIZE_FILTER)}
    pixels = preprocess(frame, clf.config)

    def invoke(c: Classifier):
        raw, index, tensor = c.interpreter.raw, c.interpreter.input_details[0]["index"], c.encoding.encode(pixels)

        def run() -> None:
            raw.set_tensor(index, tensor)
            raw.invoke()
        return run

    calls = {f"crop+resize {f}": (lambda config=config: preprocess(frame, config)) for f, config in configs.items()}
    calls.update({f"invoke, {clf.interpreter.num_threads} threads": invoke(clf), "invoke, 1 thread": invoke(single)})
    wall = {k: [] for k in calls}
    cpu = {k: [] for k in calls}
    for _ in range(args.repeats):  # interleaved: a busy spell of a shared CPU hits every call
        for name, fn in calls.items():
            for _ in range(5):
                fn()
            w, c = [], []
            for _ in range(args.runs):
                t, u = time.perf_counter(), time.process_time()
                fn()
                w.append(time.perf_counter() - t)
                c.append(time.process_time() - u)
            wall[name].append(1000 * statistics.median(w))
            cpu[name].append(1000 * statistics.mean(c))  # process_time is coarse: the mean, not the median
    print(f"{clf} (made with contract version {clf.config.version})")
    print(f"median of {args.repeats} interleaved repeats x {args.runs} calls (min-max of the repeats)")
    for name in calls:
        print(f"  {name:32s} wall {statistics.median(wall[name]):.3f} ms ({min(wall[name]):.3f}-{max(wall[name]):.3f})"
              f" | CPU {statistics.median(cpu[name]):.3f} ms ({min(cpu[name]):.3f}-{max(cpu[name]):.3f})")
    names = list(calls)
    for resize in names[:3]:
        ratios = [a / b for a, b in zip(wall[resize], wall[names[3]])]
        print(f"  {resize} / {names[3]}: {statistics.median(ratios):.2f}x wall ({min(ratios):.2f}-{max(ratios):.2f})"
              f" (target <= 0.5x)")


if __name__ == "__main__":
    main()
