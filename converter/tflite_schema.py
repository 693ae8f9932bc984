"""The TFLite model schema (``schema.fbs``) bindings of the TensorFlow that converts: one place that names them.

A ``.tflite`` file is read and re-serialised (metadata writing, :mod:`converter.compact`) with the FlatBuffers
bindings that ship with the TensorFlow converter in use, so every field that converter can write (for example
``Buffer.offset``/``size``, ``Operator.builtin_options_2``, large custom options, debug metadata) is known to the
reader and survives the round trip. A copy of an older schema would drop newer fields without a word.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

from converter.errors import ConvertError

#: FlatBuffer file identifier of a ``.tflite`` model.
TFLITE_FILE_IDENTIFIER = b"TFL3"


_SCHEMA: Optional[Any] = None


def schema() -> Any:
    """The ``schema_py_generated`` module of the installed TensorFlow.

    When TensorFlow is not imported yet, the module file is loaded on its own from the installed ``tensorflow``
    package (it needs only ``flatbuffers`` and numpy): the same bindings, without the seconds TensorFlow's import
    takes, so rewriting a model's metadata (``edge-convert metadata``) stays quick.
    """
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = _load_schema()
    return _SCHEMA


def _load_schema() -> Any:
    if "tensorflow" not in sys.modules:
        spec = importlib.util.find_spec("tensorflow")  # locates the package without importing it
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        for location in locations:
            path = Path(location) / "lite" / "python" / "schema_py_generated.py"
            if path.is_file():
                module_spec = importlib.util.spec_from_file_location("edge_kit_tflite_schema_py_generated", path)
                if module_spec is not None and module_spec.loader is not None:
                    module = importlib.util.module_from_spec(module_spec)
                    module_spec.loader.exec_module(module)
                    return module
        if spec is None:
            raise ConvertError("reading a .tflite model's structure needs TensorFlow's schema bindings; install the "
                               "convert extra: pip install 'edge-kit[convert]'.")
    from tensorflow.lite.python import schema_py_generated  # lazy: importing it imports TensorFlow

    return schema_py_generated


def read_model(flatbuffer: bytes, source: str = "<model bytes>") -> Any:
    """The model as a mutable ``ModelT`` (FlatBuffers object API) of :func:`schema`.

    Refuses a model that keeps buffer data outside the FlatBuffer (``Buffer.offset``, models over 2 GB): its
    offsets would point at the wrong bytes once the FlatBuffer is re-serialised with a different size.
    """
    s = schema()
    try:
        root = s.Model.GetRootAsModel(flatbuffer, 0)
        model_t = s.ModelT.InitFromObj(root)
    except Exception as exc:  # the generated reader raises whatever a bad offset causes
        raise ConvertError(f"{source}: not a readable TFLite model ({type(exc).__name__}: {exc}).") from exc
    for buffer in model_t.buffers or []:
        if getattr(buffer, "offset", 0) > 1:
            raise ConvertError(
                f"{source}: the model stores its weights after the FlatBuffer (a model over 2 GB); edge-kit cannot "
                "rewrite such a file. Export a smaller model.")
    return model_t


def write_model(model_t: Any) -> bytes:
    """Serialise a ``ModelT`` as the TFLite metadata populator does (object API, ``TFL3`` identifier)."""
    import flatbuffers

    builder = flatbuffers.Builder(0)
    builder.Finish(model_t.Pack(builder), TFLITE_FILE_IDENTIFIER)
    return bytes(builder.Output())


def io_tensors(flatbuffer: bytes) -> Tuple[List[Tuple[str, int, List[int]]], List[Tuple[str, int, List[int]]]]:
    """``(inputs, outputs)`` of subgraph 0: for each tensor ``(name, TensorType value, shape)``."""
    s = schema()
    graph = s.Model.GetRootAsModel(flatbuffer, 0).Subgraphs(0)

    def describe(index: int) -> Tuple[str, int, List[int]]:
        tensor = graph.Tensors(index)
        shape = [int(v) for v in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []
        return (tensor.Name() or b"").decode("utf-8", "replace"), int(tensor.Type()), shape

    return ([describe(graph.Inputs(i)) for i in range(graph.InputsLength())],
            [describe(graph.Outputs(i)) for i in range(graph.OutputsLength())])


def operators(flatbuffer: bytes) -> List[Tuple[str, List[int]]]:
    """The operators of subgraph 0 in execution order: ``(builtin op name, TensorType values of its tensors)``.

    Read from the file itself, so checking a converted model (for example that an int8 model is integer-only)
    needs no interpreter. Optional inputs (index -1) are skipped; a custom op is named by its custom code."""
    s = schema()
    model = s.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(0)
    op_names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    result = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))  # the schema's rule for old files
        name = op_names.get(builtin, str(builtin))
        if name == "CUSTOM" and code.CustomCode():
            name = code.CustomCode().decode("utf-8", "replace")
        indices = [op.Inputs(j) for j in range(op.InputsLength())] + [op.Outputs(j) for j in range(op.OutputsLength())]
        result.append((name, [int(graph.Tensors(t).Type()) for t in indices if t >= 0]))
    return result


def tensor_type_name(type_value: int) -> str:
    """``"float32"``, ``"uint8"``, ... for a ``TensorType`` value."""
    names = {v: k.lower() for k, v in vars(schema().TensorType).items() if not k.startswith("_")}
    return names.get(type_value, str(type_value))
