"""The dataset health check: the same photo in two splits, photos whose label looks wrong, classes that look alike.

It reads what the trainer has already computed, the frozen backbone's pooled features of the training and validation
photos and the cross-validated head of phase 1 (:mod:`trainer.head_fit`); only the test photos go through the
backbone once more, at the end (:func:`after_training`):

* **Near-duplicates**: every photo's nearest neighbours by cosine similarity of the L2-normalised features (blocked
  matrix products, top-k per row, never an N x N matrix), then a pixel check on the decoded photos confirms that a
  candidate pair is the same picture, re-encoded, resized or cropped (:func:`pixel_similarity`), not two photos of
  one subject. Pairs across splits come first: a photo in both train and test flatters the test number.
* **Suspect labels**: training photos to which a head that never saw them (the out-of-fold probabilities of phase
  1's cross-validation, calibrated by one temperature) gives a low probability for their own class while it is
  confident of another, most suspect first.
* **Confused classes**: the class pairs those same out-of-fold predictions mix up most.

Nothing is removed or relabelled: the findings go to ``dataset_health.json`` (:func:`write`), the console (one line,
:meth:`HealthReport.summary`) and the pipeline report; the user decides (move the file, run again). The thresholds
were measured with planted duplicates and label flips (``benchmarks/bench_health.py``, docs/benchmarks.md).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from common import run_folder as rf
from common.run_folder import SPLIT_NAMES, Splits

from trainer import features as backbone_features
from trainer import head_fit
from trainer.images import ImageCache
from trainer.progress import say

#: Reads the decoded pixels (H x W x 3 uint8, the preprocessing contract's crop) of a photo by its relative path.
PixelReader = Callable[[str], np.ndarray]

#: Version of the ``dataset_health.json`` layout.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class HealthSettings:
    """The thresholds of the check (their values were chosen with ``benchmarks/bench_health.py``)."""

    #: Cosine similarity of the L2-normalised pooled features from which a pair is a duplicate candidate.
    duplicate_similarity: float = 0.80
    #: Pixel similarity (:func:`pixel_similarity`) from which a candidate is confirmed as the same picture.
    duplicate_pixels: float = 0.62
    #: Nearest neighbours examined per photo (a photo with more copies than this lists only the closest).
    neighbours: int = 5
    #: A training photo is a suspect when its own class gets at most this (calibrated) probability ...
    suspect_label_probability: float = 0.02
    #: ... while another class gets at least this one.
    suspect_other_probability: float = 0.30
    #: Class pairs listed in ``confused_classes`` (most confused first; pairs never confused are not listed).
    confused_pairs: int = 10


@dataclass
class Duplicate:
    """Two photos that are the same picture (``a`` in the earlier split of train, val, test)."""

    a: str
    b: str
    similarity: float  #: cosine similarity of their pooled features
    pixel_similarity: float  #: :func:`pixel_similarity` of their decoded pixels (nan: not checked)
    splits: Tuple[str, str]
    labels: Tuple[str, str]

    @property
    def cross_split(self) -> bool:
        return self.splits[0] != self.splits[1]

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["splits"], d["labels"] = list(self.splits), list(self.labels)
        d["pixel_similarity"] = None if np.isnan(self.pixel_similarity) else round(float(self.pixel_similarity), 4)
        d["similarity"] = round(float(self.similarity), 4)
        d["cross_split"] = self.cross_split
        return d


@dataclass
class SuspectLabel:
    """A training photo whose label looks wrong: a head that never saw it prefers ``suggested`` to ``label``."""

    file: str
    label: str
    suggested: str
    score: float  #: how suspect, 0-1: one minus the (calibrated) probability of its label
    label_probability: float
    suggested_probability: float

    def to_dict(self) -> Dict[str, Any]:
        return {k: (round(float(v), 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass
class ConfusedPair:
    """Two classes that the honest predictions mix up: ``a_as_b`` photos of ``a`` predicted ``b``, and back."""

    classes: Tuple[str, str]
    count: int  #: a_as_b + b_as_a
    rate: float  #: count over the scored training photos of both classes
    a_as_b: int
    b_as_a: int

    def to_dict(self) -> Dict[str, Any]:
        return {"classes": list(self.classes), "count": self.count, "rate": round(self.rate, 4),
                "a_as_b": self.a_as_b, "b_as_a": self.b_as_a}


@dataclass
class HealthReport:
    """Everything the check found, and on what (``dataset_health.json`` is :meth:`to_dict`)."""

    labels: List[str]
    duplicates: List[Duplicate]
    suspect_labels: List[SuspectLabel]
    confused_classes: List[ConfusedPair]
    photos: Dict[str, int]  #: photos checked per split
    scored: int  #: training photos with an out-of-fold prediction (those the suspects and confusions are from)
    temperature: Optional[float] = None  #: of :func:`calibrate` (None: no out-of-fold predictions)
    settings: HealthSettings = field(default_factory=HealthSettings)
    seconds: float = 0.0

    def cross_split_counts(self) -> Dict[Tuple[str, str], int]:
        """``{(earlier split, later split): photos of the later split that are also in the earlier one}``."""
        seen: Dict[Tuple[str, str], set] = {}
        for d in self.duplicates:
            if d.cross_split:
                seen.setdefault(d.splits, set()).add(d.b)
        return {key: len(files) for key, files in seen.items()}

    def summary(self, where: Optional[str] = None) -> str:
        """One line for the console, e.g. ``3 photos appear in both train and test; 5 photos may be mislabelled:
        see the report`` (``where``: what to see; None: no pointer)."""
        order = sorted(self.cross_split_counts().items(),  # test first (the most flattered number), then val
                       key=lambda kv: (-SPLIT_NAMES.index(kv[0][1]), SPLIT_NAMES.index(kv[0][0])))
        parts = [f"{n} photo{'s' if n != 1 else ''} appear{'s' if n == 1 else ''} in both {a} and {b}"
                 for (a, b), n in order]
        within = sum(not d.cross_split for d in self.duplicates)
        if within:
            parts.append(f"{within} near-duplicate pair{'s' if within != 1 else ''} within a split")
        if self.suspect_labels:
            n = len(self.suspect_labels)
            parts.append(f"{n} photo{'s' if n != 1 else ''} may be mislabelled")
        if not parts:
            return "dataset health: no duplicate photos or suspect labels found" + (f" ({where})" if where else "")
        return "dataset health: " + "; ".join(parts) + (f": see {where}" if where else "")

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form (``dataset_health.json``): the findings, most important first, and how they were found."""
        return {
            "version": FORMAT_VERSION,
            "summary": self.summary(),
            "labels": list(self.labels),
            "photos": dict(self.photos),
            "scored": self.scored,
            "temperature": None if self.temperature is None else round(self.temperature, 4),
            "duplicates": [d.to_dict() for d in self.duplicates],
            "suspect_labels": [s.to_dict() for s in self.suspect_labels],
            "confused_classes": [c.to_dict() for c in self.confused_classes],
            "settings": asdict(self.settings),
            "seconds": round(self.seconds, 3),
        }


