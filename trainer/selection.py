"""Whether fine-tuning replaces the cross-validated head: a paired count on the validation photos, beyond noise.

The two models are scored on the same validation photos, so only the photos they disagree on matter: ``improved``
(the head was wrong, the fine-tuned model right) and ``worsened`` (the other way). If fine-tuning changed nothing
real, each such photo is a coin flip, so ``improved - worsened`` has a standard deviation of
``sqrt(improved + worsened)`` (the sign test behind McNemar's test). The fine-tuned model is kept only when its net
gain exceeds :data:`Z` of those standard deviations, and is at least :data:`MIN_NET_GAIN` photos: a win by one or
two photos out of a hundred is noise, and the head, chosen on every training photo by cross-validation, is the
safer model.

The same arithmetic says in advance when fine-tuning cannot pay: if the head gets only ``e`` validation photos
wrong, the best fine-tuning can do is ``improved = e, worsened = 0``; when even that would not pass the rule, there
is no point in spending the minutes (:func:`can_pay`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Dict

import numpy as np

#: Standard deviations of the no-difference noise that the net gain must exceed.
Z = 1.0
#: Fewest photos the fine-tuned model must win by, net.
MIN_NET_GAIN = 2


def wins_beyond_noise(improved: int, worsened: int, z: float = Z, min_net: int = 0) -> bool:
    """Whether a paired comparison's net gain (``improved - worsened`` photos) is at least ``min_net`` and more than
    ``z`` standard deviations of the no-difference noise, ``sqrt(improved + worsened)``."""
    net = improved - worsened
    return net >= min_net and net > z * math.sqrt(improved + worsened)


@dataclass
class Decision:
    """The comparison of the head and the fine-tuned model on the validation photos."""

    keep_fine_tuned: bool
    improved: int  #: photos the head got wrong and the fine-tuned model right
    worsened: int  #: photos the head got right and the fine-tuned model wrong
    photos: int  #: validation photos compared
    head_top1: float
    fine_tuned_top1: float
    rule: str  #: the rule, in words, with its numbers

    @property
    def net(self) -> int:
        return self.improved - self.worsened

    def sentence(self) -> str:
        """One line for the console and the report."""
        winner = "fine-tuned model" if self.keep_fine_tuned else "cross-validated head"
        return (f"kept the {winner}: on {self.photos} validation photos fine-tuning fixed {self.improved} and broke "
                f"{self.worsened} (net {self.net:+d}; {self.rule})")

    def to_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "net": self.net}


def compare(head_probs: np.ndarray, fine_tuned_probs: np.ndarray, labels: np.ndarray, z: float = Z,
            min_net: int = MIN_NET_GAIN) -> Decision:
    """Decide between the head and the fine-tuned model from their validation probabilities."""
    y = np.asarray(labels)
    head_right = np.asarray(head_probs).argmax(1) == y
    ft_right = np.asarray(fine_tuned_probs).argmax(1) == y
    improved = int(np.sum(~head_right & ft_right))
    worsened = int(np.sum(head_right & ~ft_right))
    rule = (f"kept only when the net gain is at least {min_net} photos and more than {z:g} x sqrt(fixed + broken)"
            f" = {z * math.sqrt(improved + worsened):.1f}")
    return Decision(keep_fine_tuned=wins_beyond_noise(improved, worsened, z, min_net), improved=improved, worsened=worsened,
                    photos=int(len(y)), head_top1=float(head_right.mean()) if len(y) else float("nan"),
                    fine_tuned_top1=float(ft_right.mean()) if len(y) else float("nan"), rule=rule)


def can_pay(head_probs: np.ndarray, labels: np.ndarray, z: float = Z, min_net: int = MIN_NET_GAIN) -> bool:
    """Whether fine-tuning could pass :func:`compare` at all: only if fixing every photo the head gets wrong on the
    validation split (and breaking none) would."""
    errors = int(np.sum(np.asarray(head_probs).argmax(1) != np.asarray(labels)))
    return wins_beyond_noise(errors, 0, z, min_net)
