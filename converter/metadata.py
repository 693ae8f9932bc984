"""Write TFLite metadata (tflite-support image-classifier writer) and read it back to verify it.

What is written: name, description, version, author, licence; the input as an RGB image with normalisation
mean 0 / std 1 (edge-kit models take raw 0-255 pixels and normalise inside); the output as class probabilities
with ``labels.txt`` packed as its ``TENSOR_AXIS_LABELS`` file; and the preprocessing contract parameters as the
model-level associated file ``edge_kit_preprocessing.json``.
"""
from __future__ import annotations

import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import List

import numpy as np

from converter.errors import ConvertError
from device.metadata import read_model_info
from device.preprocess import PreprocessConfig

PREPROCESSING_FILE = "edge_kit_preprocessing.json"
LABELS_FILE = "labels.txt"


@dataclass(frozen=True)
class ModelCard:
    """The general metadata fields."""

    name: str
    description: str
    version: str = "1"
    author: str = "edge-kit"
    license: str = "Apache-2.0"


def _tensor_type(model: bytes, output: bool):
    from tensorflow_lite_support.metadata import schema_py_generated as schema

    m = schema.Model.GetRootAsModel(model, 0)
    sub = m.Subgraphs(0)
    index = sub.Outputs(0) if output else sub.Inputs(0)
    return sub.Tensors(index).Type()


def add_metadata(model: bytes, labels: List[str], preprocessing: PreprocessConfig, card: ModelCard) -> bytes:
    """Return ``model`` with metadata, the labels and the preprocessing parameters packed in."""
    from tensorflow_lite_support.metadata import metadata_schema_py_generated as md_fb
    from tensorflow_lite_support.metadata.python.metadata_writers import metadata_info, metadata_writer

    in_type = _tensor_type(model, output=False)
    out_type = _tensor_type(model, output=True)
    with tempfile.TemporaryDirectory() as tmp:
        labels_path = Path(tmp) / LABELS_FILE
        labels_path.write_text("\n".join(labels) + "\n", encoding="utf-8")
        pre_path = Path(tmp) / PREPROCESSING_FILE
        pre_path.write_text(json.dumps(preprocessing.to_dict()), encoding="utf-8")

        general = metadata_info.GeneralMd(
            name=card.name, version=card.version, description=card.description, author=card.author,
            licenses=card.license,
        ).create_metadata()
        pre_md = md_fb.AssociatedFileT()
        pre_md.name = PREPROCESSING_FILE
        pre_md.description = (
            "edge-kit preprocessing contract parameters (decode, crop, resize) that produce this model's input "
            "pixels; see docs/preprocessing.md."
        )
        pre_md.type = md_fb.AssociatedFileType.DESCRIPTIONS
        general.associatedFiles = [pre_md]

        input_md = metadata_info.InputImageTensorMd(
            name="image",
            description=(
                f"RGB photo, {preprocessing.height}x{preprocessing.width}, raw pixel values 0-255 "
                f"({preprocessing.crop} crop; the model normalises internally)."
            ),
            norm_mean=[0.0], norm_std=[1.0],
            color_space_type=md_fb.ColorSpaceType.RGB, tensor_type=in_type,
        ).create_metadata()
        output_md = metadata_info.ClassificationTensorMd(
            name="probability",
            description=f"Probabilities (softmax) of the {len(labels)} labels.",
            label_files=[metadata_info.LabelFileMd(str(labels_path))],
            tensor_type=out_type,
        ).create_metadata()
        writer = metadata_writer.MetadataWriter.create_from_metadata(
            bytearray(model), general, [input_md], [output_md],
            associated_files=[str(labels_path), str(pre_path)],
        )
        return bytes(writer.populate())


def verify_metadata(model: bytes, labels: List[str], preprocessing: PreprocessConfig, source: str) -> None:
    """Read the metadata of ``model`` back and check it against what was meant to be written.

    Labels (count equals the output size, same text), normalisation (mean 0, std 1), input shape equals the
    contract's size, and the packed contract parameters. Any mismatch raises :class:`ConvertError`.
    """
    import tensorflow as tf

    info = read_model_info(model, source=source)
    if info.metadata is None:
        raise ConvertError(f"{source}: no metadata found after writing it; the metadata writer failed silently.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        interp = tf.lite.Interpreter(model_content=model)
    in_shape = list(interp.get_input_details()[0]["shape"])
    out_size = int(np.prod(interp.get_output_details()[0]["shape"][1:]))
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
    if in_shape[1:3] != [preprocessing.height, preprocessing.width] or in_shape[3] != 3:
        problems.append(f"input shape {in_shape} does not match the contract size "
                        f"{preprocessing.height}x{preprocessing.width}x3")
    if info.preprocessing is None:
        problems.append(f"{PREPROCESSING_FILE} not packed")
    elif PreprocessConfig.from_dict(info.preprocessing) != preprocessing:
        problems.append(f"packed {PREPROCESSING_FILE} differs from the run's preprocessing")
    if problems:
        raise ConvertError(f"{source}: metadata check failed: {'; '.join(problems)}. Re-run edge-convert.")
