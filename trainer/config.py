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

from trainer import backbones
from trainer.backbones import BackboneSpec
from trainer.errors import TrainerError
from trainer.mobilenet_v2 import ALPHAS, imagenet_weights_filename  # noqa: F401  (re-exported: CLI, pipeline)

#: Input sizes accepted (square). Keras has ImageNet weights for 96, 128, 160, 192 and 224.
MIN_SIZE, MAX_SIZE = 96, 224
#: Fewest usable photos a class may have (with an automatic split: at least one for validation, the rest to train).
MIN_PHOTOS_PER_CLASS = 5

#: Settings an interrupted run may be resumed with changed: where it goes, how much it says, and how many epochs
#: fine-tuning runs (resumed with more, it continues to the new total on the schedule of that total).
RESUME_NEUTRAL_FIELDS = ("out_dir", "verbose", "overwrite", "fine_tune_epochs")


def normalize_weights(weights: "str | Path | None") -> Optional[str]:
    """``"imagenet"``, None for random weights (``None``, ``"none"``, ``"random"``, ``""``), or a local file path."""
    if weights is None:
        return None
    weights = str(weights)
    if weights.lower() in ("none", "random", ""):
        return None
    return weights if weights == "imagenet" else str(Path(weights).expanduser())


def weights_problem(weights: Optional[str], alpha: Optional[float], size: int, backbone: Optional[str] = None
                    ) -> Optional[str]:
    """The message for weights that cannot be used as far as files and packages go (None when ``weights`` is
    usable): a missing file or folder, or "imagenet" for a backbone whose weights package is not installed.
    ``backbone``: a registry name, "auto" (a search: a folder of weights files is fine too), None = MobileNetV2 at
    ``alpha``."""
    if backbone == backbones.AUTO and alpha is None:
        if weights is None or weights == "imagenet" or Path(weights).expanduser().is_dir():
            return None
        if Path(weights).expanduser().is_file():
            return None if backbones.identify_weights(weights) is not None else (
                f"{Path(weights).expanduser()}: not a weights file edge-kit recognises (a MobileNetV2 no-top .h5 of "
                "any width, an EfficientNet-Lite0 .pth); pass --backbone NAME with it, or a folder of such files.")
        return (f"{Path(weights).expanduser()}: no such weights file or folder. Pass a no-top .h5 / .pth file, a "
                "folder of them (every one is a candidate of the backbone search), 'imagenet', or 'none'.")
    if backbone == backbones.AUTO:
        backbone = None
    return backbones.resolve(backbone, defaults.ALPHA if alpha is None else alpha).weights_problem(weights, size)


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
    "head_folds": Rule(2, 20, hint="cross-validation folds of the head"),
    "label_smoothing": Rule(0, 1, high_open=True),
    "fine_tune_epochs": Rule(0, hint="0 turns fine-tuning off"),
    "fine_tune_learning_rate": Rule(0, low_open=True, hint="e.g. 0.0003"),
    "fine_tune_blocks": Rule(1, hint="the top blocks of the backbone"),
    "fine_tune_views": Rule(1, hint="the photo itself, its mirror image, augmented copies"),
    "fine_tune_min_per_class": Rule(1),
    "max_latency_ms": Rule(0, low_open=True, hint="milliseconds per photo, or leave it out for no limit"),
    "max_size_mb": Rule(0, low_open=True, hint="megabytes, or leave it out for no limit"),
}


