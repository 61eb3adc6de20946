"""A validator's health on a commit-reveal subnet (in process, asyncio and trio, one real dev node): the options it
runs with logged at start, status.json saying whether it holds a permit and earns, its permit lost (one warning, no
commits meanwhile, the chain's refusal of a reveal final with the real reason) and regained; and a reveal the chain
refuses after its commit expired said to be too late, not a damaged reveal. A validator without a permit whose stake
is enough waits for the epoch (no "stake more"), and its first permit is not said to come "again" (before e1d92cb
both were said whatever the case)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Subtensor
from taonet.ledger import DEV_SUBNET_DEFAULTS
from taonet.plugins import NeuronConfig, StateDir, run_miner, run_validator

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio

CR = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, commit_reveal_weights_enabled=True, commit_reveal_period=1,
                  max_allowed_validators=1)
"""One permit for stake (the owner holds one besides): another hotkey staking more takes the validator's."""


def _events(logs: list[dict[str, Any]], event: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == event and all(e.get(k) == v for k, v in match.items())]


async def _until(sub: Subtensor, logs: list[dict[str, Any]], event: str, **match: Any) -> dict[str, Any]:
    while not (found := _events(logs, event, **match)):
        await sub.wait_for_block()
    return found[0]


async def test_permit_lost_and_regained_status_and_a_late_reveal(tmp_path: Path) -> None:
    async with running_node(tmp_path / "node", hyper=CR) as (_node, sub):
        owner = dev_wallet(tmp_path, "owner", "//Alice")
        miner = dev_wallet(tmp_path, "miner", "//Bob")
        validator = dev_wallet(tmp_path, "validator", "//Charlie")
        hotkey = validator.hotkey.ss58_address
        with anyio.fail_after(60):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.burned_register(miner, 1)).uid == 1
            assert (await sub.burned_register(validator, 1)).uid == 2
            assert (await sub.add_stake(validator, hotkey, 100.0)).success
        common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0}
        vconfig = NeuronConfig(wallet=validator, state_dir=tmp_path / "state" / "validator",
                               options={"alpha": "0.5"}, **common)
        vdir = StateDir(tmp_path / "state" / "validator")
        with capture_logs() as logs, anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=tmp_path / "state" / "miner", **common))
                await tg.start(run_validator, vconfig)
                # the effective options at start; with commit-reveal the default commits once an epoch interval
                [started] = _events(logs, "validator.started")
                assert started["commit_reveal"] is True and started["weights_interval_default"] is True
                assert started["weights_interval"] == 11, started  # tempo + 1 (not half a tempo: 5)
                for key in ("sample_size", "timeout", "alpha", "step_interval", "metagraph_interval"):
                    assert key in started, started
                assert started["alpha"] == 0.5

                # earning: a permit, weights revealed; status.json says so
                await _until(sub, logs, "weights.revealed")
                status = vdir.read_status()
                assert status is not None and status["validator_permit"] is True, status
                assert status["last_weights_block"] and {"dividends", "emission", "vtrust"} <= set(status), status

                # outstaked (the miner's hotkey stakes more): at the next epoch no permit, said once, no weights
                # committed meanwhile
                unstaked = (await sub.add_stake(miner, miner.hotkey.ss58_address, 10_000.0)).block
                assert unstaked
                while not (lost := [e for e in _events(logs, "validator.no_permit") if e["block"] >= unstaked]):
                    await sub.wait_for_block()
                lost = lost[0]
                assert lost["log_level"] == "warning" and lost["lowest_permit_stake"] >= 10_000, lost
                assert lost["stake"] < 10_000 and "is enough" not in lost["message"], lost  # not enough stake
                assert lost["message"].endswith("): it sets and commits no weights until it has one and keeps "
                                                "scoring; stake more: the permit goes to the hotkey with the most "
                                                "stake at each epoch"), lost
                await sub.wait_for_block(lost["block"] + 2 * 11 + 2, timeout=30)
                status = vdir.read_status()
                assert status is not None and status["validator_permit"] is False, status
                assert len([e for e in _events(logs, "validator.no_permit") if e["block"] >= unstaked]) == 1
                after = [e for e in logs if e["event"] == "weights.committed" and e["block"] > lost["block"] + 1]
                weights = [{k: e.get(k) for k in ("event", "block", "committed_at", "reason", "code")}
                           for e in logs if e["event"].startswith("weights.")]
                assert not after, weights
                assert not _events(logs, "weights.rejected", code="extrinsic_dropped"), weights
                missed = [e for e in _events(logs, "weights.reveal_missed") if e["committed_at"] < lost["block"]
                          and e["committed_at"] + 11 > lost["block"] - 11]
                # the reveal due after the loss: refused by the chain for want of a permit, final, and said so
                assert missed and all("validator permit" in e["reason"] for e in missed), weights
                steps = status["step"]
                details = status["error_details"]
                assert details and all({"block", "time", "count"} <= set(d) for d in details), details

                # stake again: the permit back at the next epoch (info), and weights committed again
                staked = (await sub.add_stake(validator, hotkey, 20_000.0)).block
                assert staked
                while not (back := [e for e in _events(logs, "validator.permit") if e["block"] >= staked]):
                    await sub.wait_for_block()
                back = back[0]
                assert back["log_level"] == "info", back
                assert back["note"] == "this validator holds a validator permit again: it sets weights", back
                while not [e for e in _events(logs, "weights.committed") if e["block"] >= back["block"]]:
                    await sub.wait_for_block()
                status = vdir.read_status()
                assert status is not None and status["validator_permit"] is True and status["step"] > steps
                tg.cancel_scope.cancel()

        # a reveal the chain refuses because its commit expired (its window passed) is too late, not a mismatch:
        # the commit's saved window is made to look open, as a validator far behind the chain would see it
        saved = vdir.load_reveals()[-1]
        head = await sub.wait_for_block(saved["reveal_until"] + 12, timeout=30)
        vdir.save_reveals([{**saved, "reveal_from": head, "reveal_until": head + 40}])
        with capture_logs() as second, anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                await tg.start(run_validator, vconfig)
                missed = await _until(sub, second, "weights.reveal_missed", committed_at=saved["block"])
                tg.cancel_scope.cancel()
        assert "too late" in missed["reason"] and "matches this reveal" not in missed["reason"], missed


