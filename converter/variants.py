"""Convert the frozen model into each ``.tflite`` variant, and verify the int8 one is integer-only."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from common.tf_startup import CONVERTER_NOISE, filtered_stderr
from converter.config import VARIANTS
from converter.errors import ConvertError
from converter.tflite_schema import io_tensors, operators, tensor_type_name

#: Tensor types allowed in a full-integer model (int32 for biases and shapes, int64 for some shape ops).
INTEGER_TYPES = ("int8", "uint8", "int16", "int32", "int64")


def convert_variant(
    frozen_function: Any,
    variant: str,
    representative_dataset: Optional[Callable[[], Any]] = None,
    int8_io: str = "uint8",
) -> bytes:
    """Convert ``frozen_function`` (see :func:`converter.trace.freeze`) to ``variant``; returns the flatbuffer.

    int8 allows only ``TFLITE_BUILTINS_INT8`` ops (the converter fails instead of falling back to float ops) and
    uses ``int8_io`` (``"uint8"`` or ``"int8"``) for the input and output tensors.
    """
    import tensorflow as tf

    if variant not in VARIANTS:
        raise ConvertError(f"unknown variant {variant!r}; choose from: {', '.join(VARIANTS)}")
    with filtered_stderr(CONVERTER_NOISE):  # its note that this entry point is deprecated
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen_function])
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "int8":
        if representative_dataset is None:
            raise ConvertError("the int8 variant needs calibration photos (a representative dataset)")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_type = {"uint8": tf.uint8, "int8": tf.int8}[int8_io]
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    try:
        with filtered_stderr(CONVERTER_NOISE):  # the converter's own boilerplate lines; anything else still shows
            model = converter.convert()
    except Exception as exc:
        raise ConvertError(
            f"converting to {variant} failed: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else exc!r}"
            + ("; an op has no integer kernel. Keep float for it (use the dynamic variant) or replace that layer."
               if variant == "int8" else "")
        ) from exc
    if variant == "int8":
        check_integer_only(model, int8_io)
    return bytes(model)


def tensor_types(model: bytes) -> Dict[str, Any]:
    """Input/output dtypes and, per operator, the dtypes of its tensors, read from the flatbuffer itself."""
    inputs, outputs = io_tensors(model)
    ops: List[Dict[str, Any]] = [
        {"op": name, "types": sorted({tensor_type_name(t) for t in types})} for name, types in operators(model)
    ]
    return {"input": tensor_type_name(inputs[0][1]), "output": tensor_type_name(outputs[0][1]), "ops": ops}


def check_integer_only(model: bytes, int8_io: str = "uint8") -> None:
    """Raise :class:`ConvertError` unless every operator's tensors are integer and the input/output are ``int8_io``."""
    info = tensor_types(model)
    if info["input"] != int8_io or info["output"] != int8_io:
        raise ConvertError(
            f"the int8 model's input/output are {info['input']}/{info['output']}, expected {int8_io}/{int8_io}"
        )
    float_ops = [op["op"] for op in info["ops"] if any(t not in INTEGER_TYPES for t in op["types"])]
    if float_ops:
        raise ConvertError(
            f"the int8 model still has float operators ({', '.join(sorted(set(float_ops)))}); integer-only "
            "inference is required. Replace those layers, or use the dynamic variant."
        )
