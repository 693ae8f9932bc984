"""Metadata for any image-classifier ``.tflite`` (``edge-convert metadata``), not only the ones edge-kit converts.

A model made elsewhere (Teachable Machine, the official examples, another trainer) often ships without metadata:
no labels, no normalisation, so apps and scripts cannot read how to feed it. :func:`write_classifier_metadata`
checks that the file is an image classifier (one ``1xHxWx3`` input, one ``1xN`` output), takes the labels (plain
lines or Teachable Machine's ``N Name`` lines), the normalisation (given, read from the model's existing metadata,
or, for a quantized input, implied by its quantization) and the crop mode, and writes edge-kit's metadata
(:func:`converter.metadata.add_classifier_metadata`, with the preprocessing contract packed) into a new file.

Only the FlatBuffer is rewritten: TensorFlow is not imported (:mod:`converter.tflite_schema` loads the schema
bindings on their own).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from common.atomic import atomic_write_bytes
from converter import metadata_writer as mw
from converter.errors import ConvertError
from converter.metadata import PREPROCESSING_DESCRIPTION, PREPROCESSING_FILE, ModelCard, add_classifier_metadata
from converter.tflite_metadata_fb import metadata_schema_py_generated as md
from converter.tflite_schema import schema
from device.errors import ModelError
from device.input_encoding import check_normalization, make_input_encoding
from device.labels import read_labels_file
from device.metadata import read_model_info
from device.preprocess import CROP_MODES, PreprocessConfig

PathLike = Union[str, Path]

#: Input tensor types an image classifier may take.
_INPUT_TYPES = ("float32", "uint8", "int8")


@dataclass(frozen=True)
class ClassifierShape:
    """What :func:`inspect_classifier` found: input size and type, number of scores, whether the output is a
    softmax, and the input's quantization (``scale`` 0 when it has none)."""

    height: int
    width: int
    input_type: str
    num_scores: int
    softmax: bool
    scale: float = 0.0
    zero_point: int = 0


def _type_name(type_value: int) -> str:
    names = {v: k.lower() for k, v in vars(schema().TensorType).items() if not k.startswith("_")}
    return names.get(type_value, str(type_value))


