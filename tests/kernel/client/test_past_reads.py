"""Reads at past and future blocks: past ones come from memory, snapshots or replay; future ones are BlockNotFound."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel.errors import BlockNotFound
from taonet.ledger import replay
from taonet.ledger.errors import SubnetNotFound

from ..node.nodes import Wallet, running_node

pytestmark = pytest.mark.anyio


async def test_a_block_beyond_the_head_is_block_not_found(tmp_path: Path) -> None:
    """metagraph, account and block at a block the chain does not have: BlockNotFound naming the head."""
    async with running_node(tmp_path) as (node, sub):
        assert (await sub.create_subnet(Wallet("Alice"))).success
        far = 10_000_000
        for read in (lambda: sub.metagraph(1, block=far), lambda: sub.get_balance(Wallet("Bob").coldkey, block=far),
                     lambda: sub.get_block(far)):
            with anyio.fail_after(20), pytest.raises(BlockNotFound) as info:
                await read()
            assert info.value.number == far
            assert 0 < info.value.head <= node.state.height
            assert f"0..{info.value.head}" in str(info.value)


async def test_a_past_metagraph_is_the_replayed_one_long_after_that_block(tmp_path: Path) -> None:
    """The metagraph at the block a subnet was created in, read after many more blocks (history and replay),
    is the state the log replays to; before that block the subnet does not exist (SubnetNotFound)."""
    async with running_node(tmp_path, history_every=4, history_blocks=8) as (node, sub):
        created = await sub.create_subnet(Wallet("Alice"))
        assert created.success and created.block is not None
        with anyio.fail_after(30):
            await sub.wait_for_block(created.block + 25)
        mg = await sub.metagraph(1, block=created.block)
        assert mg.block == created.block
        state = replay(node.store, to=created.block, use_snapshots=False)
        assert mg.n == state.subnet(1).n == 1
        with pytest.raises(SubnetNotFound):
            await sub.metagraph(1, block=created.block - 1)
