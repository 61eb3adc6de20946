"""A miner whose axon cannot be published (an unspecified external address: 0.0.0.0, ::) says so once per cause,
then at the 10th time, in the CLI's words and Python's; status.json keeps the cause once, with how many times and
the block and time of the last one (before: a warning at every metagraph sync, ten identical errors, a hint for
Python users only). Real parts: an in-process dev node, the miner on the test's event loop."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.plugins import NeuronConfig, StateDir, run_miner

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio

TRIES = 12
"""Publish tries the test waits for (one a block: metagraph_interval 1): past the 10th, which is said again."""


@pytest.mark.parametrize("ip", ["0.0.0.0", "::"])
async def test_an_unspecified_external_ip_is_said_once_per_cause_and_kept_once_with_its_count(
        tmp_path: Path, ip: str) -> None:
    state = StateDir(tmp_path / "state")
    async with running_node(tmp_path / "node") as (_node, sub):
        owner = dev_wallet(tmp_path, "owner", "//Alice")
        miner = dev_wallet(tmp_path, "miner", "//Bob")
        with anyio.fail_after(30):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.burned_register(miner, 1)).uid == 1
        config = NeuronConfig(wallet=miner, state_dir=state.path, netuid=1, endpoint=sub.endpoint, plugin="template",
                              port=0, external_ip=ip, options={"metagraph_interval": "1", "delay": "0.01"})
        with capture_logs() as logs, anyio.fail_after(40):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, config)
                while True:
                    await sub.wait_for_block()
                    status = state.read_status() or {}
                    details = [d for d in status.get("error_details", []) if d["error"].startswith("axon.publish")]
                    if details and details[0]["count"] >= TRIES:
                        break
                tg.cancel_scope.cancel()
        head = await sub.get_current_block()
    failed = [e for e in logs if e["event"] == "axon.publish_failed"]
    assert [e["times"] for e in failed] == [1, 10], failed
    reason = failed[0]["reason"]
    assert f"the axon's address is {ip}" in reason and "give --external-ip (Axon(external_ip=...) in Python)" in reason
    assert not [e for e in logs if e["event"] == "axon.published"]
    # status.json: the cause once, with its count and the block and time of its last try
    assert [m for m in status["errors"] if m.startswith("axon.publish")] == [f"axon.publish: {reason}"], status
    [detail] = details
    assert detail["count"] >= TRIES and detail["first_block"] < detail["block"] <= head, detail
    assert time.time() - 30 < detail["time"] <= status["time"] <= time.time()
    assert status["pid"] == os.getpid()
    # the miner said what it runs with
    [started] = [e for e in logs if e["event"] == "miner.started"]
    assert started["external_ip"] == ip and started["endpoint"] == sub.endpoint
    assert started["options"]["metagraph_interval"] == 1 and started["options"]["delay"] == 0.01
    assert started["options"]["hook_timeout"] == 60.0  # a default, shown too
