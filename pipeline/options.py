"""Every trainer and converter option for ``edge-kit``: a TOML file (``--config``) and ``--set`` pass-through flags,
mapped onto the fields of :class:`trainer.config.TrainConfig` and :class:`converter.config.ConvertConfig`.

``--config run.toml``::

    [train]
    fine_tune_epochs = 12
    label_smoothing = 0.05
    fine_tune_blocks = 6

    [convert]
    calibration_size = 400

``--set train.dropout=0.3 --set convert.int8_io=int8`` (values read as TOML: numbers, true/false, quoted or bare
strings). Order of precedence: the named flags (``--epochs`` ...), then ``--set``, then the file. Unknown sections
or names are refused with the list of valid ones; values are checked by the configs themselves.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Tuple

from pipeline.state import PipelineError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser from PyPI (a dependency there)
    import tomli as tomllib

#: Fields edge-kit sets itself (from its own flags or stages), not through --config/--set.
RESERVED = {"train": {"data_dir", "out_dir", "verbose", "backbone", "alpha", "size", "weights"},
            "convert": {"output_dir", "verbose", "evaluate", "variants", "qat", "qat_limit", "max_accuracy_drop"}}


def _fields(section: str) -> Iterable[str]:
    if section == "train":
        from trainer.config import TrainConfig  # light: a dataclass module

        cls = TrainConfig
    else:
        from converter.config import ConvertConfig

        cls = ConvertConfig
    return [f.name for f in dataclasses.fields(cls) if f.name not in RESERVED[section]]


def _check(section: str, options: Mapping[str, Any], origin: str) -> Dict[str, Any]:
    if section not in RESERVED:
        raise PipelineError(f"{origin}: unknown section [{section}]; use [train] and/or [convert].")
    valid = list(_fields(section))
    own = [k for k in options if k in RESERVED[section]]
    if own:
        raise PipelineError(f"{origin}: {', '.join(own)} set with edge-kit's own flags (--{own[0].replace('_', '-')}, "
                            "--out, ...), not in the file or --set.")
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise PipelineError(f"{origin}: unknown {section} option(s) {', '.join(unknown)}; valid: {', '.join(valid)}.")
    return dict(options)


def read_config_file(path: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``(train_options, convert_options)`` from a TOML file with ``[train]`` and ``[convert]`` tables."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{p}: config file not found.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PipelineError(f"{p}: not a readable TOML file ({exc}).") from exc
    out: Dict[str, Dict[str, Any]] = {"train": {}, "convert": {}}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise PipelineError(f"{p}: '{section} = ...' at the top level; put options under [train] or [convert].")
        out[section] = _check(section, table, str(p))
    return out["train"], out["convert"]


def parse_set(items: Iterable[str]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``(train_options, convert_options)`` from ``--set SECTION.NAME=VALUE`` items."""
    out: Dict[str, Dict[str, Any]] = {"train": {}, "convert": {}}
    for item in items:
        key, sep, text = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise PipelineError(f"--set {item!r}: expected SECTION.NAME=VALUE, e.g. --set train.fine_tune_epochs=12.")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()  # a bare word: a string
        out.setdefault(section, {})
        _check(section, {name: value}, f"--set {item}")
        out[section][name] = value
    return out["train"], out["convert"]
