"""``TrainConfig``: every choice a training run makes, stored as ``config.json`` in the run folder.

Importing this module does not import TensorFlow.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from common import defaults
from common.validation import SEED, Rule, check_fields
from device.preprocess import PreprocessConfig
from device.resize import CROP_MODES

from trainer.errors import TrainerError

#: Width multipliers that Keras ships MobileNetV2 ImageNet weights for.
ALPHAS: Tuple[float, ...] = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
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


def imagenet_weights_filename(alpha: float, size: int) -> str:
    """The file name Keras looks for in ``~/.keras/models`` for ``weights="imagenet"`` (no top)."""
    rows = size if size in (96, 128, 160, 192, 224) else 224
    alpha_text = {0.35: "0.35", 0.5: "0.5", 0.75: "0.75", 1.0: "1.0", 1.3: "1.3", 1.4: "1.4"}[float(alpha)]
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha_text}_{rows}_no_top.h5"


def normalize_weights(weights: "str | Path | None") -> Optional[str]:
    """``"imagenet"``, None for random weights (``None``, ``"none"``, ``"random"``, ``""``), or a local file path."""
    if weights is None:
        return None
    weights = str(weights)
    if weights.lower() in ("none", "random", ""):
        return None
    return weights if weights == "imagenet" else str(Path(weights).expanduser())


def weights_problem(weights: Optional[str], alpha: float, size: int) -> Optional[str]:
    """The message for a weights file that is not there (None when ``weights`` is usable as far as files go)."""
    if weights is None or weights == "imagenet" or Path(weights).expanduser().is_file():
        return None
    return (f"{Path(weights).expanduser()}: weights file not found. Pass the path of a MobileNetV2 no-top .h5 file "
            f"(for alpha {alpha}: {imagenet_weights_filename(alpha, size)}), 'imagenet', or 'none' to start from "
            "random weights.")


#: The range or the choices of each field (besides its type); see :meth:`TrainConfig.validate`.
RULES: Dict[str, Rule] = {
    "size": Rule(MIN_SIZE, MAX_SIZE, hint="use a square input size such as 96, 128, 160, 192 or 224 (ImageNet weights "
                                          "exist for those)"),
    "dropout": Rule(0, 1, high_open=True),
    "crop": Rule(choices=CROP_MODES),
    "val_split": Rule(0, 1, high_open=True, hint="e.g. 0.2 for 20%"),
    "test_split": Rule(0, 1, high_open=True, hint="e.g. 0.1 for 10%, 0 for none"),
    "seed": SEED,
    "min_photos_per_class": Rule(2, hint="one to train, one to validate"),
    "batch_size": Rule(1),
    "head_epochs": Rule(1, hint="the classifier head has to be trained"),
    "head_learning_rate": Rule(0, low_open=True, hint="e.g. 0.003"),
    "head_patience": Rule(1),
    "label_smoothing": Rule(0, 1, high_open=True),
    "head_weight_decay": Rule(0, hint="0 turns it off"),
    "fine_tune_epochs": Rule(0, hint="0 turns fine-tuning off"),
    "fine_tune_learning_rate": Rule(0, low_open=True, hint="e.g. 0.0003"),
    "fine_tune_blocks": Rule(1, 16, hint="MobileNetV2 has 16 blocks"),
    "fine_tune_patience": Rule(1),
    "fine_tune_min_per_class": Rule(1),
    "fine_tune_schedule": Rule(choices=SCHEDULES),
    "selection": Rule(choices=SELECTIONS),
}


@dataclass
class TrainConfig:
    """Configuration of one training run (``trainer.train(config)``; the CLI ``edge-train`` builds one)."""

    data_dir: str
    out_dir: str = "runs/model"
    # Model
    alpha: float = defaults.ALPHA
    size: int = defaults.SIZE
    weights: Optional[str] = defaults.WEIGHTS  # "imagenet", a path to a no-top MobileNetV2 .h5 file, or None (random)
    dropout: float = 0.2
    crop: str = "center"  # the preprocessing contract's crop mode
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
    fine_tune_blocks: int = 4  # top inverted-residual blocks (of 16) unfrozen, plus the last 1x1 convolution
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
        """Raise :class:`TrainerError` with the fix when a value has the wrong type or is out of range.

        Every field is checked against its annotation (:func:`common.validation.check_fields`: a bool is not an
        int, an int field refuses 2.7, a float field refuses NaN and infinity) and :data:`RULES`, so flags, ``--set``
        and TOML values meet the same rule; a field added later is type-checked without code of its own."""
        check_fields(self, RULES, TrainerError)
        if not any(abs(self.alpha - a) < 1e-9 for a in ALPHAS):
            raise TrainerError(
                f"alpha={self.alpha} is not available; MobileNetV2 comes in alpha "
                f"{', '.join(str(a) for a in ALPHAS)} (0.35 is smallest and fastest)."
            )
        test_split = defaults.TEST_SPLIT if self.test_split is None else self.test_split
        if self.val_split + test_split >= 0.9:
            raise TrainerError("val_split + test_split leave too little to train on; keep them below 0.9 together.")

    @property
    def preprocessing(self) -> PreprocessConfig:
        """The preprocessing contract parameters of the model's input."""
        return PreprocessConfig(height=self.size, width=self.size, crop=self.crop)

    def to_dict(self) -> Dict[str, Any]:
        """JSON form for ``config.json``: every field plus ``"preprocessing": PreprocessConfig.to_dict()``."""
        data = dataclasses.asdict(self)
        data["preprocessing"] = self.preprocessing.to_dict()
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
