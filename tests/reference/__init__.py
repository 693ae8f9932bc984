"""tflite-support 0.4.4 as the reference of the TFLite metadata format, run in its own venv (.venv-reference).

tflite-support installs only on CPython <= 3.11 x86-64 with numpy 1 and protobuf 3, so no user install has it:
``bash scripts/reference_venv.sh`` creates ``.venv-reference`` and the tests marked ``reference`` call it in a
subprocess (``tests/reference/tflite_support_cli.py``). Without that venv they skip with one line saying how to
make it. ``$EDGE_KIT_REFERENCE_PYTHON`` points at another interpreter that has tflite-support 0.4.4.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(__file__).resolve().parent / "tflite_support_cli.py"
SKIP_REASON = "no .venv-reference with tflite-support 0.4.4 (make it: bash scripts/reference_venv.sh)"


def reference_python() -> Optional[Path]:
    """The interpreter of the reference venv, or ``None`` when there is none."""
    given = os.environ.get("EDGE_KIT_REFERENCE_PYTHON")
    path = Path(given) if given else REPO_ROOT / ".venv-reference" / "bin" / "python"
    return path if path.is_file() else None


def _run(*args: str) -> Any:
    python = reference_python()
    if python is None:
        raise RuntimeError(SKIP_REASON)
    done = subprocess.run([str(python), str(CLI), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ""})
    if done.returncode != 0:
        raise RuntimeError(f"tflite-support reference failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def display(models: Dict[str, Union[bytes, Path]]) -> Dict[str, Dict[str, Any]]:
    """``{name: {"metadata": dict, "packed_files": [..], "files": {name: bytes}}}`` as tflite-support's
    ``MetadataDisplayer`` reads each model (bytes or path)."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, model in models.items():
            if isinstance(model, (bytes, bytearray)):
                path = Path(tmp) / f"{name}.tflite"
                path.write_bytes(model)
                model = path
            paths.append(str(model))
        shown = _run("display", *paths)
    out = {}
    for name, item in zip(models, shown):
        item["files"] = {k: base64.b64decode(v) for k, v in item["files"].items()}
        out[name] = item
    return out


def write_with_tflite_support(raw_model: bytes, card: Dict[str, str], mean: Sequence[float], std: Sequence[float],
                              input_description: str, output_description: str,
                              files: List[Tuple[str, bytes]], model_files: List[Tuple[str, str, int]]) -> bytes:
    """The model with metadata written by tflite-support's own image-classifier writers: ``files[0]`` is the
    labels file, ``model_files`` are ``(name, description, AssociatedFileType)`` of model-level files."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.tflite"
        raw.write_bytes(raw_model)
        spec = {**card, "model": str(raw), "mean": list(mean), "std": list(std),
                "input_description": input_description, "output_description": output_description,
                "files": [(n, base64.b64encode(d).decode()) for n, d in files], "model_files": model_files}
        (Path(tmp) / "spec.json").write_text(json.dumps(spec))
        out = Path(tmp) / "out.tflite"
        _run("write", str(Path(tmp) / "spec.json"), str(out))
        return out.read_bytes()


def min_parser_versions(buffers: Sequence[bytes]) -> List[str]:
    """tflite-support's minimum metadata parser version of each metadata FlatBuffer."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, data in enumerate(buffers):
            paths.append(str(Path(tmp) / f"{i}.tflitemeta"))
            Path(paths[-1]).write_bytes(data)
        return _run("min_version", *paths)


def write_edge_kit_metadata_with_tflite_support(raw_model: bytes, labels: Sequence[str], preprocessing: Any,
                                                card: Any) -> bytes:
    """What ``converter.metadata.add_metadata`` writes, written instead by tflite-support's writers (the same
    texts, files and normalisation), as edge-kit wrote it before it had its own writer."""
    from converter.metadata import (PREPROCESSING_DESCRIPTION, PREPROCESSING_FILE, contract_input_description,
                                    scores_description)

    files = [("labels.txt", ("\n".join(labels) + "\n").encode("utf-8")),
             (PREPROCESSING_FILE, json.dumps(preprocessing.to_dict()).encode("utf-8"))]
    return write_with_tflite_support(
        raw_model, dict(name=card.name, description=card.description, version=card.version, author=card.author,
                        license=card.license),
        [0.0], [1.0], contract_input_description(preprocessing), scores_description(labels), files,
        [(PREPROCESSING_FILE, PREPROCESSING_DESCRIPTION, 1)])  # 1 = AssociatedFileType.DESCRIPTIONS


def displayer_view(meta: Any) -> Dict[str, Any]:
    """``device.metadata.ModelMetadata`` in the shape of tflite-support's metadata JSON (the fields edge-kit
    writes), to compare what device.metadata reads with what ``MetadataDisplayer`` prints."""
    return {
        "name": meta.name, "description": meta.description, "version": meta.version,
        "subgraph_metadata": [{"input_tensor_metadata": [_tensor(t) for t in meta.inputs],
                               "output_tensor_metadata": [_tensor(t) for t in meta.outputs]}],
        "author": meta.author, "license": meta.license, "associated_files": _files(meta.associated_files),
        "min_parser_version": meta.min_parser_version,
    }


def _files(files: Sequence[Any]) -> List[Dict[str, Any]]:
    out = []
    for f in files:
        entry = {"name": f.name, "description": f.description, "type": f.type}
        if f.locale:
            entry["locale"] = f.locale
        out.append({k: v for k, v in entry.items() if v})
    return out


def _tensor(t: Any) -> Dict[str, Any]:
    """A tensor as device.metadata read it, in the shape of tflite-support's metadata JSON."""
    out: Dict[str, Any] = {"name": t.name, "description": t.description}
    if t.color_space is not None:
        out["content"] = {"content_properties_type": "ImageProperties",
                          "content_properties": {"color_space": t.color_space}}
    else:
        out["content"] = {"content_properties_type": "FeatureProperties", "content_properties": {}}
    if t.mean is not None:
        out["process_units"] = [{"options_type": "NormalizationOptions",
                                 "options": {"mean": list(t.mean), "std": list(t.std)}}]
    stats = {}
    if t.stats_max is not None:
        stats["max"] = list(t.stats_max)
    if t.stats_min is not None:
        stats["min"] = list(t.stats_min)
    out["stats"] = stats
    if t.associated_files:
        out["associated_files"] = _files(t.associated_files)
    return out
