"""Waiting costs the node nothing its own work needs: long waiters, crowds of waiting clients, clients over their
share and reads at old blocks never slow sealing; inclusion is learned from receipts after each block."""

from __future__ import annotations

import socket
from pathlib import Path

import anyio
import pytest

from taonet.kernel import Subtensor
from taonet.kernel.client import RpcClient
from taonet.kernel.errors import Busy, RpcBadRequest, UnknownMethod
from taonet.kernel.node import Node, run_remote_actor
from taonet.ledger import DEV_ACTOR_URI, TAO, Extrinsic, Keypair, SetHyperparameter, Transfer, dumps

from ..wire.wire_helpers import raw_requester
from .nodes import Wallet, node_process, running_node

pytestmark = pytest.mark.anyio

ALICE = Wallet("Alice")
BOB = Keypair.from_uri("//Bob")


def _gaps_since(node: Node, blocks_before: int) -> list[float]:
    """Gaps (ms) between the blocks the node sealed since it had sealed ``blocks_before``."""
    new = node.metrics["blocks"] - blocks_before
    return node.metrics["gap_ms"][-new:] if new > 0 else []


@pytest.mark.slow
@pytest.mark.alone
async def test_31_long_waiters_from_31_connections_do_not_pause_the_actors(tmp_path: Path) -> None:
    """31 connections each parked in wait_block (the reproduction on main: a 3.9 s gap): blocks keep coming."""
    async with running_node(tmp_path, block_time=0.2) as (node, sub):
        await sub.wait_for_block(3)
        before = node.metrics["blocks"]
        clients = [RpcClient(sub.endpoint, timeout=10.0) for _ in range(31)]
        try:
            async def park(c: RpcClient) -> None:
                await c.call("wait_block", after=10**12, wait=4.0)

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    for c in clients:
                        tg.start_soon(park, c)
        finally:
            for c in clients:
                c.close()
        gaps = _gaps_since(node, before)
        assert len(gaps) >= 8, "blocks stopped while clients waited"
        assert max(gaps) < 1000, f"a gap of {max(gaps):.0f} ms between blocks"
        assert node.metrics["paused_s"] == 0.0


@pytest.mark.slow
@pytest.mark.alone
async def test_200_waiting_clients_leave_no_gap_over_a_second(tmp_path: Path) -> None:
    """200 Subtensors looping wait_for_block(head + k) against a 0.25 s node process: no gap over 1 s."""
    with node_process(tmp_path, "--no-fsync", block_time=0.25) as (_proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=20.0) as probe:
            await probe.wait_for_block(4, timeout=30)
            before = (await probe.call("metrics"))["blocks"]
            waits = [0] * 200

            async def client(i: int) -> None:
                async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
                    head = await sub.get_current_block()
                    while True:
                        head = await sub.wait_for_block(head + 1 + i % 3, timeout=20)
                        waits[i] += 1

            with anyio.move_on_after(6.0):
                async with anyio.create_task_group() as tg:
                    for i in range(200):
                        tg.start_soon(client, i)
            m = await probe.call("metrics")
        new = m["blocks"] - before
        gaps = m["gap_ms_recent"][-new:]
        assert new >= 15, f"only {new} blocks in 6 s of a 0.25 s chain"
        assert max(gaps) < 1000, f"a gap of {max(gaps):.0f} ms between blocks"
        assert min(waits) >= 3, "some clients did not see new blocks"


