"""Same answer across CPUs: the committed parity models, x86-64 here against a record made on another CPU.

The record comes from ``scripts/pi_emulated.sh`` (emulated Raspberry Pi OS: arm64 with LiteRT, or armv7l with
tflite-runtime), which runs this file with ``EDGE_KIT_PARITY_RECORD`` set; without it only the checks that need no
second CPU run.
"""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np
import pytest

from tests.pi import parity

RECORD_ENV = "EDGE_KIT_PARITY_RECORD"


@pytest.fixture(scope="module")
def other_record():
    path = os.environ.get(RECORD_ENV)
    if not path:
        pytest.skip(f"no record from another CPU: run `bash scripts/pi_emulated.sh` (sets {RECORD_ENV})")
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def here_record(assets_dir):
    return parity.record(parity.default_models(), parity.parity_photos(assets_dir))


def test_committed_models_are_the_exported_variants_with_uint8_int8_io():
    from device.backends import make_interpreter

    dtypes = {}
    for name, path in zip(parity.MODELS, parity.default_models()):
        interp = make_interpreter(path, num_threads=1)
        dtypes[name] = (interp.input_details[0]["dtype"], interp.output_details[0]["dtype"])
    assert dtypes["model_int8"] == dtypes["efficientnet_lite0/model_int8"] == (np.uint8, np.uint8)
    for variant in ("float32", "float16", "dynamic"):
        assert dtypes[f"model_{variant}"] == (np.float32, np.float32)


def test_models_are_named_by_their_path_and_judged_by_their_variant():
    assert [parity.model_name(p) for p in parity.default_models()] == list(parity.MODELS)
    assert parity.variant_of("efficientnet_lite0/model_int8") == "int8"
    stats = {"efficientnet_lite0/model_int8": {"photos": 10, "same_top1": 5, "max_score_diff": 0.0}}
    assert parity.check_promise(stats) == ["efficientnet_lite0/model_int8: same top-1 on 5/10 photos, promised "
                                           ">= 90%"]


def test_compare_counts_top1_changes_and_score_differences():
    photos = ["a/1.jpg", "a/2.jpg"]
    a = {"photos": photos, "models": {"model_int8": {"file_sha256": "x", "raw_dtype": "uint8",
                                                      "raw": [[250, 6], [10, 246]],
                                                      "scores": [[250 / 256, 6 / 256], [10 / 256, 246 / 256]]}}}
    b = json.loads(json.dumps(a))
    b["models"]["model_int8"]["raw"][1] = [130, 126]
    b["models"]["model_int8"]["scores"][1] = [130 / 256, 126 / 256]
    stats = parity.compare(a, b)["model_int8"]
    assert (stats["same_top1"], stats["identical"], stats["max_raw_steps"]) == (1, 1, 120)
    assert stats["max_score_diff"] == pytest.approx(120 / 256)
    assert any("same top-1 on 1/2" in line for line in parity.check_promise({"model_int8": stats}))


def test_preprocessed_pixels_are_byte_identical_across_cpus(other_record, here_record):
    assert other_record["machine"] != here_record["machine"], "both records come from the same kind of CPU"
    assert other_record["photos"] == here_record["photos"]
    assert other_record["pixels_sha256"] == here_record["pixels_sha256"]


@pytest.mark.parametrize("name", parity.MODELS)
def test_each_variant_keeps_the_readme_promise_across_cpus(name, other_record, here_record):
    variant = parity.variant_of(name)
    expected_failure = parity.NOT_LOADABLE.get(other_record["backend"], {}).get(variant)
    failure = parity.unloadable(other_record).get(name)
    assert name not in parity.unloadable(here_record)
    if expected_failure is not None:
        assert failure is not None, (f"{other_record['backend']} now loads the {variant} model: update NOT_LOADABLE "
                                     "and docs/install.md's Raspberry Pi section, which say it cannot")
        assert expected_failure in failure and "\n" not in failure
        return
    assert failure is None, failure
    stats = parity.compare(here_record, other_record)[name]
    print(f"\n{platform.machine()} vs {other_record['machine']}:\n{parity.format_stats({name: stats})}")
    assert stats["photos"] == len(here_record["photos"]) >= 100
    assert parity.check_promise({name: stats}) == []
