"""The layers import one way: handlers (functions/), then the edges (crm.http: formats, dialects,
views; crm.imports, crm.exports: files of contacts), then the domain (crm.*), then crm.storage, then the base
modules every layer may use. A module imports only its own layer and those below it, and no
import cycle runs through the domain."""

from __future__ import annotations

import ast
from pathlib import Path

from local_api.template import ROOT

SHARED = ROOT / "layers" / "shared"
BASE = {
    "crm",
    "crm.config",
    "crm.errors",
    "crm.fields",
    "crm.numbers",
    "crm.paging",
    "crm.times",
    "crm.validation",
    "crm.observability",
}
ORDER = ("handler", "edge", "domain", "storage", "base")
# The edges read what comes from outside into the one model, and write it out: requests (crm.http)
# and files of contacts (crm.imports and crm.exports, which read and write them with the HTTP
# layer's formats and dialects).
EDGES = ("crm.http", "crm.imports", "crm.exports")


def layer(module: str) -> str:
    if module in BASE:
        return "base"
    if any(module == edge or module.startswith(edge + ".") for edge in EDGES):
        return "edge"
    for prefix, name in (("crm.storage", "storage"), ("crm", "domain")):
        if module == prefix or module.startswith(prefix + "."):
            return name
    return "handler"


def module_name(path: Path) -> str:
    parts = path.relative_to(SHARED).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path) for path in SHARED.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """The crm modules a file imports, wherever it imports them (``from crm.http import xml``
    names crm.http.xml; ``from crm.http.xml import Nil`` too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "crm":
            names = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= names & MODULES
            if names - MODULES:  # names the package itself defines
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "crm"}
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): imports_of(path) for path in SHARED.rglob("*.py")}
    handlers = {f"functions.{path.parent.name}": imports_of(path) for path in (ROOT / "functions").glob("*/app.py")}
    return {**modules, **handlers}


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = {
        (module, imported)
        for module, imported_modules in graph().items()
        for imported in imported_modules
        if ORDER.index(layer(imported)) < ORDER.index(layer(module))
    }
    assert sorted(upward) == [], "imports of a layer above"


def test_each_module_is_placed_in_its_layer() -> None:
    placed = {name: layer(name) for name in ("functions.contacts", "crm.http.views", "crm.imports.worker")}
    placed |= {name: layer(name) for name in ("crm.contacts", "crm.storage.items", "crm.fields")}
    assert placed == {
        "functions.contacts": "handler",
        "crm.http.views": "edge",
        "crm.imports.worker": "edge",
        "crm.contacts": "domain",
        "crm.storage.items": "storage",
        "crm.fields": "base",
    }


def test_no_import_cycle_among_the_modules() -> None:
    edges = {module: {m for m in imported if m != module} for module, imported in graph().items()}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(edges.get(module, ())):
            if state.get(imported) == "open":
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []
