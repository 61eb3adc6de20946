"""The client's feed watcher reads as little of each block as it can."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel.client._feed import block_number_of
from taonet.ledger import Extrinsic, Keypair, Transfer, build_genesis, dev_genesis

from ..node.nodes import running_node


def test_a_block_number_is_read_from_the_header_alone() -> None:
    """The feed watcher reads a block's number without decoding it; anything else is a ValueError."""
    bob = Keypair.from_uri("//Bob")
    genesis, authority = dev_genesis()
    block, _ = build_genesis(genesis, authority)
    assert block_number_of(block.to_bytes()) == 0
    for junk in (b"", b"\x00garbage", Extrinsic.sign(Transfer(dest=bob.public_key, amount=1), bob, nonce=0,
                                                     genesis=bytes(32)).to_bytes()):
        with pytest.raises(ValueError, match="not a block"):
            block_number_of(junk)


@pytest.mark.anyio
async def test_a_waiter_back_from_a_long_pause_is_told_the_newest_head_not_a_queued_one(tmp_path: Path) -> None:
    """Blocks queue in the feed socket while every waiter is busy elsewhere; the next wait drains them and answers
    with the newest head (one queued block per call made a slow consumer lag for good)."""
    async with running_node(tmp_path / "node", block_time=0.05) as (_node, sub):
        head = await sub.wait_for_block(timeout=10)
        await anyio.sleep(0.6)  # ~12 blocks queue in the feed socket meanwhile (less than its quiet time, 1 s)
        now = await sub.get_current_block()
        assert now >= head + 5
        got = await sub.wait_for_block(head + 1, timeout=10)
        # the head the RPC just named may still be on its way over the feed: one block behind it is the newest there
        # is; the old behaviour answered head + 1, the first queued block
        assert got >= now - 1


@pytest.mark.anyio
async def test_the_feed_socket_keeps_only_a_few_blocks_while_no_one_reads() -> None:
    """The watcher needs only the newest number: nng's default queue (128 a context) could hold 128 of the chain's
    largest blocks (256 MiB each) from a feed no one reads; the watcher's holds 16."""
    import pynng

    from taonet.kernel.client._feed import FeedWatcher

    address = "inproc://taonet-test-feed-queue"
    with pynng.Pub0(listen=address) as pub:
        w = FeedWatcher(address, quiet=1.0)
        ctx = w._open()
        try:
            with anyio.fail_after(5):
                while not pub.pipes:
                    await anyio.sleep(0.01)
            await anyio.sleep(0.05)  # the subscription reaches the publisher
            for i in range(200):
                pub.send(i.to_bytes(4, "big"))
            await anyio.sleep(0.2)
            got = []
            with anyio.fail_after(5):
                while True:
                    try:
                        raw, _ = await ctx.recv(0)
                    except pynng.Timeout:
                        break
                    got.append(int.from_bytes(raw, "big"))
        finally:
            w._close()
    assert 0 < len(got) <= 16
    assert got[-1] == 199  # the newest kept, the oldest dropped
