"""Defaults that more than one command shares, defined once (``edge-train`` / ``edge-convert`` / ``edge-kit`` and
their library configs read them from here).

Quantization-aware training runs only when it is needed, for both ``edge-convert`` and ``edge-kit``: the int8 model
is first quantized after training, and QAT (minutes) follows only when that model fails the accuracy gate on the
training and validation photos (common/gates.py; docs/benchmarks.md).
"""
from __future__ import annotations

#: MobileNetV2 width multiplier, input size (square) and weights of a new training.
ALPHA = 0.35
SIZE = 224
WEIGHTS = "imagenet"
#: What the --alpha help of edge-train and edge-kit says about choosing a width (measured: docs/benchmarks.md, Accuracy)
ALPHA_ADVICE = ("On hard, look-alike classes 1.0 was clearly more accurate than 0.35, for a larger and slower "
                "model (docs/benchmarks.md)")

#: Held-out test split: when there is no test/ folder and every class has at least
#: :data:`TEST_SPLIT_MIN_PHOTOS` photos, this fraction of each class is set aside (stratified, seeded) and read only
#: for the final numbers, so they are not flattered by the choices the validation photos made (best epoch,
#: fine-tuning or not, variant). 10%, as in MediaPipe Model Maker's 80/10/10, because every photo taken from
#: training costs accuracy on small data; with fewer photos per class a test split would be too small to mean
#: anything, so the numbers are validation numbers and every report says so.
TEST_SPLIT = 0.1
TEST_SPLIT_MIN_PHOTOS = 30

#: Quantization-aware fine-tuning before the int8 export: None = only when post-training int8 fails the gate; and
#: its epochs.
QAT = None
QAT_EPOCHS = 3
#: Training and validation photos (a stratified sample of at most this many) on which every quantized variant is
#: compared with float32: the accuracy gate's photos.
CHECK_PHOTOS = 2000
#: Training photos that calibrate the int8 model (stratified over the classes).
CALIBRATION_SIZE = 200
#: Top-1 points a quantized model may lose vs float32 (the accuracy gate, common/gates.py).
MAX_ACCURACY_DROP = 1.0
