"""A restarted node still knows what its last blocks included: the receipts table lives in memory, so a node reads
the inclusions of its last 64 blocks back from its log when it opens. An extrinsic sealed just before a stop is
``included`` (same block, index and events) afterwards, never ``unknown``, which a client that saw it pending before
the restart takes as dropped. Each run of a node names itself (``instance``, new at each start) in ``info``,
``submit`` and ``receipt``, with ``receipts_from``, the first block whose inclusions the receipts all hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from taonet.ledger import Keypair

from .nodes import running_node

pytestmark = pytest.mark.anyio

ALICE, FERDIE = Keypair.from_uri("//Alice"), Keypair.from_uri("//Ferdie")


async def test_an_extrinsic_included_before_a_restart_is_still_included_after_it(tmp_path: Path) -> None:
    data = tmp_path / "node"
    async with running_node(data) as (_node, sub):
        first = (await sub.info())["instance"]
        result = await sub.transfer(ALICE, FERDIE.ss58_address, 5)
        assert result.status == "included", result
        before = await sub.call("receipt", hash=result.hash)
        assert before["instance"] == first and before["receipts_from"] == 1, before
    async with running_node(data) as (node, sub):
        again = (await sub.info())["instance"]
        after = await sub.call("receipt", hash=result.hash)
        assert again != first and isinstance(again, str)
        assert after["status"] == "included", after  # not "unknown": the log holds it
        assert (after["block"], after["index"], after["events"]) == (before["block"], before["index"],
                                                                     before["events"])
        assert after["instance"] == again and after["receipts_from"] <= result.block, after
        # the same bytes again are the one included extrinsic, not a new submission (nor a stale nonce)
        joined = await sub.call("submit", extrinsic=(await _ext(sub, result.hash, result.block)))
        assert joined["joined"] is True and joined["instance"] == again, joined
        assert node.state is not None and node.state.account(FERDIE.public_key).free > 0


async def _ext(sub: object, h: bytes, number: int) -> bytes:
    """The encoding of the extrinsic with hash ``h`` in block ``number``."""
    block = await sub.get_block(number)  # type: ignore[attr-defined]
    return next(x.to_bytes() for x in block.extrinsics if x.hash == h)


async def test_receipts_from_rises_as_the_table_drops_its_oldest(tmp_path: Path) -> None:
    """With room for 2 receipts, a third inclusion drops the oldest: ``receipts_from`` passes its block, so no
    client takes its ``unknown`` for "in no block"."""
    async with running_node(tmp_path / "node", receipts_limit=2) as (_node, sub):
        blocks = []
        for amount in (1, 2, 3):
            r = await sub.transfer(ALICE, FERDIE.ss58_address, amount)
            assert r.status == "included", r
            blocks.append(r.block)
        last = await sub.call("receipt", hash=r.hash)
        assert last["status"] == "included" and last["receipts_from"] == blocks[0] + 1, (blocks, last)