# ---------------------------------------------------------------------------------------------- near-duplicates

#: Elements of the similarity matrix computed at once (float32: 32 MiB), whatever the number of photos.
BLOCK_ELEMENTS = 1 << 23


def normalise_rows(features: np.ndarray) -> np.ndarray:
    """float32 rows of unit L2 norm (an all-zero row stays zero)."""
    x = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def nearest_pairs(features: np.ndarray, neighbours: int, min_similarity: float,
                  block_elements: int = BLOCK_ELEMENTS) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, whose cosine similarity is at least ``min_similarity``, among the ``neighbours``
    most similar later rows of each row ``i``. Returns (i, j, similarity) arrays, most similar first.

    Blocked: a block of rows is multiplied with the rows from its first one on (the similarity is symmetric), so at
    most ``block_elements`` similarities are in memory at once and the cost is about half of N x N products.
    """
    x = normalise_rows(features)
    n = len(x)
    if n < 2 or neighbours < 1:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    block = max(1, block_elements // n)
    rows_out: List[np.ndarray] = []
    cols_out: List[np.ndarray] = []
    sims_out: List[np.ndarray] = []
    for start in range(0, n - 1, block):
        stop = min(n, start + block)
        sims = x[start:stop] @ x[start:].T  # rows start..stop against columns start..n
        local = np.arange(stop - start)
        sims[np.arange(n - start)[None, :] <= local[:, None]] = -np.inf  # only j > i
        k = min(neighbours, n - start - 1)
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(sims, top, axis=1)
        keep = vals >= min_similarity
        r, c = np.nonzero(keep)
        rows_out.append(start + r)
        cols_out.append(start + top[r, c])
        sims_out.append(vals[r, c])
    i, j, s = np.concatenate(rows_out), np.concatenate(cols_out), np.concatenate(sims_out)
    order = np.lexsort((j, i, -s))
    return i[order].astype(np.int64), j[order].astype(np.int64), s[order].astype(np.float32)


#: Side of the grey thumbnails compared by :func:`pixel_similarity`, and of the blurred copy whose difference from it
#: is compared (the detail: edges and texture, which two photos of one subject do not share).
_PIXEL_SIDE = 48
_BLUR_SIDE = 12
#: Relative sizes of one view inside the other that are tried (a crop keeping 65 % of each side still matches), and
#: the border trimmed from the smaller view (the two views of a crop may overlap only partly at their edges).
_SCALES = tuple(float(s) for s in np.geomspace(1.0, 0.65, 16))
_TRIM = 0.08


def _resize(grey: np.ndarray, side: int, box: bool = True) -> np.ndarray:
    from PIL import Image

    method = Image.Resampling.BOX if box else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(np.ascontiguousarray(grey, np.float32), mode="F").resize((side, side), method),
                      np.float32)


def photo_detail(pixels: np.ndarray) -> np.ndarray:
    """The detail layer of a decoded photo that :func:`pixel_similarity` compares: a small grey thumbnail minus a
    blurred copy of itself (the blur removes what photos of one subject share: colours, layout, lighting)."""
    x = np.asarray(pixels, dtype=np.float32)
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32) if x.ndim == 3 else x
    small = _resize(grey, _PIXEL_SIDE)
    return small - _resize(_resize(small, _BLUR_SIDE), _PIXEL_SIDE, box=False)


def _integral(x: np.ndarray) -> np.ndarray:
    """The integral image of ``x``, padded with a row and column of zeros."""
    c = np.zeros((x.shape[0] + 1, x.shape[1] + 1), np.float64)
    c[1:, 1:] = np.cumsum(np.cumsum(x, axis=0), axis=1)
    return c


def _window_sums(c: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums of every h x w window (valid positions) of the image whose integral image is ``c``."""
    return c[h:, w:] - c[:-h, w:] - c[h:, :-w] + c[:-h, :-w]


