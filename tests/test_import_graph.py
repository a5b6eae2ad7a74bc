"""The app's import graph: no cycles, the SDK behind `client.py`, nothing importing `tasks.py`.

Every module of `hubspot_integration` is parsed (not imported) and every import counted, at module
level or inside a function, relative ones resolved, and `importlib.import_module("...")` with a
literal (or f-string) name too: a function-level import still makes a cycle, only a hidden one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hubspot_integration

APP = "hubspot_integration"
APP_DIR = Path(hubspot_integration.__file__).parent
SDK = "hubspot"
TASKS = f"{APP}.tasks"
# The one place allowed to import tasks.py: the start-up wiring that binds the queue's jobs.
TASKS_IMPORTERS = {f"{APP}.apps"}


def modules(root: Path = APP_DIR, package: str = APP) -> dict[str, tuple[Path, bool]]:
    """module name -> (file, is a package's __init__)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    if not level:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join([*base, name] if name else base)


def _dynamic_name(call: ast.Call) -> str | None:
    """The module named by `importlib.import_module(...)` / `__import__(...)`: a literal, or the
    literal start of an f-string (`f"hubspot.{package}"` imports under `hubspot`)."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if called not in ("import_module", "__import__") or not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return str(arg.values[0].value).rstrip(".") or None
    return None


def imports_of(module: str, path: Path, is_package: bool, known=frozenset()) -> set[str]:
    """Every module name `module` imports, anywhere in its file; `known` (the package's modules)
    tells `from package import module` from `from module import name`."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            for alias in node.names:
                # `from . import outbox` imports the module outbox; `from .x import name`, x.
                full = f"{base}.{alias.name}"
                names.add(full if full in known else base)
        elif isinstance(node, ast.Call):
            name = _dynamic_name(node)
            if name:
                names.add(name)
    return names


def graph(found: dict[str, tuple[Path, bool]]) -> dict[str, set[str]]:
    """module -> the app's modules it imports. (Importing `a.b` also runs the package `a` first;
    that is no edge here: `admin/__init__.py` importing its own pages is not a cycle.)"""
    return {
        module: {
            name
            for name in imports_of(module, path, is_package, found.keys())
            if name in found and name != module
        }
        for module, (path, is_package) in found.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path a -> ... -> a) per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_cycle_in(group, edges) for group in groups]


def _cycle_in(group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(edges[node] & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - Tarjan found one


def describe(found_cycles: list[list[str]]) -> str:
    short = len(APP) + 1
    return "\n".join(" -> ".join(m[short:] for m in cycle) for cycle in found_cycles)


@pytest.fixture(scope="module")
def app():
    found = modules()
    return found, graph(found)


def test_the_app_has_no_import_cycle(app):
    _, edges = app
    found_cycles = cycles(edges)
    assert not found_cycles, "import cycles in hubspot_integration:\n" + describe(found_cycles)


def test_only_the_client_imports_the_sdk(app):
    found, _ = app
    importers = {
        module
        for module, (path, is_package) in found.items()
        if any(n == SDK or n.startswith(f"{SDK}.") for n in imports_of(module, path, is_package))
    }
    others = sorted(importers - {f"{APP}.client"})
    assert not others, f"{others} import the HubSpot SDK: only client.py may"
    assert f"{APP}.client" in importers  # the check sees the client's own (dynamic) imports


def test_nothing_imports_the_tasks_but_the_start_up_wiring(app):
    _, edges = app
    importers = {module for module, targets in edges.items() if TASKS in targets}
    assert importers <= TASKS_IMPORTERS, f"{sorted(importers - TASKS_IMPORTERS)} import tasks.py"


# --- the checker itself -------------------------------------------------------------------------
def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return graph(modules(root, "pkg"))


def test_a_cycle_through_a_function_level_import_is_caught(tmp_path):
    edges = _package(
        tmp_path,
        {
            "a.py": "from . import b\n",
            "sub/__init__.py": "",
            "b.py": "from .sub.c import thing\n",
            "sub/c.py": "def thing():\n    from ..a import x\n",
            "d.py": "import pkg.a\n",
        },
    )
    assert edges["pkg.d"] == {"pkg.a"}
    assert cycles(edges) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]
    assert describe([["hubspot_integration.tasks", "hubspot_integration.services.outbox"]]) == (
        "tasks -> services.outbox"
    )


def test_a_dynamic_import_counts(tmp_path):
    edges = _package(
        tmp_path,
        {
            "a.py": "import importlib\nimportlib.import_module('pkg.b')\n",
            "b.py": "def f(name):\n    return __import__(f'pkg.a.{name}')\n",
        },
    )
    assert cycles(edges) == [["pkg.a", "pkg.b", "pkg.a"]]