def inspect_classifier(model: bytes, source: str = "<model bytes>") -> ClassifierShape:
    """Read the model's input and output from the FlatBuffer (no interpreter) and check it is an image classifier.

    Raises :class:`ConvertError` naming what was found when it has not exactly one ``1xHxWx3`` float32/uint8/int8
    input and one ``1xN`` output.
    """
    s = schema()
    try:
        root = s.Model.GetRootAsModel(model, 0)
        graph = root.Subgraphs(0)
        inputs = [graph.Inputs(i) for i in range(graph.InputsLength())]
        outputs = [graph.Outputs(i) for i in range(graph.OutputsLength())]
    except Exception as exc:  # the generated reader raises whatever a bad offset causes
        raise ConvertError(f"{source}: not a readable TFLite model ({type(exc).__name__}: {exc}).") from exc

    def shape(index: int) -> List[int]:
        tensor = graph.Tensors(index)
        return [int(v) for v in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []

    if len(inputs) != 1 or len(outputs) != 1:
        raise ConvertError(
            f"{source}: not an image classifier: it has {len(inputs)} input(s) "
            f"{[shape(i) for i in inputs]} and {len(outputs)} output(s) {[shape(i) for i in outputs]}; "
            "edge-convert metadata needs one 1xHxWx3 image input and one 1xN score output.")
    in_tensor = graph.Tensors(inputs[0])
    in_shape, out_shape = shape(inputs[0]), shape(outputs[0])
    in_type, out_type = _type_name(in_tensor.Type()), _type_name(graph.Tensors(outputs[0]).Type())
    if len(in_shape) != 4 or in_shape[0] != 1 or in_shape[3] != 3 or min(in_shape[1:3]) < 1:
        raise ConvertError(
            f"{source}: not an image classifier: its input is {'x'.join(map(str, in_shape)) or 'a scalar'} "
            f"({in_type}); edge-convert metadata needs a 1xHxWx3 RGB image input.")
    if len(out_shape) != 2 or out_shape[0] != 1 or out_shape[1] < 1:
        raise ConvertError(
            f"{source}: not an image classifier: its output is {'x'.join(map(str, out_shape)) or 'a scalar'} "
            f"({out_type}); edge-convert metadata needs a 1xN score output (one score per label).")
    if in_type not in _INPUT_TYPES:
        raise ConvertError(f"{source}: input type {in_type} is not supported; an image classifier takes "
                           f"{', '.join(_INPUT_TYPES)}.")
    scale, zero_point = 0.0, 0
    quant = in_tensor.Quantization()
    if quant is not None and quant.ScaleLength() == 1 and quant.ZeroPointLength() == 1:
        scale, zero_point = float(quant.Scale(0)), int(quant.ZeroPoint(0))
    return ClassifierShape(height=in_shape[1], width=in_shape[2], input_type=in_type, num_scores=out_shape[1],
                           softmax=_ends_in_softmax(root, graph, outputs[0]), scale=scale, zero_point=zero_point)


def _ends_in_softmax(root, graph, output: int) -> bool:
    """Whether the output comes from a SOFTMAX, directly or through (de)quantize ops."""
    s = schema()
    producers = {}
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        for j in range(op.OutputsLength()):
            producers[op.Outputs(j)] = op
    tensor = output
    for _ in range(4):
        op = producers.get(tensor)
        if op is None:
            return False
        code = root.OperatorCodes(op.OpcodeIndex())
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        if builtin == s.BuiltinOperator.SOFTMAX:
            return True
        if builtin not in (s.BuiltinOperator.QUANTIZE, s.BuiltinOperator.DEQUANTIZE) or op.InputsLength() < 1:
            return False
        tensor = op.Inputs(0)
    return False


def quantization_normalisation(shape: ClassifierShape) -> Tuple[List[float], List[float]]:
    """``(mean, std)`` under which raw 0-255 pixels map exactly onto a quantized input.

    A quantized input stores ``float = (q - zero_point) * scale``; a runtime feeds ``q = pixel`` (uint8) or
    ``pixel - 128`` (int8), so the float the model sees is ``(pixel - mean) / std`` with these values.
    """
    natural = 0 if shape.input_type == "uint8" else -128
    if shape.scale <= 0:
        return [0.0], [1.0]
    return [float(shape.zero_point - natural)], [1.0 / shape.scale]


def _check_against_quantization(shape: ClassifierShape, mean: Sequence[float], std: Sequence[float],
                                source: str) -> None:
    """Refuse a ``mean``/``std`` that contradicts a quantized input's own quantization: a runtime would then
    requantize every pixel (:mod:`device.input_encoding`'s rule) instead of feeding it as stored, and the model
    would see other values than it was quantized for: confidently wrong answers."""
    if shape.input_type == "float32" or shape.scale <= 0:
        return
    encoding = make_input_encoding(np.dtype(shape.input_type), shape.scale, shape.zero_point, mean, std, source)
    if encoding.mode == "exact":
        return
    implied_mean, implied_std = quantization_normalisation(shape)
    raise ConvertError(
        f"{source}: --mean {_fmt(mean)} --std {_fmt(std)} contradict its {shape.input_type} input quantization "
        f"(scale {shape.scale:g}, zero point {shape.zero_point}, which means --mean {_fmt(implied_mean)} --std "
        f"{_fmt(implied_std)}); leave --mean/--std out: for a quantized input they follow from its quantization.")


def read_labels(path: PathLike) -> List[str]:
    """Labels from ``path`` (one per line, or Teachable Machine's ``N Name`` lines: the numbers give the order)."""
    try:
        return read_labels_file(path)
    except ModelError as exc:
        raise ConvertError(str(exc)) from exc


def default_output(model_path: PathLike) -> Path:
    """Where the model with metadata goes when no ``-o`` is given: beside it, never over it."""
    p = Path(model_path)
    return p.with_name(f"{p.stem}_metadata.tflite")


def write_classifier_metadata(model_path: PathLike, labels: Optional[Sequence[str]] = None,
                              out: Optional[PathLike] = None, mean: Optional[Sequence[float]] = None,
                              std: Optional[Sequence[float]] = None, crop: str = "center",
                              name: Optional[str] = None) -> Path:
    """Write ``model_path`` with edge-kit metadata to ``out`` (default: ``<stem>_metadata.tflite`` beside it).

    ``labels``: one per score, in output order (default: the labels already packed in the model). ``mean``/``std``:
    the input normalisation ``(pixel - mean) / std``; by default the model's existing metadata, else (quantized
    input) what its quantization implies; a float input with neither is refused, since a wrong guess gives
    confident wrong answers. ``crop``: how photos are fitted to the input (packed as the preprocessing contract).
    The input file is only replaced when ``out`` names it; the output is written atomically.
    """
    src = Path(model_path)
    if crop not in CROP_MODES:
        raise ConvertError(f"unknown crop mode {crop!r}; use one of: {', '.join(CROP_MODES)}.")
    if (mean is None) != (std is None):
        raise ConvertError("give --mean and --std together (the input normalisation is (pixel - mean) / std).")
    if mean is not None:
        try:
            mean, std = (list(v) for v in check_normalization(mean, std))
        except ValueError as exc:
            raise ConvertError(f"{exc}.") from None
    if not src.is_file():
        raise ConvertError(f"{src}: model file not found. Give the path of a .tflite image classifier.")
    model = src.read_bytes()
    shape = inspect_classifier(model, str(src))
    if mean is not None:
        _check_against_quantization(shape, mean, std, str(src))
    try:
        info = read_model_info(model, source=str(src))
    except ModelError:
        info = None  # unreadable old metadata is replaced as a whole
    if labels is None:
        labels = info.labels if info is not None and info.labels else None
        if labels is None:
            raise ConvertError(f"{src}: the model has no labels packed; give them with --labels labels.txt (one per "
                               "line, or Teachable Machine's 'N Name' lines).")
    labels = list(labels)
    if len(labels) != shape.num_scores:
        raise ConvertError(f"{src}: {len(labels)} labels for an output of {shape.num_scores} scores; give one label "
                           "per score, in the model's order (a 1001-score ImageNet model needs 'background' first).")
    if mean is None:
        existing = info.metadata.inputs[0] if info is not None and info.metadata and info.metadata.inputs else None
        if existing is not None and existing.mean is not None and existing.std is not None:
            mean, std = list(existing.mean), list(existing.std)
        elif shape.input_type != "float32":
            mean, std = quantization_normalisation(shape)
        else:
            raise ConvertError(
                f"{src}: float32 input and no normalisation in the model; give --mean and --std (the model sees "
                "(pixel - mean) / std). Teachable Machine and Keras MobileNet: --mean 127.5 --std 127.5 ([-1, 1]); "
                "inputs in [0, 1]: --mean 0 --std 255; raw 0-255 pixels: --mean 0 --std 1.")
    preprocessing = PreprocessConfig(height=shape.height, width=shape.width, crop=crop)
    contract = mw.ModelFile(PREPROCESSING_FILE, json.dumps(preprocessing.to_dict()).encode("utf-8"),
                            PREPROCESSING_DESCRIPTION, md.AssociatedFileType.DESCRIPTIONS)
    card = ModelCard(name=name or src.stem, description=f"Image classifier ({shape.num_scores} labels).",
                     version="1", author="unknown (metadata added by edge-kit)", license="unknown")
    norm = f"normalised as (pixel - {_fmt(mean)}) / {_fmt(std)}"
    input_description = (f"RGB photo, {shape.height}x{shape.width} ({crop} crop), {shape.input_type}, {norm}.")
    output_description = (f"Probabilities (softmax) of the {len(labels)} labels." if shape.softmax
                          else f"Scores of the {len(labels)} labels (higher is more likely).")
    data = add_classifier_metadata(model, labels, card, mean, std, input_description, output_description,
                                   model_files=[contract], source=str(src))
    destination = Path(out) if out is not None else default_output(src)
    if destination.is_dir():
        raise ConvertError(f"{destination}: is a folder; give -o a file name such as {destination / src.name}.")
    if not destination.parent.is_dir():
        raise ConvertError(f"{destination.parent}: folder not found; create it or give -o another path.")
    return atomic_write_bytes(destination, data)


def _fmt(values: Sequence[float]) -> str:
    text = [f"{v:g}" for v in values]
    return text[0] if len(set(text)) == 1 else "(" + ", ".join(text) + ")"
