"""Runs INSIDE .venv-reference (tflite-support 0.4.4, the reference implementation of the TFLite metadata format).

Called in a subprocess by tests/reference/__init__.py helpers; prints JSON on stdout. Never imported by edge-kit.

    display MODEL...      MetadataDisplayer's view of each model: metadata JSON, packed file names and contents
    write SPEC.json OUT   write metadata with tflite-support's own image-classifier writers (what edge-kit did
                          before it had its own writer), from the raw model and texts named in SPEC.json
    min_version META...   tflite-support's minimum parser version of metadata FlatBuffers (M001 files)
"""
import base64
import json
import os
import sys
import tempfile

from tensorflow_lite_support.metadata import metadata_schema_py_generated as md_fb
from tensorflow_lite_support.metadata import schema_py_generated as schema
from tensorflow_lite_support.metadata.python import metadata as _metadata
from tensorflow_lite_support.metadata.python.metadata_writers import metadata_info, metadata_writer


def display(paths):
    out = []
    for path in paths:
        displayer = _metadata.MetadataDisplayer.with_model_file(path)
        packed = displayer.get_packed_associated_file_list()
        out.append({
            "metadata": json.loads(displayer.get_metadata_json()),
            "packed_files": packed,
            "files": {n: base64.b64encode(displayer.get_associated_file_buffer(n)).decode() for n in packed},
        })
    return out


def write(spec_path, out_path):
    with open(spec_path) as f:
        spec = json.load(f)
    with open(spec["model"], "rb") as f:
        model = f.read()
    sub = schema.Model.GetRootAsModel(model, 0).Subgraphs(0)
    in_type = sub.Tensors(sub.Inputs(0)).Type()
    out_type = sub.Tensors(sub.Outputs(0)).Type()
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, text in spec["files"]:
            files.append(os.path.join(tmp, name))
            with open(files[-1], "wb") as f:
                f.write(base64.b64decode(text))
        general = metadata_info.GeneralMd(
            name=spec["name"], version=spec["version"], description=spec["description"], author=spec["author"],
            licenses=spec["license"]).create_metadata()
        model_files = []
        for name, description, file_type in spec["model_files"]:
            f = md_fb.AssociatedFileT()
            f.name, f.description, f.type = name, description, file_type
            model_files.append(f)
        general.associatedFiles = model_files or None
        input_md = metadata_info.InputImageTensorMd(
            name="image", description=spec["input_description"], norm_mean=spec["mean"], norm_std=spec["std"],
            color_space_type=md_fb.ColorSpaceType.RGB, tensor_type=in_type).create_metadata()
        output_md = metadata_info.ClassificationTensorMd(
            name="probability", description=spec["output_description"],
            label_files=[metadata_info.LabelFileMd(files[0])], tensor_type=out_type).create_metadata()
        writer = metadata_writer.MetadataWriter.create_from_metadata(
            bytearray(model), general, [input_md], [output_md], associated_files=files)
        data = bytes(writer.populate())
    with open(out_path, "wb") as f:
        f.write(data)
    return {"written": out_path}


def min_version(paths):
    from tensorflow_lite_support.metadata.cc.python import _pywrap_metadata_version

    out = []
    for path in paths:
        with open(path, "rb") as f:
            out.append(_pywrap_metadata_version.GetMinimumMetadataParserVersion(f.read()))
    return out


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    result = {"display": lambda: display(args), "write": lambda: write(*args),
              "min_version": lambda: min_version(args)}[command]()
    json.dump(result, sys.stdout)
