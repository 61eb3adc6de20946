"""A wait on a replica whose leader is away ends within a few block times with LeaderAway naming the leader (the
replica's head says ``leader_reachable`` and ``leader_down_s``); it waited its whole timeout and said the node was
slow or busy. A real leader and replica, in this process; `taonet node wait` as a process."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
import pytest

from taonet.kernel import Node, NodeConfig, Subtensor
from taonet.kernel.errors import LeaderAway
from taonet.ledger import dev_genesis

from ..node.nodes import replica

BLOCK_TIME = 0.1


async def _until(ok: object, timeout: float) -> None:
    """Poll ``ok()`` every 50 ms until it is true, at most ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not ok():  # type: ignore[operator]
            await anyio.sleep(0.05)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_wait_on_a_replica_whose_leader_is_away_ends_early_saying_so(tmp_path: Path) -> None:
    """A wait under way when the leader stops, and one started after, both end with LeaderAway (a wait, not a write:
    "wait again once it answers") within seconds of a 60 s timeout; `taonet node wait --blocks 100 -e <replica>`
    exits 4 saying the same. A block the replica holds is still returned at once."""
    genesis, authority = dev_genesis()
    node = Node(NodeConfig(data_dir=tmp_path / "leader", authority=authority, genesis=genesis, block_time=BLOCK_TIME,
                           fsync=False, rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0"))
    with anyio.fail_after(60):
        async with anyio.create_task_group() as outer:
            async with anyio.create_task_group() as tg:
                leader = (await tg.start(node.run))["rpc"]
                rep = replica(tmp_path / "replica", leader)
                served = (await outer.start(rep.run))["rpc"]
                async with Subtensor(served, timeout=10.0) as sub:
                    head = await sub.wait_for_block(5, timeout=20)
                    caught: list[BaseException] = []

                    async def wait_through() -> None:
                        try:
                            await sub.wait_for_block(head + 1000, timeout=60)
                        except Exception as e:
                            caught.append(e)

                    outer.start_soon(wait_through)
                    await anyio.sleep(0.5)
                    tg.cancel_scope.cancel()
                    stopped = time.monotonic()
            await _until(lambda: caught, 20)
            assert time.monotonic() - stopped < 15, time.monotonic() - stopped
            assert isinstance(caught[0], LeaderAway), caught[0]
            for message in (str(caught[0]),):
                assert f"check that the leader at {leader} runs" in message, message
                assert "wait again once it answers" in message and served in message, message
            async with Subtensor(served, timeout=10.0) as sub:
                held = await sub.get_current_block()
                assert await sub.wait_for_block(held, timeout=5) == held  # a block it holds: at once
                started = time.monotonic()
                with pytest.raises(LeaderAway, match="wait again once it answers"):
                    await sub.wait_for_block(held + 100, timeout=60)
                assert time.monotonic() - started < 10
            cli = await anyio.run_process([sys.executable, "-m", "taonet.tools", "node", "wait", "--blocks", "100",
                                           "-e", served], check=False)
            outer.cancel_scope.cancel()
    line = cli.stderr.decode() + cli.stdout.decode()
    assert cli.returncode == 4, line
    assert f"check that the leader at {leader} runs" in line and "wait again once it answers" in line, line
    assert "slow or busy" not in line, line
