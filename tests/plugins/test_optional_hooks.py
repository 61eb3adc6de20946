"""The optional hooks run where the contract says: the validator's choice of miners, its feedback to them, what the
journal keeps, the miner's blacklist and priority, and the lifecycle hooks of both neurons (in one process, on
asyncio and trio, against a real dev node)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest

from taonet.kernel import Synapse
from taonet.plugins import NeuronConfig, Plugin, SubnetProtocol, Task, hookimpl, read_journal, run_miner, run_validator

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio


class Ask(Synapse):
    """The query."""

    q: int = 0
    a: int | None = None


class Feedback(Synapse):
    """Scores sent back to the miners, with the step (the task's q) they are for."""

    score: float = 0.0
    q: int = -1


class Recorder:
    """A plugin object whose hooks record that they ran."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.feedback: list[tuple[int, float]] = []  # (step, score) as the miner received them
        self.roles: set[str] = set()

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        return SubnetProtocol(name="recorder", description="records its hooks", synapses=(Ask, Feedback),
                              options={"timeout": 1.0})

    @hookimpl
    def validator_task(self, step: int) -> Task:
        return Task(synapse=Ask(q=step), truth=step + 1)

    @hookimpl
    def validator_select(self, metagraph: Any, uid: int | None) -> list[int]:
        self.calls["validator_select"] += 1
        return [u for u in range(metagraph.n) if metagraph.axons[u].is_serving and u != uid]

    @hookimpl
    def reward(self, task: Task, responses: list[Any]) -> dict[str, float]:
        return {r.hotkey: 1.0 if r.synapse.a == task.truth else 0.0 for r in responses}

    @hookimpl
    def validator_feedback(self, task: Task, scores: dict[str, float]) -> Feedback:
        return Feedback(score=max(scores.values(), default=0.0), q=task.synapse.q)

    @hookimpl
    def journal_response(self, response: Any) -> dict[str, Any]:
        return {"digest": (response.synapse.a or 0) % 7}

    @hookimpl
    async def miner_forward(self, synapse: Synapse) -> Synapse:
        if isinstance(synapse, Feedback):
            self.feedback.append((synapse.q, synapse.score))
            return synapse
        assert isinstance(synapse, Ask)
        return synapse.replace(a=synapse.q + 1)

    @hookimpl
    def miner_blacklist(self, synapse: Synapse, metagraph: Any) -> tuple[bool, str]:
        self.calls["miner_blacklist"] += 1
        return (synapse.dendrite.hotkey not in metagraph.hotkeys, "not registered")

    @hookimpl
    def miner_priority(self) -> float:
        self.calls["miner_priority"] += 1
        return 1.0

    @hookimpl
    def neuron_start(self, context: Any) -> None:
        self.roles.add(context.role)
        self.calls["neuron_start"] += 1
        (context.plugin_dir / f"{context.role}.txt").write_text("mine")

    @hookimpl
    def neuron_stop(self, context: Any) -> None:
        self.calls["neuron_stop"] += 1

    @hookimpl
    async def neuron_block(self, block: int) -> None:
        self.calls["neuron_block"] += 1

    @hookimpl
    def neuron_epoch(self, context: Any) -> None:
        self.calls["neuron_epoch"] += 1


async def test_optional_hooks_run_where_the_contract_says(tmp_path: Path) -> None:
    """Over two epochs: select, feedback (the miner receives it), journal_response (what the journal keeps),
    blacklist and priority on the miner, and start/block/epoch/stop on both neurons; the plugin's folder is its."""
    rec = Recorder()
    plugin = Plugin.from_object("recorder", rec)
    async with running_node(tmp_path / "node") as (_node, sub):
        owner, miner, validator = (dev_wallet(tmp_path, n, c) for n, c in
                                   (("owner", "//Alice"), ("miner", "//Bob"), ("validator", "//Charlie")))
        with anyio.fail_after(60):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.set_hyperparameter(owner, 1, "tempo", 5)).success
            assert (await sub.set_subnet_identity(owner, 1, "recorder")).success
            assert (await sub.burned_register(miner, 1)).success
            assert (await sub.burned_register(validator, 1)).success
        common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": plugin, "port": 0}
        vdir, mdir = tmp_path / "state" / "validator", tmp_path / "state" / "miner"
        with anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=mdir, **common))
                await tg.start(run_validator, NeuronConfig(wallet=validator, state_dir=vdir, **common))
                # a step answered within the protocol's 1 s timeout scores 1.0 (a loaded machine may miss some)
                while not (len(rec.feedback) >= 2 and rec.calls["neuron_epoch"] >= 4
                           and any(score == 1.0 for _, score in rec.feedback)):
                    await sub.wait_for_block()
                tg.cancel_scope.cancel()
    assert rec.roles == {"miner", "validator"}
    assert rec.calls["neuron_start"] == rec.calls["neuron_stop"] == 2
    assert rec.calls["neuron_block"] > 2 and rec.calls["validator_select"] >= 2
    assert rec.calls["miner_blacklist"] >= 2 and rec.calls["miner_priority"] >= 2
    steps = list(read_journal(vdir / "journal"))
    step_max = {s["step"]: max(s["scores"].values(), default=0.0) for s in steps}
    assert all(score == step_max[q] for q, score in rec.feedback), (rec.feedback, step_max)  # the step's own score
    assert steps and all(set(r["data"]) == {"digest"} for s in steps for r in s["responses"])
    assert {r["data"]["digest"] for s in steps for r in s["responses"]} == {(s["step"] + 1) % 7 for s in steps}
    assert (vdir / "plugin" / "validator.txt").read_text() == (mdir / "plugin" / "miner.txt").read_text() == "mine"
