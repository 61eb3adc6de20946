"""The node end to end: a subnet with validators and miners earning emission, lockstep, replicas, hostile RPC."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import anyio
import attrs
import pynng
import pytest

from taonet.kernel import Subtensor
from taonet.kernel.client import RpcClient
from taonet.kernel.errors import RpcBadRequest, UnknownMethod
from taonet.kernel.node import Replica
from taonet.ledger import (
    DEV_SUBNET_DEFAULTS,
    EXISTENTIAL_DEPOSIT,
    TAO,
    EpochCompleted,
    FileStore,
    Keypair,
    SignedBlock,
    StakeCredited,
    Transfer,
    dumps,
    epoch_result,
    replay,
)
from taonet.ledger.errors import CodecError, InvalidBlock, MessageTooLarge

from .nodes import Wallet, running_node

pytestmark = pytest.mark.anyio

HYPER = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=8, weights_rate_limit=1, immunity_period=1000)
OWNER = Wallet("Alice")
VALIDATORS = [Wallet(f"v{i}") for i in range(2)]
MINERS = [Wallet(f"m{i}") for i in range(6)]


async def _fund(sub: Subtensor, wallets: list[Wallet]) -> None:
    """One batch of transfers from the owner, then wait for the block that holds them."""
    from taonet.ledger import Extrinsic

    nonce, genesis = await sub.get_nonce(OWNER.coldkey), await sub.genesis_hash()
    exts = [Extrinsic.sign(Transfer(dest=w.coldkey.public_key, amount=1000 * TAO), OWNER.coldkey, nonce=nonce + i,
                           genesis=genesis) for i, w in enumerate(wallets)]
    assert all(r.status == "submitted" for r in await sub.submit_batch(exts))
    last = await sub.submit(Extrinsic.sign(Transfer(dest=OWNER.hotkey.public_key, amount=EXISTENTIAL_DEPOSIT),
                                           OWNER.coldkey, nonce=nonce + len(exts), genesis=genesis))
    assert last.success


async def _wait_epoch(sub: Subtensor, netuid: int, after: int) -> int:
    """The block (after ``after``) holding the next epoch result of ``netuid``."""
    block = after
    while True:
        head = await sub.wait_for_block(block + 1)
        for number, _, e in await sub.get_events(block + 1, head + 1, types=["ev.epoch_completed"], netuid=netuid):
            assert isinstance(e, EpochCompleted)
            return number
        block = head


async def test_validators_and_miners_earn_what_the_ledgers_epoch_gives(tmp_path: Path) -> None:
    """Subnet, 2 validators, 6 miners, stake, weights; after 2 tempos the metagraph equals the ledger's epoch."""
    async with running_node(tmp_path, hyper=HYPER) as (node, sub):
        assert (await sub.create_subnet(OWNER)).success
        await _fund(sub, VALIDATORS + MINERS)
        async with anyio.create_task_group() as tg:
            for w in VALIDATORS + MINERS:
                tg.start_soon(sub.burned_register, w, 1)
        uids = {w.hotkey.ss58_address: await sub.get_uid_for_hotkey_on_subnet(w.hotkey, 1) for w in
                VALIDATORS + MINERS}
        assert None not in uids.values()
        for i, v in enumerate(VALIDATORS):
            assert (await sub.add_stake(v, v.hotkey, 100 * (i + 1))).success
        first = await _wait_epoch(sub, 1, await sub.get_current_block())  # permits by stake
        miner_uids = [uids[m.hotkey.ss58_address] for m in MINERS]
        for v in VALIDATORS:
            r = await sub.set_weights(v, 1, miner_uids, [1.0 + k for k in range(6)])
            assert r.success, r.message
        e1 = await _wait_epoch(sub, 1, first)
        e2 = await _wait_epoch(sub, 1, e1)
        mg = await sub.metagraph(1)
        assert mg.block >= e2
        # the ledger's epoch on the state the consensus actor saw (after the block before e2)
        before = node.state_at(e2 - 1)
        expected = epoch_result(before, 1).vectors()
        assert mg.C.tolist() == pytest.approx([c / 65535 for c in expected["consensus"]])
        assert mg.E.tolist() == list(expected["emission"])
        assert (mg.I * 65535).round().astype(int).tolist() == list(expected["incentive"])
        assert (mg.D * 65535).round().astype(int).tolist() == list(expected["dividends"])
        assert mg.I[miner_uids].argsort().tolist() == list(range(6))  # more weight, more incentive
        # stake moved by exactly the emission the epoch paid
        after = node.state_at(e2)
        credits = [e for _, _, e in await sub.get_events(e2, e2 + 1, types=["ev.stake_credited"])]
        assert sum(c.amount for c in credits if isinstance(c, StakeCredited)) == sum(expected["emission"])
        for n in before.neurons(1):
            assert after.hotkey_stake(n.hotkey) - before.hotkey_stake(n.hotkey) == expected["emission"][n.uid]
        owner_gain = after.free(OWNER.coldkey.public_key) - before.free(OWNER.coldkey.public_key)
        assert owner_gain == epoch_result(before, 1).owner_cut


