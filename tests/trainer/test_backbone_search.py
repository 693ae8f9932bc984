"""The backbone search: what it chooses (budget, noise, Pareto front), that it chooses by the photos, and that a
budget which leaves only MobileNetV2 0.35 trains exactly what ``--alpha 0.35`` trains."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import pytest

from trainer import backbones, backbone_search
from trainer.backbone_search import Candidate, Score, choose


def _score(name: str, cv: float, latency: Optional[float], mb: float, right: Optional[np.ndarray] = None) -> Score:
    return Score(name, name, cv, 5, mb, latency, 1.0, oof_right=right)


def _right(n: int, wrong: Sequence = ()) -> np.ndarray:
    r = np.ones(n)
    r[list(wrong)] = 0
    return r


def test_the_most_accurate_candidate_within_the_budget_is_chosen() -> None:
    scores = [_score("small", 0.80, 2.0, 0.6, _right(100, range(20))),
              _score("wide", 0.90, 9.0, 2.7, _right(100, range(10))),
              _score("lite", 0.88, 4.0, 3.9, _right(100, range(12)))]
    assert choose(scores).backbone == "wide"
    for s in scores:
        s.chosen = False
    pick = choose(scores, max_latency_ms=5.0)
    assert pick.backbone == "lite" and pick.reason == "the best cross-validated top-1 within the budget"
    assert [s.within_budget for s in scores] == [True, False, True]
    for s in scores:
        s.chosen = False
    assert choose(scores, max_size_mb=1.0).backbone == "small"


def test_with_nothing_within_the_budget_the_cheapest_is_chosen_and_the_reason_says_so() -> None:
    scores = [_score("small", 0.80, 2.0, 0.6), _score("wide", 0.90, 9.0, 2.7)]
    pick = choose(scores, max_latency_ms=1.0)
    assert pick.backbone == "small" and "no candidate is within the budget" in pick.reason
    assert sum(s.chosen for s in scores) == 1


def test_a_cheaper_candidate_as_accurate_within_noise_is_preferred_and_a_worse_one_is_not() -> None:
    n = 200
    best = _score("wide", 0.90, 9.0, 2.7, _right(n, range(20)))
    # 2 photos more wrong than the best: 3 lost, 1 won -> net 2 <= sqrt(4): as accurate within noise
    close = _score("small", 0.89, 2.0, 0.6, _right(n, [*range(1, 20), 100, 101, 102]))
    pick = choose([close, best])
    assert pick.backbone == "small" and "within noise" in pick.reason and "faster" in pick.reason
    # 15 photos more wrong, none won: clearly worse
    for s in (close, best):
        s.chosen = False
    worse = _score("small", 0.825, 2.0, 0.6, _right(n, [*range(20), *range(100, 115)]))
    assert choose([worse, best]).backbone == "wide"


def test_the_pareto_front_is_marked() -> None:
    scores = [_score("small", 0.80, 2.0, 0.6), _score("wide", 0.90, 9.0, 2.7), _score("slow_worse", 0.85, 12.0, 4.0)]
    choose(scores)
    assert [s.pareto for s in scores] == [True, True, False]


def _blobs(n_per_class: int, n_classes: int, dims: int, separation: float, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (n_classes, dims)) * separation
    y = np.repeat(np.arange(n_classes), n_per_class)
    return centres[y] + rng.normal(0, 1, (len(y), dims)), y


def test_the_search_chooses_the_backbone_whose_features_separate_the_photos() -> None:
    """Two candidates on the same 90 photos: one's features hardly tell the classes apart, the other's do. The
    search scores both by cross-validation on those photos only and hands back the chosen one's features."""
    x_good, y = _blobs(30, 3, 16, 3.0, seed=1)
    x_poor, _ = _blobs(30, 3, 16, 0.05, seed=2)
    small, wide = backbones.BACKBONES["mobilenet_v2_0.35"], backbones.BACKBONES["mobilenet_v2_1.0"]
    features = {small.name: x_poor, wide.name: x_good}
    costs = {small.name: {"int8_mb": 0.6, "latency_ms": 2.0}, wide.name: {"int8_mb": 2.7, "latency_ms": 9.0}}
    lines = []
    result = backbone_search.search([Candidate(small, "a.h5"), Candidate(wide, "b.h5")],
                                    lambda c: {"train": features[c.spec.name]}, y, 3, 96, 0, False,
                                    measure=lambda spec, size, n, log: costs[spec.name], log=lines.append)
    assert result.chosen.spec is wide and result.features["train"] is x_good
    cv = {s.backbone: s.cv_top1 for s in result.scores}
    assert cv[wide.name] > 0.9 and cv[small.name] < 0.6, cv
    table = result.table()
    assert [row["backbone"] for row in table] == [small.name, wide.name]
    assert [row["chosen"] for row in table] == [False, True] and "oof_right" not in table[0]
    json.dumps(table)  # goes into metrics.json as it is
    assert any("MobileNetV2 1.0" in line and "backbone:" in line for line in lines)
    # the same photos with a budget that leaves only the small one
    result = backbone_search.search([Candidate(small, "a.h5"), Candidate(wide, "b.h5")],
                                    lambda c: {"train": features[c.spec.name]}, y, 3, 96, 0, False,
                                    max_latency_ms=2.5, measure=lambda spec, size, n, log: costs[spec.name],
                                    log=lines.append)
    assert result.chosen.spec is small and result.features["train"] is x_poor


