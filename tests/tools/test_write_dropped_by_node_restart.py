"""A write waiting in the mempool of a node killed (SIGKILL) and restarted at once on the same data directory: the
restart emptied the mempool, so nothing will include it, and the client learns that as soon as the restarted node
seals a block without it (the node names each run of itself, ``instance``, and knows every inclusion of its last
blocks). A raw ``submit`` ends "rejected" with ExtrinsicDropped saying the node restarted and nothing was applied; a
write that signs for you (``transfer``, `taonet wallet transfer`) signs it again at the same next nonce, as for any
write dropped unapplied, and is included once, seconds after the restart, not after its whole timeout with "may
still be included". A transfer sealed just before a kill is still "included" afterwards, never taken for dropped
(which would send it a second time).

The middle run of the node delays its scheduler's answers for an hour, so no block includes the waiting writes before
the kill."""

from __future__ import annotations

import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from taonet.kernel import ExtrinsicResult, subtensor
from taonet.kernel.errors import ExtrinsicDropped
from taonet.ledger import Keypair, Transfer
from tests.kernel.client.servers import free_address
from tests.kernel.node.nodes import dev_wallet, node_process, stop

from .cli import Cli
from .processes import TAONET_EXE

pytestmark = pytest.mark.slow

ALICE, BOB, DAVE = Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob"), Keypair.from_uri("//Dave")
FERDIE = Keypair.from_uri("//Ferdie")
WAIT = 60.0
"""The writes' own timeouts: an end far below them is the restart noticed, not a timeout."""


def test_writes_dropped_by_a_restart_end_at_once_and_one_sealed_before_it_stays_included(tmp_path: Path) -> None:
    data, rpc, feed = tmp_path / "node", free_address(), free_address()
    where = ("--rpc", rpc, "--feed", feed, "--log-level", "warning")
    cli_wallet = dev_wallet(tmp_path, "cli", "//Charlie")
    cold = cli_wallet.coldkeypub.ss58_address
    with node_process(data, *where, block_time=0.2) as (proc, _), subtensor(rpc, timeout=20) as sub:
        sealed = sub.transfer(ALICE, FERDIE.ss58_address, 7)
        assert sealed.status == "included", sealed
        proc.send_signal(signal.SIGKILL)  # right after the seal: the receipts table dies with the process
        proc.wait(10)
    with node_process(data, *where, "--actor-delay", "scheduler=3600", block_time=0.2) as (proc, _), \
            subtensor(rpc, timeout=20) as sub:
        receipt = sub.call("receipt", hash=sealed.hash)
        assert receipt["status"] == "included" and receipt["block"] == sealed.block, receipt
        signers = (BOB.ss58_address, DAVE.ss58_address, cold)
        before = {who: (sub.get_balance(who).rao, sub.get_nonce(who)) for who in signers}
        with ThreadPoolExecutor(2) as pool:
            sdk = pool.submit(_transfer, rpc)
            raw = pool.submit(_submit, rpc)
            cli = subprocess.Popen([TAONET_EXE, "wallet", "transfer", "-w", "cli", "--dest", FERDIE.ss58_address,
                                    "--amount", "1", "-y", "--timeout", str(WAIT)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   env=Cli(wallets=tmp_path / "wallets", endpoint=rpc, password=None).env())
            try:
                deadline = time.monotonic() + 20
                for who in signers:  # each write waits in the mempool
                    while sub.get_nonce(who) == before[who][1]:
                        assert time.monotonic() < deadline and cli.poll() is None and not sdk.done(), \
                            f"the write of {who} was never admitted"
                        time.sleep(0.05)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                killed = time.monotonic()
                with node_process(data, *where, block_time=0.2):
                    sent, dropped = sdk.result(WAIT + 10), raw.result(WAIT + 10)
                    sdk_s = time.monotonic() - killed
                    stdout, stderr = cli.communicate(timeout=WAIT + 10)
                    cli_s = time.monotonic() - killed
                    with subtensor(rpc, timeout=20) as after:
                        now = {who: (after.get_balance(who).rao, after.get_nonce(who)) for who in signers}
            finally:
                stop(cli)  # type: ignore[arg-type]
    assert dropped.status == "rejected" and isinstance(dropped.error, ExtrinsicDropped), dropped
    assert str(dropped.error) == (f"the extrinsic with nonce 0 was dropped: the node at {rpc} restarted before any "
                                  "block included it (a restart empties its mempool), so nothing was applied; sign "
                                  "it again at the next nonce"), dropped.error
    assert sent.status == "included" and sdk_s < WAIT / 2, (sdk_s, sent)
    assert cli.returncode == 0 and stdout.startswith("sent τ1.0000 to ") and cli_s < WAIT / 2, \
        (cli.returncode, cli_s, stdout, stderr)
    assert now[DAVE.ss58_address] == before[DAVE.ss58_address]  # the raw submit: nothing ran
    assert now[BOB.ss58_address] == (before[BOB.ss58_address][0] - 3, 1)  # sent again, and ran once
    assert now[cold] == (before[cold][0] - 10**9, 1)  # the dev chain takes no fee


def _transfer(rpc: str) -> ExtrinsicResult:
    with subtensor(rpc, timeout=20) as sub:
        return sub.transfer(BOB, FERDIE.ss58_address, 3)  # waits up to 60 s (WAIT) for its outcome


def _submit(rpc: str) -> ExtrinsicResult:
    with subtensor(rpc, timeout=20) as sub:
        return sub.submit(sub.sign(DAVE, Transfer(dest=FERDIE.public_key, amount=5)), timeout=WAIT)