async def test_identical_writes_signed_at_once_by_separate_clients_each_run(tmp_path: Path) -> None:
    """Four clients send the same transfer at the same moment: each signs it at the same nonce, so their extrinsics
    are byte for byte the same. Each is told the truth and each transfer runs: the node says the bytes joined an
    earlier submission, and the client signs again at the next nonce (all four reported "included" while one
    transfer ran: the others reported that one's inclusion as their own)."""
    async with running_node(tmp_path, block_time=0.5) as (_node, sub):
        alice, bob = Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob").ss58_address
        before = (await sub.get_balance(bob)).rao
        results: list[Any] = []

        async def send(rpc: str) -> None:
            async with Subtensor(rpc, timeout=20.0) as own:
                results.append(await own.transfer(alice, bob, TAO))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(send, sub.endpoint)
        assert [r.status for r in results] == ["included"] * 4, [(r.status, r.error) for r in results]
        assert len({r.hash for r in results}) == 4
        assert (await sub.get_balance(bob)).rao - before == 4 * TAO


async def test_submit_and_wait_reports_inclusion_and_rejection(tmp_path: Path) -> None:
    """submit_wait answers included (block, events) or rejected (typed reason); stale nonces fail at once."""
    async with running_node(tmp_path) as (_node, sub):
        bob = Keypair.from_uri("//Bob")
        ok = await sub.transfer(OWNER, bob, 5 * TAO)
        assert ok.success and ok.block is not None
        assert [type(e).__name__ for e in ok.events] == ["Transferred"]
        poor = Keypair.from_uri("//poor")
        r = await sub.transfer(poor, bob, 5 * TAO)
        assert not r.success
        assert type(r.error).__name__ == "InsufficientBalance"
        gen = await sub.genesis_hash()
        from taonet.ledger import Extrinsic

        stale = Extrinsic.sign(Transfer(dest=bob.public_key, amount=1), OWNER.coldkey, nonce=0, genesis=gen)
        r = await sub.submit(stale)
        assert type(r.error).__name__ == "StaleNonce"


async def test_hostile_rpc_requests_get_typed_errors_and_blocks_go_on(tmp_path: Path) -> None:
    """Random bytes, wrong shapes, wrong types, unknown methods and huge messages: typed errors, no stall."""
    async with running_node(tmp_path) as (node, sub):
        start = await sub.get_current_block()
        rng = random.Random(5)
        with pynng.Req0(resend_time=-1, recv_timeout=5000) as raw:
            raw.dial(sub.endpoint)
            for i in range(300):
                junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))) if i % 3 else dumps(
                    {"m": rng.choice(["block", "account", "submit", "metagraph"]), "p": {"number": "x",
                                                                                         "address": 5}})
                await raw.asend(junk)
                reply = await raw.arecv()
                assert b"err" in reply
        with pytest.raises(UnknownMethod):
            await sub.call("no_such_method")
        with pytest.raises(RpcBadRequest):
            await sub.call("block", number="seven")
        with pytest.raises(CodecError):
            await sub.call("submit", extrinsic=b"\x00garbage")
        with pytest.raises(MessageTooLarge):
            await sub.call("submit", timeout=30, extrinsic=b"\x00" * (33 << 20))
        await sub.wait_for_block(start + 5)
        assert node.halted is None