async def test_a_client_over_its_share_gets_busy_at_once_and_subtensor_retries(tmp_path: Path) -> None:
    """One connection with more requests in flight than its share: the extra ones get Busy at once; a Subtensor
    retries Busy until the node takes its requests."""
    async with running_node(tmp_path, block_time=0.2, rpc_per_client=4) as (node, sub):
        outcomes: list[str] = []
        refusals: list[tuple[float, Busy]] = []
        async with RpcClient(sub.endpoint, timeout=10.0) as c:

            async def wait_once() -> None:
                t = anyio.current_time()
                try:
                    await c.call("wait_block", after=10**12, wait=1.5)
                    outcomes.append("served")
                except Busy as e:
                    refusals.append((anyio.current_time() - t, e))
                    outcomes.append("busy")

            async with anyio.create_task_group() as tg:
                for _ in range(12):
                    tg.start_soon(wait_once)
        assert outcomes.count("served") == 4
        assert outcomes.count("busy") == 8
        assert all(took < 1.0 for took, _ in refusals), "Busy must come at once, not after the wait"
        assert all(e.retry_after > 0 and "share" in e.reason and e.method == "wait_block" for _, e in refusals)
        results: list[int] = []

        async def patient() -> None:
            results.append(await sub.call("wait_block", after=10**12, wait=0.5))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for _ in range(12):
                    tg.start_soon(patient)
        assert len(results) == 12
        assert node.halted is None


@pytest.mark.alone
async def test_reads_at_old_blocks_do_not_stall_sealing(tmp_path: Path) -> None:
    """Concurrent account(block=old) reads, each a fold from genesis over blocks of 8,000 transfers (no history
    kept, about 0.25 s of work each): blocks keep their pace (on main each fold ran on the event loop), and the
    answers are right."""
    async with running_node(tmp_path, block_time=0.1, history_every=0, snapshot_every=0,
                            mempool_per_signer=12_000) as (node, sub):
        genesis, nonce = await sub.genesis_hash(), await sub.get_nonce(ALICE.coldkey)
        exts = await anyio.to_thread.run_sync(lambda: [
            Extrinsic.sign(Transfer(dest=BOB.public_key, amount=1), ALICE.coldkey, nonce=nonce + i, genesis=genesis)
            for i in range(8_000)])
        for i in range(0, len(exts), 4000):
            assert all(r.success for r in await sub.submit_batch(exts[i : i + 4000]))
        last = await sub.wait_for_outcome(exts[-1].hash, timeout=60)
        assert last.success and last.block is not None
        head = await sub.wait_for_block(last.block + 20, timeout=60)
        bob_now = (await sub.get_balance(BOB)).rao
        before = node.metrics["blocks"]
        clients = [RpcClient(sub.endpoint, timeout=60.0) for _ in range(4)]  # 3 reads each: within the share
        answers: dict[int, int] = {}

        async def read(c: RpcClient, n: int) -> None:
            answers[n] = (await c.call("account", address=BOB.public_key, block=n))["free"]

        try:
            with anyio.fail_after(90):
                async with anyio.create_task_group() as tg:
                    for k, n in enumerate(range(head - 12, head)):
                        tg.start_soon(read, clients[k % 4], n)
        finally:
            for c in clients:
                c.close()
        gaps = _gaps_since(node, before)
        assert gaps, "no block was sealed during the reads"
        assert max(gaps) < 1000, f"a gap of {max(gaps):.0f} ms between blocks"
        assert set(answers.values()) == {bob_now}
        assert (await sub.get_balance(BOB, block=0)).rao == bob_now - 8_000


async def test_the_same_extrinsic_submitted_twice_waits_on_one_outcome(tmp_path: Path) -> None:
    """Two submissions of the same bytes (at once, and after inclusion) both report the one inclusion."""
    async with running_node(tmp_path) as (_node, sub):
        ext = await sub.sign(ALICE.coldkey, Transfer(dest=BOB.public_key, amount=TAO))
        results = []

        async def submit() -> None:
            results.append(await sub.submit(ext, timeout=20))

        async with anyio.create_task_group() as tg:
            tg.start_soon(submit)
            tg.start_soon(submit)
        assert [r.status for r in results] == ["included", "included"]
        assert results[0].block == results[1].block
        assert results[0].events == results[1].events and results[0].events
        again = await sub.submit(ext, timeout=20)
        assert again.status == "included" and again.block == results[0].block
        assert (await sub.get_balance(BOB)).rao == (await sub.get_balance(BOB, block=again.block - 1)).rao + TAO


