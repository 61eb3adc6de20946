"""A NeuronHost in this process, on asyncio and trio, against a real dev node: a neuron whose task raises is
restarted alone with a growing pause, one that cannot be fixed by a restart stays down, a plugin that blocks the
event loop is named; a validator's gateway answers organic queries best first, refuses callers over their rate and
payloads its plugin does not take, and moves no score unless the plugin's options say so."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Wallet
from taonet.plugins import NeuronConfig, NeuronHost, Plugin, Scores, aprompt, aquery, hookimpl, load_plugin, run_miner
from taonet.plugins.errors import QueryRefused

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio


class _BlocksOnce:
    """The template (through its entry point), plus an async neuron_block hook that blocks the event loop once
    (what the watchdog catches)."""

    def __init__(self) -> None:
        self.blocked = False
        template = load_plugin("template").pm.get_plugin("template")
        for name in ("subnet_protocol", "validator_task", "miner_forward", "reward"):
            setattr(self, name, getattr(template, name))

    @hookimpl
    async def neuron_block(self, block: int) -> None:
        if not self.blocked:
            self.blocked = True
            time.sleep(1.2)  # on purpose: a plugin that blocks the loop


async def _setup(sub: Any, root: Path, miners: int, validators: int) -> tuple[list[Wallet], list[Wallet]]:
    owner = dev_wallet(root, "owner", "//Alice")
    with anyio.fail_after(60):
        assert (await sub.create_subnet(owner)).success
        for name, value in (("tempo", 10), ("weights_rate_limit", 2)):
            assert (await sub.set_hyperparameter(owner, 1, name, value)).success
        assert (await sub.set_subnet_identity(owner, 1, "template")).success
        ms = [dev_wallet(root, f"miner{i}", "//Bob") for i in range(miners)]
        vs = [dev_wallet(root, f"validator{i}", "//Charlie") for i in range(validators)]
        for w in ms + vs:
            assert (await sub.burned_register(w, 1)).success
        for w in vs:
            assert (await sub.add_stake(w, w.hotkey.ss58_address, 100.0)).success
    return ms, vs


async def test_a_crash_restarts_that_neuron_alone_a_hopeless_one_stays_down_and_a_loop_blocker_is_named(
        tmp_path: Path) -> None:
    """Miner "crasher" raises twice after starting: it is restarted twice, the pause doubling, while "blocker" (whose
    plugin blocks the loop 1.2 s once, named by the watchdog) and the validator run on untouched. A neuron on an
    unregistered hotkey fails once for good and does not hold the host back."""
    async with running_node(tmp_path / "node") as (_node, sub):
        (a, b), (v,) = await _setup(sub, tmp_path, 2, 1)
        stranger = dev_wallet(tmp_path, "stranger", "//Dave")
        runs = 0

        async def crash_twice(config: NeuronConfig, *, task_status: Any) -> None:
            nonlocal runs
            runs += 1
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, config)
                task_status.started(None)
                if runs <= 2:
                    await sub.wait_for_block()
                    raise RuntimeError(f"boom {runs}")

        common = {"netuid": 1, "endpoint": sub.endpoint, "port": 0}
        host = NeuronHost(backoff=(0.2, 1.0), block_warn=0.4)
        host.add(NeuronConfig(plugin=Plugin.from_object("template", _BlocksOnce()), wallet=a,
                              state_dir=tmp_path / "s" / "a", **common), "miner", name="blocker")
        host.add(NeuronConfig(plugin="template", wallet=b, state_dir=tmp_path / "s" / "b", **common), "miner",
                 name="crasher", runner=crash_twice)
        host.add(NeuronConfig(plugin="template", wallet=v, state_dir=tmp_path / "s" / "v", **common), "validator",
                 name="validator")
        host.add(NeuronConfig(plugin="template", wallet=stranger, state_dir=tmp_path / "s" / "x", **common), "miner",
                 name="stranger")
        with capture_logs() as logs, anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                await tg.start(host.run)
                assert host.neurons["stranger"].state == "failed"
                while host.neurons["crasher"].restarts < 2 or host.neurons["crasher"].state != "running" \
                        or not host.blocked:
                    await sub.wait_for_block()
                for _ in range(3):
                    await sub.wait_for_block()
                states = {name: n.state for name, n in host.neurons.items()}
                tg.cancel_scope.cancel()
        assert states == {"blocker": "running", "crasher": "running", "validator": "running", "stranger": "failed"}
        crashed = [e for e in logs if e["event"] == "neuron.crashed"]
        assert [(e["name"], e["error"], e["restart_in"]) for e in crashed] == [
            ("crasher", "RuntimeError: boom 1", 0.2), ("crasher", "RuntimeError: boom 2", 0.4)]
        assert {n: host.neurons[n].restarts for n in host.neurons} == {"blocker": 0, "crasher": 2, "validator": 0,
                                                                       "stranger": 0}
        failed = [e for e in logs if e["event"] == "neuron.failed"]
        assert [e["name"] for e in failed] == ["stranger"] and "not registered" in failed[0]["error"]
        blocked = [e for e in logs if e["event"] == "host.loop_blocked"]
        assert any(e["blocked_by"] == "blocker" and "neuron_block" in e["where"] for e in blocked), blocked
        assert {e["event"] for e in logs} >= {"host.started", "host.stopped", "host.loop_unblocked"}


async def test_gateway_answers_best_first_refuses_over_rate_and_scores_organic_answers_only_when_told(
        tmp_path: Path) -> None:
    """Two validators with gateways (one with organic_scored) over 2 honest miners and a wrong one: every answer
    with return_all, the best first; a payload the template does not take and a caller over its rate are refused
    (QueryRefused, with the wait); the first validator's scores do not move with organic traffic, the second's do."""
    async with running_node(tmp_path / "node") as (_node, sub):
        miners, (v1, v2) = await _setup(sub, tmp_path, 3, 2)
        common = {"netuid": 1, "endpoint": sub.endpoint, "port": 0, "plugin": "template"}
        miners_host, validators_host = NeuronHost(), NeuronHost()  # validators start once the miners serve
        for i, w in enumerate(miners):
            miners_host.add(NeuronConfig(wallet=w, state_dir=tmp_path / "s" / f"m{i}",
                                         options={"honest": str(i < 2)}, **common), "miner")
        for i, (w, scored) in enumerate(((v1, False), (v2, True))):
            validators_host.add(NeuronConfig(wallet=w, state_dir=tmp_path / "s" / f"v{i}", gateway="127.0.0.1:0",
                                             options={"step_interval": 10**6, "gateway_rate": 0.5,
                                                      "organic_scored": scored}, **common), "validator", name=f"v{i}")
        honest = {w.hotkey.ss58_address for w in miners[:2]}
        scores = [tmp_path / "s" / f"v{i}" / "scores.cbor" for i in range(2)]

        async def serving(n: int) -> None:
            while sum(a.is_serving for a in (await sub.metagraph(1)).axons) < n:
                await sub.wait_for_block()

        with anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                await tg.start(miners_host.run)
                await serving(3)
                while not all((mg := await sub.metagraph(1)).validator_permit[4:6]):  # miners answer permits only
                    await sub.wait_for_block()
                miner_status = [tmp_path / "s" / f"m{i}" / "status.json" for i in range(3)]
                while not all(p.exists() and json.loads(p.read_text())["metagraph_block"] >= mg.block
                              for p in miner_status):  # and only the permits they have synced: no race
                    await sub.wait_for_block()
                await tg.start(validators_host.run)
                await serving(5)  # both gateways too
                while not all(p.exists() for p in scores):  # each validator's one step
                    await sub.wait_for_block()
                before = [Scores.from_bytes(p.read_bytes()).scores for p in scores]
                caller = miners[0]
                answers = {}
                for i, v in enumerate((v1, v2)):
                    answers[i] = await aquery(1, 21, validator=v.hotkey.ss58_address, return_all=True,
                                              endpoint=sub.endpoint, timeout=5.0)
                assert await aprompt(1, "7", endpoint=sub.endpoint, wallet=caller, timeout=5.0) == 14
                with pytest.raises(QueryRefused) as over:
                    await aprompt(1, "7", endpoint=sub.endpoint, wallet=caller, timeout=5.0)
                with pytest.raises(QueryRefused) as refused:
                    await aprompt(1, "seven", endpoint=sub.endpoint, timeout=5.0)
                tg.cancel_scope.cancel()
        for got in answers.values():
            assert {a["hotkey"] for a in got if a["answer"] == 42} == honest and len(got) == 3
            assert [a["answer"] for a in got].count(43) == 1
        ranked = [before[0].get(a["hotkey"], 0.0) for a in answers[0]]
        assert ranked == sorted(ranked, reverse=True)  # best score first
        assert "over this caller's rate of 0.5" in str(over.value) and 0 < over.value.retry_after <= 2.0
        assert "does not take this payload" in str(refused.value) and refused.value.retry_after == 0
        after = [Scores.from_bytes(p.read_bytes()).scores for p in scores]
        assert after[0] == before[0]
        assert after[1] != before[1]
