"""A reveal the chain refuses (commit-reveal off, or no such commit) or that is refused before signing has action
"": nothing was revealed, as a refused commit has action "" (it said "revealed"). Against a real dev node."""

from __future__ import annotations

from pathlib import Path

import pytest

from taonet.kernel.client import PendingReveal
from taonet.ledger.errors import InvalidCall

from ..node.nodes import Wallet, running_node

pytestmark = pytest.mark.anyio


async def test_a_refused_reveal_has_no_action(tmp_path: Path) -> None:
    """reveal_weights on a subnet without commit-reveal, reveal() of a PendingReveal, and a salt no reveal takes:
    each is rejected with action "" (the last before signing, with InvalidCall)."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    async with running_node(tmp_path) as (_node, sub):
        assert (await sub.create_subnet(owner)).success
        assert (await sub.burned_register(miner, 1)).uid == 1
        refused = await sub.reveal_weights(owner, 1, [1], [0.5], b"sixteen-byte-slt")
        assert refused.status == "rejected" and not refused.success, refused.message
        assert refused.action == "" and refused.reveal is not None
        pending = PendingReveal.new(1, owner.hotkey.ss58_address, [1], [0.5], salt=b"sixteen-byte-slt")
        again = await sub.reveal(owner, pending)
        assert again.status == "rejected" and again.action == "", again.message
        local = await sub.reveal_weights(owner, 1, [1], [0.5], b"x")
        assert isinstance(local.error, InvalidCall) and local.action == "", local.message
