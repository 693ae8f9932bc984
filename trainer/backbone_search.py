"""Choosing the backbone on the user's own photos: every available candidate scored by a cross-validated probe on
the training photos' features, its int8 size and invoke time measured, the most accurate within the budget kept.

Which backbone wins depends on the photos (docs/benchmarks.md): on look-alike garments a wide MobileNetV2 was best,
on other hard sets EfficientNet-Lite0, and the small MobileNetV2 0.35 where the classes are ImageNet-like. So the
candidates whose weights are here (:func:`available`) each pass the training photos through once; the probe of
:mod:`trainer.head_fit` (k-fold cross-validation, the validation and test photos never seen) scores them; each
candidate's int8 model is measured by a ``measure`` function the caller hands in (the converter's times an int8
conversion with the TFLite interpreter, one thread, on this machine; ``edge-train`` alone only estimates sizes).

The choice (:func:`choose`): among the candidates within ``max_latency_ms`` and ``max_size_mb``, the best
cross-validated top-1; a cheaper candidate whose out-of-fold answers are not worse beyond noise (the paired rule of
:mod:`trainer.selection`, on the training photos) is preferred, since its accuracy cannot be told apart from the
best one's and it is smaller and faster. The chosen candidate's features are the ones phase 1 trains on: the search
costs the other candidates' passes only.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from trainer import backbones, head_fit, selection
from trainer.backbones import BackboneSpec


@dataclass
class Candidate:
    """A backbone whose weights are available: ``weights`` as ``build_model`` takes them."""

    spec: BackboneSpec
    weights: Optional[str]


@dataclass
class Score:
    """One candidate's row of the search table."""

    backbone: str
    title: str
    cv_top1: Optional[float]
    folds: int
    int8_mb: float
    latency_ms: Optional[float]  #: None when not measured
    features_s: float
    within_budget: bool = True
    chosen: bool = False
    reason: str = ""
    pareto: bool = False
    model: Optional[str] = None  #: the int8 model that was timed (random weights), to time on the target device
    oof_right: Optional[np.ndarray] = field(default=None, repr=False)  # per training photo: out-of-fold top-1 right

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data.pop("oof_right")
        return data


# ---------------------------------------------------------------------------------------------- the candidates


def available(weights: Optional[str], size: int) -> List[Candidate]:
    """Every backbone whose ImageNet weights are here, no download needed: the weights files in the folder
    ``weights`` (each MobileNetV2 no-top ``.h5`` and EfficientNet-Lite0 ``.pth``, recognised by their contents),
    and the weights already on this machine (Keras' cache ``~/.keras/models``, an installed weights package).
    ``weights="imagenet"``: only the latter. None (random weights): no candidate."""
    if weights is None:
        return []
    found: Dict[str, Candidate] = {}
    folder = Path(weights).expanduser() if weights != "imagenet" else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.iterdir()):
            spec = backbones.identify_weights(path)
            if spec is not None and spec.name not in found:
                found[spec.name] = Candidate(spec, str(path))
    for spec, usable in backbones.offline_weights(size):
        found.setdefault(spec.name, Candidate(spec, usable))
    order = list(backbones.BACKBONES)
    return sorted(found.values(), key=lambda c: order.index(c.spec.name))


# ------------------------------------------------------------------------------------------------- the costs

#: ``measure(spec, size, n_classes, log)`` -> ``{"int8_mb", "latency_ms"}``: what a candidate costs on the device.
#: The converter measures it (``converter.backbone_costs.measure``: an int8 conversion, timed with the interpreter);
#: without it (``edge-train`` alone) :func:`estimate` gives the size from the parameter count and no latency.
Measure = Callable[[BackboneSpec, int, int, Callable[[str], None]], Dict[str, Optional[float]]]


def estimate(spec: BackboneSpec, size: int, n_classes: int, log: Callable[[str], None] = print
             ) -> Dict[str, Optional[float]]:
    """The int8 model's size from the parameter count (one byte each, plus 8% for biases, quantization parameters
    and the file's structure), and no latency (only a conversion can time it)."""
    from trainer.model import build_model

    parts = build_model(n_classes, size=size, weights=None, backbone=spec)
    return {"int8_mb": parts.full.count_params() * 1.08 / 1e6, "latency_ms": None}


# ------------------------------------------------------------------------------------------------- the choice


def _not_worse(cheaper: Score, best: Score) -> bool:
    """Whether ``cheaper``'s out-of-fold answers are not worse than ``best``'s beyond paired noise."""
    if cheaper.oof_right is None or best.oof_right is None:
        return False
    ok = ~np.isnan(cheaper.oof_right) & ~np.isnan(best.oof_right)
    a, b = cheaper.oof_right[ok].astype(bool), best.oof_right[ok].astype(bool)
    lost, won = int(np.sum(b & ~a)), int(np.sum(a & ~b))
    return not selection.wins_beyond_noise(lost, won)  # the best one does not win beyond noise