def _best_match(x: np.ndarray, y: np.ndarray) -> float:
    """The best normalised cross-correlation of the central part of ``y``, shrunk to each of :data:`_SCALES`, with
    any window of ``x`` (correlations by FFT, all scales in one batch; window statistics by integral images)."""
    side = x.shape[0]
    sums, squares = _integral(x), _integral(np.asarray(x, np.float64) ** 2)
    templates = np.zeros((len(_SCALES), side, side), np.float64)
    shapes: List[Tuple[int, int, float]] = []
    for k, scale in enumerate(_SCALES):
        n = max(4, int(round(side * scale)))
        m = int(round(n * _TRIM))
        t = _resize(y, n)[m:n - m, m:n - m].astype(np.float64)
        t -= t.mean()
        templates[k, : t.shape[0], : t.shape[1]] = t
        shapes.append((t.shape[0], t.shape[1], float(np.sqrt((t * t).sum()))))
    corr = np.fft.irfft2(np.fft.rfft2(x)[None] * np.conj(np.fft.rfft2(templates)), s=x.shape)
    best = -1.0
    for k, (h, w, norm_t) in enumerate(shapes):
        if norm_t < 1e-6:
            continue
        var = _window_sums(squares, h, w) - _window_sums(sums, h, w) ** 2 / (h * w)
        ncc = corr[k, : side - h + 1, : side - w + 1] / (np.sqrt(np.maximum(var, 1e-9)) * norm_t)
        best = max(best, float(ncc.max()))
    return min(best, 1.0)


