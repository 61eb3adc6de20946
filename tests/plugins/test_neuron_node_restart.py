"""A node restarted under a running miner: the miner is back on it within a few blocks of the node listening again,
its retries bounded by the block time (before, the pause grew to 8 s in the first 15 s of the outage and a miner came
back some 13 dev blocks after its node, validators' reveals missed meanwhile). Real parts: `taonet node run --dev`
stopped and started again on the same ports and data directory, `taonet miner run` as a process."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from taonet.kernel import subtensor
from taonet.testing import read_line, stop_process

from ..kernel.node.nodes import TAONET, dev_wallet, free_node_ports, node_on_ports, stop

pytestmark = [pytest.mark.slow, pytest.mark.alone]  # a bound on how soon the miner is back: timing, so alone

BLOCK_TIME = 0.1
DOWN = 15.0
"""Seconds the node stays stopped: the old pauses (0.5, 1, 2, 4 s, each retry after the client's 1 s redial grace, the
first after its 3 s) had reached 8 s by the time it listened again (the miner back 5-8 s after it)."""
BOUND = 4.0
"""Seconds after the node answers again within which the miner must say `node.back`: a retry at most 1 s apart
(max(1 s, 4 blocks)) after the client's 1 s redial grace, and margin for a busy machine (0.3-2.2 s seen)."""


def _node(data_dir: Path, rpc: int, feed: int) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
    """`taonet node run --dev` on fixed ports (the same after a restart), at this module's block time."""
    return node_on_ports(data_dir, rpc, feed, block_time=BLOCK_TIME)


def _answering(endpoint: str, within: float = 30.0) -> float:
    """The wall-clock time the node at ``endpoint`` first answers a call (a client of the test's own)."""
    from taonet.ledger.errors import TaonetError

    deadline = time.monotonic() + within
    with subtensor(endpoint, timeout=0.5) as sub:
        while True:
            try:
                sub.get_current_block()
                return time.time()
            except TaonetError:
                assert time.monotonic() < deadline, f"the node did not answer within {within} s"
                time.sleep(0.02)


def _events(log: Path, event: str) -> list[dict]:
    out = []
    for line in log.read_text().splitlines():
        if f'"{event}"' in line:
            entry = json.loads(line)
            if entry.get("event") == event:
                out.append(entry)
    return out


def test_a_miner_is_back_within_a_few_blocks_of_its_node_restarted(tmp_path: Path) -> None:
    rpc, feed = free_node_ports()
    endpoint = f"tcp://127.0.0.1:{rpc}"
    log = tmp_path / "miner.log"
    miner = None
    try:
        with _node(tmp_path / "node", rpc, feed) as node:
            sub = subtensor(endpoint, timeout=20.0)
            try:
                assert sub.create_subnet(dev_wallet(tmp_path, "owner", "//Alice")).success
                assert sub.burned_register(dev_wallet(tmp_path, "miner", "//Bob"), 1).uid == 1
            finally:
                sub.close()
            with open(log, "w") as err:
                miner = subprocess.Popen([*TAONET, "miner", "run", "--plugin", "template", "--netuid", "1",
                                          "--wallet-name", "miner", "--hotkey", "default", "--wallet-path",
                                          str(tmp_path / "wallets"), "--endpoint", endpoint, "--port", "0",
                                          "--state-dir", str(tmp_path / "state"), "--log-json"],
                                         stdout=subprocess.PIPE, stderr=err, text=True)
            read_line(miner, "axon", 60)
            stop(node)  # SIGTERM: the node saves and ends
        time.sleep(DOWN)
        with _node(tmp_path / "node", rpc, feed):
            answering = _answering(endpoint)
            deadline = time.monotonic() + 30
            while not (back := _events(log, "node.back")):
                assert time.monotonic() < deadline, "no node.back within 30 s"
                time.sleep(0.05)
            assert miner.poll() is None
    finally:
        if miner is not None:
            stop_process(miner)
    [back] = back
    said = datetime.fromisoformat(back["timestamp"].replace("Z", "+00:00")).timestamp()
    assert said - answering < BOUND, (said - answering, back)
    assert back["away_s"] >= DOWN