async def _lockstep_run(path: Path, delays: dict[str, float]) -> list[bytes] | None:
    """Drive a logical-clock node: submissions sent once blocks 3, 8 and 10 are seen. The log, or None when the
    machine was too slow for a submission to make the block right after the one seen (the premise is broken)."""
    async with running_node(path, hyper=HYPER, clock="logical", actor_delays=delays, block_time=0.25) as (node, sub):
        await sub.wait_for_block(3)
        await sub.submit(await sub.sign(OWNER.coldkey, Transfer(dest=MINERS[0].coldkey.public_key, amount=TAO)),
                         wait_for_inclusion=False)
        created = await sub.create_subnet(Wallet("Bob"))
        await sub.wait_for_block(8)
        sent = [await sub.submit(await sub.sign(OWNER.coldkey, Transfer(dest=w.coldkey.public_key, amount=TAO)),
                                 wait_for_inclusion=False) for w in MINERS[1:3]]
        await sub.wait_for_block(10)
        registered = await sub.burned_register(OWNER, 1)
        await sub.wait_for_block(20)
        assert node.store is not None
        log = [node.store.get_raw(n) for n in range(21)]
    placed = {x.hash: b for b, raw in enumerate(log) for x in SignedBlock.from_bytes(raw).extrinsics}
    if created.block != 4 or registered.block != 12 or any(placed.get(s.hash) != 9 for s in sent):
        return None
    return log


async def test_lockstep_logs_are_identical_whatever_the_actor_delays(tmp_path: Path) -> None:
    """--clock logical: same genesis and submissions (sent once block N is seen) give byte-identical logs."""
    logs = []
    for run, delays in enumerate(({}, {"consensus": 0.2, "registrar": 0.1, "scheduler": 0.05})):
        for attempt in range(3):  # a machine too loaded to submit in time breaks the premise, not the property
            log = await _lockstep_run(tmp_path / f"run{run}-{attempt}", delays)
            if log is not None:
                logs.append(log)
                break
        else:
            pytest.fail("three runs in a row could not submit within a block time of seeing the block")
    differ = [n for n in range(21) if logs[0][n] != logs[1][n]]
    assert not differ, f"blocks {differ} differ"
    assert any(isinstance(r.event, EpochCompleted) for raw in logs[0] for r in SignedBlock.from_bytes(raw).events)


async def test_a_replica_follows_the_leader_and_rejects_a_forged_block(tmp_path: Path) -> None:
    """A replica's digest equals the leader's at every one of 100 blocks; a forged block is refused."""
    from taonet.kernel import NodeConfig

    async with running_node(tmp_path / "leader", hyper=HYPER, block_time=0.05) as (leader, sub):
        await sub.create_subnet(OWNER)
        cfg = NodeConfig(data_dir=tmp_path / "replica", authority=Keypair.generate(), rpc="tcp://127.0.0.1:0",
                         feed="tcp://127.0.0.1:0", fsync=False)
        replica = Replica(cfg, sub.endpoint)
        async with anyio.create_task_group() as tg:
            addresses = await tg.start(replica.run)
            async with Subtensor(addresses["rpc"]) as rsub:
                assert (await rsub.info())["role"] == "replica"
                r = await rsub.transfer(OWNER, Keypair.from_uri("//Bob"), TAO)  # forwarded to the leader
                assert r.success
                await rsub.wait_for_block(100, timeout=60)
            assert leader.store is not None and replica.store is not None
            for n in range(0, 101):
                assert replica.store.get_raw(n) == leader.store.get_raw(n)
            leader_states = {b.number: s.digest() for b, s in _fold_digests(leader.store, 100)}
            replica_states = {b.number: s.digest() for b, s in _fold_digests(replica.store, 100)}
            assert leader_states == replica_states
            head = replica.state
            assert head is not None
            nxt = SignedBlock.from_bytes(leader.store.get_raw(head.height + 1)) if leader.store.height > head.height \
                else None
            tg.cancel_scope.cancel()
        forged_source = nxt or SignedBlock.from_bytes(leader.store.get_raw(leader.store.height))
        forged = attrs.evolve(forged_source, signature=Keypair.from_uri("//Mallory").sign(forged_source.hash))
        replica2 = Replica(attrs.evolve(cfg, data_dir=tmp_path / "replica2"), sub.endpoint)
        await anyio.to_thread.run_sync(replica2._open_replica, leader.store.get_raw(0))
        assert replica2.store is not None and replica2.state is not None
        try:
            for n in range(1, forged_source.number):
                assert replica2.ingest(SignedBlock.from_bytes(leader.store.get_raw(n)))
            with pytest.raises(InvalidBlock, match="signature"):
                replica2.ingest(forged)
            tampered = attrs.evolve(forged_source, header=attrs.evolve(forged_source.header, timestamp=1))
            with pytest.raises(InvalidBlock, match="signature"):
                replica2.ingest(tampered)
            assert replica2.state.height == forged_source.number - 1
            assert replica2.ingest(forged_source)
        finally:
            replica2.store.close()


