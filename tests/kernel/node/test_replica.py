"""A replica verifies what it follows: every signature and the state digest; a bad upstream makes it back off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
import pynng
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Subtensor
from taonet.kernel.node import Replica, RpcServer
from taonet.kernel.wire import bound_address
from taonet.ledger import (
    BlockBuilder,
    Chain,
    Extrinsic,
    Keypair,
    SignedBlock,
    Transfer,
    dev_genesis,
)
from taonet.ledger.errors import InvalidBlock

from .nodes import replica

pytestmark = pytest.mark.anyio

ALICE, BOB = Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob")
BAD = 3  # the block number the bad upstream forges


def _chain(blocks: int) -> tuple[Chain, SignedBlock]:
    """A dev chain of ``blocks`` blocks with a transfer in block BAD, and a forged block BAD: signed by the
    authority, carrying that transfer with a signature that does not verify."""
    config, authority = dev_genesis()
    chain = Chain.create(config, authority)
    forged: SignedBlock | None = None
    for number in range(1, blocks + 1):
        if number == BAD:
            ext = chain.call(ALICE, Transfer(dest=BOB.public_key, amount=5))
            timestamp = chain.store.get(0).header.timestamp + number * chain.block_time_ms
            builder = BlockBuilder(chain.state, parent=chain.store.head_hash, timestamp=timestamp,
                                   genesis=chain.genesis_hash)
            for call in chain.answers(chain.state):
                builder.push(Extrinsic.sign(call, authority, nonce=number, genesis=chain.genesis_hash))
            builder.push(attrs.evolve(ext, signature=BOB.sign(ext.signed_bytes())), check_signature=False)
            forged, _ = builder.seal(authority)
        chain.seal()
    assert forged is not None and forged.signature_ok()
    return chain, forged


def _replica(tmp_path: Path, leader: str = "tcp://127.0.0.1:1") -> Replica:
    return replica(tmp_path / "replica", leader)


def test_a_forged_block_with_a_bad_transfer_signature_is_refused_and_the_log_still_verifies(tmp_path: Path) -> None:
    """The authority signed it, but one extrinsic's signature fails: InvalidBlock naming the block, nothing stored,
    the state digest unchanged; the real block is then accepted."""
    chain, forged = _chain(BAD)
    replica = _replica(tmp_path)
    replica._open_replica(chain.store.get_raw(0))
    assert replica.store is not None and replica.state is not None
    try:
        for n in range(1, BAD):
            assert replica.ingest(chain.store.get(n))
        digest = replica.state.digest()
        with pytest.raises(InvalidBlock, match="signature") as refused:
            replica.ingest(forged)
        assert refused.value.number == BAD
        assert replica.state.height == BAD - 1 and replica.store.height == BAD - 1
        assert replica.state.digest() == digest
        replica.store.verify()
        assert replica.ingest(chain.store.get(BAD))
        assert replica.store.verify().blocks == BAD + 1
    finally:
        replica.store.close()


def test_a_block_whose_state_digest_differs_is_refused(tmp_path: Path) -> None:
    """An authority-signed block whose header claims another state digest is refused (re-execution checks it)."""
    chain, _ = _chain(BAD)
    good = chain.store.get(1)
    authority = chain.authority
    header = attrs.evolve(good.header, state_digest=bytes(32))
    lying = attrs.evolve(good, header=header, signature=authority.sign(header.hash))
    replica = _replica(tmp_path)
    replica._open_replica(chain.store.get_raw(0))
    assert replica.store is not None
    try:
        with pytest.raises(InvalidBlock, match="state_digest"):
            replica.ingest(lying)
        assert replica.ingest(good)
    finally:
        replica.store.close()


class _BadUpstream:
    """A fake leader from real parts (RpcServer + Pub0): serves ``chain`` with block BAD forged until told not to,
    announces its head on the feed every 50 ms, and counts the ``blocks`` requests."""

    def __init__(self, chain: Chain, forged: SignedBlock) -> None:
        self.chain = chain
        self.served = {n: chain.store.get_raw(n) for n in range(chain.height + 1)}
        self.served[BAD] = forged.to_bytes()
        self.requests = 0
        self.addresses: dict[str, str] = {}

    def heal(self) -> None:
        """Serve the real block BAD from now on."""
        self.served[BAD] = self.chain.store.get_raw(BAD)

    def _handlers(self) -> dict[str, Any]:
        async def info(_p: dict[str, Any]) -> dict[str, Any]:
            return {"feed": self.addresses["feed"], "block_time": 0.05, "head": self.chain.height}

        async def head(_p: dict[str, Any]) -> dict[str, Any]:
            return {"number": self.chain.height}

        async def block(p: dict[str, Any]) -> bytes:
            return self.served[int(p["number"])]

        async def blocks(p: dict[str, Any]) -> list[bytes]:
            self.requests += 1
            return [self.served[n] for n in range(int(p["start"]), min(int(p["stop"]), self.chain.height + 1))]

        return {"info": info, "head": head, "block": block, "blocks": blocks}

    async def serve(self, *, task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED) -> None:
        with pynng.Pub0() as feed:
            feed.listen("tcp://127.0.0.1:0")
            self.addresses["feed"] = bound_address(feed, "tcp://127.0.0.1:0")
            async with anyio.create_task_group() as tg:
                rpc = await tg.start(RpcServer("tcp://127.0.0.1:0", self._handlers(), name="fake.rpc").serve)
                task_status.started(rpc)
                while True:
                    feed.send(self.served[self.chain.height])
                    await anyio.sleep(0.05)


@pytest.mark.slow
async def test_a_replica_backs_off_from_an_upstream_serving_a_bad_block_and_resumes_when_it_is_fixed(
        tmp_path: Path) -> None:
    """Over 3 s of a bad block 3 (and 60 feed announcements) the replica asks a handful of times, logs the failure
    once, and shows the stall in its status and metrics; once the good block is served it catches up."""
    chain, forged = _chain(6)
    upstream = _BadUpstream(chain, forged)
    with capture_logs() as logs:
        async with anyio.create_task_group() as tg:
            rpc = await tg.start(upstream.serve)
            replica = _replica(tmp_path, rpc)
            addresses = await tg.start(replica.run)
            await anyio.sleep(3.0)
            assert replica.state is not None and replica.state.height == BAD - 1
            assert replica.stalled_at == BAD
            assert 2 <= replica.retries <= 8
            assert upstream.requests <= 10  # backoff 0.1 s doubling: ~5 in 3 s (without it: one per announcement)
            assert replica.last_error is not None and f"block {BAD}" in replica.last_error
            async with Subtensor(addresses["rpc"]) as rsub:
                status = await rsub.call("metrics")
            assert status["stalled_at"] == BAD and status["head"] == BAD - 1
            assert 2 <= status["rejected_blocks"] <= replica.rejected_blocks  # a retry may land after the read
            rejected_lines = [e for e in logs if e["event"] == "replica.block_rejected"]
            assert len(rejected_lines) == 1 and rejected_lines[0]["block"] == BAD
            assert [e["event"] for e in logs].count("follow.stalled") == 1
            upstream.heal()
            with anyio.fail_after(30):
                while replica.state.height < chain.height:
                    await anyio.sleep(0.05)
            assert replica.stalled_at is None and replica.retries == 0
            assert [e["event"] for e in logs].count("follow.resumed") == 1
            tg.cancel_scope.cancel()
    assert replica.store is not None
    reopened = type(replica.store)(tmp_path / "replica" / "chain", fsync=False)
    try:
        assert reopened.verify().blocks == chain.height + 1
        assert [reopened.get_raw(n) for n in range(chain.height + 1)] == [chain.store.get_raw(n)
                                                                          for n in range(chain.height + 1)]
    finally:
        reopened.close()


@pytest.mark.slow
async def test_an_out_of_process_actor_refuses_a_bad_block_backs_off_and_resumes() -> None:
    """An actor following a node from another process (``remote_follow``) meets a block whose authority signature
    does not verify: it does not crash; it asks again a handful of times, logs the refusal once, and folds on to
    the head once the good block is served."""
    from taonet.kernel.client import RpcClient
    from taonet.kernel.node._actors import remote_follow

    chain, _forged = _chain(6)
    good = chain.store.get(BAD)
    unsigned = attrs.evolve(good, signature=bytes(64))
    upstream = _BadUpstream(chain, unsigned)
    with capture_logs() as logs:
        async with anyio.create_task_group() as tg:
            rpc_address = await tg.start(upstream.serve)
            async with RpcClient(rpc_address, timeout=10.0) as rpc:
                follow = remote_follow(rpc)
                heads: list[int] = []

                async def consume() -> None:
                    async for block, state in follow:
                        assert state.digest() == block.header.state_digest
                        heads.append(block.number)

                tg.start_soon(consume)
                await anyio.sleep(2.0)
                assert heads == []  # stuck below block BAD: nothing yielded yet, and no crash
                assert 2 <= upstream.requests <= 10
                refusals = [e for e in logs if e["event"] == "actor.block_refused"]
                assert len(refusals) == 1 and refusals[0]["block"] == BAD
                upstream.heal()
                with anyio.fail_after(30):
                    while not heads or heads[-1] < chain.height:
                        await anyio.sleep(0.05)
                tg.cancel_scope.cancel()
    assert heads[0] == chain.height