async def test_a_rejection_at_seal_time_comes_back_with_its_typed_error(tmp_path: Path) -> None:
    """An extrinsic the mempool admits but the runtime refuses (a funded key setting a hyperparameter of a subnet
    that does not exist) is reported rejected with the runtime's typed error; unknown hashes and bad hashes get
    clear answers."""
    async with running_node(tmp_path) as (_node, sub):
        ext = await sub.sign(ALICE.coldkey, SetHyperparameter(netuid=77, name="tempo", value=10))
        r = await sub.submit(ext, timeout=20)
        assert r.status == "rejected"
        assert type(r.error).__name__ == "SubnetNotFound" and "77" in str(r.error)
        receipt = await sub.call("receipt", hash=ext.hash)
        assert receipt["status"] == "rejected" and receipt["error"]["code"] == "subnet_not_found"
        assert (await sub.call("receipt", hash=bytes(32)))["status"] == "unknown"
        with pytest.raises(RpcBadRequest):
            await sub.call("receipt", hash=b"short")
        ok = await sub.transfer(ALICE, BOB, TAO, wait_for_inclusion=False)
        assert ok.status == "submitted"
        result = await sub.wait_for_outcome(ok.hash, timeout=20)
        assert result.status == "included" and result.block is not None


async def test_actors_talk_on_their_own_channel(tmp_path: Path) -> None:
    """The public RPC offers no actor methods; an actor in another task reaches the node through the actors'
    address the node announces, given only the public address, and the chain goes on."""
    async with running_node(tmp_path, local_actors=("scheduler", "registrar")) as (node, sub):
        info = await sub.info()
        assert info["actors"] and info["actors"] != sub.endpoint
        with pytest.raises(UnknownMethod):
            await sub.call("actor_inbox", actor="consensus", block=1, wait=1)
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_remote_actor, "consensus", sub.endpoint, Keypair.from_uri(DEV_ACTOR_URI))
            head = await sub.wait_for_block(10, timeout=30)
            tg.cancel_scope.cancel()
        assert head >= 10 and node.halted is None


async def test_subtensors_of_a_process_share_one_feed_watcher_and_survive_a_dead_feed(tmp_path: Path) -> None:
    """Fifty clients on one loop hold one watcher (one subscriber); a client whose feed is unreachable still
    waits, by asking the head."""
    async with running_node(tmp_path) as (_node, sub):
        subs = [Subtensor(sub.endpoint) for _ in range(50)]
        try:
            head = await sub.get_current_block()
            for s in subs:
                await s.__aenter__()
            async with anyio.create_task_group() as tg:
                for s in subs:
                    tg.start_soon(s.wait_for_block, head + 2)
            watchers = {id(s._watch) for s in subs}
            assert len(watchers) == 1
            (w,) = {s._watch for s in subs}
            assert w is not None and w.refs >= 50
        finally:
            for s in subs:
                await s.__aexit__(None, None, None)
        assert w.refs <= 1  # ``sub`` may hold the last one
        async with Subtensor(sub.endpoint) as lonely:
            info = await lonely.info()
            info["feed"] = "tcp://127.0.0.1:1"  # nothing listens there
            start = await lonely.get_current_block()
            with anyio.fail_after(15):
                assert await lonely.wait_for_block(start + 3) >= start + 3


async def test_existential_deposit_is_read_from_the_chain(tmp_path: Path) -> None:
    """get_existential_deposit returns the chain's parameter (0 where the chain has none)."""
    async with running_node(tmp_path) as (node, sub):
        assert node.state is not None
        ed = await sub.get_existential_deposit()
        assert ed.rao == getattr(node.state.params, "existential_deposit", 0)


def _raw_request(sock: socket.socket, request_id: int, method: str, params: dict[str, object]) -> None:
    body = (0x80000000 | request_id).to_bytes(4, "big") + dumps({"m": method, "p": params})
    sock.sendall(len(body).to_bytes(8, "big") + body)


