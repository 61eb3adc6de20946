"""Subtensor.set_subnet_identity / get_subnet_identity against a real dev node."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.ledger.errors import InvalidCall, NotSubnetOwner, SubnetNotFound

from ..node.nodes import Wallet, running_node

pytestmark = pytest.mark.anyio


async def test_owner_records_plugin_and_anyone_reads_it(tmp_path: Path) -> None:
    """The owner's identity is read back at the head; before it, the subnet has none; others are refused."""
    async with running_node(tmp_path) as (_node, sub):
        with anyio.fail_after(60):
            created = await sub.create_subnet(Wallet("Alice"))
            assert created.success
            assert await sub.get_subnet_identity(1) is None
            r = await sub.set_subnet_identity(Wallet("Alice"), 1, "template", description="doubles", url="https://x")
            assert r.success, r.message
            ident = await sub.get_subnet_identity(1)
            assert ident == {"plugin": "template", "description": "doubles", "url": "https://x", "block": r.block}
            assert await sub.get_subnet_identity(1, block=created.block) is None
            refused = await sub.set_subnet_identity(Wallet("Bob"), 1, "other")
            assert isinstance(refused.error, NotSubnetOwner)
            bad = await sub.set_subnet_identity(Wallet("Alice"), 1, "Not A Name")
            assert isinstance(bad.error, InvalidCall)
            with pytest.raises(SubnetNotFound):
                await sub.get_subnet_identity(7)
