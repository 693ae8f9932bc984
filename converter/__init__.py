"""edge-kit converter: a trained run folder -> quantized ``.tflite`` variants with metadata, each evaluated.

    >>> from converter import convert, ConvertConfig
    >>> result = convert("runs/flowers", ConvertConfig(variants=("float32", "int8")))
    >>> result.files["int8"]                      # runs/flowers/tflite/model_int8.tflite
    >>> result.report["variants"]["int8"]["top1"]

TensorFlow is imported lazily, so ``import converter`` stays cheap.
"""
from converter.config import DEFAULT_VARIANTS, VARIANTS, ConvertConfig
from converter.errors import AccuracyGateError, ConvertError

__all__ = [
    "AccuracyGateError",
    "ConversionResult",
    "ConvertConfig",
    "ConvertError",
    "DEFAULT_VARIANTS",
    "VARIANTS",
    "convert",
    "export_variant",
]


def __getattr__(name: str):
    if name in ("convert", "ConversionResult"):
        from converter import api

        return getattr(api, name)
    if name == "export_variant":
        from converter.export import export_variant

        return export_variant
    raise AttributeError(name)
