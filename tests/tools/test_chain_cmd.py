"""`taonet subnet list|hparams` and `taonet metagraph` against a real node process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from taonet.kernel import subtensor
from taonet.ledger import HYPERPARAMETER_BOUNDS
from tests.kernel.node.nodes import TAONET, Wallet, node_process


@pytest.mark.slow
def test_subnet_and_metagraph_commands_show_the_chain(tmp_path: Path) -> None:
    """Hyperparameters are shown by name with their bounds; the metagraph lists every UID."""
    with node_process(tmp_path / "node", block_time=0.1) as (_proc, addresses):
        with subtensor(addresses["rpc"]) as sub:
            assert sub.create_subnet(Wallet("Alice")).success
            assert sub.burned_register(Wallet("Bob"), 1).uid == 1

        def run(*args: str) -> str:
            out = subprocess.run([*TAONET, *args, "--endpoint", addresses["rpc"]], capture_output=True, text=True,
                                 timeout=60)
            assert out.returncode == 0, out.stderr
            return out.stdout

        hp = json.loads(run("subnet", "hparams", "1", "--json"))
        assert set(hp) == set(HYPERPARAMETER_BOUNDS)
        assert "tempo" in run("subnet", "hparams", "1")
        subnets = json.loads(run("subnet", "list", "--json"))
        assert [s["netuid"] for s in subnets] == [1]
        mg = json.loads(run("metagraph", "1", "--json"))
        assert [n["uid"] for n in mg["neurons"]] == [0, 1]
        assert mg["neurons"][1]["hotkey"] == Wallet("Bob").hotkey.ss58_address
