"""The package's layers: no import cycle between modules, and the lower layers never import the upper ones.

Module-level imports only (an import inside a function is a deliberate late binding). Layers, lowest first:
``raster`` < ``landcover`` < ``risk`` < ``baseline`` < ``chain`` < ``cli`` / ``api`` / ``view``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import graphlib

import pytest

PKG = Path(__file__).resolve().parents[2] / "reddplus"
LAYERS = ["raster", "landcover", "risk", "baseline", "chain"]
TOP = {"cli", "view", "registry.api", "web"}


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    """Module -> the reddplus modules it imports at module level."""
    g: dict[str, set[str]] = {}
    modules = {_module(p): p for p in PKG.rglob("*.py")}
    for name, path in modules.items():
        g[name] = set()
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.parse(path.read_text(encoding="utf-8")).body:      # module level only
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                if t.startswith("reddplus") and t in modules and t != name:
                    g[name].add(t)
    return g


def test_no_import_cycles():
    # a package __init__ re-exporting its own submodules is not a cycle between layers
    g = {a: {b for b in bs if not (b.startswith(a + ".") or a.startswith(b + "."))} for a, bs in _graph().items()}
    try:
        graphlib.TopologicalSorter(g).prepare()
    except graphlib.CycleError as err:
        pytest.fail(f"import cycle: {' -> '.join(err.args[1])}")


@pytest.mark.parametrize("low", LAYERS[:-1])
def test_lower_layers_do_not_import_upper_ones(low):
    upper = LAYERS[LAYERS.index(low) + 1:]
    edges = [(a, b) for a, bs in _graph().items() for b in bs]
    bad = [(a, b) for a, b in edges
           if a.split(".")[1:2] == [low] and (b.split(".")[1:2][0] if len(b.split(".")) > 1 else "") in upper + [
               t.split(".")[0] for t in TOP]]
    assert not bad, f"reddplus.{low} imports upper layers at module level: {bad}"
