"""trainer.selection: fine-tuning replaces the head only when it wins beyond noise on the validation photos."""
from __future__ import annotations

import numpy as np

from trainer.selection import can_pay, compare


def probs_for(predicted):
    """One-hot probabilities of the predicted classes (3 classes)."""
    return np.eye(3)[np.asarray(predicted)]


def test_a_clear_paired_win_keeps_the_fine_tuned_model():
    y = np.zeros(100, int)
    head = np.zeros(100, int)
    head[:20] = 1  # the head gets 20 photos wrong
    tuned = np.zeros(100, int)
    tuned[18:21] = 2  # fine-tuning fixes 18 of them, keeps 2 wrong and breaks one
    d = compare(probs_for(head), probs_for(tuned), y)
    assert (d.improved, d.worsened, d.net, d.photos) == (18, 1, 17, 100)
    assert d.keep_fine_tuned and "fixed 18 and broke 1" in d.sentence()
    assert abs(d.head_top1 - 0.80) < 1e-9 and abs(d.fine_tuned_top1 - 0.97) < 1e-9


def test_a_win_within_noise_keeps_the_head():
    y = np.zeros(120, int)
    head = np.zeros(120, int)
    head[:10] = 1
    tuned = np.zeros(120, int)
    tuned[7:10] = 1  # fixes 7 ...
    tuned[20:25] = 2  # ... breaks 5: net +2, noise sqrt(12) = 3.5
    d = compare(probs_for(head), probs_for(tuned), y)
    assert (d.improved, d.worsened) == (7, 5)
    assert not d.keep_fine_tuned and "cross-validated head" in d.sentence()


def test_a_one_photo_win_is_never_enough():
    y = np.zeros(60, int)
    head = np.zeros(60, int)
    head[0] = 1
    d = compare(probs_for(head), probs_for(y), y)  # fixes the only error, breaks none: net +1
    assert d.net == 1 and not d.keep_fine_tuned


def test_fine_tuning_cannot_pay_when_the_head_leaves_too_little_to_fix():
    y = np.zeros(100, int)
    almost = np.zeros(100, int)
    almost[:1] = 1  # one error: even fixing it all is a win of one photo
    assert not can_pay(probs_for(almost), y)
    some = np.zeros(100, int)
    some[:5] = 1  # five errors: fixing them all would be a clear win
    assert can_pay(probs_for(some), y)
