"""`taonet weights commit|reveal` and `weights set` on a commit-reveal subnet, through the installed executable on a
real dev node: the commit prints its salt and window, a reveal too early or not matching is exit 3 with the reason,
the right one in the window is included; `weights set` commits, waits and reveals by itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.kernel import subtensor

from .cli import Cli
from .processes import taonet_node

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node (0.1 s blocks), wallet "owner" owning subnet 1 with commit-reveal on, tempo 40 and period 2 (a
    window opens 4 s or more after its commit and stays open 4 s: room for a few commands)."""
    root = tmp_path_factory.mktemp("cr")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        c = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        c.ok("wallet", "create", "--wallet-name", "owner", "--hotkey", "owner")
        c.ok("wallet", "create", "--wallet-name", "owner", "--hotkey", "miner")
        c.ok("wallet", "faucet", "--wallet-name", "owner", "--amount", "1000")
        c.ok("subnet", "create", "--wallet-name", "owner", "--hotkey", "owner", "-y")
        c.ok("subnet", "register", "1", "-w", "owner", "-H", "miner", "-y")
        for name, value in (("tempo", "40"), ("commit_reveal_weights_enabled", "1"), ("commit_reveal_period", "2")):
            c.ok("subnet", "set", "1", "--param", name, "--value", value, "-w", "owner", "-y")
        yield c


def test_commit_then_reveal_with_the_printed_salt(cli: Cli, tmp_path: Path) -> None:
    """commit --json gives the salt and window (and --save the same JSON); reveal before the window is exit 3
    "too early", a wrong salt exit 3 "no pending weight commit", `reveal --from FILE` in the window succeeds."""
    hp = cli.ok("subnet", "hparams", "1", "--json").json
    assert hp["commit_reveal_weights_enabled"] is True and hp["commit_reveal_period"] == 2
    refused = cli.fails(3, "subnet", "set", "1", "--param", "commit_reveal_period", "--value", "101", "-w", "owner",
                        "-y")
    assert "[1, 100]" in refused
    saved = tmp_path / "reveal.json"
    doc = cli.ok("weights", "commit", "1", "--uids", "1", "--weights", "1", "-w", "owner", "-H", "owner",
                 "--save", str(saved), "-y", "--json").json
    reveal = doc["reveal"]
    assert doc["action"] == "committed" and reveal["reveal_from"] > doc["block"] and len(reveal["salt"]) == 32
    assert json.loads(saved.read_text()) == reveal
    early = cli.fails(3, "weights", "reveal", "1", "--uids", "1", "--weights", "1", "--salt", reveal["salt"],
                      "-w", "owner", "-H", "owner", "-y")
    assert "too early" in early and str(reveal["reveal_from"]) in early
    pending = cli.ok("weights", "pending", "1", "--json").json["commits"]
    assert [(p["block"], p["reveal_from"], p["reveal_until"]) for p in pending] == [
        (doc["block"], reveal["reveal_from"], reveal["reveal_until"])]
    table = cli.ok("weights", "pending", "1").stdout
    assert str(reveal["reveal_from"]) in table and all(len(x) <= 80 for x in table.splitlines())
    with subtensor(cli.endpoint) as sub:
        sub.wait_for_block(reveal["reveal_from"], timeout=30)
    wrong = cli.fails(3, "weights", "reveal", "1", "--uids", "1", "--weights", "1", "--salt", "00" * 16,
                      "-w", "owner", "-H", "owner", "-y")
    assert "no pending weight commit" in wrong
    line = cli.ok("weights", "reveal", "--from", str(saved), "-w", "owner", "-H", "owner", "-y").stdout
    assert line.startswith("weights revealed on subnet 1 by ") and "included in block" in line
    assert cli.ok("weights", "pending", "1", "--json").json["commits"] == []
    shown = cli.ok("weights", "show", "1", "--uid", "0", "--json").json["validators"]
    assert shown[0]["weights"] == [[1, 1.0]]


def test_weights_set_commits_and_reveals_by_itself(cli: Cli) -> None:
    """On a commit-reveal subnet `weights set` says it revealed; a salt that is not hex, or a reveal without one,
    is a usage error (exit 2)."""
    line = cli.ok("weights", "set", "1", "--uids", "1", "--weights", "1", "-w", "owner", "-H", "owner", "-y").stdout
    assert line.startswith("weights revealed (committed, then revealed) on subnet 1"), line
    assert "hex" in cli.fails(2, "weights", "commit", "1", "--uids", "1", "--weights", "1", "--salt", "nothex",
                              "-w", "owner", "-H", "owner", "-y")
    assert "--salt" in cli.fails(2, "weights", "reveal", "1", "--uids", "1", "--weights", "1", "-w", "owner",
                                 "-H", "owner", "-y")