def _fold_digests(store: FileStore, upto: int) -> list[tuple[SignedBlock, object]]:
    from taonet.ledger import fold

    return list(fold(store, stop=upto, verify_signatures=False))


async def test_metagraph_at_a_past_block_matches_a_replay(tmp_path: Path) -> None:
    """The metagraph at block N over RPC equals the state a replay of the log to N gives."""
    async with running_node(tmp_path, hyper=HYPER, history_every=7) as (node, sub):
        await sub.create_subnet(OWNER)
        for w in MINERS[:2]:
            await sub.burned_register(Wallet("Bob") if w is MINERS[0] else OWNER, 1)
        head = await sub.wait_for_block(30)
        assert node.store is not None
        for n in (5, 13, head - 1):
            mg = await sub.metagraph(1, block=n)
            state = replay(node.store, to=n, use_snapshots=False)
            assert mg.block == n
            assert mg.n == state.subnet(1).n
            assert list(mg.E) == [x.emission for x in state.neurons(1)]


async def test_rpc_client_times_out_instead_of_hanging() -> None:
    """A call to an address where nothing listens raises NoNode (an Unreachable) within its timeout."""
    from taonet.kernel.errors import NoNode

    async with RpcClient("tcp://127.0.0.1:1", timeout=0.5) as c:
        with anyio.fail_after(5), pytest.raises(NoNode):
            await c.call("head")


async def test_subtensor_verbs_do_what_they_say(tmp_path: Path) -> None:
    """Proof-of-work registration (with progress), nominate, stake and unstake, serve_axon, hyperparameters."""
    async with running_node(tmp_path, hyper=HYPER) as (_node, sub):
        owner, miner, nominator = OWNER, Wallet("Dave"), Wallet("Eve")
        assert (await sub.create_subnet(owner)).success
        seen: list[int] = []
        reg = await sub.register(miner, 1, progress=seen.append)
        assert reg.success and reg.uid == 1, reg.message
        assert await sub.is_hotkey_registered(miner.hotkey, 1)
        assert await sub.is_hotkey_registered(miner.hotkey)
        assert (await sub.nominate(miner, take=0.1)).success
        delegates = await sub.get_delegates()
        assert [round(d.take * 65535) for d in delegates] == [round(0.1 * 65535)]
        assert (await sub.add_stake(nominator, miner.hotkey, 20.0)).success
        assert (await sub.get_stake(nominator.coldkey, miner.hotkey)).tao == pytest.approx(20.0)
        assert (await sub.remove_stake(nominator, miner.hotkey, 5.0)).success
        assert (await sub.get_stake(nominator.coldkey, miner.hotkey)).tao == pytest.approx(15.0)
        assert (await sub.get_total_stake_for_hotkey(miner.hotkey)).tao == pytest.approx(15.0)
        assert (await sub.serve_axon(miner, 1, ip="127.0.0.1", port=8091, version=7)).success
        n = await sub.neuron(1, hotkey=miner.hotkey)
        assert n is not None and n["axon"]["port"] == 8091 and n["axon"]["version"] == 7
        mg = await sub.metagraph(1)
        assert mg.axons[1].port == 8091
        assert mg.axons[1].is_serving and not mg.axons[0].is_serving
        assert mg.axons[1].address == "tcp://127.0.0.1:8091"
        assert (await sub.set_hyperparameter(owner, 1, "tempo", 20)).success
        assert await sub.tempo(1) == 20
        denied = await sub.set_hyperparameter(miner, 1, "tempo", 5)
        assert not denied.success and type(denied.error).__name__ == "NotSubnetOwner"
        events = await sub.get_events(0, await sub.get_current_block() + 1, types=["ev.stake_added"],
                                      account=nominator.coldkey)
        assert [type(e).__name__ for _, _, e in events] == ["StakeAdded"]