def pixel_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """How surely two decoded photos are the same picture, -1 to 1: the best correlation of the detail layer
    (:func:`photo_detail`) of one with the other's, either shrunk and placed anywhere inside the other (a crop keeping
    65-100 % of each side), both ways round. Arrays that :func:`photo_detail` returned are used as they are.

    Re-encoding, resizing and changes of brightness or contrast keep the detail; two photos of one subject, even
    from the same place, do not share it.
    """
    da = a if a.ndim == 2 and a.shape == (_PIXEL_SIDE, _PIXEL_SIDE) else photo_detail(a)
    db = b if b.ndim == 2 and b.shape == (_PIXEL_SIDE, _PIXEL_SIDE) else photo_detail(b)
    return max(_best_match(da, db), _best_match(db, da))


def find_duplicates(splits: Splits, features: Mapping[str, np.ndarray], pixels: Optional[PixelReader],
                    settings: HealthSettings = HealthSettings()) -> List[Duplicate]:
    """Near-duplicate pairs among the photos of every split in ``features`` (rows in the order of
    ``splits.items(split)``): feature neighbours confirmed by :func:`pixel_similarity` when ``pixels`` is given
    (without it, the feature similarity alone decides). Cross-split pairs first, then by similarity."""
    names = [n for n in SPLIT_NAMES if n in features and len(splits.items(n))]
    items = [(name, path, label) for name in names for path, label in splits.items(name)]
    if len(items) < 2:
        return []
    x = np.concatenate([np.asarray(features[n], np.float32) for n in names])
    if len(x) != len(items):
        raise ValueError(f"features hold {len(x)} rows for {len(items)} photos")
    rows_i, rows_j, sims = nearest_pairs(x, settings.neighbours, settings.duplicate_similarity)
    found: List[Duplicate] = []
    details: Dict[str, np.ndarray] = {}  # a photo in several pairs is read once

    def detail(path: str) -> np.ndarray:
        if path not in details:
            details[path] = photo_detail(pixels(path))  # type: ignore[misc]
        return details[path]

    for i, j, sim in zip(rows_i.tolist(), rows_j.tolist(), sims.tolist()):
        (split_a, a, la), (split_b, b, lb) = items[i], items[j]
        pix = float("nan")
        if pixels is not None:
            pix = pixel_similarity(detail(a), detail(b))
            if pix < settings.duplicate_pixels:
                continue
        found.append(Duplicate(a=a, b=b, similarity=float(sim), pixel_similarity=pix, splits=(split_a, split_b),
                               labels=(splits.labels[la], splits.labels[lb])))
    found.sort(key=lambda d: (not d.cross_split, -d.similarity, d.a, d.b))
    return found


# ------------------------------------------------------------------------------------- labels and classes

#: Temperatures tried by :func:`calibrate` (log-spaced; 1 leaves the probabilities as they are).
_TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))


def out_of_fold(splits: Splits, features: Mapping[str, np.ndarray], head: Optional[head_fit.HeadFit],
                seed: int = 0, balanced: bool = True) -> Optional[np.ndarray]:
    """The training photos' out-of-fold class probabilities (N x classes; NaN rows for photos outside the
    cross-validation): ``head``'s, phase 1's fit, or those of a head fitted here with the same k-fold machinery
    (:func:`trainer.head_fit.fit_head`) when ``head`` is None. None when no cross-validation was possible."""
    y = np.array([label for _, label in splits.train], dtype=np.int64)
    if head is None:
        head = head_fit.fit_head(features["train"], y, len(splits.labels), seed=seed, balanced=balanced)
    if head.oof_probs is None or len(head.oof_probs) != len(y):
        return None
    return np.asarray(head.oof_probs, np.float64)


