"""Subtensor.submitted on a real node: what the client has handed to the node (so a write cut off can tell "not sent,
nothing changed" from "may still be included"): reads count nothing, an admitted write counts, a submit the node
refuses or never saw does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from taonet.kernel import Subtensor
from taonet.ledger import Extrinsic, Transfer
from taonet.ledger.errors import TaonetError

from ..node.nodes import Wallet, running_node
from .test_blocking import free_address

pytestmark = pytest.mark.anyio

DEST = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


async def test_submitted_counts_what_the_node_took(tmp_path: Path) -> None:
    """0 after reads; 1 after an included transfer; still 1 after a submit refused at admission (a nonce already
    used)."""
    alice = Wallet("Alice")
    async with running_node(tmp_path) as (_node, sub):
        await sub.get_balance(alice.coldkey.ss58_address)
        await sub.get_nonce(alice.coldkey.public_key)
        assert sub.submitted == 0
        sent = await sub.transfer(alice, DEST, 1000)
        assert sent.success and sub.submitted == 1, sent.message
        stale = Extrinsic.sign(Transfer(dest=alice.coldkey.public_key, amount=1), alice.coldkey, nonce=0,
                               genesis=await sub.genesis_hash())
        refused = await sub.submit(stale)
        assert refused.status == "rejected" and isinstance(refused.error, TaonetError), refused
        assert sub.submitted == 1


async def test_a_write_with_no_node_submitted_nothing() -> None:
    """A transfer where no node listens is rejected with NoNode and counts nothing: nothing went out."""
    async with Subtensor(free_address(), timeout=1.0) as sub:
        result = await sub.transfer(Wallet("Alice"), DEST, 1000)
        assert result.status == "rejected" and sub.submitted == 0, result
