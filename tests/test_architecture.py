"""The house rules of flask_authrocket's imports, checked on every run.

Every import counts, wherever it stands: at module level, under ``if TYPE_CHECKING:``, inside a
function or a module ``__getattr__``, and ``importlib.import_module(...)``. Importing
``a.b.c`` runs the packages ``a.b`` and ``a`` too, so those count as well. Two rules:

* no cycle between modules (a package importing its own submodules is not one: that is what a
  package's ``__init__`` is for);
* arrows point down: a module of the ground floor (no Flask request cycle) never imports one of
  the upper floor (CONTRIBUTING.md's map).

Both have an allow-list, each entry with its reason; empty is the goal, and today they are empty.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "flask_authrocket"

#: The ground floor knows nothing of Flask's request cycle: it can be tested and reused without an app.
GROUND_FLOOR = frozenset(
    {
        "errors",
        "models",
        "records",
        "fetch",
        "keys",
        "jwks",
        "tokens",
        "issuer",
        "lru",
        "client",
        "cache",
        "cache_probe",
        "redis_topology",
        "managed",
        "settings",
        "cookie",
        "express",
        "answers",
        "signals",
        "logs",
    }
)
#: The upper floor adapts the ground floor to Flask.
UPPER_FLOOR = frozenset(
    {"extension", "hook", "request", "guards", "views", "openapi", "integrations", "testing", "cli", "dev"}
)

#: Cycles allowed, as sorted tuples of module names, each with its reason. None.
ALLOWED_CYCLES: Mapping[tuple[str, ...], str] = {}
#: Upward imports allowed, as (importer, imported), each with its reason. None.
ALLOWED_UPWARD: Mapping[tuple[str, str], str] = {}

#: The longest a module of the package may be.
MAX_MODULE_LINES = 600


def modules_of(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package at ``root``, by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_package(name: str, modules: Mapping[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _with_parents(target: str, importer: str, modules: Mapping[str, Path]) -> set[str]:
    """``target`` and the packages importing it runs, except those the importer sits in (already running)."""
    found = set()
    parts = target.split(".")
    for end in range(2, len(parts) + 1):
        name = ".".join(parts[:end])
        if name in modules and not (importer == name or importer.startswith(name + ".")):
            found.add(name)
    return found


def _resolve(importer: str, level: int, module: str | None, modules: Mapping[str, Path]) -> str:
    if not level:
        return module or ""
    base = importer if _is_package(importer, modules) else importer.rpartition(".")[0]
    if level > 1:
        base = ".".join(base.split(".")[: -(level - 1)])
    return f"{base}.{module}" if module else base


class _Imports(ast.NodeVisitor):
    """Every module ``importer`` imports, wherever the import stands; dynamic imports it cannot follow."""

    def __init__(self, importer: str, modules: Mapping[str, Path]) -> None:
        self.importer = importer
        self.modules = modules
        self.targets: set[str] = set()
        self.unfollowed: list[int] = []

    def _add(self, target: str) -> None:
        self.targets |= _with_parents(target, self.importer, self.modules)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        target = _resolve(self.importer, node.level, node.module, self.modules)
        self._add(target)
        for alias in node.names:
            if f"{target}.{alias.name}" in self.modules:  # from . import submodule
                self._add(f"{target}.{alias.name}")

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                level = len(first.value) - len(first.value.lstrip("."))
                self._add(_resolve(self.importer, level, first.value.lstrip(".") or None, self.modules))
            elif _is_package(self.importer, self.modules):
                # A package's lazy names (``import_module(f".{module}", __name__)``): its own submodules.
                self._add(self.importer)
            else:
                self.unfollowed.append(node.lineno)
        self.generic_visit(node)


def import_graph(root: Path, package: str) -> tuple[dict[str, set[str]], dict[str, list[int]]]:
    """Each module's imports of the package's own modules, and the lines of imports it could not follow."""
    modules = modules_of(root, package)
    graph: dict[str, set[str]] = {}
    unfollowed: dict[str, list[int]] = {}
    for name, path in modules.items():
        visitor = _Imports(name, modules)
        visitor.visit(ast.parse(path.read_text(), str(path)))
        # A package importing its own submodules (re-exports, lazy names) is no cycle of rooms.
        graph[name] = {target for target in visitor.targets if target != name and not target.startswith(name + ".")}
        if visitor.unfollowed:
            unfollowed[name] = visitor.unfollowed
    return graph, unfollowed


def cycles(graph: Mapping[str, Iterable[str]]) -> list[tuple[str, ...]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(tuple(sorted(group)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def room(module: str) -> str:
    """The room of the map a module belongs to: ``flask_authrocket.client.transport`` is ``client``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


