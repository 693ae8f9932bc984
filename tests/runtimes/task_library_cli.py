"""Runs INSIDE .venv-reference (tflite-support 0.4.4): the TFLite Task Library's ImageClassifier on photos.

Called in a subprocess by ``tests/runtimes/agreement.py``; never imported by edge-kit. Reads a JSON spec (argument
1) and prints JSON on stdout::

    {NAME: {"model": PATH, "prepared": NPY, "photos": [PATH, ...], "boxes": [[x, y, w, h], ...]}, ...}
    -> {NAME: {"labels": [...], "scores": {MODE: [[score of class 0, 1, ...] per photo]}} or {"error": "..."}}

Modes, as an app would call the Task Library: ``same_pixels`` (edge-kit's model-sized pixels, ``NPY`` holds them,
N x H x W x 3 uint8), ``whole_photo`` (the photo file, decoded and resized by the Task Library) and ``centre_crop``
(the same with ``bounding_box`` set to the photo's centre crop, pixel box ``[x, y, w, h]``).
"""
import json
import sys

import numpy as np
from tflite_support.task import core, processor, vision


def _scores(result, count):
    out = [0.0] * count
    for category in result.classifications[0].categories:
        out[category.index] = float(category.score)
    return out


def run(spec):
    decoded = {}
    out = {}
    for name, item in spec.items():
        for path in item["photos"]:
            if path not in decoded:
                decoded[path] = vision.TensorImage.create_from_file(path)
        photos = [decoded[path] for path in item["photos"]]
        boxes = [processor.BoundingBox(origin_x=x, origin_y=y, width=w, height=h) for x, y, w, h in item["boxes"]]
        try:
            classifier = vision.ImageClassifier.create_from_options(vision.ImageClassifierOptions(
                base_options=core.BaseOptions(file_name=item["model"]),
                classification_options=processor.ClassificationOptions(max_results=-1)))
        except Exception as exc:  # the runtime's refusal is the result
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        prepared = np.load(item["prepared"])
        first = classifier.classify(vision.TensorImage.create_from_array(prepared[0]))
        categories = sorted(first.classifications[0].categories, key=lambda c: c.index)
        count = len(categories)
        scores = {"same_pixels": [_scores(classifier.classify(vision.TensorImage.create_from_array(px)), count)
                                  for px in prepared],
                  "whole_photo": [_scores(classifier.classify(image), count) for image in photos],
                  "centre_crop": [_scores(classifier.classify(image, box), count)
                                  for image, box in zip(photos, boxes)]}
        out[name] = {"labels": [c.category_name for c in categories], "scores": scores}
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        json.dump(run(json.load(f)), sys.stdout)