def test_candidates_are_the_weights_files_in_the_folder(assets_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backbones, "offline_weights", lambda size: [])
    found = backbone_search.available(str(assets_dir / "weights"), 224)
    by_name = {c.spec.name: c.weights for c in found}
    assert set(by_name) == {"mobilenet_v2_0.35", "mobilenet_v2_1.0"}, by_name
    # the no-top files (what a backbone loads), not the 1.0 file with its ImageNet classifier
    assert all(Path(w).name.endswith("_no_top.h5") for w in by_name.values()), by_name
    assert backbone_search.available(None, 224) == []


@pytest.mark.slow
def test_a_budget_that_leaves_only_mobilenet_v2_035_trains_what_alpha_035_trains(
        tmp_path: Path, flowers_dir: Path, alpha035_weights: Path, assets_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.trainer.helpers import link_photos
    from trainer import TrainConfig, train

    monkeypatch.setattr(backbones, "offline_weights", lambda size: [])  # only the folder's files are candidates
    data = link_photos(flowers_dir, tmp_path / "photos", ("daisy", "rose", "tulip"), 14)
    folder = tmp_path / "weights"
    folder.mkdir()
    for name in (alpha035_weights.name, "mobilenet_v2_1.0_224_reconstructed_from_int8_tflite_no_top.h5"):
        (folder / name).symlink_to(assets_dir / "weights" / name)
    costs: Dict[str, Dict[str, float]] = {"mobilenet_v2_0.35": {"int8_mb": 0.6, "latency_ms": 2.0},
                                          "mobilenet_v2_1.0": {"int8_mb": 2.7, "latency_ms": 9.0}}
    common = dict(data_dir=str(data), size=96, seed=0, fine_tune=True, fine_tune_epochs=1, verbose=False)
    searched = train(TrainConfig(out_dir=str(tmp_path / "searched"), weights=str(folder), max_latency_ms=2.5,
                                 **common), measure=lambda spec, size, n, log: costs[spec.name])
    pinned = train(TrainConfig(out_dir=str(tmp_path / "pinned"), alpha=0.35, weights=str(alpha035_weights),
                               **common))
    m_searched, m_pinned = (json.loads((r.path / "metrics.json").read_text()) for r in (searched, pinned))
    search = m_searched["backbone"]["search"]
    assert m_searched["backbone"]["name"] == "mobilenet_v2_0.35" and m_pinned["backbone"]["search"] is None
    assert {row["backbone"]: row["within_budget"] for row in search["candidates"]} == {
        "mobilenet_v2_0.35": True, "mobilenet_v2_1.0": False}
    assert search["max_latency_ms"] == 2.5
    for key in ("val", "head", "selection", "fine_tuned"):
        assert m_searched[key] == m_pinned[key], key
    photos = np.random.default_rng(0).integers(0, 256, (4, 96, 96, 3)).astype(np.float32)
    np.testing.assert_allclose(searched.model.predict(photos, verbose=0), pinned.model.predict(photos, verbose=0),
                               atol=1e-5)
