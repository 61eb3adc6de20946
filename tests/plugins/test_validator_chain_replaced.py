"""A node restarted on a fresh data directory (same dev genesis, same addresses) under a running validator: the
validator says within seconds that the chain was replaced, never that it was deregistered by pruning, says that its
hotkey holds no UID on the new chain, and carries on: once registered and staked there it sets weights on the new
chain. Before (e1d92cb^), it waited on the block feed for the old chain's next height and set no weights on the new
chain meanwhile. Real parts: `taonet node run --dev` stopped and another started on the same ports, `taonet miner run`
and `taonet validator run` as processes."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from taonet.kernel import subtensor
from taonet.testing import read_line, stop_process

from ..kernel.node.nodes import TAONET, dev_wallet, free_node_ports, stop
from .test_neuron_chain_replaced import _saw_the_chain_replaced, _wait_for
from .test_neuron_node_restart import _events, _node

pytestmark = pytest.mark.slow

OLD_HEIGHT = 60
"""Blocks the first chain reaches before its node is stopped (6 s at 0.1 s a block): well above the height the new
chain reaches while the test waits for the validator's weights there."""
BOUND = 10.0
"""Seconds after the new node answers within which the validator must say each thing (it asks the node's head after
3 s without a new one; margin for a busy machine)."""
WEIGHTS_BOUND = 20.0
"""Seconds after its registration and stake on the new chain within which the validator must set weights there (a
permit at the next epoch, tempo 10 at 0.1 s a block, then a step that scored the miner)."""


def _neurons(sub: Any, owner: Any, miner: Any, validator: Any) -> None:
    """Subnet 1, //Alice's; //Bob's miner at UID 1, //Charlie's validator at UID 2 with 100 τ staked."""
    assert sub.create_subnet(owner).success
    assert sub.burned_register(miner, 1).uid == 1
    assert sub.burned_register(validator, 1).uid == 2
    assert sub.add_stake(validator, validator.hotkey.ss58_address, 100.0).success


def test_a_validator_notices_its_node_runs_another_chain_and_sets_weights_there(tmp_path: Path) -> None:
    rpc, feed = free_node_ports()
    endpoint = f"tcp://127.0.0.1:{rpc}"
    log = tmp_path / "validator.log"
    wallets = tmp_path / "wallets"
    owner = dev_wallet(tmp_path, "owner", "//Alice")
    miner_wallet, validator_wallet = dev_wallet(tmp_path, "miner", "//Bob"), dev_wallet(tmp_path, "validator",
                                                                                        "//Charlie")
    common = ["--plugin", "template", "--netuid", "1", "--hotkey", "default", "--wallet-path", str(wallets),
              "--endpoint", endpoint, "--port", "0", "--log-json"]
    procs: list[subprocess.Popen[str]] = []
    try:
        with _node(tmp_path / "node", rpc, feed) as node:
            with subtensor(endpoint, timeout=20.0) as sub:
                _neurons(sub, owner, miner_wallet, validator_wallet)
                procs.append(subprocess.Popen([*TAONET, "miner", "run", "--wallet-name", "miner", *common,
                                               "--state-dir", str(tmp_path / "state" / "miner")],
                                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
                read_line(procs[0], "axon", 60)
                with open(log, "w") as err:
                    procs.append(subprocess.Popen([*TAONET, "validator", "run", "--wallet-name", "validator",
                                                   *common, "--set", "weights_interval=1", "--state-dir",
                                                   str(tmp_path / "state" / "validator")],
                                                  stdout=subprocess.DEVNULL, stderr=err, text=True))
                _wait_for(log, "weights.set", 60)  # it earns on the old chain
                sub.wait_for_block(OLD_HEIGHT, timeout=30.0)
            stop(node)
        set_on_old = len(_events(log, "weights.set"))
        with _node(tmp_path / "node-fresh", rpc, feed):
            _saw_the_chain_replaced(log, endpoint, OLD_HEIGHT)
            with subtensor(endpoint, timeout=20.0) as sub:
                _neurons(sub, owner, miner_wallet, validator_wallet)
                registered_at = sub.get_current_block()
            [registered] = _wait_for(log, "neuron.registered", BOUND)
            assert registered["uid"] == 2
            deadline = time.monotonic() + WEIGHTS_BOUND
            while not (new := [e for e in _events(log, "weights.set")[set_on_old:] if e["block"] >= registered_at]):
                assert time.monotonic() < deadline, f"no weights set on the new chain:\n{log.read_text()[-3000:]}"
                time.sleep(0.05)
            assert new[0]["block"] < OLD_HEIGHT, new[0]  # the new chain's block, not the old chain's height
            assert all(p.poll() is None for p in procs)
    finally:
        for proc in procs:
            stop_process(proc)
    assert not _events(log, "neuron.deregistered")