def calibrate(probs: np.ndarray, labels: np.ndarray) -> Tuple[np.ndarray, float]:
    """Temperature scaling: ``softmax(log(probs) / T)`` with the ``T`` that gives the labels the highest likelihood
    (rows with NaN are left out of the fit and stay NaN). Returns (probabilities, T).

    The cross-validation chooses the head's regularisation for accuracy, so its probabilities may be far too soft
    (strong regularisation) or too sharp; one temperature makes "own class at most 2 %" mean the same whatever
    regularisation was chosen. The ranking of the photos barely changes.
    """
    p = np.asarray(probs, np.float64)
    ok = np.isfinite(p).all(axis=1)
    logs = np.log(np.clip(p, 1e-12, 1.0))
    y = np.asarray(labels, np.int64)

    def softmax(t: float) -> np.ndarray:
        z = logs / t
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    if not ok.any():
        return p, 1.0
    rows = np.flatnonzero(ok)
    nll = [-np.log(np.clip(softmax(t)[rows, y[rows]], 1e-12, 1.0)).mean() for t in _TEMPERATURES]
    t = float(_TEMPERATURES[int(np.argmin(nll))])
    out = softmax(t)
    out[~ok] = np.nan
    return out, t


def find_suspect_labels(splits: Splits, probs: np.ndarray,
                        settings: HealthSettings = HealthSettings()) -> List[SuspectLabel]:
    """Training photos whose own class gets at most ``suspect_label_probability`` (calibrated out-of-fold
    probabilities, :func:`calibrate`) while another class gets at least ``suspect_other_probability``; the least
    probable own class first."""
    found: List[SuspectLabel] = []
    p = np.asarray(probs, np.float64)
    for row, (path, label) in enumerate(splits.train):
        if not np.isfinite(p[row]).all():
            continue
        own = float(p[row, label])
        others = p[row].copy()
        others[label] = -1.0
        best = int(others.argmax())
        other = float(others[best])
        if own <= settings.suspect_label_probability and other >= settings.suspect_other_probability:
            found.append(SuspectLabel(file=path, label=splits.labels[label], suggested=splits.labels[best],
                                      score=1.0 - own, label_probability=own, suggested_probability=other))
    found.sort(key=lambda s: (-s.score, -s.suggested_probability, s.file))
    return found


def find_confused_classes(splits: Splits, probs: np.ndarray,
                          settings: HealthSettings = HealthSettings()) -> List[ConfusedPair]:
    """The class pairs the out-of-fold predictions of the training photos mix up most (both directions counted),
    most first (ties: the higher rate); pairs never confused are left out."""
    k = len(splits.labels)
    confusion = np.zeros((k, k), np.int64)
    p = np.asarray(probs, np.float64)
    labels = np.array([label for _, label in splits.train], dtype=np.int64)
    ok = np.isfinite(p).all(axis=1)
    np.add.at(confusion, (labels[ok], p[ok].argmax(axis=1)), 1)
    support = confusion.sum(axis=1)
    pairs: List[ConfusedPair] = []
    for a in range(k):
        for b in range(a + 1, k):
            count = int(confusion[a, b] + confusion[b, a])
            if count:
                pairs.append(ConfusedPair(classes=(splits.labels[a], splits.labels[b]), count=count,
                                          rate=count / max(1, int(support[a] + support[b])),
                                          a_as_b=int(confusion[a, b]), b_as_a=int(confusion[b, a])))
    pairs.sort(key=lambda c: (-c.count, -c.rate, c.classes))
    return pairs[: settings.confused_pairs]


# ------------------------------------------------------------------------------------------------ the check

