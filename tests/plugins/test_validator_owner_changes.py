"""A validator while the subnet's owner changes its rules on a live network (in process, asyncio and trio, one real
dev node): commit-reveal turned on between two syncs (the validator's next set_weights commits: that commit is its
own, revealed, and not taken for another process's) and off (the chain's refusal is its cue, said at info); a
``weights_version`` raised above the plugin's version key (said once with what to do, nothing committed while it is
stale) and lowered again (it commits and reveals again by itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Subtensor, Wallet
from taonet.ledger import DEV_SUBNET_DEFAULTS
from taonet.plugins import NeuronConfig, run_miner, run_validator

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio

TEMPO = 10
"""Epochs of subnet 1 at the blocks b with (b + 2) % 11 == 0 (9, 20, 31...); the validator syncs right after each."""


def _hyper(commit_reveal: bool) -> Any:
    return attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=TEMPO, commit_reveal_weights_enabled=commit_reveal,
                        commit_reveal_period=1)


def _events(logs: list[dict[str, Any]], event: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == event and all(e.get(k) == v for k, v in match.items())]


def _weights(logs: list[dict[str, Any]]) -> str:
    """The validator's weights lines, one a line (for an assertion's message)."""
    return "\n".join(str({k: e.get(k) for k in ("event", "log_level", "block", "committed_at", "reason", "code")})
                     for e in logs if e["event"].startswith(("weights.", "validator.")))


async def _until(sub: Subtensor, logs: list[dict[str, Any]], blocks: int, event: str, after: int = -1,
                 **match: Any) -> dict[str, Any]:
    """The first ``event`` (matching ``match``, its ``block`` past ``after``) logged within ``blocks`` blocks."""
    last = await sub.wait_for_block() + blocks
    while not (found := [e for e in _events(logs, event, **match) if (e.get("block") or 0) > after]):
        assert await sub.wait_for_block() <= last, f"no {event} {match} within {blocks} blocks\n{_weights(logs)}"
    return found[0]


async def _after_an_epoch(sub: Subtensor) -> int:
    """Wait for the block right after an epoch (the validator's sync): the next sync is a tempo away."""
    head = await sub.wait_for_block()
    while (head + 2) % (TEMPO + 1) != 1:
        head = await sub.wait_for_block()
    return head


async def _setup(sub: Subtensor, tmp_path: Path) -> tuple[Wallet, Wallet, Wallet]:
    owner = dev_wallet(tmp_path, "owner", "//Alice")
    miner = dev_wallet(tmp_path, "miner", "//Bob")
    validator = dev_wallet(tmp_path, "validator", "//Charlie")
    with anyio.fail_after(30):
        assert (await sub.create_subnet(owner)).success
        assert (await sub.burned_register(miner, 1)).uid == 1
        assert (await sub.burned_register(validator, 1)).uid == 2
        assert (await sub.add_stake(validator, validator.hotkey.ss58_address, 100.0)).success
    return owner, miner, validator


def _configs(sub: Subtensor, tmp_path: Path, miner: Wallet, validator: Wallet, interval: int
             ) -> tuple[NeuronConfig, NeuronConfig]:
    common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0}
    # metagraph_interval far: the validator reads the subnet's rules only right after an epoch
    return (NeuronConfig(wallet=miner, state_dir=tmp_path / "state" / "miner", **common),
            NeuronConfig(wallet=validator, state_dir=tmp_path / "state" / "validator", **common,
                         options={"weights_interval": str(interval), "alpha": "0.5", "metagraph_interval": "1000"}))


async def _owner_sets(sub: Subtensor, owner: Wallet, name: str, value: int) -> int:
    result = await sub.set_hyperparameter(owner, 1, name, value)
    assert result.success and result.block is not None, result.message
    return result.block


def _warnings_since(logs: list[dict[str, Any]], mark: int) -> list[dict[str, Any]]:
    return [e for e in logs[mark:] if e["log_level"] in ("warning", "error")
            and e["event"].startswith(("weights.", "validator."))]


