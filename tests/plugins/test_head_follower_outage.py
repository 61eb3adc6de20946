"""A neuron's block follower during a long node pause: the node that does not answer is said once, then at the
10th, 100th... retry in a row (not at each retry), and its return is said once, with how long it was away; the
follower's errors keep each cause once, with its count. Real parts: a `taonet node run --dev` process paused with
SIGSTOP, then resumed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import anyio
import pytest
import structlog
from structlog.testing import capture_logs

from taonet.kernel import Subtensor
from taonet.plugins._neuron import HeadFollower

from ..kernel.node.nodes import node_process

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CLIENT_TIMEOUT = 0.3
"""Seconds the follower's client waits for the paused node: with 0.05-0.1 s pauses, a retry every ~0.4 s."""
RETRIES = 15
"""Retries the test lets pass while the node is paused: past the 10th (said), short of the 100th."""


async def test_a_paused_node_is_said_at_the_1st_and_10th_retry_and_its_return_once_with_the_time_away(
        tmp_path: Path) -> None:
    """The node is paused until the follower has retried 15 times: two `node.error` lines (times 1 and 10), the
    follower's status errors count those two; resumed, one `node.back` line with the retries and a time away close to
    the pause; the follower then follows new blocks again."""
    with node_process(tmp_path / "node", block_time=0.1) as (proc, addresses):
        paused = False
        try:
            async with Subtensor(addresses["rpc"], timeout=CLIENT_TIMEOUT) as sub:
                head = await sub.get_current_block()
                with capture_logs() as logs, anyio.fail_after(90):
                    follower = HeadFollower(sub, head, structlog.get_logger("taonet.test").bind(neuron="test"),
                                            pauses=(0.05, 0.1))
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(follower.run)
                        seen = await follower.next(head)  # it follows
                        os.kill(proc.pid, signal.SIGSTOP)
                        paused, stopped_at = True, time.monotonic()
                        while follower.retries < RETRIES:
                            await anyio.sleep(0.05)
                        os.kill(proc.pid, signal.SIGCONT)
                        paused, pause_s = False, time.monotonic() - stopped_at
                        while follower.retries:
                            await anyio.sleep(0.05)
                        seen = await follower.next(follower.head)  # a block sealed after it came back
                        tg.cancel_scope.cancel()
        finally:
            if paused:
                os.kill(proc.pid, signal.SIGCONT)
    said = [(e["event"], e.get("times"), e.get("retries")) for e in logs if e["event"].startswith("node.")]
    errors = [e for e in logs if e["event"] == "node.error"]
    assert [e["times"] for e in errors] == [1, 10], said
    assert errors[1]["away_s"] > errors[0]["away_s"], said
    back = [e for e in logs if e["event"] == "node.back"]
    assert len(back) == 1 and RETRIES <= back[0]["retries"] < 100, said
    assert pause_s - 1.0 <= back[0]["away_s"] <= pause_s + 5.0, (back, pause_s)
    # a cause is kept once, counted (the 1st and 10th retry said: 2 in all), with the block it was last said at
    kept = follower.recent.entries()
    assert sum(e["count"] for e in kept) == 2 and len(kept) == len(set(follower.errors)), kept
    assert all(e["error"].startswith("node.error") and head <= e["block"] < seen for e in kept), kept
    assert seen > head
