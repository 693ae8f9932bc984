"""Conversion options (:class:`ConvertConfig`) and the variant names."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Tuple

from common import defaults
from common.validation import SEED, Rule, check_fields
from converter.errors import ConvertError

#: Every variant edge-kit can write, in report order.
VARIANTS: Tuple[str, ...] = ("float32", "float16", "dynamic", "int8")
#: Written when no ``variants`` are given.
DEFAULT_VARIANTS: Tuple[str, ...] = VARIANTS

VARIANT_DESCRIPTIONS = {
    "float32": "float32 weights and activations (reference)",
    "float16": "float16 weights, float32 compute (GPU delegates run it natively)",
    "dynamic": "int8 weights, float activations (dynamic-range quantization)",
    "int8": "full-integer post-training quantization: int8 weights and activations, integer-only ops",
}

INT8_IO_TYPES = ("uint8", "int8")


def parse_variants(names: Iterable[str] | str) -> Tuple[str, ...]:
    """Validate variant names (a list or a comma-separated string); returns them de-duplicated in report order.

    Raises :class:`ConvertError` for an unknown or empty list.
    """
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    cleaned = [n.strip().lower() for n in names if n and n.strip()]
    if not cleaned:
        raise ConvertError(f"no variant given; choose from: {', '.join(VARIANTS)}")
    unknown = [n for n in cleaned if n not in VARIANTS]
    if unknown:
        raise ConvertError(
            f"unknown variant {unknown[0]!r}; choose from: {', '.join(VARIANTS)} "
            f"(e.g. --variants float32,int8)"
        )
    return tuple(v for v in VARIANTS if v in cleaned)


#: The range or the choices of each :class:`ConvertConfig` field (besides its type).
RULES = {
    "calibration_size": Rule(1, hint="a few hundred photos is typical"),
    "seed": SEED,
    "int8_io": Rule(choices=INT8_IO_TYPES),
    "qat_epochs": Rule(1, hint="or turn QAT off (--no-qat)"),
    "qat_learning_rate": Rule(0, low_open=True),
    "max_accuracy_drop": Rule(0, hint="percentage points of top-1; leave it out (edge-convert: a negative value) to "
                                      "turn the gate off"),
    "qat_limit": Rule(0, hint="percentage points of top-1"),
    "check_photos": Rule(1, hint="a few hundred photos or more is typical"),
    "num_threads": Rule(1),
}


@dataclass(frozen=True)
class ConvertConfig:
    """What :func:`converter.convert` does.

    variants: which ``.tflite`` files to write (see :data:`VARIANTS`).
    calibration_size: photos from the training split used to calibrate int8 (stratified over classes, seeded).
    seed: picks the calibration photos.
    int8_io: tensor type of the int8 model's input and output: ``"uint8"`` (Android / Task Library) or ``"int8"``.
    qat: quantization-aware training before the int8 export: None (the default) only when post-training int8 fails
        the accuracy gate, True always, False never.
    qat_epochs / qat_learning_rate: the QAT fine-tune.
    max_accuracy_drop: allowed int8 top-1 loss vs float32, in percentage points, beyond noise (:mod:`common.gates`);
        ``None`` disables the gate.
    check_photos: training and validation photos (a stratified sample, at most this many) every variant is compared
        with float32 on, for the gate and the automatic QAT decision.
    num_threads: interpreter threads for evaluation and latency (``None``: the device default).
    evaluate: run every variant on the validation split and write the report.
    output_dir: where files go (default ``<run>/tflite``).
    model_name / description / version / author / license: written into the metadata.
    """

    variants: Tuple[str, ...] = DEFAULT_VARIANTS
    calibration_size: int = defaults.CALIBRATION_SIZE
    seed: int = 0
    int8_io: str = "uint8"
    qat: Optional[bool] = defaults.QAT
    # The limit the automatic QAT decision (qat=None) uses: None = max_accuracy_drop, or the default limit when the
    # gate is off (edge-kit applies its gate at the export stage and passes its limit here).
    qat_limit: Optional[float] = None
    qat_epochs: int = defaults.QAT_EPOCHS
    # The epochs and learning rate with the best agreement with the float model (docs/benchmarks.md, QAT).
    qat_learning_rate: float = 3e-5
    max_accuracy_drop: Optional[float] = defaults.MAX_ACCURACY_DROP
    check_photos: int = defaults.CHECK_PHOTOS
    num_threads: Optional[int] = None
    evaluate: bool = True
    output_dir: Optional[str] = None
    model_name: Optional[str] = None
    description: Optional[str] = None
    version: str = "1"
    author: str = "edge-kit"
    license: str = "Apache-2.0"
    verbose: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variants", parse_variants(self.variants))
        # Every field against its annotation and RULES: flags, --set and TOML meet the same rule.
        check_fields(self, RULES, ConvertError, skip=("variants", "extra"))
