"""Every value a user gives, checked where it enters: a configuration dataclass's fields against their annotations,
plus a table of ranges and choices per field.

Flags, ``--set`` and TOML all end up as fields of :class:`trainer.config.TrainConfig`,
:class:`converter.config.ConvertConfig` or :class:`pipeline.api.PipelineConfig`; each of those calls
:func:`check_fields` from its constructor, so one rule per field holds whichever way the value came in. A field
added later is type-checked without code of its own:

* ``bool``: ``True``/``False`` only (``1`` is not a bool);
* ``int``: a whole number; a bool is refused (``true`` is not 1 epoch), ``2.7`` is refused, ``3.0`` becomes ``3``;
* ``float``: any int or float that is finite (NaN and infinity are refused); a bool is refused;
* ``str``: a string (a path given as ``pathlib.Path`` becomes one); ``Optional[...]``: ``None`` or the inner type. Other annotations (tuples, dicts) are left to
  the dataclass's own checks.

Only the standard library: every part may import it.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import os
import typing
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple


@dataclass(frozen=True)
class Rule:
    """The values one field may take besides its type: ``low``/``high`` bounds (``*_open``: the bound itself is
    excluded), or ``choices``. ``hint``: what to do about a refused value (appended to the message)."""

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    choices: Optional[Sequence[Any]] = None
    hint: str = ""

    def problem(self, value: Any) -> Optional[str]:
        """Why ``value`` is refused (a phrase after ``name=value``), or None when it is allowed."""
        if self.choices is not None:
            if value in self.choices:
                return None
            return f"is unknown; use one of: {', '.join(str(c) for c in self.choices)}"
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if not (too_low or too_high):
            return None
        return self.describe()

    def describe(self) -> str:
        """The allowed range in words: ``is outside 1-16``, ``must be a fraction in [0, 1)``, ``must be positive``."""
        low, high = _num(self.low), _num(self.high)
        if self.low is not None and self.high is not None:
            if not self.low_open and not self.high_open and float(self.low).is_integer() \
                    and float(self.high).is_integer() and self.low != 0.0:
                return f"is outside {low}-{high}"
            if (self.low, self.high, self.low_open, self.high_open) == (0, 1, False, True):
                return "must be a fraction in [0, 1)"
            if not self.low_open and not self.high_open:
                return f"must be from {low} to {high}"
            return f"must be in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"
        if self.low is not None:
            if self.low == 0:
                return "must be positive (above 0)" if self.low_open else "must be 0 or more"
            return f"must be above {low}" if self.low_open else f"must be at least {low}"
        return f"must be below {high}" if self.high_open else f"must be at most {high}"


def _num(value: Optional[float]) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


#: Seeds numpy and TensorFlow accept (``numpy.random.default_rng``, ``set_random_seed``): 0 to 2**32 - 1.
SEED = Rule(0, 2 ** 32 - 1)


def check_value(name: str, value: Any, annotation: Any, rule: Optional[Rule] = None) -> Any:
    """``value`` checked against ``annotation`` (and ``rule``), converted where that loses nothing (``3.0`` to
    ``3`` for an int, ``3`` to ``3.0`` for a float). Raises ``ValueError`` with ``name=value`` and what is wrong."""
    inner, optional = _unwrap_optional(annotation)
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name}=None is not allowed; give a value.")
    checked = _check_type(name, value, inner)
    if rule is not None:
        try:
            why = rule.problem(checked)
        except TypeError:  # a value of another type than the rule's bounds (an unchecked annotation)
            why = rule.describe()
        if why is not None:
            raise ValueError(f"{name}={value!r} {why}" + (f"; {rule.hint}." if rule.hint else "."))
    return checked


def check_fields(obj: Any, rules: Mapping[str, Rule], error: Callable[[str], Exception],
                 skip: Sequence[str] = ()) -> None:
    """Check every field of the dataclass instance ``obj`` against its annotation and ``rules``; store the converted
    values (frozen dataclasses too). Raises ``error(message)`` for the first problem (one line naming the field)."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        try:
            value = check_value(f.name, getattr(obj, f.name), hints.get(f.name, Any), rules.get(f.name))
        except ValueError as exc:
            raise error(str(exc)) from None
        object.__setattr__(obj, f.name, value)


def _hints(cls: type) -> Mapping[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):  # an annotation that cannot be resolved here: no type checks, rules still apply
        return {}


def _unwrap_optional(annotation: Any) -> Tuple[Any, bool]:
    if typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        return (args[0] if len(args) == 1 else Any), optional
    return annotation, annotation is Any


def _is_checked_type(annotation: Any) -> bool:
    return annotation in (bool, int, float, str)


_WHAT: Mapping[Any, str] = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    if not _is_checked_type(annotation):
        return value  # tuples, dicts, unions of several types: the dataclass checks those itself
    fail: Callable[[str], ValueError] = lambda why: ValueError(f"{name}={value!r} {why}.")  # noqa: E731
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise fail("must be true or false")
    if annotation is str:
        if isinstance(value, str):
            return value
        if isinstance(value, os.PathLike):  # a folder or file given as a Path
            return os.fspath(value)
        raise fail("must be text (a quoted string)")
    if isinstance(value, bool):
        raise fail(f"must be {_WHAT[annotation]}, not true/false")
    if not isinstance(value, numbers.Real):
        raise fail(f"must be {_WHAT[annotation]}")
    if annotation is int:
        if isinstance(value, numbers.Integral):
            return int(value)
        if math.isfinite(float(value)) and float(value).is_integer():
            return int(value)
        raise fail("must be a whole number")
    number = float(value)
    if not math.isfinite(number):
        raise fail("must be a finite number")
    return number
