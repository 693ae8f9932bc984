"""The import graph: no cycles between modules, and each part imports only the parts below it.

    common (contracts)  <-  device (pixel contract, runtime)  <-  trainer  <-  converter  <-  pipeline

(``common.run_folder`` and ``common.figures`` use the device's preprocessing contract; ``device`` uses only
``common.errors``.) Imports are read from the source (``ast``), lazy ones inside functions included.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "device", "trainer", "converter", "pipeline")
#: What each package may import (besides itself).
ALLOWED = {
    "common": {"device"},
    "device": {"common"},
    "trainer": {"common", "device"},
    "converter": {"common", "device", "trainer"},
    "pipeline": {"common", "device", "trainer", "converter"},
}
#: Modules of ``common`` that device code may import, and that may not import device code themselves.
#: The one import of a run-folder module by device code: edge-classify, handed a ``.tflite`` inside a run folder's
#: ``tflite/``, asks the run folder's rule whether the file still describes that run's model (lazily, only then; the
#: device library itself never reads run folders).
DEVICE_CLI_READS_RUN_FOLDERS = {("device.cli", "common.run_folder")}
COMMON_BELOW_DEVICE = {"common.errors", "common.exit_codes", "common.atomic", "common.interrupts", "common.metrics", "common.gates",
                       "common.defaults", "common.requirements", "common.console", "common.paths", "common.validation"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(nodes) -> Set[str]:
    targets: Set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets.add(node.module)
            targets.update(f"{node.module}.{alias.name}" for alias in node.names)
    return targets


def _top_level(body):
    """Statements run at import time: the module body, into if/try blocks, but not ``if TYPE_CHECKING:``."""
    for node in body:
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field, None)
            if isinstance(node, (ast.If, ast.Try, ast.ExceptHandler)) and isinstance(inner, list):
                yield from _top_level(inner)


def import_graph(import_time_only: bool = False) -> Dict[str, Set[str]]:
    """``{module: modules of these packages it imports}``; all imports, or only those run at import time."""
    modules = {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = _imports(_top_level(tree.body) if import_time_only else ast.walk(tree))
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_each_part_imports_only_the_parts_below_it():
    wrong = []
    for module, targets in import_graph().items():
        part = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other != part and other not in ALLOWED[part]:
                wrong.append(f"{module} imports {target}")
            if part == "device" and other == "common" and target not in COMMON_BELOW_DEVICE | {"common"} \
                    and (module, target) not in DEVICE_CLI_READS_RUN_FOLDERS:
                wrong.append(f"{module} imports {target} (above the device part)")
            if module in COMMON_BELOW_DEVICE and other == "device":
                wrong.append(f"{module} imports {target} (device code imports {module})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = import_graph(import_time_only=True)
    # A module importing its own package's __init__ (``from pipeline import cli``) is not a cycle of code.
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    state: Dict[str, int] = {}
    stack = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
