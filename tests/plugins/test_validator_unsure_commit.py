"""A commit whose outcome the validator did not learn (sent, then no answer within its timeout) keeps its salt: once a
sync shows that commit pending on the chain (its hash), the validator adopts it and reveals it in its window, as a
commit it saw included; a restart in between keeps it (reveals.json). Real parts: a `taonet node run --dev` process
paused with SIGSTOP right after it took the validator's first commit into its mempool (so the validator's wait for
the outcome times out), then resumed (it seals the commit); and, in process, unsure commits left in reveals.json by a
run before: one on the chain adopted and revealed, one the chain never took forgotten with one line."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Subtensor
from taonet.kernel.client import PendingReveal
from taonet.ledger import DEV_SUBNET_DEFAULTS, WeightsCommitted, WeightsRevealed
from taonet.plugins import NeuronConfig, StateDir, run_miner, run_validator

from ..kernel.node.nodes import node_process, running_node
from .validator_net import in_mempool, validator_subnet

pytestmark = pytest.mark.anyio

COMMIT_REVEAL = {"tempo": 10, "commit_reveal_weights_enabled": True, "commit_reveal_period": 1}

CR = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, commit_reveal_weights_enabled=True, commit_reveal_period=1)

BLOCK_TIME = 0.3
CLIENT_TIMEOUT = 1.0
"""The validator's rpc timeout: a paused node leaves its wait for the commit's outcome within a few seconds."""


@pytest.mark.slow
# Each path once, each event loop once (the test takes ~20 s of blocks): sampled, not every combination.
@pytest.mark.parametrize(("anyio_backend", "how"), [("asyncio", "same-run"), ("trio", "restarted"),
                                                    ("asyncio", "stopped-waiting")],
                         ids=["asyncio-same-run", "trio-restarted", "asyncio-stopped-waiting"])
async def test_a_commit_that_timed_out_is_revealed_once_the_chain_shows_it(tmp_path: Path, anyio_backend: str,
                                                                          how: str) -> None:
    """The node is paused right after it took the validator's first commit; the validator's wait times out
    (`weights.pending`, the commit's salt kept: in reveals.json, with no window); resumed, the node seals that
    commit, and the validator (the same run, or one restarted meanwhile, which loads it from reveals.json) finds it
    pending on the chain at a sync, logs `weights.committed` for it with a note and reveals it in its window: the
    chain shows that very commit revealed (its hash), no `weights.reveal_missed`. Stopped while it still waits (before
    its timeout: the salt was lost then), the commit is in reveals.json all the same (kept before it was sent), and the
    next run reveals it."""
    restarted = how != "same-run"
    with node_process(tmp_path / "node", block_time=BLOCK_TIME) as (proc, addresses):
        paused = False
        try:
            async with Subtensor(addresses["rpc"], timeout=10) as sub:
                miner, validator = await validator_subnet(sub, tmp_path, COMMIT_REVEAL)
                hotkey = validator.hotkey
                start = await sub.get_current_block()
                common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0,
                          "timeout": CLIENT_TIMEOUT}
                vdir = tmp_path / "s" / "validator"
                vconfig = NeuronConfig(wallet=validator, state_dir=vdir,
                                       options={"weights_interval": "36", "alpha": "0.5"}, **common)
                saved: list[dict[str, Any]] = []
                with capture_logs() as logs, anyio.fail_after(120):
                    async with anyio.create_task_group() as tg:
                        await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=tmp_path / "s" / "miner",
                                                               **common))
                        first_run, ended = anyio.CancelScope(), anyio.Event()

                        async def validator_run(*, task_status: Any) -> None:
                            with first_run:
                                await run_validator(vconfig, task_status=task_status)
                            ended.set()

                        await tg.start(validator_run)
                        while not await in_mempool(sub, hotkey):  # its first write: the commit
                            await anyio.sleep(0.005)
                        os.kill(proc.pid, signal.SIGSTOP)
                        paused = True
                        while how != "stopped-waiting" and not [e for e in logs if e["event"] == "weights.pending"]:
                            await anyio.sleep(0.05)
                        if restarted:
                            first_run.cancel()
                            await ended.wait()
                            saved = StateDir(vdir).load_reveals()
                        os.kill(proc.pid, signal.SIGCONT)
                        paused = False
                        if restarted:  # a new run: it loads the unsure commit from reveals.json
                            await tg.start(run_validator, vconfig)
                        while not (commits := await sub.get_events(start, types=["ev.weights_committed"],
                                                                   stop=await sub.get_current_block() + 1,
                                                                   netuid=1, account=hotkey)):
                            await sub.wait_for_block()
                        unsure: Any = commits[0][2]  # the first commit: the one whose outcome was not learned
                        assert isinstance(unsure, WeightsCommitted)
                        head = await sub.wait_for_block(unsure.reveal_from)
                        while True:  # until that commit is revealed, or its window is over
                            events = await sub.get_events(unsure.reveal_from, head + 1, types=["ev.weights_revealed"],
                                                          netuid=1, account=hotkey)
                            revealed_at = next((b for b, _, e in events if isinstance(e, WeightsRevealed)
                                                and e.commit_hash == unsure.commit_hash), None)
                            if revealed_at is not None or head > unsure.reveal_until:
                                break
                            head = await sub.wait_for_block(head + 1)
                        while revealed_at is not None and not [e for e in logs if e["event"] == "weights.revealed"
                                                               and e["committed_at"] == commits[0][0]]:
                            await anyio.sleep(0.05)  # the validator's wait for that outcome ends
                        tg.cancel_scope.cancel()
                weights = [{k: e.get(k) for k in ("event", "block", "committed_at", "reason", "note")}
                           for e in logs if e["event"].startswith("weights.")]
                assert revealed_at is not None, weights  # the chain revealed that very commit...
                assert unsure.reveal_from <= revealed_at <= unsure.reveal_until  # ...in its window
                pending = [e for e in logs if e["event"] == "weights.pending"]
                if how == "stopped-waiting":  # stopped before its wait ran out
                    assert not pending, weights
                else:
                    assert pending and "salt is kept" in pending[0]["note"], weights
                if restarted:  # kept across the restart: no window yet, the block it was sent at
                    assert [(d["block"], d["reveal_from"]) for d in saved if "sent_at" in d] == [(None, None)], saved
                committed_at = commits[0][0]
                adopted = [e for e in logs if e["event"] == "weights.committed" and e["block"] == committed_at]
                assert len(adopted) == 1 and "outcome was not learned" in adopted[0]["note"], weights
                revealed = [e for e in logs if e["event"] == "weights.revealed" and e["committed_at"] == committed_at]
                assert len(revealed) == 1 and revealed[0]["block"] == revealed_at, weights
                assert not [e for e in logs if e["event"] == "weights.reveal_missed"], weights
                assert not [d for d in StateDir(vdir).load_reveals() if d["block"] == committed_at]
        finally:
            if paused:
                os.kill(proc.pid, signal.SIGCONT)


async def test_unsure_commits_left_by_a_run_before_are_adopted_or_forgotten(tmp_path: Path) -> None:
    """reveals.json holds two unsure commits (no window, a ``sent_at`` block) as a run stopped after their timeouts
    leaves them: one the chain holds (committed with its salt), one it never took (sent more than 20 blocks ago). The
    validator adopts the first (`weights.committed` with a note) and reveals it in its window, forgets the second with
    one info line (`weights.commit_not_included`), and reveals.json keeps neither."""
    async with running_node(tmp_path / "node", hyper=CR) as (_node, sub):
        miner, validator = await validator_subnet(sub, tmp_path)  # commit-reveal from genesis (CR)
        hotkey = validator.hotkey.ss58_address
        with anyio.fail_after(60):
            on_chain = PendingReveal.new(1, hotkey, [1, 2], [1.0, 0.5])
            never = PendingReveal.new(1, hotkey, [1, 2], [0.5, 1.0])
            sent_at = await sub.wait_for_block(22)  # the other was sent at block 0: more than 20 blocks ago
            committed = await sub.commit_weights(validator, 1, [1, 2], [1.0, 0.5], salt=on_chain.salt)
            assert committed.success and committed.reveal is not None, committed.message
        with StateDir(tmp_path / "s" / "validator") as vdir:  # as a run before left it
            vdir.save_reveals([{**never.to_json(), "sent_at": 0}, {**on_chain.to_json(), "sent_at": sent_at}])
        common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0}
        with capture_logs() as logs, anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=tmp_path / "s" / "miner", **common))
                await tg.start(run_validator, NeuronConfig(wallet=validator, state_dir=vdir.path,
                                                           options={"weights_interval": "36"}, **common))
                while not [e for e in logs if e["event"] == "weights.revealed"
                           and e["committed_at"] == committed.block]:
                    head = await sub.wait_for_block()
                    assert head <= committed.reveal.reveal_until, [e["event"] for e in logs]  # not revealed in time
                tg.cancel_scope.cancel()
        weights = [{k: e.get(k) for k in ("event", "block", "committed_at", "sent_at", "note")}
                   for e in logs if e["event"].startswith("weights.")]
        adopted = [e for e in logs if e["event"] == "weights.committed" and e["block"] == committed.block]
        assert len(adopted) == 1 and adopted[0]["reveal_from"] == committed.reveal.reveal_from, weights
        assert "outcome was not learned" in adopted[0]["note"], weights
        forgotten = [e for e in logs if e["event"] == "weights.commit_not_included"]
        assert [(e["sent_at"], e["log_level"]) for e in forgotten] == [(0, "info")], weights
        assert not [e for e in logs if e["event"] == "weights.reveal_missed"], weights
        left = vdir.load_reveals()
        assert not [d for d in left if "sent_at" in d or d["salt"] in (never.salt.hex(), on_chain.salt.hex())], left
