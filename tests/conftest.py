"""Shared pytest fixtures: where the real test assets are, and an offline Keras weights cache."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
ALPHA035_WEIGHTS = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reference: checks against tflite-support 0.4.4 in .venv-reference "
                                       "(bash scripts/reference_venv.sh); skipped without it")


def find_assets_dir() -> Path:
    """``$EDGE_KIT_ASSETS`` if set, else ``../shared/assets`` beside the repository."""
    env = os.environ.get("EDGE_KIT_ASSETS")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "assets"
    return path


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    path = find_assets_dir()
    if not (path / "SOURCES.md").is_file():
        pytest.fail(f"test assets not found at {path}; set EDGE_KIT_ASSETS to the shared/assets folder")
    return path


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
