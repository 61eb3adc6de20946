"""A write whose node goes away while the command waits says that first, not "did not finish within --timeout", and
keeps what the user needs: whether it may have been sent and the command that checks, and for a weight commit its
salt and the exact reveal command. Through the installed `taonet` on a real dev node that the test kills (SIGKILL)
once the write is in its mempool.

As in test_write_timeouts.py, the node runs its scheduler in another process, stopped (SIGSTOP) so that no block
includes the write before the node is gone."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest

from taonet.kernel import Balance, Wallet, subtensor
from taonet.ledger import Keypair
from tests.kernel.node.nodes import stop

from .cli import Cli
from .processes import TAONET_EXE, error_lines, taonet_node

pytestmark = pytest.mark.slow

DEST = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"  # //Ferdie's address


@attrs.frozen
class Gone:
    """What the command said once its node was killed under it."""

    status: int
    line: str
    fields: dict[str, object]
    endpoint: str


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


@contextmanager
def _node_killed_under(tmp_path: Path, prepare: Callable[[object, Wallet], Keypair], args: list[str]
                       ) -> Iterator[Callable[[], Gone]]:
    """A dev node whose owner wallet ``prepare(sub, owner)`` sets up (returning the key that signs the write); then,
    blocks held, ``taonet ARGS --json`` runs, and the node is killed once the write waits in its mempool."""
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
                signer = prepare(sub, owner)
                scheduler.send_signal(signal.SIGSTOP)
                _steady_head(sub)
                nonce = sub.get_nonce(signer.ss58_address)
                cli = subprocess.Popen([TAONET_EXE, *args, "-y", "--timeout", "3", "--json"], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True,
                                       env=Cli(wallets=wallets, endpoint=addr["rpc"]).env())
                try:
                    deadline = time.monotonic() + 4
                    while sub.get_nonce(signer.ss58_address) == nonce:  # the write waits in the mempool
                        assert time.monotonic() < deadline and cli.poll() is None, "the write was never admitted"
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
    assert len(lines) == 1, (cli.returncode, stderr)
    yield lambda: Gone(cli.returncode, lines[0], json.loads(stdout)["error"]["fields"], addr["rpc"])


def test_weights_set_whose_node_went_away_says_so_and_keeps_the_salt(tmp_path: Path) -> None:
    """`weights set` on a commit-reveal subnet, the node killed while the commit waits for a block: exit 4, one line
    that starts by saying the node went away (not "did not finish within"), says the commit may have been sent, and
    gives the salt and the reveal command; the --json document carries the same as fields (``cause``, ``then``)."""

    def commit_reveal_subnet(sub: object, owner: Wallet) -> Keypair:
        assert sub.create_subnet(owner).success  # type: ignore[attr-defined]
        assert sub.set_hyperparameter(owner, 1, "commit_reveal_weights_enabled", True).success  # type: ignore
        return owner.hotkey

    with _node_killed_under(tmp_path, commit_reveal_subnet, ["weights", "set", "1", "--uids", "0", "--weights", "1",
                                                              "-w", "owner", "-H", "owner"]) as said:
        gone = said()
    line = gone.line
    assert gone.status == 4 and line.startswith(f"error: weights set: the node at {gone.endpoint} went away"), line
    assert "did not finish within" not in line and "may have been sent" in line, line
    assert "the commit's salt is " in line and "`taonet weights reveal 1 --uids 0 --weights 65535 --salt " in line
    cause, then = str(gone.fields["cause"]), str(gone.fields["then"])
    assert cause.startswith(f"the node at {gone.endpoint} went away") and gone.fields["sent"] is True, gone.fields
    assert then.startswith("the commit's salt is "), gone.fields


def test_a_transfer_whose_node_went_away_says_so_and_names_the_check(tmp_path: Path) -> None:
    """Any write, not only a weight commit: a transfer whose node is killed while it waits for a block says the node
    went away, that it may have been sent, and the check to run once the node answers again (exit 4)."""
    with _node_killed_under(tmp_path, lambda sub, owner: owner.coldkey,
                            ["wallet", "transfer", "-w", "owner", "--dest", DEST, "--amount", "1"]) as said:
        gone = said()
    assert gone.status == 4 and gone.line.startswith(f"error: transfer: the node at {gone.endpoint} went away ("), \
        gone.line
    assert gone.line.endswith("it may have been sent and may still be included; once the node answers again, check "
                              "with `taonet wallet balance -w owner` before sending it again"), gone.line
    assert gone.fields["check"] == "taonet wallet balance -w owner" and gone.fields["sent"] is True
