"""The project's import graph: no circles, and no ``_private`` name taken from another module.

Imports inside functions count too: a lazy import still ties the two modules
together.  Tests are left out (they may reach into internals on purpose).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("gis", "categorize", "sba", "app_pages")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "vendor" not in path.parts:
                found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None]]:
    """``(module, imported name or None)`` for every import of a project module in ``path``."""
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, None) for alias in node.names if alias.name.split(".")[0] in (*PACKAGES, "app")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append((sub, None) if sub in modules else (base, alias.name))
    return [(m, n) for m, n in out if m in modules and m != name]


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private = []
    for name, path in modules.items():
        for target, imported in _imports(name, path, modules):
            edges[name].add(target)
            if imported and imported.startswith("_") and not imported.startswith("__"):
                private.append(f"{name} imports {imported} from {target}")
    return edges, private


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as a path of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def _package_cycle_free(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges without those into a package's own ``__init__`` from its modules (re-exports), which
    Python resolves whatever the order."""
    return {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}


def test_the_import_graph_has_no_circle():
    edges, _ = _graph()
    assert len(edges) > 40  # the walk found the project
    assert _cycle(_package_cycle_free(edges)) is None, " -> ".join(_cycle(_package_cycle_free(edges)))


def test_no_private_name_is_imported_from_another_module():
    _, private = _graph()
    assert private == []


def test_the_checks_find_a_circle_and_a_private_import():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    tree = {"sba.x": ROOT / "sba" / "cli" / "command.py"}
    tree["sba.bulk.options"] = ROOT / "sba" / "bulk" / "options.py"
    found = _imports("sba.y", ROOT / "sba" / "bulk" / "cluster.py", tree)
    assert ("sba.bulk.options", "ORDER") in found


#: The modules that build folium maps; only the app's pages show them.
MAP_MODULES = {"gis.webmap", "sba.requests.maps"}


def _imports_folium(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
        if any(n.split(".")[0] in ("folium", "branca", "streamlit_folium") for n in names):
            return True
    return False


def _map_library_users(modules: dict[str, Path], edges: dict[str, set[str]]) -> list[str]:
    """Modules other than the app and the map modules that import folium or a map module."""
    def is_app(name: str) -> bool:
        return name == "app" or name.startswith("app_pages")
    out = []
    for name, path in modules.items():
        if is_app(name) or name in MAP_MODULES:
            continue
        if _imports_folium(path):
            out.append(f"{name} imports folium")
        out += [f"{name} imports {target}" for target in sorted(edges[name] & MAP_MODULES)]
    return out


def test_only_the_app_and_the_map_modules_import_folium():
    edges, _ = _graph()
    modules = _modules()
    assert _imports_folium(modules["gis.webmap"])  # the check sees a folium import
    assert _map_library_users(modules, edges) == []


def test_the_folium_check_finds_a_headless_module_importing_the_web_map():
    modules = {"sba.evidence": ROOT / "sba" / "evidence" / "package.py", "gis.webmap": ROOT / "gis" / "webmap.py"}
    assert _map_library_users(modules, {"sba.evidence": {"gis.webmap"}, "gis.webmap": set()}) == [
        "sba.evidence imports gis.webmap"]