def _cost(score: Score) -> float:
    """What "cheaper" means: the measured invoke time, else the size."""
    return score.latency_ms if score.latency_ms is not None else score.int8_mb


def choose(scores: List[Score], max_latency_ms: Optional[float] = None, max_size_mb: Optional[float] = None) -> Score:
    """Mark the Pareto front and the chosen candidate in ``scores`` (see the module docstring); returns it. With
    nothing within the budget, the cheapest candidate is chosen and its ``reason`` says so."""
    for s in scores:
        s.within_budget = ((max_latency_ms is None or (s.latency_ms is not None and s.latency_ms <= max_latency_ms))
                           and (max_size_mb is None or s.int8_mb <= max_size_mb))
        s.pareto = not any((o.cv_top1 or 0) >= (s.cv_top1 or 0) and _cost(o) <= _cost(s)
                           and ((o.cv_top1 or 0) > (s.cv_top1 or 0) or _cost(o) < _cost(s)) for o in scores)
    fits = [s for s in scores if s.within_budget]
    if not fits:
        pick = min(scores, key=_cost)
        pick.chosen = True
        pick.reason = "no candidate is within the budget: the cheapest one"
        return pick
    best = max(fits, key=lambda s: ((s.cv_top1 or 0), -_cost(s)))
    cheaper = sorted((s for s in fits if s is not best and _cost(s) < _cost(best) and _not_worse(s, best)),
                     key=_cost)
    pick = cheaper[0] if cheaper else best
    pick.chosen = True
    if pick is best:
        pick.reason = "the best cross-validated top-1 within the budget"
    else:
        pick.reason = (f"as accurate as {best.title} within noise on the training photos "
                       f"({100 * (pick.cv_top1 or 0):.1f}% vs {100 * (best.cv_top1 or 0):.1f}%), and faster")
    return pick


@dataclass
class SearchResult:
    scores: List[Score]
    chosen: Candidate
    features: Dict[str, np.ndarray]  #: the chosen candidate's features ({"train": ...})
    seconds: float

    def table(self) -> List[Dict[str, Any]]:
        return [s.to_dict() for s in self.scores]


def search(candidates: Sequence[Candidate], features_of: Callable[[Candidate], Dict[str, np.ndarray]],
           y_train: np.ndarray, n_classes: int, size: int, seed: int, balanced: bool,
           max_latency_ms: Optional[float] = None, max_size_mb: Optional[float] = None,
           measure: Optional[Measure] = None, log: Callable[[str], None] = print) -> SearchResult:
    """Score every candidate and choose one. ``features_of(candidate)`` returns its ``{"train": features}`` (the
    trainer computes and caches them); the chosen candidate's are handed back for phase 1."""
    start = time.perf_counter()
    scores: List[Score] = []
    feats: Dict[str, Dict[str, np.ndarray]] = {}
    log(f"backbone search: {len(candidates)} candidates ({', '.join(c.spec.title for c in candidates)}), each scored "
        f"by a {head_fit.FOLDS}-fold cross-validated probe on the {len(y_train)} training photos")
    for cand in candidates:
        t = time.perf_counter()
        feats[cand.spec.name] = features_of(cand)
        seconds = time.perf_counter() - t
        fit = head_fit.fit_head(feats[cand.spec.name]["train"], y_train, n_classes, seed=seed, balanced=balanced)
        right = None
        if fit.oof_probs is not None:
            right = np.where(np.isnan(fit.oof_probs[:, 0]), np.nan, (fit.oof_probs.argmax(1) == y_train))
        cost = (measure or estimate)(cand.spec, size, n_classes, log)
        scores.append(Score(cand.spec.name, cand.spec.title, fit.cv_top1, fit.folds, float(cost["int8_mb"]),
                            cost["latency_ms"], seconds, model=cost.get("model"), oof_right=right))
        speed = "not timed" if cost["latency_ms"] is None else f"{cost['latency_ms']:.2f} ms"
        log(f"  {cand.spec.title}: cross-validated top-1 {100 * (fit.cv_top1 or 0):.1f}%, "
            f"int8 {cost['int8_mb']:.2f} MB, {speed}")
    pick = choose(scores, max_latency_ms, max_size_mb)
    chosen = next(c for c in candidates if c.spec.name == pick.backbone)
    log(f"backbone: {pick.title} ({pick.reason}; search {time.perf_counter() - start:.0f} s)")
    return SearchResult(scores, chosen, feats[pick.backbone], time.perf_counter() - start)
