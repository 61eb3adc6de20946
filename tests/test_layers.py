"""The import direction of DESIGN.md: ledger <- kernel <- plugins <- subnets <- tools."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["ledger", "kernel", "plugins", "subnets", "tools"]
ALLOWED = {layer: set(ORDER[:i]) for i, layer in enumerate(ORDER)}


def _imported_layers(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("taonet.") and "." in a.name}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("taonet."):
            found.add(node.module.split(".")[1])
    return found


@pytest.mark.parametrize("layer", ORDER)
def test_imports_flow_one_way(layer: str) -> None:
    """No module imports a layer above its own."""
    files = list((ROOT / layer).rglob("*.py"))
    assert files, f"layer {layer} has no modules"
    for path in files:
        bad = (_imported_layers(path) & set(ORDER)) - ALLOWED[layer] - {layer}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_layer_check_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself sees an upward import (so the test above can fail)."""
    bad = tmp_path / "mod.py"
    bad.write_text("from taonet.tools import cli\nimport taonet.kernel.node\n")
    assert _imported_layers(bad) == {"tools", "kernel"}
