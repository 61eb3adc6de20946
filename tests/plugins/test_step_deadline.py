"""The validator's step hooks run under the ``hook_timeout`` deadline too (asyncio and trio, a NeuronHost with a
real miner and validator against a dev node on 127.0.0.1): a ``reward`` that never returns (a plain def blocked in
its thread, or an async def that awaits for ever) fails that step with one HookFailed naming the hook and the
option, instead of stalling the validator's step loop for good; the next steps run (the task hook keeps being
called), status.json keeps the cause, and once reward answers again the validator scores and sets weights."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Wallet
from taonet.plugins import NeuronConfig, NeuronHost, Plugin, StateDir, hookimpl, load_plugin

from ..kernel.node.nodes import dev_wallet, running_node
from .organic import refused_organic

pytestmark = pytest.mark.anyio


class _StuckReward:
    """The template's hooks, with a reward whose first call never returns on its own: a plain def blocked on an
    event (``release``, set by the test) or an async def awaiting for ever; its later calls score as the template's."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = {"validator_task": 0, "reward": 0}
        self.template = load_plugin("template").pm.get_plugin("template")
        for name in ("subnet_protocol", "miner_forward"):
            setattr(self, name, getattr(self.template, name))

    @hookimpl
    def validator_task(self, rng: Any) -> Any:
        self.calls["validator_task"] += 1
        return self.template.validator_task(rng=rng)


class _StuckSync(_StuckReward):
    @hookimpl
    def reward(self, task: Any, responses: Any, options: Any) -> Any:
        self.calls["reward"] += 1
        if self.calls["reward"] == 1:
            self.release.wait(60)  # on purpose: a reward that blocks (until the test releases it)
        return self.template.reward(task=task, responses=responses, options=options)


class _StuckAsync(_StuckReward):
    @hookimpl
    async def reward(self, task: Any, responses: Any, options: Any) -> Any:
        self.calls["reward"] += 1
        if self.calls["reward"] == 1:
            await anyio.sleep_forever()
        return self.template.reward(task=task, responses=responses, options=options)


