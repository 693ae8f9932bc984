"""``TrainConfig``: every choice a training run makes, stored as ``config.json`` in the run folder.

Importing this module does not import TensorFlow.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from common import defaults
from device.preprocess import PreprocessConfig
from device.resize import CROP_MODES

from trainer import backbones
from trainer.backbones import BackboneSpec
from trainer.errors import TrainerError
from trainer.mobilenet_v2 import ALPHAS, imagenet_weights_filename  # noqa: F401  (re-exported: CLI, pipeline)

#: Input sizes accepted (square). Keras has ImageNet weights for 96, 128, 160, 192 and 224.
MIN_SIZE, MAX_SIZE = 96, 224
#: Fewest usable photos a class may have (with an automatic split: at least one for validation, the rest to train).
MIN_PHOTOS_PER_CLASS = 5

#: Fields that may change between an interrupted run and its resumption without invalidating the checkpoint.
#: Settings an interrupted run may be resumed with changed: where it goes, how much it says, and how many epochs
#: each phase may run (resuming with more epochs continues the run; see ``_Tracker.rebudget``).
RESUME_NEUTRAL_FIELDS = ("out_dir", "verbose", "overwrite", "head_epochs", "fine_tune_epochs")
#: What the validation photos decide on (early stopping, best epoch, phase 1 or 2): the lowest validation loss, or
#: the highest validation top-1 with ties broken by the lower loss.
SELECTIONS = ("loss", "top1")
#: Phase 2 learning-rate schedules: constant, or one epoch of linear warm-up then cosine decay to zero at the last
#: allowed epoch (``fine_tune_epochs``).
SCHEDULES = ("constant", "cosine")


def normalize_weights(weights: "str | Path | None") -> Optional[str]:
    """``"imagenet"``, None for random weights (``None``, ``"none"``, ``"random"``, ``""``), or a local file path."""
    if weights is None:
        return None
    weights = str(weights)
    if weights.lower() in ("none", "random", ""):
        return None
    return weights if weights == "imagenet" else str(Path(weights).expanduser())


def weights_problem(weights: Optional[str], alpha: float, size: int, backbone: Optional[str] = None) -> Optional[str]:
    """The message for weights that cannot be used as far as files and packages go (None when ``weights`` is
    usable): a missing file, or "imagenet" for a backbone whose weights package is not installed. ``backbone``: a
    registry name, None = MobileNetV2 at ``alpha``."""
    return backbones.resolve(backbone, alpha).weights_problem(weights, size)


@dataclass
class TrainConfig:
    """Configuration of one training run (``trainer.train(config)``; the CLI ``edge-train`` builds one)."""

    data_dir: str
    out_dir: str = "runs/model"
    # Model
    alpha: float = defaults.ALPHA
    size: int = defaults.SIZE
    # "imagenet", a local weights file of the backbone (MobileNetV2: a no-top .h5; EfficientNet-Lite0: a .pth), or
    # None (random)
    weights: Optional[str] = defaults.WEIGHTS
    dropout: float = 0.2
    crop: str = "center"  # the preprocessing contract's crop mode
    # A registry name (trainer/backbones.py: mobilenet_v2_0.35 ... mobilenet_v2_1.4, efficientnet_lite0); None =
    # MobileNetV2 at width ``alpha``. When set, ``alpha`` is not used.
    backbone: Optional[str] = None
    # Data
    val_split: float = 0.2  # fraction of each class held out for validation (when there is no val/ folder)
    # Fraction of each class held out for the final test (when there is no test/ folder); its photos are decoded
    # and read only for the final numbers. None = automatic: defaults.TEST_SPLIT when every class has at least
    # defaults.TEST_SPLIT_MIN_PHOTOS photos, else none (the numbers are then validation numbers). 0 turns it off.
    test_split: Optional[float] = None
    seed: int = 0
    min_photos_per_class: int = MIN_PHOTOS_PER_CLASS
    class_weights: bool = True  # weight the loss so every class counts the same, however many photos it has
    # Phase 1: the classifier head on cached features of the frozen backbone
    batch_size: int = 32
    head_epochs: int = 60
    head_learning_rate: float = 3e-3
    head_patience: int = 10
    label_smoothing: float = 0.1
    # Decoupled weight decay (AdamW-style: each step shrinks the weights by lr x this) on the head in phase 1;
    # 0 = none. It plays the part of the linear probe's L2 penalty. 4: the one change of the recipe search that beat
    # the defaults on caltech, flowers and clothing-small alike (docs/benchmarks.md, Accuracy (#19), recipe search).
    head_weight_decay: float = 4.0
    # Also cache features of the mirrored training photos: twice the examples for the head, at the price of a second
    # backbone pass. Off: with phase 2 as below it bought nothing on flowers (docs/benchmarks.md, Trainer).
    mirror_features: bool = False
    # Phase 2: fine-tune the top of the backbone with augmentation (None = automatic: on when the data allows)
    fine_tune: Optional[bool] = None
    # 15 epochs, lr 3e-4, patience 5: the best validation top-1 on flowers over five seeded splits of the settings
    # tried, never worse on a split (docs/benchmarks.md, Trainer). Early stopping still ends phase 2 when the
    # validation loss stops improving.
    fine_tune_epochs: int = 15
    fine_tune_learning_rate: float = 3e-4
    fine_tune_blocks: int = 4  # top blocks (1 to the backbone's spec.blocks) unfrozen, plus the last 1x1 convolution
    fine_tune_patience: int = 5
    fine_tune_min_per_class: int = 10  # automatic fine-tuning needs this many training photos in every class
    # One of SCHEDULES. Cosine (with a warm-up epoch) did not win over constant on the hard sets (docs/benchmarks.md,
    # Accuracy (#19), recipe search).
    fine_tune_schedule: str = "constant"
    # What the validation photos choose on (SELECTIONS), in both phases. "top1" helped flowers but not caltech nor
    # clothing-small, so the default stays "loss" (docs/benchmarks.md, Accuracy (#19), recipe search).
    selection: str = "loss"
    augment: bool = True
    # Execution
    deterministic: bool = True  # tf op determinism: repeatable runs for a given seed, slightly slower
    verbose: bool = True
    overwrite: bool = False  # replace a finished run in out_dir instead of refusing

    def __post_init__(self) -> None:
        self.data_dir = str(self.data_dir)
        self.out_dir = str(self.out_dir)
        self.weights = normalize_weights(self.weights)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`TrainerError` with the fix when a value is out of range."""
        backbones.for_alpha(self.alpha)  # also with a named backbone: a wrong alpha is a mistake either way
        self.alpha = float(self.alpha)
        spec = self.spec
        if not isinstance(self.size, int) or not MIN_SIZE <= self.size <= MAX_SIZE:
            raise TrainerError(
                f"size={self.size} is outside {MIN_SIZE}-{MAX_SIZE}; use a square input size such as 96, 128, 160, "
                "192 or 224 (ImageNet weights exist for those)."
            )
        if self.selection not in SELECTIONS:
            raise TrainerError(f"selection={self.selection!r} is unknown; use one of: {', '.join(SELECTIONS)}.")
        if self.fine_tune_schedule not in SCHEDULES:
            raise TrainerError(f"fine_tune_schedule={self.fine_tune_schedule!r} is unknown; use one of: "
                               f"{', '.join(SCHEDULES)}.")
        if self.crop not in CROP_MODES:
            raise TrainerError(f"crop={self.crop!r} is unknown; use one of: {', '.join(CROP_MODES)}.")
        for name in ("val_split", "test_split"):
            value = getattr(self, name)
            if name == "test_split" and value is None:
                continue  # automatic (see the field)
            if not 0.0 <= value < 1.0:
                raise TrainerError(f"{name}={value} must be a fraction in [0, 1), e.g. 0.2 for 20%.")
            setattr(self, name, float(value))
        test_split = defaults.TEST_SPLIT if self.test_split is None else self.test_split
        if self.val_split + test_split >= 0.9:
            raise TrainerError("val_split + test_split leave too little to train on; keep them below 0.9 together.")
        if not 0.0 <= self.dropout < 1.0:
            raise TrainerError(f"dropout={self.dropout} must be in [0, 1).")
        if self.head_weight_decay < 0:
            raise TrainerError(f"head_weight_decay={self.head_weight_decay} must be 0 (none) or positive.")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise TrainerError(f"label_smoothing={self.label_smoothing} must be in [0, 1).")
        positive = ("batch_size", "head_learning_rate", "fine_tune_learning_rate", "head_patience", "fine_tune_patience")
        for name in positive:
            if getattr(self, name) <= 0:
                raise TrainerError(f"{name}={getattr(self, name)} must be positive.")
        for name in ("head_epochs", "fine_tune_epochs"):
            if getattr(self, name) < 0:
                raise TrainerError(f"{name}={getattr(self, name)} must be 0 or more.")
        if self.head_epochs < 1:
            raise TrainerError("head_epochs must be at least 1: the classifier head has to be trained.")
        spec.block_prefixes(self.fine_tune_blocks)  # 1 .. spec.blocks, else the message naming the backbone
        if self.min_photos_per_class < 2:
            raise TrainerError("min_photos_per_class must be at least 2 (one to train, one to validate).")

    @property
    def spec(self) -> BackboneSpec:
        """The backbone's registry row: ``backbone`` by name, or MobileNetV2 at ``alpha``."""
        return backbones.resolve(self.backbone, self.alpha)

    @property
    def preprocessing(self) -> PreprocessConfig:
        """The preprocessing contract parameters of the model's input."""
        return PreprocessConfig(height=self.size, width=self.size, crop=self.crop)

    def to_dict(self) -> Dict[str, Any]:
        """JSON form for ``config.json``: every field plus ``"preprocessing": PreprocessConfig.to_dict()`` and
        ``"model": BackboneSpec.to_dict()`` (the backbone resolved: name, family, normalisation)."""
        data = dataclasses.asdict(self)
        data["preprocessing"] = self.preprocessing.to_dict()
        data["model"] = self.spec.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Rebuild from :meth:`to_dict` output (unknown keys, e.g. from newer versions, are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def resume_key(self) -> Dict[str, Any]:
        """The fields an interrupted run must share with its resumption (everything but output/verbosity)."""
        data = self.to_dict()
        for name in RESUME_NEUTRAL_FIELDS:
            data.pop(name, None)
        data["data_dir"] = str(Path(self.data_dir).resolve())
        return data
