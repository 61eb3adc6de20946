"""docs/quickstart.md, run as written: every `$ taonet ...` line of its console blocks, in order, against a fresh dev
node (which the test starts in place of `taonet node run --dev`); then the miner's emission is in the overview."""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path

import pytest

from .cli import Cli
from .processes import taonet_node

DOC = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"


def doc_commands() -> list[str]:
    """The `$ ...` lines of the page's console blocks, in order."""
    blocks = re.findall(r"```console\n(.*?)```", DOC.read_text(), flags=re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_the_page_is_commands_of_the_cli_only() -> None:
    """Every step is a `taonet` command (or an export of its environment): no Python, no other tool."""
    commands = doc_commands()
    assert commands[0] == "taonet node run --dev" and len(commands) >= 12
    assert all(c.startswith(("taonet ", "export TAONET_")) for c in commands), commands


def _owner_stake_reaches(endpoint: str, tao: float, timeout: float = 60.0) -> None:
    """Wait (bounded) until subnet 1's UID 0, the owner's hotkey, holds ``tao`` of stake: the pots it collects by
    stake while no weights count, as a newcomer reading between the steps lets it."""
    from taonet.kernel import subtensor

    deadline = time.monotonic() + timeout
    with subtensor(endpoint, timeout=10) as sub:
        while float(sub.metagraph(1).S[0]) < tao:
            assert time.monotonic() < deadline, f"the owner's hotkey never held τ{tao}"
            sub.wait_for_block()


@pytest.mark.slow
def test_a_newcomer_gets_a_miner_earning_with_the_page_s_commands(tmp_path: Path) -> None:
    """Create keys, faucet, a subnet, a miner and a validator, stake, weights, an epoch: the miner earns; at a human
    pace too (the owner's hotkey collects the pots by stake before the validator stakes: with the page's 100 τ a
    pause of ~30 s at a dev chain's 0.25 s blocks left the miner paid nothing for good)."""
    with taonet_node(tmp_path / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        env: dict[str, str] = {}
        cli = Cli(wallets=tmp_path / "wallets", endpoint=addresses["rpc"], password=None)
        for command in doc_commands()[1:]:  # the node is ours
            if command.startswith("export "):
                name, _, value = command.removeprefix("export ").partition("=")
                env[name] = shlex.split(value)[0]
                continue
            args = shlex.split(command)[1:]
            run = cli(*args, **env)
            assert run.status == 0 and run.stderr == [], (command, run)
            if args[:2] == ["subnet", "create"]:  # a newcomer reads on for a while: the owner's hotkey earns meanwhile
                _owner_stake_reaches(addresses["rpc"], 150.0)
        view = cli.ok("wallet", "overview", "--wallet-name", "owner", "--json", **env).json
        neurons = {n["hotkey_name"]: n for s in view["subnets"] for n in s["neurons"]}
        assert neurons["miner"]["uid"] == 1 and neurons["miner"]["emission"] > 0
        assert neurons["miner"]["incentive"] == pytest.approx(1.0)
        assert neurons["validator"]["dividends"] > 0 and neurons["validator"]["vpermit"]
