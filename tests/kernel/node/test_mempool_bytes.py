"""The mempool is bounded in bytes, and so is each block's share of it: a full pool refuses with MempoolFull (unit
bytes), and what does not fit a block's byte budget waits for the next blocks, in nonce order, none lost."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel.errors import MempoolFull
from taonet.kernel.node._mempool import Mempool
from taonet.ledger import Chain, Extrinsic, Keypair, Transfer, dev_genesis

from .nodes import running_node

ALICE, BOB = Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob")


def _transfers(genesis: bytes, key: Keypair, to: Keypair, n: int) -> list[Extrinsic]:
    """``n`` transfers of ``key`` at nonces 0.. (under 24: each encodes to the same size)."""
    return [Extrinsic.sign(Transfer(dest=to.public_key, amount=1000), key, nonce=i, genesis=genesis)
            for i in range(n)]


SIZE = len(_transfers(bytes(32), ALICE, BOB, 1)[0].to_bytes())
"""The encoded size of each of those transfers (the genesis hash's value does not change it)."""


def test_a_block_takes_what_fits_its_bytes_and_at_least_one() -> None:
    """ready() stops before the extrinsic that would pass ``max_bytes`` (one alone always goes: nothing waits for
    ever); the pool counts the bytes it holds and gives them back when a block takes them."""
    chain = Chain.create(*dev_genesis())
    exts = _transfers(chain.genesis_hash, ALICE, BOB, 5)
    size = len(exts[0].to_bytes())
    pool = Mempool(max_bytes=4 * size)
    for x in exts[:4]:
        assert pool.admit(chain.state, chain.genesis_hash, x)
    with pytest.raises(MempoolFull, match=f"the mempool is full \\({4 * size} bytes\\); retry after the next block"):
        pool.admit(chain.state, chain.genesis_hash, exts[4])
    assert len(pool) == 4 and pool.bytes_held == 4 * size
    assert list(pool.ready(chain.state, max_bytes=3 * size - 1)) == exts[:2]
    assert list(pool.ready(chain.state, max_bytes=3 * size)) == exts[:3]
    assert list(pool.ready(chain.state, max_bytes=1)) == exts[:1]
    assert list(pool.ready(chain.state, max_bytes=3 * size, limit=1)) == exts[:1]
    chain.mempool = list(pool.ready(chain.state, max_bytes=2 * size))
    pool.after_block(chain.state, list(chain.seal().included), [])
    assert len(pool) == 2 and pool.bytes_held == 2 * size
    assert pool.admit(chain.state, chain.genesis_hash, exts[4])  # room again
    assert list(pool.ready(chain.state)) == [*exts[2:]]


@pytest.mark.anyio
async def test_a_node_at_its_byte_bound_refuses_the_next_extrinsic(tmp_path: Path) -> None:
    """Through the RPC, with no block sealed meanwhile (30 s blocks), ``mempool_limit_bytes`` of four and a half
    transfers: the fifth is refused with MempoolFull naming the bound in bytes; the pool and the state digest are
    unchanged, and the node never heard of the refused one."""
    bound = 4 * SIZE + SIZE // 2
    async with running_node(tmp_path, block_time=30.0, mempool_limit_bytes=bound) as (node, sub):
        exts = _transfers(await sub.genesis_hash(), ALICE, BOB, 5)
        assert all(r.status == "submitted" for r in await sub.submit_batch(exts[:4]))
        assert node.state is not None
        digest = node.state.digest()
        refused = (await sub.submit_batch(exts[4:]))[0]
        assert isinstance(refused.error, MempoolFull)
        assert (refused.error.limit, refused.error.unit) == (bound, "bytes")
        assert "the mempool is full" in str(refused.error) and "retry after the next block" in str(refused.error)
        assert node.state.height == 0 and node.state.digest() == digest
        assert len(node.mempool) == 4 and node.mempool.bytes_held == 4 * SIZE
        metrics = await sub.call("metrics")
        assert (metrics["mempool"], metrics["mempool_bytes"]) == (4, 4 * SIZE)
        assert (await sub.call("receipt", hash=exts[4].hash))["status"] == "unknown"


@pytest.mark.anyio
async def test_extrinsics_over_a_blocks_byte_budget_are_sealed_over_several_blocks_in_nonce_order(
        tmp_path: Path) -> None:
    """A budget of three and a half transfers' bytes per block: 20 transfers of two signers admitted at once are
    sealed at most three a block, each signer's in nonce order, all of them; the pool ends empty, holding no bytes."""
    budget = 3 * SIZE + SIZE // 2
    async with running_node(tmp_path, max_block_extrinsics_bytes=budget) as (node, sub):
        genesis = await sub.genesis_hash()
        alice, bob = _transfers(genesis, ALICE, BOB, 10), _transfers(genesis, BOB, ALICE, 10)
        interleaved = [x for pair in zip(alice, bob, strict=True) for x in pair]
        assert all(r.status == "submitted" for r in await sub.submit_batch(interleaved))
        where: dict[bytes, tuple[int, int]] = {}
        with anyio.fail_after(30):
            for x in interleaved:
                r = await sub.wait_for_outcome(x.hash, timeout=20)
                assert r.status == "included", r
                got = await sub.call("receipt", hash=x.hash)
                where[x.hash] = (got["block"], got["index"])
        for mine in (alice, bob):
            spots = [where[x.hash] for x in mine]
            assert spots == sorted(spots)  # nonce order kept across blocks
        per_block: dict[int, int] = {}
        for number, _ in where.values():
            per_block[number] = per_block.get(number, 0) + 1
        assert max(per_block.values()) == 3 and len(per_block) >= 7
        for number in per_block:
            user = [x for x in (await sub.get_block(number)).extrinsics
                    if x.signer in (ALICE.public_key, BOB.public_key)]
            assert sum(len(x.to_bytes()) for x in user) <= budget
        assert len(node.mempool) == 0 and node.mempool.bytes_held == 0


@pytest.mark.anyio
async def test_a_blocks_reply_stops_at_its_byte_bound_and_asking_on_reads_every_block_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`blocks` holds at most BLOCKS_REPLY_BYTES of encoded blocks, at least one however large (a block may hold 64
    MiB of extrinsics; a reply of 1,000 such would pass the 256 MiB a client takes); a reader asking on from where a
    reply stopped reads every block once, in order."""
    from taonet.kernel.node import _queries

    async with running_node(tmp_path) as (node, sub):
        await sub.wait_for_block(12, timeout=20)
        assert node.store is not None
        raw = [node.store.get_raw(n) for n in range(12)]
        monkeypatch.setattr(_queries, "BLOCKS_REPLY_BYTES", len(raw[2]) + len(raw[3]) + len(raw[4]))
        assert await sub.call("blocks", start=2, stop=12) == raw[2:5]
        monkeypatch.setattr(_queries, "BLOCKS_REPLY_BYTES", 1)
        assert await sub.call("blocks", start=7, stop=12) == [raw[7]]
        monkeypatch.setattr(_queries, "BLOCKS_REPLY_BYTES", max(map(len, raw)) * 2)
        read: list[bytes] = []
        while len(read) < 12:
            read += await sub.call("blocks", start=len(read), stop=12)
        assert read == raw
