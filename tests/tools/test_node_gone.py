"""A write whose node goes away while the command waits says that first, not "did not finish within --timeout", and
keeps what the user needs: for a weight commit, its salt and the exact reveal command. Through the installed `taonet`
on a real dev node that the test kills (SIGKILL) once the commit is in its mempool.

As in test_write_timeouts.py, the node runs its scheduler in another process, stopped (SIGSTOP) so that no block
includes the commit before the node is gone."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from taonet.kernel import Balance, Wallet, subtensor
from taonet.ledger import Keypair
from tests.kernel.node.nodes import stop

from .cli import Cli
from .processes import TAONET_EXE, error_lines, taonet_node

pytestmark = pytest.mark.slow


def _steady_head(sub: object, *, quiet: float = 0.6, limit: float = 10.0) -> None:
    """Return once no block came for ``quiet`` seconds (the one under way when the scheduler stopped may come)."""
    deadline = time.monotonic() + limit
    head = sub.get_current_block()  # type: ignore[attr-defined]
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = sub.get_current_block()  # type: ignore[attr-defined]
        if now == head:
            return
        head = now
    raise AssertionError("blocks kept coming with the scheduler stopped")


def test_weights_set_whose_node_went_away_says_so_and_keeps_the_salt(tmp_path: Path) -> None:
    """`weights set` on a commit-reveal subnet, the node killed while the commit waits for a block: exit 4, one line
    that starts by saying the node went away (not "did not finish within"), says the commit may have been sent, and
    gives the salt and the reveal command; the --json document carries the same as fields (``cause``, ``then``)."""
    wallets = tmp_path / "wallets"
    owner = Wallet("owner", "owner", str(wallets))
    owner.create_if_non_existent(coldkey_use_password=False, hotkey_use_password=False)
    with taonet_node(tmp_path / "node", "--block-time", "0.1", "--remote-actor", "scheduler") as (node, _h, addr):
        scheduler = subprocess.Popen([TAONET_EXE, "actor", "run", "scheduler", "--node", addr["rpc"], "--log-level",
                                      "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        try:
            with subtensor(addr["rpc"], timeout=10) as sub:
                assert sub.transfer(Keypair.from_uri("//Alice"), owner.coldkeypub.ss58_address,
                                    Balance.from_tao(1000)).success
                assert sub.create_subnet(owner).success
                assert sub.set_hyperparameter(owner, 1, "commit_reveal_weights_enabled", True).success
                scheduler.send_signal(signal.SIGSTOP)
                _steady_head(sub)
                nonce = sub.get_nonce(owner.hotkey.ss58_address)
                cli = subprocess.Popen([TAONET_EXE, "weights", "set", "1", "--uids", "0", "--weights", "1", "-w",
                                        "owner", "-H", "owner", "-y", "--timeout", "3", "--json"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env=Cli(wallets=wallets, endpoint=addr["rpc"]).env())
                try:
                    deadline = time.monotonic() + 4
                    while sub.get_nonce(owner.hotkey.ss58_address) == nonce:  # the commit waits in the mempool
                        assert time.monotonic() < deadline and cli.poll() is None, "the commit was never admitted"
                        time.sleep(0.05)
                    node.send_signal(signal.SIGKILL)
                    node.wait(10)
                    stdout, stderr = cli.communicate(timeout=20)
                finally:
                    stop(cli)  # type: ignore[arg-type]
        finally:
            scheduler.send_signal(signal.SIGCONT)
            stop(scheduler)
    lines = error_lines(stderr)
    assert cli.returncode == 4 and len(lines) == 1, (cli.returncode, stderr)
    line = lines[0]
    assert line.startswith(f"error: weights set: the node at {addr['rpc']} went away"), line
    assert "did not finish within" not in line and "may have been sent" in line, line
    assert "the commit's salt is " in line and "`taonet weights reveal 1 --uids 0 --weights 65535 --salt " in line
    fields = json.loads(stdout)["error"]["fields"]
    assert fields["cause"].startswith(f"the node at {addr['rpc']} went away") and fields["sent"] is True, fields
    assert fields["then"].startswith("the commit's salt is "), fields
