"""A validator's hook failing at every step is counted in status.json at every failure (``error_details``' count),
as the miner's are, while its log lines stay at the 1st, 10th, 100th... time. Before, status.json's count moved only
when a log line was written (1, then 10), so it said 1 after nine failures. One real dev node, in process, asyncio
and trio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Synapse
from taonet.plugins import NeuronConfig, Plugin, StateDir, SubnetProtocol, Task, hookimpl, run_validator

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio

FAILURES = 4
"""Steps the validator runs, each failing (fewer than 10: no second log line)."""


class Ask(Synapse):
    """The query (never sent: the task fails first)."""

    q: int = 0


class Failing:
    """A plugin whose validator_task raises, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        return SubnetProtocol(name="failing", description="its task fails", synapses=(Ask,))

    @hookimpl
    def validator_task(self, step: int) -> Task:
        self.calls += 1
        raise RuntimeError("no task today")

    @hookimpl
    def miner_forward(self, synapse: Synapse) -> Synapse:
        return synapse

    @hookimpl
    def reward(self, task: Task, responses: list[Any]) -> dict[str, float]:
        return {}


async def test_every_failure_of_a_hook_is_counted_in_status(tmp_path: Path) -> None:
    async with running_node(tmp_path / "node") as (_node, sub):
        validator = dev_wallet(tmp_path, "validator", "//Charlie")
        with anyio.fail_after(30):
            assert (await sub.create_subnet(dev_wallet(tmp_path, "owner", "//Alice"))).success
            assert (await sub.burned_register(validator, 1)).uid == 1
        plugin = Failing()
        config = NeuronConfig(wallet=validator, state_dir=tmp_path / "state", netuid=1, endpoint=sub.endpoint,
                              plugin=Plugin.from_object("failing", plugin), port=0)
        with capture_logs() as logs, anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                await tg.start(run_validator, config)
                while plugin.calls < FAILURES:
                    await sub.wait_for_block()
                tg.cancel_scope.cancel()
        status = StateDir(tmp_path / "state").read_status()
        assert status is not None and status["state"] == "stopped", status
        [entry] = [d for d in status["error_details"] if d["error"].startswith("plugin.validator_task: ")]
        assert entry["count"] == plugin.calls >= FAILURES, (entry, plugin.calls)
        said = [e for e in logs if e["event"] == "plugin.hook_failed"]
        assert [e["times"] for e in said] == [1], said  # the log keeps its rule: the 1st, 10th, 100th... time
