"""Fixtures of the device tests: reference models and photos from the shared assets (never copied into the repo)."""
from __future__ import annotations

from pathlib import Path

import pytest

#: Top-1 of each sanity photo listed in assets/SOURCES.md (given by the coral quantized MobileNetV2, whole image).
EXPECTED_TOP1 = {
    "coral_bird.bmp": "chickadee",
    "coral_cat.bmp": "Egyptian cat",
    "coral_dragonfly.bmp": "dragonfly",
    "coral_grace_hopper.bmp": "military uniform",
    "coral_hot_dog.jpg": "hotdog",
    "coral_owl.jpg": "ruffed grouse",
    "coral_parrot.jpg": "macaw",
    "coral_pets.jpg": "Italian greyhound",
    "coral_sunflower.bmp": "daisy",
    "tflite-support_burger.jpg": "cheeseburger",
    "mobilenet-api_mountain_bike.jpeg": "mountain bike",
    "tflite-support_cats_and_dogs.jpg": "Siberian husky",
}


@pytest.fixture(scope="session")
def models_dir(assets_dir: Path) -> Path:
    return assets_dir / "reference-models"


@pytest.fixture(scope="session")
def coral_quant(models_dir: Path) -> Path:
    """uint8 in/out, softmax output, metadata with packed labels (background first)."""
    return models_dir / "google-coral-test_data" / "mobilenet_v2_1.0_224_quant.tflite"


@pytest.fixture(scope="session")
def logits_quant(models_dir: Path) -> Path:
    """uint8 in/out, logits output, NO metadata; labels.txt beside it."""
    return models_dir / "tflite-support" / "mobilenet_v2_1.0_224_quant.tflite"


@pytest.fixture(scope="session")
def float_model(models_dir: Path) -> Path:
    """float32 in/out, metadata mean/std 127.5, packed labels."""
    return models_dir / "tflite-support" / "mobilenet_v1_0.25_224_1_metadata_1.tflite"


@pytest.fixture(scope="session")
def sanity_dir(assets_dir: Path) -> Path:
    return assets_dir / "sanity-images"


@pytest.fixture(scope="session")
def bird(sanity_dir: Path) -> Path:
    return sanity_dir / "coral_bird.bmp"


@pytest.fixture(scope="session")
def coral_classifier(coral_quant: Path):
    from device import Classifier

    return Classifier.from_file(coral_quant, num_threads=2)