@dataclass
class TrainConfig:
    """Configuration of one training run (``trainer.train(config)``; the CLI ``edge-train`` builds one)."""

    data_dir: str
    out_dir: str = "runs/model"
    # Model
    # MobileNetV2's width: set, it picks MobileNetV2 at that width (no search); None = the backbone field decides.
    alpha: Optional[float] = None
    size: int = defaults.SIZE
    # "imagenet", a local weights file of the backbone (MobileNetV2: a no-top .h5; EfficientNet-Lite0: a .pth), or
    # None (random)
    weights: Optional[str] = defaults.WEIGHTS
    dropout: float = 0.2
    crop: str = "center"  # the preprocessing contract's crop mode
    # A registry name (trainer/backbones.py: mobilenet_v2_0.35 ... mobilenet_v2_1.4, efficientnet_lite0), or "auto":
    # every backbone whose weights are here (files in the folder ``weights``, Keras' cache, installed weights
    # packages) scored on the training photos and the best within the budget trained (trainer/backbone_search.py);
    # with one candidate or none, MobileNetV2 0.35. None = MobileNetV2 at ``alpha`` (0.35 when alpha is None too).
    backbone: Optional[str] = backbones.AUTO
    # The device budget of the search: the int8 model's median invoke time (ms, one thread, measured by edge-kit on
    # this machine) and file size (MB); None = no limit.
    max_latency_ms: Optional[float] = None
    max_size_mb: Optional[float] = None
    # Data
    val_split: float = 0.2  # fraction of each class held out for validation (when there is no val/ folder)
    # Fraction of each class held out for the final test (when there is no test/ folder); its photos are decoded
    # and read only for the final numbers. None = automatic: defaults.TEST_SPLIT when every class has at least
    # defaults.TEST_SPLIT_MIN_PHOTOS photos, else none (the numbers are then validation numbers). 0 turns it off.
    test_split: Optional[float] = None
    seed: int = 0
    min_photos_per_class: int = MIN_PHOTOS_PER_CLASS
    # Weight the loss so every class counts the same, however many photos it has. None = automatic: on when the
    # largest class has 3 times the training photos of the smallest (trainer/dataset.py, CLASS_WEIGHT_RATIO).
    class_weights: Optional[bool] = None
    batch_size: int = 32
    # Phase 1: a linear softmax head on the frozen backbone's pooled features, its L2 strength chosen by k-fold
    # cross-validation on the training photos (trainer/head_fit.py).
    head_folds: int = 5
    # When the head wins over fine-tuning (or fine-tuning did not run), fit it again on the training and validation
    # photos together, with the C the cross-validation chose. Off by default: it gains a little top-1, but then no
    # photo is left that the model has not learned, so the converter's quantization check, judged on photos the
    # model knows, cannot see int8 losing accuracy on new ones (numbers: docs/benchmarks.md).
    refit_head: bool = False
    # Phase 2: fine-tune the top of the backbone with augmentation (None = automatic: on when the data allows and the
    # validation split could show a win; trainer/selection.py).
    fine_tune: Optional[bool] = None
    # A fixed schedule (warm-up epoch, cosine decay), not chosen on the validation photos (docs/benchmarks.md).
    fine_tune_epochs: int = 10
    fine_tune_learning_rate: float = 3e-4
    fine_tune_blocks: int = 4  # top blocks (1 to the backbone's spec.blocks) unfrozen, plus the last 1x1 convolution
    fine_tune_views: int = 4  # stored views of each training photo: itself, mirrored, and augmented copies
    fine_tune_min_per_class: int = 10  # automatic fine-tuning needs this many training photos in every class
    label_smoothing: float = 0.1  # phase 2's targets
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
        if self.alpha is not None:
            backbones.for_alpha(self.alpha)  # also with a named backbone: a wrong alpha is a mistake either way
        if self.backbone not in (None, backbones.AUTO):
            backbones.get(self.backbone)
        test_split = defaults.TEST_SPLIT if self.test_split is None else self.test_split
        if self.val_split + test_split >= 0.9:
            raise TrainerError("val_split + test_split leave too little to train on; keep them below 0.9 together.")
        spec = self.spec
        for row in ([spec] if spec is not None else backbones.BACKBONES.values()):
            row.block_prefixes(self.fine_tune_blocks)  # 1 .. row.blocks, else the message naming the backbone

    @property
    def searching(self) -> bool:
        """Whether the backbone is chosen by a search (``backbone="auto"`` and no ``alpha``)."""
        return self.backbone == backbones.AUTO and self.alpha is None

    @property
    def spec(self) -> Optional[BackboneSpec]:
        """The backbone's registry row: ``backbone`` by name, or MobileNetV2 at ``alpha`` (0.35 without one); None
        while a search is to choose it."""
        if self.searching:
            return None
        if self.backbone in (None, backbones.AUTO):
            return backbones.for_alpha(defaults.ALPHA if self.alpha is None else self.alpha)
        return backbones.get(self.backbone)

    def with_backbone(self, spec: BackboneSpec) -> "TrainConfig":
        """A copy with the backbone resolved to ``spec`` (what a search chose)."""
        return dataclasses.replace(self, backbone=spec.name, alpha=None)

    @property
    def preprocessing(self) -> PreprocessConfig:
        """The preprocessing contract parameters of the model's input."""
        return PreprocessConfig(height=self.size, width=self.size, crop=self.crop)

    def to_dict(self) -> Dict[str, Any]:
        """JSON form for ``config.json``: every field plus ``"preprocessing": PreprocessConfig.to_dict()`` and
        ``"model": BackboneSpec.to_dict()`` (the backbone resolved: name, family, normalisation)."""
        data = dataclasses.asdict(self)
        data["preprocessing"] = self.preprocessing.to_dict()
        spec = self.spec
        data["model"] = spec.to_dict() if spec is not None else None
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
