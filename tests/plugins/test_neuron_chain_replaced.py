"""A node restarted on a fresh data directory (same dev genesis, same addresses) under a running miner: the miner says
within seconds that the chain was replaced, never that it was deregistered by pruning, says that its hotkey holds no
UID on the new chain, and carries on: once registered there it takes its UID and publishes its axon. Before, it waited
on the block feed for the old chain's next height (`node.quiet` after 60 s), then called the new chain's missing
registration a deregistration. Real parts: `taonet node run --dev` stopped and another started on the same ports,
`taonet miner run` as a process."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from taonet.kernel import subtensor
from taonet.testing import read_line, stop_process

from ..kernel.node.nodes import TAONET, dev_wallet, free_node_ports, stop
from .test_neuron_node_restart import _answering, _events, _node

pytestmark = pytest.mark.slow

OLD_HEIGHT = 40
"""Blocks the first chain reaches before its node is stopped (4 s at 0.1 s a block)."""
BOUND = 10.0
"""Seconds after the new node answers within which the miner must say each thing (it asks the node's head after
3 s without a new one; margin for a busy machine)."""


def _wait_for(log: Path, event: str, within: float) -> list[dict]:
    deadline = time.monotonic() + within
    while not (found := _events(log, event)):
        assert time.monotonic() < deadline, f"no {event} within {within} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)
    return found


def _saw_the_chain_replaced(log: Path, endpoint: str, old_height: int) -> None:
    """Once the fresh node at ``endpoint`` answers, the neuron logging to ``log`` says `neuron.chain_replaced` (the
    old chain's head, at least ``old_height``, above the new one's) and `neuron.not_registered`, each within BOUND."""
    answering = _answering(endpoint)
    [replaced] = _wait_for(log, "neuron.chain_replaced", BOUND)
    _wait_for(log, "neuron.not_registered", BOUND)
    assert time.time() - answering < BOUND + 1
    assert replaced["old_head"] >= old_height > replaced["new_head"], replaced


def test_a_miner_notices_its_node_runs_another_chain_and_carries_on_there(tmp_path: Path) -> None:
    rpc, feed = free_node_ports()
    endpoint = f"tcp://127.0.0.1:{rpc}"
    log = tmp_path / "miner.log"
    owner, bob = dev_wallet(tmp_path, "owner", "//Alice"), dev_wallet(tmp_path, "miner", "//Bob")
    miner = None
    try:
        with _node(tmp_path / "node", rpc, feed) as node:
            with subtensor(endpoint, timeout=20.0) as sub:
                assert sub.create_subnet(owner).success
                assert sub.burned_register(bob, 1).uid == 1
                with open(log, "w") as err:
                    miner = subprocess.Popen([*TAONET, "miner", "run", "--plugin", "template", "--netuid", "1",
                                              "--wallet-name", "miner", "--hotkey", "default", "--wallet-path",
                                              str(tmp_path / "wallets"), "--endpoint", endpoint, "--port", "0",
                                              "--state-dir", str(tmp_path / "state"), "--log-json"],
                                             stdout=subprocess.PIPE, stderr=err, text=True)
                read_line(miner, "axon", 60)
                sub.wait_for_block(OLD_HEIGHT, timeout=30.0)
            stop(node)
        with _node(tmp_path / "node-fresh", rpc, feed):
            _saw_the_chain_replaced(log, endpoint, OLD_HEIGHT)
            with subtensor(endpoint, timeout=20.0) as sub:
                assert sub.create_subnet(owner).success
                assert sub.burned_register(bob, 1).uid == 1
            deadline = time.monotonic() + BOUND
            while len(_events(log, "axon.published")) < 2:
                assert time.monotonic() < deadline, f"no axon published on the new chain:\n{log.read_text()[-3000:]}"
                time.sleep(0.05)
            [registered] = _wait_for(log, "neuron.registered", BOUND)
            assert registered["uid"] == 1
            assert miner.poll() is None
    finally:
        if miner is not None:
            stop_process(miner)
    assert not _events(log, "neuron.deregistered")
    assert not _events(log, "node.quiet")