def check(splits: Splits, features: Mapping[str, np.ndarray], head: Optional[head_fit.HeadFit] = None,
          pixels: Optional[PixelReader] = None, settings: HealthSettings = HealthSettings(), *, seed: int = 0,
          balanced: bool = True) -> HealthReport:
    """The dataset health check of the photos of ``splits``.

    ``features``: ``{split: pooled features}``, rows in the order of ``splits.items(split)`` (a split left out is
    not checked for duplicates). ``head``: phase 1's fit, whose out-of-fold probabilities score the training photos;
    None: one is fitted here on the training features (the same k-fold machinery, ``seed`` and ``balanced`` as the
    trainer's). ``pixels``: reads a photo's decoded pixels to confirm duplicates (:func:`pixels_from`); None: the
    feature similarity alone decides.
    """
    start = time.perf_counter()
    duplicates = find_duplicates(splits, features, pixels, settings)
    oof = out_of_fold(splits, features, head, seed=seed, balanced=balanced) if len(splits.train) else None
    suspects: List[SuspectLabel] = []
    confused: List[ConfusedPair] = []
    temperature = None
    if oof is not None:
        calibrated, temperature = calibrate(oof, np.array([label for _, label in splits.train], dtype=np.int64))
        suspects = find_suspect_labels(splits, calibrated, settings)
        confused = find_confused_classes(splits, oof, settings)
    return HealthReport(
        labels=list(splits.labels), duplicates=duplicates, suspect_labels=suspects, confused_classes=confused,
        photos={name: len(features[name]) for name in SPLIT_NAMES if name in features},
        scored=0 if oof is None else int(np.isfinite(oof).all(axis=1).sum()), temperature=temperature,
        settings=settings, seconds=time.perf_counter() - start)


def pixels_from(*caches: ImageCache) -> PixelReader:
    """A :data:`PixelReader` over decoded-photo caches (the first that holds a photo answers)."""
    def read(relative_path: str) -> np.ndarray:
        for cache in caches:
            if cache.has(relative_path):
                return cache.photo(relative_path)
        raise KeyError(f"{relative_path}: not in the decoded photos")

    return read


def write(folder: Path, report: HealthReport) -> Path:
    """Write ``<folder>/dataset_health.json`` atomically."""
    return rf.write_json(Path(folder), rf.DATASET_HEALTH, report.to_dict())


def after_training(folder: Path, splits: Splits, features: Mapping[str, np.ndarray],
                   head: Optional[head_fit.HeadFit], backbone: Any, frozen_weights: Optional[List[np.ndarray]],
                   caches: Sequence[ImageCache], batch_size: int, verbose: bool,
                   timings: Dict[str, float]) -> HealthReport:
    """The check at the end of a training, once every decision is made: the cached train and val ``features``,
    phase 1's ``head``, and the test photos' features computed now from their decoded cache (one of ``caches``).
    Writes ``<folder>/dataset_health.json``, says the one-line summary and adds ``health_s`` to ``timings``.

    ``frozen_weights``: ``backbone.get_weights()`` when ``features`` were computed. Fine-tuning the top of the
    backbone changes every feature so much that a photo would no longer look like its own copy, so the test photos go
    through the backbone with these weights; the fine-tuned ones are put back afterwards.
    """
    start = time.perf_counter()
    feats = {name: features[name] for name in ("train", "val") if name in features}
    test = [path for path, _ in splits.test]
    if test:
        cache = next(c for c in caches if all(c.has(path) for path in test))
        tuned = backbone.get_weights() if frozen_weights is not None else None
        try:
            if frozen_weights is not None:
                backbone.set_weights(frozen_weights)
            feats["test"], _ = backbone_features.extract(backbone, cache, cache.rows(test), batch_size,
                                                         "backbone features (test)", False)
        finally:
            if tuned is not None:
                backbone.set_weights(tuned)
    report = check(splits, feats, head, pixels_from(*caches))
    write(folder, report)
    timings["health_s"] = time.perf_counter() - start
    say(report.summary(rf.DATASET_HEALTH), verbose)
    return report