async def test_enough_stake_waits_for_the_epoch_and_a_first_permit_is_not_again(tmp_path: Path) -> None:
    """Registered and staked while the next epoch is far off (tempo 1000): the validator starts without a permit and
    is told its stake is enough and when it gets one, not to stake more; the owner shortens the tempo, the epoch
    gives it its first permit, said without "again"."""
    async with running_node(tmp_path / "node", hyper=attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=1000)) as (_node, sub):
        owner = dev_wallet(tmp_path, "owner", "//Alice")
        validator = dev_wallet(tmp_path, "validator", "//Charlie")
        with anyio.fail_after(60):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.burned_register(validator, 1)).uid == 1
            assert (await sub.add_stake(validator, validator.hotkey.ss58_address, 100.0)).success
        config = NeuronConfig(wallet=validator, state_dir=tmp_path / "state", netuid=1, endpoint=sub.endpoint,
                              plugin="template", port=0)
        with capture_logs() as logs, anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                await tg.start(run_validator, config)
                none = await _until(sub, logs, "validator.no_permit")
                assert none["stake"] == pytest.approx(100.0) and none["block"] < 999, none  # the first epoch at 999
                assert none["message"] == (
                    "UID 1 on subnet 1 has no validator permit (its stake 100 τ; a permit is free for any stake "
                    "above 0): its stake is enough: it gets one at the next epoch (block 999) and sets and commits "
                    "no weights until then; it keeps scoring"), none
                assert (await sub.set_hyperparameter(owner, 1, "tempo", 10)).success
                first = await _until(sub, logs, "validator.permit")
                assert first["note"] == "this validator holds a validator permit: it sets weights", first
                tg.cancel_scope.cancel()
        assert len(_events(logs, "validator.no_permit")) == 1
