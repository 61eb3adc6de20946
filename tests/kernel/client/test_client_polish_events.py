"""get_events of a block beyond the head raises BlockNotFound naming the head, as get_block does (the node answers no
events for blocks it does not have, so it returned [] and looked like a block without events); asyncio and trio."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from taonet.kernel import Subtensor
from taonet.kernel.errors import BlockNotFound

from ..node.nodes import running_node

pytestmark = pytest.mark.anyio

FAR = 10**9


async def _raised(call: Awaitable[Any]) -> BaseException | None:
    """What awaiting ``call`` raised (None if it returned)."""
    try:
        await call
    except Exception as e:  # the test looks at whatever it was
        return e
    return None


async def test_events_beyond_the_head_raise_block_not_found_as_get_block_does(tmp_path: Path) -> None:
    """get_events(FAR) and get_events(FAR, FAR + 5) raise the same error as get_block(FAR): the number, the head."""
    async with running_node(tmp_path) as (_node, sub):
        head = await sub.wait_for_block(3)
        block = await _raised(sub.get_block(FAR))
        one = await _raised(sub.get_events(FAR))
        some = await _raised(sub.get_events(FAR, FAR + 5, types=["ev.epoch_completed"]))
    assert isinstance(block, BlockNotFound) and block.number == FAR, block
    for events in (one, some):
        assert isinstance(events, BlockNotFound) and events.number == FAR and events.head >= head, events
        assert re.fullmatch(rf"block {FAR} does not exist: the chain's head is block \d+; ask for a block in "
                            r"0\.\.\d+", str(events)), events


async def test_events_up_to_and_past_the_head_still_read(tmp_path: Path) -> None:
    """A fresh client (no head seen yet) reads block 0's events; a range reaching past the head ends at the head."""
    async with running_node(tmp_path) as (node, sub):
        head = await sub.wait_for_block(3)
        async with Subtensor(sub.endpoint, timeout=20.0) as fresh:
            genesis = await fresh.get_events(0)
            rows = await fresh.get_events(head, head + 1000)
        last = node.store.height  # type: ignore[union-attr]
    assert genesis and {b for b, _, _ in genesis} == {0}, genesis
    assert all(head <= b <= last for b, _, _ in rows), rows
