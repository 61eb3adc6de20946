"""A node that stops with extrinsics still waiting in its mempool says how many it drops (they are not kept)."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from taonet.ledger import TAO, Keypair, Transfer

from .nodes import running_node

pytestmark = pytest.mark.anyio


async def test_a_stop_logs_the_extrinsics_dropped_from_the_mempool(tmp_path: Path) -> None:
    """Two transfers admitted, no block sealed yet (60 s blocks), the node stopped: node.mempool_dropped, count 2."""
    alice, bob = Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob")
    with capture_logs() as logs:
        async with running_node(tmp_path / "node", block_time=60.0) as (node, sub):
            for _ in range(2):
                ext = await sub.sign(alice, Transfer(dest=bob.public_key, amount=TAO))
                await sub.submit(ext, wait_for_inclusion=False)
            assert len(node.mempool) == 2
    dropped = [e for e in logs if e["event"] == "node.mempool_dropped"]
    assert [e["count"] for e in dropped] == [2] and dropped[0]["log_level"] == "warning"


async def test_a_stop_with_an_empty_mempool_logs_nothing_of_it(tmp_path: Path) -> None:
    """Nothing waiting, nothing said."""
    with capture_logs() as logs:
        async with running_node(tmp_path / "node", block_time=60.0):
            pass
    assert not [e for e in logs if e["event"] == "node.mempool_dropped"]
