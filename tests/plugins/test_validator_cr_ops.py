"""A validator run long on a commit-reveal subnet (in process, asyncio and trio, one real dev node): a
``weights_interval`` that overflows the chain's 10 pending commits is said once at start; the rejection that follows
is said once however often it comes back between successes (status.json keeps one entry with a count); the reveals
due together are sent together (they land in one block, not one after another); and a second process on the same
hotkey is said."""

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

CR = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, commit_reveal_weights_enabled=True, commit_reveal_period=2,
                  weights_rate_limit=0)
"""No weights rate limit: a block may take every due reveal of a hotkey (with one, a reveal a block at most)."""


def _events(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == event]


def _rejected(status: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [d for d in (status or {}).get("error_details", []) if "pending weight commits" in d["error"]]


async def test_overflowing_commits_said_once_reveals_sent_together_and_a_hotkey_shared(tmp_path: Path) -> None:
    async with running_node(tmp_path / "node", hyper=CR) as (_node, sub):
        owner = dev_wallet(tmp_path, "owner", "//Alice")
        miner = dev_wallet(tmp_path, "miner", "//Bob")
        validator = dev_wallet(tmp_path, "validator", "//Charlie")
        with anyio.fail_after(60):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.burned_register(miner, 1)).uid == 1
            assert (await sub.burned_register(validator, 1)).uid == 2
            assert (await sub.add_stake(validator, validator.hotkey.ss58_address, 100.0)).success
        common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0}
        vdir = StateDir(tmp_path / "state" / "validator")
        with capture_logs() as logs, anyio.fail_after(100):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=tmp_path / "state" / "miner", **common))
                await tg.start(run_validator, NeuronConfig(wallet=validator, state_dir=vdir.path,
                                                           options={"weights_interval": "1"}, **common))
                # a commit every block or two, each pending for 3 epoch intervals: past the chain's 10 at once.
                # Run until the refusal came back after a commit went through in between
                while not ((said := _rejected(vdir.read_status())) and said[0]["count"] >= 2 and [
                        e for e in _events(logs, "weights.committed") if e["block"] > said[0]["first_block"]]):
                    await sub.wait_for_block()
                alone, status = list(logs), vdir.read_status()  # what the first validator said on its own
                await _second_process_on_the_hotkey(sub, tmp_path, validator, common, logs)
                tg.cancel_scope.cancel()
        weights = [{k: e.get(k) for k in ("event", "block", "committed_at", "code", "times")}
                   for e in alone if e["event"].startswith("weights.")]
        [overflow] = _events(alone, "validator.weights_interval_overflows")
        assert overflow["log_level"] == "warning" and overflow["suggested"] >= 11, overflow
        rejected = [e for e in _events(alone, "weights.rejected") if e["code"] == "too_many_weight_commits"]
        assert len(rejected) == 1, weights
        assert status is not None
        assert len([m for m in status["errors"] if "pending weight commits" in m]) == 1, status["errors"]
        assert all({"block", "time", "count"} <= set(d) for d in status["error_details"]), status

        # the commits of one epoch interval are revealed together in their window, not a block or more apart each
        committed = {e["block"]: e for e in _events(alone, "weights.committed")}
        by_window: dict[int, list[int]] = {}
        for e in _events(alone, "weights.revealed"):
            if e["committed_at"] in committed:
                by_window.setdefault(committed[e["committed_at"]]["reveal_from"], []).append(e["block"])
        first = min(by_window)
        assert len(by_window[first]) >= 3, f"{by_window}\n" + "\n".join(map(str, weights))
        assert max(by_window[first]) - min(by_window[first]) <= 1, (by_window, weights)


async def _second_process_on_the_hotkey(sub: Subtensor, tmp_path: Path, validator: Any, common: dict[str, Any],
                                        logs: list[dict[str, Any]]) -> None:
    """Another validator on the same hotkey (its own state directory) beside the first, until one of them says that
    another process sets weights with its hotkey."""
    async with anyio.create_task_group() as tg:
        await tg.start(run_validator, NeuronConfig(wallet=validator, state_dir=tmp_path / "state" / "twin",
                                                   options={"weights_interval": "1"}, **common))
        while not (said := _events(logs, "validator.hotkey_used_elsewhere")):
            await sub.wait_for_block()
        tg.cancel_scope.cancel()
    assert said[0]["log_level"] == "warning" and "stop one" in said[0]["message"], said[0]
    assert said[0]["blocks"], said[0]
