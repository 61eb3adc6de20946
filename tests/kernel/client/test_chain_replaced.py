"""A node replaced by another chain at the same address (stopped, another started on a fresh data dir, the same dev
genesis: a lower head): a client's wait is for the new chain's block. The client kept the old chain's height and a
wait_for_block(N) below it returned at once (real node processes on fixed loopback ports)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel import Subtensor

from ..node.nodes import free_node_ports, node_on_ports

BLOCK_TIME = 0.1


@pytest.fixture
def anyio_backend() -> str:
    """It drives node processes: one backend is enough."""
    return "asyncio"


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.parametrize("gap", [0.0, 4.0])
async def test_a_wait_after_the_node_is_replaced_by_another_chain_waits_for_the_new_chains_block(
        gap: float, tmp_path: Path) -> None:
    """The client waited to block 40 on the first chain; the node is replaced (at once, or after ``gap`` seconds,
    longer than the feed's quiet time) by one on a fresh data dir: wait_for_block(10) waits for the new chain's
    block 10 (it returned 40 at once), and the next block after it is the new chain's too."""
    rpc, feed = free_node_ports()
    async with Subtensor(f"tcp://127.0.0.1:{rpc}", timeout=10.0) as sub:
        with node_on_ports(tmp_path / "first", rpc, feed, block_time=BLOCK_TIME):
            with anyio.fail_after(30):
                assert await sub.wait_for_block(40) >= 40
        await anyio.sleep(gap)
        with node_on_ports(tmp_path / "second", rpc, feed, block_time=BLOCK_TIME):
            with anyio.fail_after(30):
                got = await sub.wait_for_block(10)
                now = await sub.get_current_block()
                assert 10 <= got <= now < 40, (got, now)
                following = await sub.wait_for_block()
                assert got < following < 40, following
