"""A remote actor under a node that restarts quickly (kill -9, back on the same data dir and address in a second):
no call of the actor saw the node gone, yet the new node waits for its answer to the head; production must resume."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

from taonet.kernel import Subtensor

from .nodes import TAONET, read_addresses, stop

pytestmark = pytest.mark.slow

RESUME_WITHIN = 40.0
"""Seconds the restarted node may take to seal five blocks past its head: the actor notices the new instance at its
feed's first quiet spell (5 s), so a bound this wide fails only when the actor never answers again."""


def _free_ports() -> tuple[int, int]:
    """An RPC port whose actors' port (RPC + 2) is free too, and a feed port (bound, then released)."""
    for _ in range(50):
        with socket.socket() as a, socket.socket() as b, socket.socket() as c:
            a.bind(("127.0.0.1", 0))
            rpc = a.getsockname()[1]
            try:
                b.bind(("127.0.0.1", rpc + 2))
            except OSError:
                continue
            c.bind(("127.0.0.1", 0))
            return rpc, c.getsockname()[1]
    raise RuntimeError("no free pair of loopback ports in 50 tries")


@contextmanager
def _node(data: Path, rpc: str, feed: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([*TAONET, "node", "run", "--dev", "--block-time", "0.1", "--no-fsync", "--data-dir",
                             str(data), "--rpc", rpc, "--feed", feed, "--remote-actor", "consensus"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        read_addresses(proc)
        yield proc
    finally:
        stop(proc)


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
    port, feed_port = _free_ports()
    rpc, feed = f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{feed_port}"
    data, actor_log = tmp_path / "node", tmp_path / "actor.log"
    with _node(data, rpc, feed) as first, actor_log.open("w") as err:
        actor = subprocess.Popen([*TAONET, "actor", "run", "consensus", "--node", rpc],
                                 stdout=subprocess.DEVNULL, stderr=err, text=True)
        try:
            assert _wait_for_head(rpc, 5, 60.0) >= 5, actor_log.read_text()[-2000:]
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            time.sleep(1.0)
            with _node(data, rpc, feed):
                start = anyio.run(_head, rpc)
                reached = _wait_for_head(rpc, start + 5, RESUME_WITHIN)
                assert actor.poll() is None, actor_log.read_text()[-2000:]
                assert reached >= start + 5, (f"head {reached}, restarted at {start}: production did not resume; "
                                              f"actor log: {actor_log.read_text()[-2000:]}")
        finally:
            stop(actor)  # type: ignore[arg-type]
    assert "actor.leader_restarted" in actor_log.read_text() or "actor.leader_back" in actor_log.read_text()
