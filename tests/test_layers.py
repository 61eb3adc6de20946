"""The import rules of DESIGN.md and docs/architecture.md, checked on the source tree.

- Layers: ``ledger <- kernel <- plugins <- subnets <- tools``; nothing imports a layer above its own.
- Facades: outside a layer, a module imports only the layer's public modules (``taonet.ledger``,
  ``taonet.ledger.errors``), never a ``_private`` one. Tests count as the layer they test (``tests/kernel`` is the
  kernel) and may reach into its private modules.
- Kernel rooms: ``wire <- client <- node``; a room imports another room only through its facade
  (``taonet.kernel.wire``), and no room imports the kernel's own facade (``taonet.kernel``), which imports them all.
- No import circle among the project's modules, counting imports inside functions and ``TYPE_CHECKING`` blocks.

Each rule has a self-test on a small tree that breaks it, so a rule that could never fail would be noticed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["ledger", "kernel", "plugins", "subnets", "tools"]
ROOMS = ["wire", "client", "node"]
ALIASES = {"taonet.testing": "taonet.plugins.testing"}
"""Packages installed under another name (pyproject's package-dir) -> the module they are in the tree."""


def _canonical(module: str) -> str:
    for alias, real in ALIASES.items():
        if module == alias or module.startswith(alias + "."):
            return real + module[len(alias):]
    return module


def _module_name(root: Path, path: Path) -> tuple[str, bool]:
    """The dotted name ``path`` is imported as, and whether it is a package's ``__init__``."""
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    if parts and parts[0] == "tests":
        return ".".join(parts), is_pkg
    return ".".join(["taonet", *parts]), is_pkg


def _imports(root: Path, path: Path) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports (anywhere in the file), resolved to dotted names, with its line."""
    name, is_pkg = _module_name(root, path)
    package = name if is_pkg else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _canonical(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = _canonical(node.module or "")
            for alias in node.names:  # ``from pkg import submodule`` imports the submodule
                sub = f"{module}.{alias.name}"
                yield (sub if _exists(root, sub) else module), node.lineno


def _path_of(root: Path, module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] == "taonet":
        parts = parts[1:]
    elif parts[0] != "tests":
        return None
    if not parts:
        return None
    base = root.joinpath(*parts)
    if (base / "__init__.py").exists():
        return base / "__init__.py"
    if base.with_suffix(".py").exists():
        return base.with_suffix(".py")
    return None


def _exists(root: Path, module: str) -> bool:
    return _path_of(root, module) is not None


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "taonet" and len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    if parts[0] == "tests" and len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return None


def _room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["taonet", "kernel"] and len(parts) > 2 and parts[2] in ROOMS:
        return parts[2]
    return None


def _private(module: str) -> bool:
    return any(p.startswith("_") for p in module.split(".")[2:])


def _sources(root: Path, with_tests: bool = True) -> list[Path]:
    found = [p for layer in LAYERS for p in sorted((root / layer).rglob("*.py"))]
    if with_tests and (root / "tests").exists():
        found += sorted((root / "tests").rglob("*.py"))
    return found


def violations(root: Path) -> dict[str, list[str]]:
    """What breaks each rule in the tree at ``root`` (a folder holding ledger/, kernel/, ... and tests/)."""
    out: dict[str, list[str]] = {"upward": [], "private": [], "rooms": [], "circles": []}
    graph: dict[str, set[str]] = {}
    for path in _sources(root):
        source, _ = _module_name(root, path)
        here = f"{path.relative_to(root)}"
        src_layer, src_room = _layer_of(source), _room_of(source)
        for target, line in _imports(root, path):
            where = f"{here}:{line} imports {target}"
            dst_layer = _layer_of(target)
            if not target.startswith("taonet.") or dst_layer is None:
                continue
            if not source.startswith("tests."):
                graph.setdefault(source, set()).add(target)
            if src_layer is not None and LAYERS.index(dst_layer) > LAYERS.index(src_layer):
                out["upward"].append(where)
            if dst_layer != src_layer and _private(target):
                out["private"].append(where)
            dst_room = _room_of(target)
            if src_room is not None and target == "taonet.kernel":
                out["rooms"].append(f"{where} (a room imports the kernel's facade, which imports every room)")
            if src_room is not None and dst_room is not None and dst_room != src_room:
                if ROOMS.index(dst_room) > ROOMS.index(src_room):
                    out["rooms"].append(f"{where} (the room {src_room} may not import {dst_room})")
                elif target != f"taonet.kernel.{dst_room}":
                    out["rooms"].append(f"{where} (another room only through its facade)")
            if source == "taonet.kernel.errors" and dst_room is not None:
                out["rooms"].append(f"{where} (the error tree imports no room)")
    out["circles"] = [" -> ".join(c) for c in _circles(graph)]
    return out


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def tree() -> dict[str, list[str]]:
    """The violations of the real tree."""
    assert _sources(ROOT, with_tests=False), "no sources found"
    return violations(ROOT)


@pytest.mark.parametrize("rule", ["upward", "private", "rooms", "circles"])
def test_the_tree_keeps_the_import_rules(tree: dict[str, list[str]], rule: str) -> None:
    """No upward import, no private import across layers or rooms, the rooms' order, no import circle."""
    assert tree[rule] == [], "\n".join(tree[rule])


def _write(root: Path, files: dict[str, str]) -> Path:
    for layer in LAYERS:
        (root / layer).mkdir(parents=True, exist_ok=True)
        (root / layer / "__init__.py").touch()
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_the_upward_rule_can_fail(tmp_path: Path) -> None:
    """A ledger module importing the tools is caught, in a function body too."""
    root = _write(tmp_path, {"ledger/_a.py": "def f():\n    from taonet.tools import cli\n", "tools/cli.py": ""})
    assert violations(root)["upward"] == ["ledger/_a.py:2 imports taonet.tools.cli"]


def test_the_private_rule_can_fail(tmp_path: Path) -> None:
    """A kernel module or a tools test importing a ledger private module is caught; a ledger test is not."""
    root = _write(tmp_path, {"ledger/_codec.py": "", "kernel/_a.py": "from taonet.ledger._codec import x\n",
                             "tests/tools/test_x.py": "import taonet.ledger._codec\n",
                             "tests/ledger/test_y.py": "from taonet.ledger._codec import x\n"})
    assert violations(root)["private"] == ["kernel/_a.py:1 imports taonet.ledger._codec",
                                           "tests/tools/test_x.py:1 imports taonet.ledger._codec"]


def test_the_room_rule_can_fail(tmp_path: Path) -> None:
    """The wire importing the node, a room's private module from another room, and the kernel facade are caught."""
    root = _write(tmp_path, {
        "kernel/wire/__init__.py": "", "kernel/wire/_nng.py": "from ..node import Node\n",
        "kernel/node/__init__.py": "", "kernel/node/_node.py": "from ..wire._nng import x\nfrom ..wire import y\n",
        "kernel/client/__init__.py": "", "kernel/client/_sub.py": "from taonet.kernel import Wallet\n",
    })
    rooms = violations(root)["rooms"]
    assert len(rooms) == 3, rooms
    assert any("wire may not import node" in r for r in rooms)
    assert any("_node.py:1" in r and "through its facade" in r for r in rooms)
    assert any("_sub.py:1" in r and "kernel's facade" in r for r in rooms)


def test_the_circle_rule_can_fail(tmp_path: Path) -> None:
    """Two modules importing each other, one of them only for type checking, make a circle."""
    root = _write(tmp_path, {
        "kernel/_a.py": "from ._b import B\n",
        "kernel/_b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._a import A\n",
        "kernel/_c.py": "from . import _a\n",
    })
    assert violations(root)["circles"] == ["taonet.kernel._a -> taonet.kernel._b"]


def test_taonet_testing_counts_as_the_plugins_layer(tmp_path: Path) -> None:
    """taonet.testing (installed from plugins/testing) is the plugins layer: the kernel may not import it."""
    root = _write(tmp_path, {"kernel/_a.py": "import taonet.testing\n", "plugins/testing/__init__.py": "",
                             "subnets/_b.py": "from taonet.testing import LocalNet\n"})
    assert violations(root)["upward"] == ["kernel/_a.py:1 imports taonet.plugins.testing"]
