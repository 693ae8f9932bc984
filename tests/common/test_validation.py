"""common.validation: every field of a configuration checked against its annotation and a range table, so that a
field added later is type-checked without code of its own, and flags, --set and TOML meet one rule."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pytest

from common.validation import SEED, Rule, check_fields


class Refused(ValueError):
    pass


@dataclass
class Config:
    """Stands for a configuration that grows a field later (e.g. ``backbone``, ``max_latency_ms``)."""

    epochs: int = 3
    rate: float = 0.1
    augment: bool = True
    backbone: str = "mobilenet_v2"
    max_latency_ms: Optional[float] = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(self, {"epochs": Rule(1), "rate": Rule(0, low_open=True), "seed": SEED}, Refused)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": "two"}, "epochs='two' must be a whole number"),
    ({"epochs": 2.7}, "epochs=2.7 must be a whole number"),
    ({"epochs": True}, "epochs=True must be a whole number, not true/false"),
    ({"epochs": 0}, "epochs=0 must be at least 1"),
    ({"rate": float("nan")}, "rate=nan must be a finite number"),
    ({"rate": float("inf")}, "rate=inf must be a finite number"),
    ({"rate": 0.0}, "rate=0.0 must be positive"),
    ({"rate": "fast"}, "rate='fast' must be a number"),
    ({"augment": 1}, "augment=1 must be true or false"),
    ({"backbone": 3}, "backbone=3 must be text"),
    ({"max_latency_ms": float("nan")}, "max_latency_ms=nan must be a finite number"),
    ({"max_latency_ms": "10"}, "max_latency_ms='10' must be a number"),
    ({"seed": -1}, "seed=-1 must be from 0 to 4294967295"),
    ({"seed": 2 ** 32}, "seed=4294967296 must be from 0 to 4294967295"),
])
def test_every_field_is_checked_against_its_annotation(kwargs, message):
    with pytest.raises(Refused) as info:
        Config(**kwargs)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_values_that_lose_nothing_are_converted():
    config = Config(epochs=3.0, rate=1, max_latency_ms=5, seed=2 ** 32 - 1)
    assert (config.epochs, type(config.epochs), config.rate, type(config.rate)) == (3, int, 1.0, float)
    assert config.max_latency_ms == 5.0 and Config(max_latency_ms=None).max_latency_ms is None


def test_choices_are_named_in_the_message():
    assert Rule(choices=("loss", "top1")).problem("accuracy") == "is unknown; use one of: loss, top1"
    assert Rule(0, 1, high_open=True).problem(1.0) == "must be a fraction in [0, 1)"
    assert Rule(1, 16).problem(17) == "is outside 1-16"


def test_a_path_given_for_a_text_field_becomes_text():
    from pathlib import Path

    @dataclass
    class WithFolder:
        out_dir: str = "runs/x"

        def __post_init__(self) -> None:
            check_fields(self, {}, Refused)

    assert WithFolder(Path("runs/y")).out_dir == "runs/y"