async def _subnet(sub: Any, root: Path) -> tuple[Wallet, Wallet]:
    owner = dev_wallet(root, "owner", "//Alice")
    with anyio.fail_after(30):
        assert (await sub.create_subnet(owner)).success
        for name, value in (("tempo", 10), ("weights_rate_limit", 2)):
            assert (await sub.set_hyperparameter(owner, 1, name, value)).success
        assert (await sub.set_subnet_identity(owner, 1, "template")).success
        miner, validator = dev_wallet(root, "miner", "//Bob"), dev_wallet(root, "validator", "//Charlie")
        for w in (miner, validator):
            assert (await sub.burned_register(w, 1)).success
        assert (await sub.add_stake(validator, validator.hotkey.ss58_address, 100.0)).success
    return miner, validator


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_reward_that_never_returns_fails_its_step_and_the_validator_steps_on_and_sets_weights(
        tmp_path: Path, kind: str) -> None:
    """reward's first call blocks for ever (hook_timeout 0.3 s): that step fails with one warning naming reward,
    hook_timeout and the fix, and status.json keeps it; the next steps run (validator_task keeps being called; a
    plain def is not called again while its first call still runs, each such step fails at once); once reward
    answers (the async one at its next call, the plain one once released) the validator scores the miner and sets
    weights. Before, the first step never ended: no more steps, no weights."""
    obj = _StuckSync() if kind == "sync" else _StuckAsync()
    state = StateDir(tmp_path / "s" / "v")
    try:
        async with running_node(tmp_path / "node") as (_node, sub):
            miner, validator = await _subnet(sub, tmp_path)
            common = {"netuid": 1, "endpoint": sub.endpoint, "port": 0}
            host = NeuronHost()
            host.add(NeuronConfig(plugin="template", wallet=miner, state_dir=tmp_path / "s" / "m", **common), "miner",
                     name="miner")
            host.add(NeuronConfig(plugin=Plugin.from_object("template", obj), wallet=validator, state_dir=state.path,
                                  options={"hook_timeout": "0.3", "timeout": "1", "weights_interval": "2"}, **common),
                     "validator", name="validator")
            with capture_logs() as logs, anyio.fail_after(25):
                async with anyio.create_task_group() as tg:
                    await tg.start(host.run)
                    while obj.calls["reward"] < 1:
                        await sub.wait_for_block()
                    tasks_at_stall = obj.calls["validator_task"]
                    while obj.calls["validator_task"] < tasks_at_stall + 3:  # steps go on past the stuck reward
                        await sub.wait_for_block()
                    rewards_while_stuck = obj.calls["reward"]
                    obj.release.set()
                    while not (state.read_status() or {}).get("last_weights_block"):
                        await sub.wait_for_block()
                    status = state.read_status() or {}
                    tg.cancel_scope.cancel()
    finally:
        obj.release.set()
    if kind == "sync":
        assert rewards_while_stuck == 1  # never called again while its first call still runs
    failed = [(e["hook"], e["error"], e["times"]) for e in logs if e["event"] == "plugin.hook_failed"]
    assert failed, failed
    hook, error, times = failed[0]
    assert (hook, times) == ("reward", 1)
    assert error.startswith("it did not return within 0.3 s (the hook_timeout option), so this step was skipped; ")
    assert error.endswith("--set hook_timeout=SECONDS")
    assert {h for h, _, _ in failed} == {"reward"}
    causes = [e.split(",")[0] for _, e, _ in failed]
    assert len(causes) == len(set(causes))  # each cause said once (then at its 10th, 100th... time)
    if kind == "sync":
        assert set(causes) <= {"it did not return within 0.3 s (the hook_timeout option)",
                               "its previous call still runs past its deadline (it is not called again until that "
                               "returns)"}
    assert [m for m in status["errors"] if m.startswith("plugin.reward: it did not return within 0.3 s")]
    assert status["last_score_update"] is not None and status["tracked_hotkeys"] >= 1
    assert [e for e in logs if e["event"] == "weights.set"]
    assert not [e for e in logs if e["event"] in ("neuron.crashed", "neuron.failed")]


class _StuckOrganic(_StuckReward):
    """The template's hooks, with an async validator_organic that never returns."""

    @hookimpl
    async def validator_organic(self, payload: Any) -> Any:
        await anyio.sleep_forever()

    @hookimpl
    def reward(self, task: Any, responses: Any, options: Any) -> Any:
        return self.template.reward(task=task, responses=responses, options=options)


async def test_an_organic_query_whose_hook_never_returns_is_refused_naming_the_hook_and_the_option(
        tmp_path: Path) -> None:
    """A validator's gateway whose validator_organic awaits for ever (hook_timeout 0.3 s): the caller's query is
    refused within its own timeout, naming the hook and hook_timeout (before, the caller waited out its timeout and
    got no reason), and the validator logs it as one line."""
    obj = _StuckOrganic()
    async with running_node(tmp_path / "node") as (_node, sub):
        _miner, validator = await _subnet(sub, tmp_path)
        config = NeuronConfig(plugin=Plugin.from_object("template", obj), netuid=1, wallet=validator,
                              endpoint=sub.endpoint, port=0, gateway="127.0.0.1:0", state_dir=tmp_path / "s" / "v",
                              options={"step_interval": str(10**6), "hook_timeout": "0.3"})
        refused, logs = await refused_organic(sub, config, 25)
    assert "the validator_organic hook of subnet plugin 'template' failed: it did not return within 0.3 s (the " \
           "hook_timeout option), so this organic query was refused; " in str(refused)
    assert "--set hook_timeout=SECONDS" in str(refused)
    failed = [e for e in logs if e["event"] == "plugin.hook_failed"]
    assert [e["hook"] for e in failed] == ["validator_organic"]
