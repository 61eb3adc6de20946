"""`taonet weights set` on a commit-reveal subnet, through the installed executable on a real dev node, when the
chain refuses the reveal (a miner without a validator permit may commit, but not set weights): exit 3 saying the
weights were committed and the reveal refused, with the commit's salt; a commit the chain refuses (too soon after
the last) says the commit's own reason, not that a reveal failed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .cli import Cli
from .processes import taonet_node

pytestmark = pytest.mark.slow


def test_weights_set_reports_a_refused_reveal_and_a_refused_commit_truthfully(tmp_path: Path) -> None:
    """The miner's `weights set` commits, then its reveal is refused: exit 3 "committed, but the chain refused their
    reveal" with the reason and the salt; a hotkey without a UID is refused at the commit: exit 6 with that reason
    and no word of a reveal (its result holds the commit's ``reveal`` too, so that alone tells nothing)."""
    with taonet_node(tmp_path / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        cli = Cli(wallets=tmp_path / "wallets", endpoint=addresses["rpc"])
        for hotkey in ("owner", "miner", "stray"):
            cli.ok("wallet", "create", "--wallet-name", "owner", "--hotkey", hotkey)
        cli.ok("wallet", "faucet", "--wallet-name", "owner", "--amount", "1000")
        cli.ok("subnet", "create", "--wallet-name", "owner", "--hotkey", "owner", "-y")
        cli.ok("subnet", "register", "1", "-w", "owner", "-H", "miner", "-y")
        for name, value in (("tempo", "10"), ("commit_reveal_weights_enabled", "1")):
            cli.ok("subnet", "set", "1", "--param", name, "--value", value, "-w", "owner", "-y")
        who = ("-w", "owner", "-H", "miner", "-y")

        refused = cli.fails(3, "weights", "set", "1", "--uids", "0", "--weights", "1", *who)
        assert refused.startswith("error: the weights were committed, but the chain refused their reveal: UID 1 on "
                                  "subnet 1 has no validator permit"), refused
        salt = re.search(r"the commit's salt is ([0-9a-f]{32})", refused)
        assert salt is not None and f"--salt {salt[1]}" in refused, refused

        stray = cli.fails(6, "weights", "set", "1", "--uids", "0", "--weights", "1", "-w", "owner", "-H", "stray", "-y")
        assert "register the hotkey on subnet 1" in stray and "reveal" not in stray, stray
