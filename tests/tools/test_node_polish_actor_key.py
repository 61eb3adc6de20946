"""`taonet actor run NAME --key URI` with a key the genesis does not name as an actor: the node refuses its first
answer and the command ends there, exit 5 with one line saying which key to give (consensus and registrar ran for
ever, logging "not signed by a key named in the genesis" at every retry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cli import Run, one_error
from .processes import error_lines, taonet, taonet_node


@pytest.mark.slow
def test_an_actor_with_a_key_not_in_the_genesis_ends_at_the_first_refusal(tmp_path: Path) -> None:
    remote = ("--remote-actor", "consensus", "--remote-actor", "registrar")
    with taonet_node(tmp_path / "node", *remote) as (_proc, _header, addresses):
        for name in ("consensus", "registrar"):
            out, took = taonet("actor", "run", name, "--node", addresses["rpc"], "--key", "//Bob", "--log-level",
                               "error", timeout=60)
            line = one_error(Run(out.returncode, out.stdout, error_lines(out.stderr)), 5)
            assert f"actor {name!r} is not signed by a key named in the genesis" in line and "--key" in line
            assert took < 30
