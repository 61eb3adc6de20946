"""A remote actor under a node that restarts quickly (kill -9, back on the same data dir and address in a second):
no call of the actor saw the node gone, yet the new node waits for its answer to the head; production must resume."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path

import anyio
import pytest

from taonet.kernel import Subtensor

from .nodes import TAONET, free_node_ports, node_on_ports, stop

pytestmark = pytest.mark.slow

RESUME_WITHIN = 40.0
"""Seconds the restarted node may take to seal five blocks past its head: the actor notices the new instance at its
feed's first quiet spell (5 s), so a bound this wide fails only when the actor never answers again."""


def _node(data: Path, rpc: int, feed: int) -> AbstractContextManager[subprocess.Popen[str]]:
    """The node, its consensus actor remote, on fixed ports (the same after a restart)."""
    return node_on_ports(data, rpc, feed, "--remote-actor", "consensus")


async def _head(rpc: str) -> int:
    async with Subtensor(rpc, timeout=5.0) as sub:
        return int((await sub.call("head"))["number"])


def _wait_for_head(rpc: str, at_least: int, within: float) -> int:
    """The node's head once it reaches ``at_least`` (polled), or the last head seen after ``within`` seconds."""
    deadline, head = time.monotonic() + within, -1
    while time.monotonic() < deadline:
        head = anyio.run(_head, rpc)
        if head >= at_least:
            break
        time.sleep(0.2)
    return head


def test_a_remote_actor_answers_a_node_restarted_within_a_second(tmp_path: Path) -> None:
    """SIGKILL the node, start it again 1 s later on the same data dir and addresses: the consensus actor (its own
    process, never restarted) notices the new run and answers its head, and production resumes."""
    port, feed_port = free_node_ports()
    rpc = f"tcp://127.0.0.1:{port}"
    data, actor_log = tmp_path / "node", tmp_path / "actor.log"
    with _node(data, port, feed_port) as first, actor_log.open("w") as err:
        actor = subprocess.Popen([*TAONET, "actor", "run", "consensus", "--node", rpc],
                                 stdout=subprocess.DEVNULL, stderr=err, text=True)
        try:
            assert _wait_for_head(rpc, 5, 60.0) >= 5, actor_log.read_text()[-2000:]
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            time.sleep(1.0)
            with _node(data, port, feed_port):
                start = anyio.run(_head, rpc)
                reached = _wait_for_head(rpc, start + 5, RESUME_WITHIN)
                assert actor.poll() is None, actor_log.read_text()[-2000:]
                assert reached >= start + 5, (f"head {reached}, restarted at {start}: production did not resume; "
                                              f"actor log: {actor_log.read_text()[-2000:]}")
        finally:
            stop(actor)  # type: ignore[arg-type]
    assert "actor.leader_restarted" in actor_log.read_text() or "actor.leader_back" in actor_log.read_text()
