"""A reveal whose outcome the validator did not learn (sent, then no answer within its timeout) and whose retry the
chain refuses with "no such commit" was applied: the commit can only have left the chain inside its window by
being revealed. The validator counts it as revealed (``weights.revealed``, block unknown, with a note), never as a
missed reveal. Real parts: a `taonet node run --dev` process paused with SIGSTOP right after it took the reveal
into its mempool (so the validator's wait for the outcome times out), then resumed (it seals the reveal)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Subtensor
from taonet.plugins import NeuronConfig, StateDir, run_miner, run_validator

from ..kernel.node.nodes import node_process
from .validator_net import in_mempool, validator_subnet

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

COMMIT_REVEAL = {"tempo": 10, "commit_reveal_weights_enabled": True, "commit_reveal_period": 2}

BLOCK_TIME = 0.5
CLIENT_TIMEOUT = 1.0
"""The validator's rpc timeout: a paused node leaves its wait for the reveal's outcome within a few seconds."""
# weights_interval 36: a commit's window ends at most 33 blocks after it (tempo 10, period 2), so the validator's
# only write in the first window is the reveal, which the test spots in the node's mempool by its hotkey's nonce.


# Each path once, each event loop once (the test takes ~30 s of blocks): sampled, not every combination.
@pytest.mark.parametrize(("anyio_backend", "restarted"), [("asyncio", False), ("trio", True)],
                         ids=["asyncio-same-run", "trio-restarted"])
async def test_a_reveal_that_timed_out_and_then_has_no_commit_counts_as_revealed(tmp_path: Path, anyio_backend: str,
                                                                                 restarted: bool) -> None:
    """The node is paused right after it took the validator's first reveal; the validator's wait times out (the
    outcome unknown: `weights.reveal_later`, the reveal kept); resumed, the node seals that reveal, so the next try
    (by the same run, or by a validator restarted meanwhile, which loads the reveal from reveals.json and knows
    nothing of the timeout) is refused with "no such commit" while the window is open: the validator logs
    `weights.revealed` for that commit, with the block the chain revealed it in and a note, no
    `weights.reveal_missed`, and forgets the reveal; the chain holds its weights."""
    with node_process(tmp_path / "node", block_time=BLOCK_TIME) as (proc, addresses):
        paused = False
        try:
            async with Subtensor(addresses["rpc"], timeout=10) as sub:
                miner, validator = await validator_subnet(sub, tmp_path, COMMIT_REVEAL)
                common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0,
                          "timeout": CLIENT_TIMEOUT}
                vconfig = NeuronConfig(wallet=validator, state_dir=tmp_path / "s" / "validator",
                                       options={"weights_interval": "36", "alpha": "0.5"}, **common)  # see above
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
                        while not (committed := [e for e in logs if e["event"] == "weights.committed"]):
                            await sub.wait_for_block()
                        first = committed[0]
                        await sub.wait_for_block(first["reveal_from"] - 1)
                        while not await in_mempool(sub, validator.hotkey):  # its only write now: the reveal
                            await anyio.sleep(0.005)
                        os.kill(proc.pid, signal.SIGSTOP)
                        paused, stopped_at = True, time.monotonic()
                        while not [e for e in logs if e["event"] == "weights.reveal_later"]:
                            await anyio.sleep(0.05)
                        if restarted:
                            first_run.cancel()
                            await ended.wait()
                        os.kill(proc.pid, signal.SIGCONT)
                        paused, pause_s = False, time.monotonic() - stopped_at
                        if restarted:  # a new run: it loads the reveal from reveals.json, knowing nothing more
                            await tg.start(run_validator, vconfig)
                        settled = ("weights.revealed", "weights.reveal_missed")
                        while not [e for e in logs if e["event"] in settled]:
                            await anyio.sleep(0.05)
                        tg.cancel_scope.cancel()
                weights = [{k: e.get(k) for k in ("event", "block", "committed_at", "reason", "note")}
                           for e in logs if e["event"].startswith("weights.")]
                later = [e for e in logs if e["event"] == "weights.reveal_later"]
                assert len(later) == 1 and later[0]["committed_at"] == first["block"], weights
                revealed = [e for e in logs if e["event"] == "weights.revealed"]
                assert len(revealed) == 1 and revealed[0]["committed_at"] == first["block"], weights
                assert first["reveal_from"] <= revealed[0]["block"] <= first["reveal_until"], weights
                assert "stopped waiting" in revealed[0]["note"], weights
                assert not [e for e in logs if e["event"] == "weights.reveal_missed"], weights
                assert pause_s < 30, pause_s  # the wait timed out (CLIENT_TIMEOUT), not the 60 s of a receipt
                pending = (await sub.get_weight_commits(1)).get(validator.hotkey.ss58_address, ())
                assert first["block"] not in [c.block for c in pending]  # revealed (a later commit may wait)
                assert (await sub.neuron(1, 2))["weights"] != [[], []]  # the reveal counted
                assert first["block"] not in [r["block"] for r in StateDir(tmp_path / "s" / "validator")
                                              .load_reveals()]
        finally:
            if paused:
                os.kill(proc.pid, signal.SIGCONT)