async def test_commit_reveal_turned_on_and_off_between_two_syncs(tmp_path: Path) -> None:
    async with running_node(tmp_path / "node", hyper=_hyper(False)) as (_node, sub):
        owner, miner, validator = await _setup(sub, tmp_path)
        mconfig, vconfig = _configs(sub, tmp_path, miner, validator, interval=3)
        with capture_logs() as logs, anyio.fail_after(40):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, mconfig)
                await tg.start(run_validator, vconfig)
                await _until(sub, logs, 20, "weights.set")

                # on, right after a sync: the validator's next set_weights (3 blocks at most) finds it on and commits
                epoch = await _after_an_epoch(sub) - 1
                on = await _owner_sets(sub, owner, "commit_reveal_weights_enabled", 1)
                committed = await _until(sub, logs, 15, "weights.committed", after=on)
                assert committed["block"] <= epoch + TEMPO + 1, "the test meant to commit before the next sync"
                revealed = await _until(sub, logs, 30, "weights.revealed", committed_at=committed["block"])
                assert committed["reveal_from"] <= revealed["block"] <= committed["reveal_until"]
                await sub.wait_for_block(revealed["block"] + 2)
                assert not _events(logs, "validator.hotkey_used_elsewhere"), _weights(logs)
                assert _events(logs, "weights.commit_reveal_changed", commit_reveal=True), _weights(logs)

                # off, right after a sync: its next commit (or reveal) is refused, its cue to set weights directly
                mark = len(logs)
                epoch = await _after_an_epoch(sub) - 1
                off = await _owner_sets(sub, owner, "commit_reveal_weights_enabled", 0)
                await _until(sub, logs, 15, "weights.set", after=off)
                tg.cancel_scope.cancel()
        changed = _events(logs[mark:], "weights.commit_reveal_changed", commit_reveal=False)
        assert changed and changed[0]["log_level"] == "info", _weights(logs[mark:])
        assert not _warnings_since(logs, mark), _weights(logs[mark:])


async def test_a_weights_version_above_the_plugins_stops_commits_until_lowered(tmp_path: Path) -> None:
    async with running_node(tmp_path / "node", hyper=_hyper(True)) as (_node, sub):
        owner, miner, validator = await _setup(sub, tmp_path)
        mconfig, vconfig = _configs(sub, tmp_path, miner, validator, interval=5)
        with capture_logs() as logs, anyio.fail_after(40):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, mconfig)
                await tg.start(run_validator, vconfig)
                await _until(sub, logs, 40, "weights.revealed")

                mark = len(logs)
                raised = await _owner_sets(sub, owner, "weights_version", 3)
                stale = await _until(sub, logs, 2 * (TEMPO + 1), "validator.version_key_stale")
                # two weights intervals and an epoch's sync: nothing committed after it said so
                await sub.wait_for_block(stale["block"] + TEMPO + 2)
                since = logs[mark:]
                late = [e for e in _events(since, "weights.committed") if e["block"] > stale["block"] + 1]
                assert not late, _weights(since)
                pending = (await sub.get_weight_commits(1)).get(validator.hotkey.ss58_address, ())
                assert not [c for c in pending if c.block > stale["block"] + 1], pending

                lowered = await _owner_sets(sub, owner, "weights_version", 0)
                await _until(sub, logs, 2 * (TEMPO + 1), "validator.version_key_ok")
                committed = await _until(sub, logs, 15, "weights.committed", after=lowered)
                await _until(sub, logs, 30, "weights.revealed", committed_at=committed["block"])
                tg.cancel_scope.cancel()
        assert stale["log_level"] == "warning" and stale["block"] >= raised - 1, stale
        assert stale["version_key"] == 0 and stale["weights_version"] == 3, stale
        assert "version key 0" in stale["message"] and "weights_version 3" in stale["message"], stale
        assert "protocol version is 3 or more" in stale["message"], stale
        assert _events(since, "validator.version_key_stale") == [stale], _weights(since)
        # the reveals of commits made before it knew are refused for that reason, said at info (not "too late")
        assert not [e for e in _warnings_since(logs, mark) if e is not stale], _weights(logs[mark:])
        assert all("version key" in e["reason"] for e in _events(since, "weights.reveal_missed")), _weights(since)


async def test_a_weights_version_above_the_plugins_stops_sets_until_lowered(tmp_path: Path) -> None:
    """Without commit-reveal the chain refuses the set itself: said once the same way (not a rejection retried each
    interval), nothing sent while it is stale, weights set again once the owner lowers it."""
    async with running_node(tmp_path / "node", hyper=_hyper(False)) as (_node, sub):
        owner, miner, validator = await _setup(sub, tmp_path)
        mconfig, vconfig = _configs(sub, tmp_path, miner, validator, interval=2)
        with capture_logs() as logs, anyio.fail_after(40):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, mconfig)
                await tg.start(run_validator, vconfig)
                await _until(sub, logs, 20, "weights.set")
                mark = len(logs)
                await _after_an_epoch(sub)  # its next set (2 blocks at most) is refused before its next sync
                await _owner_sets(sub, owner, "weights_version", 3)
                stale = await _until(sub, logs, 2 * (TEMPO + 1), "validator.version_key_stale")
                await sub.wait_for_block(stale["block"] + TEMPO + 2)
                since = list(logs[mark:])
                lowered = await _owner_sets(sub, owner, "weights_version", 0)
                await _until(sub, logs, 2 * (TEMPO + 1), "weights.set", after=lowered)
                tg.cancel_scope.cancel()
        assert stale["log_level"] == "warning" and "refused_by_chain" in stale, stale
        assert _events(since, "validator.version_key_stale") == [stale], _weights(since)
        assert not [e for e in _events(since, "weights.set") if e["block"] > stale["block"]], _weights(since)
        assert not _events(since, "weights.rejected"), _weights(since)
