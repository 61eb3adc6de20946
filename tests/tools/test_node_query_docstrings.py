"""Every public function of kernel/node/_queries.py (the node's read handlers' helpers) has a one-line summary
docstring (../shared/STYLE.md): `key_param`, `int_param` and `extrinsic_param` had none. Read from the source, not
imported (tests import a layer only through its facade)."""

from __future__ import annotations

import ast
from pathlib import Path

QUERIES = Path(__file__).resolve().parents[2] / "kernel" / "node" / "_queries.py"


def test_every_public_function_of_the_node_queries_has_a_summary_line() -> None:
    tree = ast.parse(QUERIES.read_text())
    public = [f for f in tree.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")]
    assert {"key_param", "int_param", "extrinsic_param"} <= {f.name for f in public}
    lacking = [f.name for f in public if not (ast.get_docstring(f) or "").split("\n", 1)[0].strip()]
    assert lacking == [], f"no docstring: {lacking}"
