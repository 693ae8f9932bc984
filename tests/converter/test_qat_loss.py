"""The QAT distillation loss: it must see every class's score, not only the top one."""
from __future__ import annotations

import numpy as np

from converter.qat import logit_matching_loss


def _logits_to_probs(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def test_zero_for_the_same_scores_and_equal_to_the_logits_squared_error():
    float_logits = np.array([[2.0, 1.5, -1.0, 0.0]])
    quant_logits = np.array([[2.0, 1.3, -0.5, 0.1]])
    target, probs = _logits_to_probs(float_logits), _logits_to_probs(quant_logits)
    assert float(logit_matching_loss(target, target)[0]) == 0.0
    # shifting every logit by a constant changes nothing; the loss is the centred logits' mean squared error
    d = (quant_logits - float_logits) - (quant_logits - float_logits).mean()
    np.testing.assert_allclose(float(logit_matching_loss(target, probs)[0]), float((d ** 2).mean()), rtol=1e-4)


def test_a_change_in_the_small_scores_counts_where_cross_entropy_hardly_moves():
    target = np.array([[0.98, 0.01, 0.01]], np.float32)
    changed = np.array([[0.98, 0.019, 0.001]], np.float32)  # same top class, very different runner-up scores
    cross_entropy = float(-(target * np.log(changed)).sum() + (target * np.log(target)).sum())
    assert cross_entropy < 0.03
    assert float(logit_matching_loss(target, changed)[0]) > 1.0
