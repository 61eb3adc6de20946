"""A miner and a validator in one process, on one event loop (asyncio and trio), against a real dev node: the
chain's "too soon" (rate limit) is not a failure, and the miner's default blacklist refuses a stranger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Dendrite
from taonet.ledger import Keypair
from taonet.plugins import NeuronConfig, StateDir, load_plugin, run_miner, run_validator

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio


async def _status(path: Path) -> dict[str, Any]:
    return StateDir(path).read_status() or {}


async def _miner_and_validator(sub: Any, tmp_path: Path, **hyperparameters: int) -> tuple[Any, Any, Any]:
    """Subnet 1, //Alice's, with ``hyperparameters`` set in order; //Bob's miner at UID 1 and //Charlie's validator
    at UID 2 with 100 τ staked: (owner, miner, validator) wallets."""
    owner = dev_wallet(tmp_path, "owner", "//Alice")
    miner = dev_wallet(tmp_path, "miner", "//Bob")
    validator = dev_wallet(tmp_path, "validator", "//Charlie")
    with anyio.fail_after(60):
        assert (await sub.create_subnet(owner)).success
        for name, value in hyperparameters.items():
            assert (await sub.set_hyperparameter(owner, 1, name, value)).success
        assert (await sub.burned_register(miner, 1)).uid == 1
        assert (await sub.burned_register(validator, 1)).uid == 2
        assert (await sub.add_stake(validator, validator.hotkey.ss58_address, 100.0)).success
    return owner, miner, validator


async def test_rate_limited_weights_are_retried_quietly_and_strangers_are_blacklisted(tmp_path: Path) -> None:
    """With weights_rate_limit 5 and a validator asking every block, the chain answers "too soon" often: logged
    at debug as weights.too_soon, never as a rejection or an error; weights are set again once allowed. A caller
    that is not a validator of the subnet gets 403 from the miner."""
    async with running_node(tmp_path / "node") as (_node, sub):
        owner, miner, validator = await _miner_and_validator(sub, tmp_path, tempo=10, weights_rate_limit=5)
        assert (await sub.set_subnet_identity(owner, 1, "template")).success
        common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0}
        vdir = tmp_path / "state" / "validator"
        with capture_logs() as logs, anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                info = await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=tmp_path / "state" / "miner",
                                                              **common))
                await tg.start(run_validator, NeuronConfig(wallet=validator, state_dir=vdir,
                                                           options={"weights_interval": "1", "alpha": "0.5"},
                                                           **common))
                sets = 0
                while sets < 3:
                    await sub.wait_for_block()
                    sets = sum(1 for e in logs if e["event"] == "weights.set")
                async with Dendrite(Keypair.from_uri("//Stranger")) as d:
                    double = load_plugin("template").protocol.synapses[0]
                    answer = await d(info, double(number=2), timeout=2.0)
                tg.cancel_scope.cancel()
        events = [e["event"] for e in logs]
        assert "weights.too_soon" in events
        assert "weights.rejected" not in events
        assert not [e for e in logs if e["event"].startswith("weights.") and e["log_level"] != "info"
                    and e["event"] != "weights.too_soon"]
        assert {e["log_level"] for e in logs if e["event"] == "weights.too_soon"} == {"debug"}
        status = await _status(vdir)
        assert status["errors"] == [] and status["state"] == "stopped" and status["last_weights_block"]
        assert answer.is_blacklist
        assert {e["neuron"] for e in logs if "neuron" in e} == {"miner", "validator"}


async def test_another_rejection_is_logged_once_with_its_reason_and_retried_with_backoff(tmp_path: Path) -> None:
    """A subnet of 3 UIDs whose max weight (10000/65535) is under a third: the validator's weights, spread as evenly
    as they can be, are still over it, and the chain refuses them (InvalidWeights): one warning with the chain's code
    and reason, however many retries; the retries space out (backoff). (A stale version key, the example this test
    used, is now said and waited out on its own: tests/plugins/test_validator_owner_changes.py.)"""
    async with running_node(tmp_path / "node") as (_node, sub):
        _owner, miner, validator = await _miner_and_validator(sub, tmp_path, tempo=10, max_weights_limit=10000)
        common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0}
        vdir = tmp_path / "state" / "validator"
        with capture_logs() as logs, anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=tmp_path / "state" / "miner", **common))
                await tg.start(run_validator, NeuronConfig(wallet=validator, state_dir=vdir,
                                                           options={"weights_interval": "1"}, **common))
                while sum(1 for e in logs if e["event"] == "weights.retry") < 4:
                    await sub.wait_for_block()
                tg.cancel_scope.cancel()
        rejected = [e for e in logs if e["event"] == "weights.rejected"]
        assert len(rejected) == 1 and rejected[0]["code"] == "invalid_weights", rejected
        assert rejected[0]["log_level"] == "warning" and "above the max weight 10000" in rejected[0]["reason"], rejected
        assert "weights.set" not in [e["event"] for e in logs]
        retries = [e for e in logs if e["event"] == "weights.retry"]
        assert {e["log_level"] for e in retries} == {"debug"}
        gaps = [e["retry_at"] - e["block"] for e in retries]
        assert gaps == sorted(gaps) and gaps[-1] > gaps[0]  # the pause grows
        assert {e["event"] for e in logs if e["event"].startswith("weights.")} == {"weights.rejected", "weights.retry"}
        status = await _status(vdir)
        assert len([e for e in status["errors"] if e.startswith("weights.rejected")]) == 1
        node_weights = await sub.neuron(1, 2)
        assert node_weights is not None and node_weights["weights"] == [[], []]


async def test_a_validator_given_its_permit_since_the_miners_last_sync_is_answered_at_once(tmp_path: Path) -> None:
    """A miner that syncs its metagraph only every 10**6 blocks: a staked validator without a permit yet is refused
    (403); once the chain gives it its permit (the next epoch), the miner answers it at once, its metagraph sync
    still the one it started with (it used to refuse it until that sync: a validator's first steps scored every
    miner 0, the race behind a flaky gateway test)."""
    async with running_node(tmp_path / "node") as (_node, sub):
        # no epoch, no permit, until told
        owner, miner, validator = await _miner_and_validator(sub, tmp_path, tempo=1000)
        with anyio.fail_after(60):
            assert not (await sub.metagraph(1)).validator_permit[2]
        mdir = tmp_path / "state" / "miner"
        config = NeuronConfig(wallet=miner, state_dir=mdir, netuid=1, endpoint=sub.endpoint, plugin="template",
                              port=0, options={"metagraph_interval": str(10**6)})
        double = load_plugin("template").protocol.synapses[0]
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg, Dendrite(validator.hotkey) as d:
                info = await tg.start(run_miner, config)
                while "metagraph_block" not in await _status(mdir):  # written at the miner's first block
                    await sub.wait_for_block()
                synced = (await _status(mdir))["metagraph_block"]
                before = await d(info, double(number=2), timeout=5.0)
                assert (await sub.set_hyperparameter(owner, 1, "tempo", 4)).success  # an epoch within 5 blocks
                while not (await sub.metagraph(1)).validator_permit[2]:
                    await sub.wait_for_block()
                await sub.wait_for_block()  # the miner's head is past the block its permits came from
                after = await d(info, double(number=2), timeout=5.0)
                await sub.wait_for_block()
                async with Dendrite(Keypair.from_uri("//Stranger")) as other:  # a fresh read lets no stranger in
                    strangers = [await other(info, double(number=2), timeout=5.0) for _ in range(3)]
                status = await _status(mdir)
                tg.cancel_scope.cancel()
    assert before.is_blacklist and before.dendrite.status_code == 403
    assert (after.dendrite.status_code, after.doubled) == (200, 4), after.dendrite.status_message
    assert [s.dendrite.status_code for s in strangers] == [403] * 3
    assert status["metagraph_block"] == synced and status["errors"] == []