async def test_a_client_that_never_reads_its_replies_does_not_stall_the_others(tmp_path: Path) -> None:
    """A connection that floods requests for big answers and never reads: its replies pile up behind it, its
    extra requests are refused, and another client is still served at once."""
    async with running_node(tmp_path, rpc_per_client=4) as (node, sub):
        await sub.wait_for_block(20)
        hog = raw_requester(sub.endpoint)
        try:
            def flood() -> None:  # 4 big answers in flight, then Busy after Busy, none of them read
                for i in range(3000):
                    _raw_request(hog, i, "blocks", {"start": 0, "stop": 20})

            await anyio.to_thread.run_sync(flood)
            await anyio.sleep(0.5)
            refused = node._rpc_server.stats()["refused"] if node._rpc_server else 0
            async with Subtensor(sub.endpoint, timeout=5.0) as other:
                with anyio.fail_after(10):
                    for _ in range(20):
                        assert await other.get_current_block() >= 20
        finally:
            hog.close()
        assert refused > 0, "the flooding connection was never held to its share"


@pytest.mark.alone
async def test_big_batches_do_not_stall_sealing(tmp_path: Path) -> None:
    """Three concurrent batches of 8,000 transfers (a signature check each on admission, about 1.5 s of work in
    all) sent to a node process: blocks keep their pace, and every transfer is admitted. (The node runs in its own
    process so that the gaps are the node's, not this test's encoding of 24,000 extrinsics on a shared loop.)"""
    with node_process(tmp_path, "--no-fsync", "--mempool-per-signer", "8000", block_time=0.1) as (_proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
            genesis = await sub.genesis_hash()
            senders = [Keypair.from_uri(f"//{n}") for n in ("Alice", "Charlie", "Dave")]
            nonces = [await sub.get_nonce(k) for k in senders]
            batches = await anyio.to_thread.run_sync(lambda: [
                [Extrinsic.sign(Transfer(dest=BOB.public_key, amount=1), k, nonce=n + i, genesis=genesis)
                 for i in range(8_000)] for k, n in zip(senders, nonces, strict=True)])
            await sub.wait_for_block(3, timeout=30)
            before = (await sub.call("metrics"))["blocks"]
            admitted: list[int] = []

            async def send(batch: list[Extrinsic]) -> None:
                async with Subtensor(addresses["rpc"], timeout=60.0) as s:
                    admitted.append(sum(r.success for r in await s.submit_batch(batch)))

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    for batch in batches:
                        tg.start_soon(send, batch)
                await sub.wait_for_block(await sub.get_current_block() + 2)
            m = await sub.call("metrics")
        new = m["blocks"] - before
        gaps = m["gap_ms_recent"][-new:] if new > 0 else []
        assert admitted == [8_000] * 3
        assert gaps and max(gaps) < 1000, f"a gap of {max(gaps, default=0):.0f} ms between blocks"


async def test_a_backlog_is_sealed_over_several_blocks_within_the_block_budget(tmp_path: Path) -> None:
    """With a 5 ms block budget, 2,000 transfers admitted within one block time go into several blocks (what does not
    fit waits, ready, for the next one; without the budget one or two blocks take them all), and every one is included
    in nonce order."""
    async with running_node(tmp_path, block_time=0.5, mempool_per_signer=2_000, block_budget=0.005) as (_node, sub):
        genesis = await sub.genesis_hash()
        alice = Keypair.from_uri("//Alice")
        nonce = await sub.get_nonce(alice)
        batch = await anyio.to_thread.run_sync(lambda: [
            Extrinsic.sign(Transfer(dest=BOB.public_key, amount=1), alice, nonce=nonce + i, genesis=genesis)
            for i in range(2_000)])
        start = await sub.get_current_block()
        assert all(r.success for r in await sub.submit_batch(batch))
        last = await sub.wait_for_outcome(batch[-1].hash, after=start, timeout=60)
        assert last.status == "included" and last.block is not None
        sealed = [x for n in range(start + 1, last.block + 1) for x in (await sub.get_block(n)).extrinsics
                  if isinstance(x.call, Transfer)]
        assert [x.nonce for x in sealed] == [nonce + i for i in range(2_000)]
        counts = [sum(isinstance(x.call, Transfer) for x in (await sub.get_block(n)).extrinsics)
                  for n in range(start + 1, last.block + 1)]
        assert len([c for c in counts if c]) >= 3, f"the backlog went into too few blocks: {counts}"