# -- the rules, on the package ------------------------------------------------------------------


def test_no_module_imports_another_that_imports_it_back_through_any_import():
    graph, _ = import_graph(PACKAGE_DIR, "flask_authrocket")

    found = {cycle: ALLOWED_CYCLES.get(cycle) for cycle in cycles(graph)}

    assert [cycle for cycle, reason in found.items() if reason is None] == []


def test_the_ground_floor_never_imports_the_upper_floor():
    graph, _ = import_graph(PACKAGE_DIR, "flask_authrocket")

    upward = sorted(
        (importer, target)
        for importer, targets in graph.items()
        for target in targets
        if room(importer) in GROUND_FLOOR and room(target) in UPPER_FLOOR
    )

    assert [pair for pair in upward if pair not in ALLOWED_UPWARD] == []


def test_every_import_is_one_the_checker_follows():
    _, unfollowed = import_graph(PACKAGE_DIR, "flask_authrocket")

    assert unfollowed == {}, "an import_module() with a computed name outside a package's __init__"


def test_every_module_stands_on_a_floor_of_the_map():
    assert GROUND_FLOOR.isdisjoint(UPPER_FLOOR)
    rooms = {room(name) for name in modules_of(PACKAGE_DIR, "flask_authrocket")} - {""}

    assert sorted(rooms - GROUND_FLOOR - UPPER_FLOOR) == []  # a new module: put it on a floor (and in CONTRIBUTING.md)


def test_the_allow_lists_name_real_modules_and_say_why():
    modules = modules_of(PACKAGE_DIR, "flask_authrocket")
    for cycle, reason in ALLOWED_CYCLES.items():
        assert set(cycle) <= set(modules) and reason.strip(), cycle
    for pair, reason in ALLOWED_UPWARD.items():
        assert set(pair) <= set(modules) and reason.strip(), pair


def test_no_module_is_over_600_lines():
    lengths = {
        name: len(path.read_text().splitlines()) for name, path in modules_of(PACKAGE_DIR, "flask_authrocket").items()
    }

    assert {name: length for name, length in lengths.items() if length > MAX_MODULE_LINES} == {}


# -- the checker itself sees what it claims to ------------------------------------------------------


def write_package(root: Path, files: Mapping[str, str]) -> Path:
    package = root / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


@pytest.mark.parametrize(
    "hidden",
    [
        "from . import b",
        "from .b import thing",
        "import pkg.b",
        "if TYPE_CHECKING:\n    from .b import thing",
        "def later():\n    from .b import thing",
        "def __getattr__(name):\n    from . import b\n    return getattr(b, name)",
        "import importlib\nb = importlib.import_module('pkg.b')",
        "import importlib\nb = importlib.import_module('.b', __package__)",
        "from .sub.deep import thing",  # runs pkg/sub/__init__.py, which imports a
    ],
)
def test_the_checker_finds_a_cycle_however_the_import_is_written(tmp_path, hidden):
    package = write_package(
        tmp_path,
        {
            "a.py": hidden + "\n",
            "b.py": "from .a import value\n",
            "sub/__init__.py": "from ..b import value\n",
            "sub/deep.py": "thing = 1\n",
        },
    )
    graph, _ = import_graph(package, "pkg")

    assert any("pkg.a" in cycle for cycle in cycles(graph)), graph


def test_the_checker_does_not_count_a_package_importing_its_own_submodules(tmp_path):
    package = write_package(
        tmp_path,
        {"__init__.py": "from .a import value\n", "a.py": "value = 1\n", "b.py": "from .a import value\n"},
    )
    graph, unfollowed = import_graph(package, "pkg")

    assert cycles(graph) == [] and unfollowed == {}
    assert graph["pkg.b"] == {"pkg.a"}


def test_the_checker_reports_a_computed_import_it_cannot_follow(tmp_path):
    package = write_package(tmp_path, {"a.py": "import importlib\nname = 'b'\nimportlib.import_module(name)\n"})
    _, unfollowed = import_graph(package, "pkg")

    assert unfollowed == {"pkg.a": [3]}
