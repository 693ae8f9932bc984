"""Image-classifier metadata: what edge-kit writes into every ``.tflite`` and how it checks it afterwards.

What is written: name, description, version, author, licence; the input as an RGB image with normalisation
mean 0 / std 1 (edge-kit models take raw 0-255 pixels and normalise inside); the output as class probabilities
with ``labels.txt`` packed as its ``TENSOR_AXIS_LABELS`` file; and the preprocessing contract parameters as the
model-level associated file ``edge_kit_preprocessing.json``. The standard TFLite metadata format, written by
:mod:`converter.metadata_writer` (no tflite-support needed; see docs/metadata.md).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import List, Optional, Sequence

from converter import metadata_writer as mw
from converter.errors import ConvertError
from converter.tflite_metadata_fb import metadata_schema_py_generated as md
from converter.tflite_schema import io_tensors
from device.metadata import read_model_info
from device.preprocess import PreprocessConfig

PREPROCESSING_FILE = "edge_kit_preprocessing.json"
LABELS_FILE = "labels.txt"
PREPROCESSING_DESCRIPTION = (
    "edge-kit preprocessing contract parameters (decode, crop, resize) that produce this model's input "
    "pixels; see docs/preprocessing.md."
)


@dataclass(frozen=True)
class ModelCard:
    """The general metadata fields."""

    name: str
    description: str
    version: str = "1"
    author: str = "edge-kit"
    license: str = "Apache-2.0"


def add_classifier_metadata(model: bytes, labels: Sequence[str], card: ModelCard, mean: Sequence[float],
                            std: Sequence[float], input_description: str, output_description: Optional[str] = None,
                            model_files: Sequence[mw.ModelFile] = (), source: str = "<model bytes>") -> bytes:
    """Return ``model`` (an image classifier: one image input, one score output) with standard metadata.

    Any classifier, edge-kit's or not: float32, uint8 or int8 input; ``mean``/``std`` are the normalisation the
    input expects (``(pixel - mean) / std``, one value or one per channel); ``labels`` are packed as
    ``labels.txt`` (the output's ``TENSOR_AXIS_LABELS`` file); ``model_files`` are extra model-level files
    (:class:`converter.metadata_writer.ModelFile`). The stored value ranges follow the tensor types.
    """
    (inputs, outputs) = io_tensors(model)
    if len(inputs) != 1 or len(outputs) != 1:
        raise ConvertError(f"{source}: an image classifier has one input and one output; this model has "
                           f"{len(inputs)} and {len(outputs)}.")
    scores = outputs[0][2][-1] if outputs[0][2] else 0
    if scores and len(labels) != scores:
        raise ConvertError(f"{source}: {len(labels)} labels for an output of {scores} scores; give one label per "
                           "score, in the model's order.")
    meta = mw.model_metadata(
        name=card.name, description=card.description, version=card.version, author=card.author,
        license=card.license,
        associated_files=[mw.associated_file(f.name, f.description, f.file_type) for f in model_files],
    )
    image = mw.image_input_metadata("image", input_description, inputs[0][1], mean, std, md.ColorSpaceType.RGB)
    probability = mw.classification_output_metadata(
        "probability", output_description or scores_description(labels),
        outputs[0][1], [mw.label_file(LABELS_FILE)])
    labels_bytes = ("\n".join(labels) + "\n").encode("utf-8")
    files = [(LABELS_FILE, labels_bytes)] + [(f.name, f.data) for f in model_files]
    return mw.populate(model, meta, [image], [probability], files, source)


def add_metadata(model: bytes, labels: List[str], preprocessing: PreprocessConfig, card: ModelCard) -> bytes:
    """Return ``model`` (an edge-kit classifier: raw 0-255 pixels in) with metadata, the labels and the
    preprocessing parameters packed in."""
    contract = mw.ModelFile(PREPROCESSING_FILE, json.dumps(preprocessing.to_dict()).encode("utf-8"),
                            PREPROCESSING_DESCRIPTION, md.AssociatedFileType.DESCRIPTIONS)
    return add_classifier_metadata(model, labels, card, [0.0], [1.0], contract_input_description(preprocessing),
                                   scores_description(labels), model_files=[contract])


def contract_input_description(preprocessing: PreprocessConfig) -> str:
    """The input tensor's description in an edge-kit model's metadata."""
    return (f"RGB photo, {preprocessing.height}x{preprocessing.width}, raw pixel values 0-255 "
            f"({preprocessing.crop} crop; the model normalises internally).")


def scores_description(labels: Sequence[str]) -> str:
    """The output tensor's description in a classifier's metadata."""
    return f"Probabilities (softmax) of the {len(labels)} labels."


def verify_metadata(model: bytes, labels: List[str], preprocessing: PreprocessConfig, source: str) -> None:
    """Read the metadata of ``model`` back and check it against what was meant to be written.

    Labels (count equals the output size, same text), normalisation (mean 0, std 1), input shape equals the
    contract's size, and the packed contract parameters. Any mismatch raises :class:`ConvertError`.
    """
    info = read_model_info(model, source=source)
    if info.metadata is None:
        raise ConvertError(f"{source}: no metadata found after writing it; the metadata writer failed silently.")
    inputs, outputs = io_tensors(model)  # shapes from the FlatBuffer: no interpreter needed
    in_shape = inputs[0][2]
    out_size = 1
    for dim in outputs[0][2][1:]:
        out_size *= dim
    problems = []
    if info.labels is None:
        problems.append("no labels file packed for the output")
    elif len(info.labels) != out_size:
        problems.append(f"{len(info.labels)} labels packed but the output has {out_size} scores")
    elif info.labels != list(labels):
        problems.append("packed labels differ from labels.txt")
    tensor = info.metadata.inputs[0] if info.metadata.inputs else None
    if tensor is None or tensor.mean != (0.0,) or tensor.std != (1.0,):
        problems.append(f"input normalisation is mean {getattr(tensor, 'mean', None)} / std "
                        f"{getattr(tensor, 'std', None)}, expected mean 0 / std 1 (raw 0-255 pixels)")
    if len(in_shape) != 4 or in_shape[1:3] != [preprocessing.height, preprocessing.width] or in_shape[3] != 3:
        problems.append(f"input shape {in_shape} does not match the contract size "
                        f"{preprocessing.height}x{preprocessing.width}x3")
    if info.preprocessing is None:
        problems.append(f"{PREPROCESSING_FILE} not packed")
    elif PreprocessConfig.from_dict(info.preprocessing) != preprocessing:
        problems.append(f"packed {PREPROCESSING_FILE} differs from the run's preprocessing")
    if problems:
        raise ConvertError(f"{source}: metadata check failed: {'; '.join(problems)}. Re-run edge-convert.")
