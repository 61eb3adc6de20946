"""`node.quiet` (the node answers, no new block came for `quiet` seconds: 60 in a neuron) names the node it follows,
and behind a replica whose leader is gone, the leader and that the replica does not reach it (it said only
`waited=60`, the same line for a node whose production stopped and a replica that lost its leader). Real nodes in
process (a dev node whose next block is far off; a leader and its replica, the leader stopped), asyncio and trio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
import structlog
from structlog.testing import capture_logs

from taonet.kernel import Subtensor
from taonet.plugins._neuron import HeadFollower

from ..kernel.node.nodes import replica, running_node

pytestmark = pytest.mark.anyio

QUIET = 1.0
"""Seconds without a block after which the follower says `node.quiet` (60 in a neuron)."""


async def _quiet(sub: Subtensor) -> dict[str, Any]:
    """Follow ``sub``'s node until the follower says ``node.quiet`` (within 20 s): that line."""
    head = await sub.get_current_block()
    with capture_logs() as logs, anyio.fail_after(20):
        follower = HeadFollower(sub, head, structlog.get_logger("taonet.test"), quiet=QUIET)
        async with anyio.create_task_group() as tg:
            tg.start_soon(follower.run)
            while not (said := [e for e in logs if e["event"] == "node.quiet"]):
                await anyio.sleep(0.05)
            tg.cancel_scope.cancel()
    quiet = [e for e in follower.errors if e.startswith("node.quiet: ")]  # status errors name the node too
    assert quiet and all(sub.endpoint in e for e in quiet), follower.errors
    return said[0]


async def test_a_node_that_makes_no_block_is_named(tmp_path: Path) -> None:
    async with running_node(tmp_path / "node", block_time=600.0) as (_node, sub):
        said = await _quiet(sub)
    assert said["endpoint"] == sub.endpoint and said["waited"] == round(QUIET) and "leader" not in said, said
    assert said["note"] == (f"the node at {sub.endpoint} answers but made no block for 1 s (its production paused or "
                            f"stopped); `taonet node status --endpoint {sub.endpoint}` says why"), said


async def test_a_replica_whose_leader_is_gone_says_so(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        async with running_node(tmp_path / "leader") as (_node, sub):
            leader = sub.endpoint
            addresses = await tg.start(replica(tmp_path / "replica", leader).run)
            async with Subtensor(addresses["rpc"], timeout=20.0) as rsub:
                await rsub.wait_for_block(await sub.get_current_block(), timeout=20)
        async with Subtensor(addresses["rpc"], timeout=20.0) as rsub:  # the leader stopped: the replica serves on
            with anyio.fail_after(30):
                while (await rsub.call("head")).get("leader_reachable") is not False:  # until it knows
                    await anyio.sleep(0.1)
            said = await _quiet(rsub)
        tg.cancel_scope.cancel()
    assert (said["endpoint"], said["leader"], said["leader_reachable"]) == (addresses["rpc"], leader, False), said
    assert said["note"].startswith(f"the node at {addresses['rpc']} is a replica of {leader} and made no block for "
                                   "1 s: it does not reach its leader now"), said
