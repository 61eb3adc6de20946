"""The mempool cannot be filled for good: per-signer bound, known signers for free calls, dropped tails, expiry."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from taonet.kernel import Subtensor
from taonet.kernel.errors import AlreadyQueued, ExtrinsicDropped, MempoolFull, SignerLimit, UnknownSigner
from taonet.kernel.node._mempool import Mempool
from taonet.ledger import (
    DEV_SUBNET_DEFAULTS,
    TAO,
    BlockBuilder,
    Chain,
    CommitWeights,
    Extrinsic,
    GenesisBalance,
    GenesisSubnet,
    Keypair,
    Nominate,
    RemoveStake,
    ServeAxon,
    SetHyperparameter,
    SetWeights,
    Transfer,
    dev_genesis,
)
from taonet.ledger.errors import ExtrinsicRejected, FutureNonce, NotSubnetOwner, RateLimited, SubnetNotFound

from .nodes import Wallet, running_node

ALICE, BOB = Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob")
VALIDATOR = Keypair.from_uri("//Alice//validator")  # UID 0 of subnet 1 from genesis
HYPER = attrs.evolve(DEV_SUBNET_DEFAULTS, weights_rate_limit=100)


def _chain(*funded: Keypair) -> Chain:
    """A dev chain where subnet 1 exists from genesis (VALIDATOR at UID 0), plus ``funded`` keys with 1 TAO."""
    config, authority = dev_genesis(subnet_defaults=HYPER)
    extra = tuple(GenesisBalance(account=k.public_key, amount=TAO) for k in funded)
    config = attrs.evolve(config, balances=config.balances + extra,
                          subnets=(GenesisSubnet(owner=ALICE.public_key, hotkey=VALIDATOR.public_key, hyper=HYPER),))
    return Chain.create(config, authority)


def _sign(chain: Chain, key: Keypair, call: object, nonce: int) -> Extrinsic:
    return Extrinsic.sign(call, key, nonce=nonce, genesis=chain.genesis_hash)  # type: ignore[arg-type]


def _weights(chain: Chain, key: Keypair, n: int, start: int = 0) -> list[Extrinsic]:
    return [_sign(chain, key, SetWeights(netuid=1, uids=(0,), weights=(1,)), start + i) for i in range(n)]


def _seal(chain: Chain, pool: Mempool) -> list[Extrinsic]:
    """Seal one block from what the pool has ready, as the node does (a signer's extrinsics after one rejected are
    not tried), and bring the pool to it; returns what the pool dropped."""
    number = chain.height + 1
    timestamp = chain.store.get(0).header.timestamp + number * 1000
    builder = BlockBuilder(chain.state, parent=chain.store.head_hash, timestamp=timestamp, genesis=chain.genesis_hash)
    for call in chain.answers(chain.state):
        builder.push(Extrinsic.sign(call, chain.authority, nonce=number, genesis=chain.genesis_hash))
    included, rejected = [], []
    for ext in pool.ready(chain.state):
        if rejected and rejected[-1].signer == ext.signer:
            continue
        try:
            builder.push(ext)
        except ExtrinsicRejected:
            rejected.append(ext)
        else:
            included.append(ext)
    block, chain.state = builder.seal(chain.authority)
    chain.store.append(block, expected_height=number)
    return pool.after_block(chain.state, included, rejected)


def _admit_all(pool: Mempool, chain: Chain, exts: list[Extrinsic]) -> list[Exception | None]:
    out: list[Exception | None] = []
    for x in exts:
        try:
            pool.admit(chain.state, chain.genesis_hash, x)
            out.append(None)
        except Exception as e:  # collected for the assertions
            out.append(e)
    return out


def test_a_thousand_set_weights_from_an_unregistered_key_are_refused_at_admission() -> None:
    """The reproduced attack: a fresh key's free calls get UnknownSigner; nothing enters the pool."""
    chain, pool = _chain(), Mempool()
    stranger = Keypair.from_seed(b"s" * 32)
    results = _admit_all(pool, chain, _weights(chain, stranger, 1000))
    assert isinstance(results[0], UnknownSigner) and "registered on subnet 1" in str(results[0])
    assert all(isinstance(e, FutureNonce) for e in results[1:])  # nothing waits, so nonce 1 onward are ahead
    assert len(pool) == 0
    serve = _sign(chain, stranger, ServeAxon(netuid=1, ip="127.0.0.1", port=1), 0)
    with pytest.raises(UnknownSigner):
        pool.admit(chain.state, chain.genesis_hash, serve)
    for call in (Nominate(hotkey=stranger.public_key, take=0), RemoveStake(hotkey=VALIDATOR.public_key, amount=1),
                 Transfer(dest=BOB.public_key, amount=0)):  # coldkey calls that cost nothing on a fee-free chain
        with pytest.raises(UnknownSigner, match="free balance"):
            pool.admit(chain.state, chain.genesis_hash, _sign(chain, stranger, call, 0))
    # a registered hotkey and a funded key are known; a policy that admits anyone lets the stranger in
    assert pool.admit(chain.state, chain.genesis_hash, _weights(chain, VALIDATOR, 1)[0])
    assert pool.admit(chain.state, chain.genesis_hash, _sign(chain, BOB, RemoveStake(hotkey=VALIDATOR.public_key,
                                                                                     amount=1), 0))
    assert Mempool(known_signers_only=False).admit(chain.state, chain.genesis_hash, _weights(chain, stranger, 1)[0])


def test_a_free_call_refused_at_admission_says_the_true_reason() -> None:
    """A fee-free call from a key the node does not know, that the runtime would refuse from anyone, gets that
    refusal: SubnetNotFound for a subnet that does not exist, NotSubnetOwner for an owner-only call from another key;
    otherwise UnknownSigner advises what admits it (register a hotkey; fund a coldkey)."""
    chain, pool = _chain(), Mempool()
    stranger = Keypair.from_seed(b"t" * 32)
    for call, keys in ((SetWeights(netuid=5, uids=(0,), weights=(1,)), (stranger, VALIDATOR)),
                       (CommitWeights(netuid=5, commit_hash=b"h" * 32), (stranger, VALIDATOR)),
                       (SetHyperparameter(netuid=5, name="tempo", value=20), (stranger,))):
        for key in keys:  # VALIDATOR: registered on subnet 1, not on 5
            with pytest.raises(SubnetNotFound) as err:
                pool.admit(chain.state, chain.genesis_hash, _sign(chain, key, call, 0))
            assert err.value.netuid == 5
    with pytest.raises(NotSubnetOwner, match="only the owner of subnet 1"):
        pool.admit(chain.state, chain.genesis_hash, _sign(chain, stranger, SetHyperparameter(netuid=1, name="tempo",
                                                                                             value=20), 0))
    with pytest.raises(UnknownSigner, match=r"register the hotkey on subnet 1 first") as refused:
        pool.admit(chain.state, chain.genesis_hash, _weights(chain, stranger, 1)[0])
    assert "fund" not in str(refused.value)
    with pytest.raises(UnknownSigner, match="fund the key first"):
        pool.admit(chain.state, chain.genesis_hash, _sign(chain, stranger, Transfer(dest=BOB.public_key, amount=0), 0))
    assert len(pool) == 0


def test_one_signer_holds_at_most_its_share_of_the_pool() -> None:
    """A registered hotkey sending 1,000 extrinsics gets ``per_signer`` in; the rest get SignerLimit."""
    chain, pool = _chain(), Mempool(per_signer=64)
    results = _admit_all(pool, chain, _weights(chain, VALIDATOR, 1000))
    assert results[:64] == [None] * 64
    assert all(isinstance(e, SignerLimit) and e.limit == 64 for e in results[64:])
    assert len(pool) == pool.waiting(VALIDATOR.public_key) == 64


def test_a_rejection_at_sealing_drops_the_signers_later_nonces_and_nothing_stays_stuck() -> None:
    """The second set_weights is rate limited at sealing: the 62 after it are dropped in that block, none stay."""
    chain, pool = _chain(), Mempool(per_signer=64)
    _admit_all(pool, chain, _weights(chain, VALIDATOR, 64))
    dropped = _seal(chain, pool)
    assert chain.state.account(VALIDATOR.public_key).nonce == 1  # the first one applied
    assert [x.nonce for x in dropped] == list(range(2, 64))
    assert len(pool) == 0 and pool.waiting(VALIDATOR.public_key) == 0
    for _ in range(pool.expire_after + 2):
        assert _seal(chain, pool) == []
    # the signer is not barred: its next nonce is admitted again
    assert pool.admit(chain.state, chain.genesis_hash, _weights(chain, VALIDATOR, 1, start=1)[0])


def test_a_signer_whose_first_nonce_cannot_apply_expires_after_n_blocks() -> None:
    """A gap (its first waiting nonce forgotten) leaves the tail unready: dropped after ``expire_after`` blocks,
    not before; a ready signer only waiting for room in a block is kept."""
    chain, pool = _chain(), Mempool(expire_after=5)
    mine = [_sign(chain, BOB, Transfer(dest=ALICE.public_key, amount=1), n) for n in range(3)]
    _admit_all(pool, chain, mine)
    pool.remove(mine[:1])  # nonce 0 is gone: 1 and 2 can never apply
    waiting_ready = _sign(chain, ALICE, Transfer(dest=BOB.public_key, amount=1), 0)
    pool.admit(chain.state, chain.genesis_hash, waiting_ready)
    start = chain.height
    for _ in range(4):
        chain.seal()  # blocks without the pool (full blocks, as far as these signers are concerned)
        assert pool.after_block(chain.state, [], []) == []
    chain.seal()
    assert chain.height - start == 5
    assert pool.after_block(chain.state, [], []) == mine[1:]
    assert pool.waiting(BOB.public_key) == 0 and pool.waiting(ALICE.public_key) == 1
    for _ in range(6):
        chain.seal()
        assert pool.after_block(chain.state, [], []) == []
    assert pool.waiting(ALICE.public_key) == 1


def test_the_same_extrinsic_twice_is_admitted_once_and_another_with_its_nonce_is_refused() -> None:
    """Same hash: accepted idempotently (False the second time); same signer and nonce, other bytes: AlreadyQueued."""
    chain, pool = _chain(), Mempool()
    ext = _sign(chain, BOB, Transfer(dest=ALICE.public_key, amount=1), 0)
    assert pool.admit(chain.state, chain.genesis_hash, ext) is True
    assert pool.admit(chain.state, chain.genesis_hash, ext) is False
    assert len(pool) == 1 and ext.hash in pool
    with pytest.raises(AlreadyQueued):
        pool.admit(chain.state, chain.genesis_hash, _sign(chain, BOB, Transfer(dest=ALICE.public_key, amount=2), 0))
    assert len(pool) == 1


def test_a_nonce_used_by_another_extrinsic_makes_the_waiting_one_stale() -> None:
    """The head used Bob's nonce 0 with other bytes: the waiting nonce 0 is dropped, nonce 1 stays and is ready."""
    chain, pool = _chain(), Mempool()
    mine = [_sign(chain, BOB, Transfer(dest=ALICE.public_key, amount=1), n) for n in range(2)]
    _admit_all(pool, chain, mine)
    other = chain.call(BOB, Transfer(dest=ALICE.public_key, amount=7))
    assert other.nonce == 0 and other.hash != mine[0].hash
    assert chain.seal().included == (other,)
    assert pool.after_block(chain.state, [other], []) == [mine[0]]
    assert len(pool) == 1 and mine[0].hash not in pool and list(pool.ready(chain.state)) == [mine[1]]


def test_two_thousand_signers_at_once_all_get_in_and_one_greedy_signer_cannot_fill_the_pool() -> None:
    """2,000 funded signers x 3 transfers plus one signer trying 5,000: every honest one is admitted."""
    crowd = [Keypair.from_seed(i.to_bytes(32, "little")) for i in range(1, 2001)]
    chain = _chain(*crowd)
    pool = Mempool(limit=6_100, per_signer=32)
    greedy = _admit_all(pool, chain, [_sign(chain, ALICE, Transfer(dest=BOB.public_key, amount=1), n)
                                      for n in range(5000)])
    assert greedy.count(None) == 32 and all(isinstance(e, SignerLimit) for e in greedy[32:])
    honest = [_sign(chain, k, Transfer(dest=ALICE.public_key, amount=1), n) for n in range(3) for k in crowd]
    assert _admit_all(pool, chain, honest) == [None] * 6000
    assert len(pool) == 6032
    late = _admit_all(pool, chain, [_sign(chain, BOB, Transfer(dest=ALICE.public_key, amount=1), n)
                                    for n in range(100)])
    assert late.count(None) == 32 and isinstance(late[-1], SignerLimit)
    assert len(pool) == 6064
    full = _admit_all(pool, chain, [_sign(chain, k, Transfer(dest=ALICE.public_key, amount=1), 3) for k in crowd])
    assert full.count(None) == 36 and isinstance(full[-1], MempoolFull)
    assert len(pool) == pool.limit
    # blocks drain it in order of arrival
    drained = 0
    for _ in range(3):
        chain.mempool = list(pool.ready(chain.state, limit=2500))
        result = chain.seal()
        assert not result.rejected
        pool.after_block(chain.state, list(result.included), [])
        drained += len(result.included)
    assert drained == 6100 - len(pool) and len(pool) == 0



@pytest.mark.anyio
@pytest.mark.slow
async def test_a_running_node_refuses_the_attack_and_drops_a_rejected_tail(tmp_path: Path) -> None:
    """Through the RPC: 1,000 set_weights from a fresh key are refused (unknown_signer); a registered hotkey's
    300 get 256 in (signer_limit for the rest), its rejected tail leaves the pool in the next block (a submitter
    waiting on one of them hears ExtrinsicDropped), and the same extrinsic submitted twice gives the same hash and
    the same outcome. Blocks of 1 s, so that what is sent right after a block lands before the next one."""
    owner = Wallet("Alice")
    hyper = attrs.evolve(DEV_SUBNET_DEFAULTS, weights_rate_limit=100)
    async with running_node(tmp_path, hyper=hyper, block_time=1.0) as (node, sub):
        assert (await sub.create_subnet(owner)).success
        genesis = await sub.genesis_hash()
        stranger = Keypair.from_seed(b"x" * 32)
        attack = [Extrinsic.sign(SetWeights(netuid=1, uids=(0,), weights=(1,)), stranger, nonce=n, genesis=genesis)
                  for n in range(1000)]
        results = await sub.submit_batch(attack)
        assert isinstance(results[0].error, UnknownSigner)
        assert all(isinstance(r.error, FutureNonce) for r in results[1:])
        hot = owner.hotkey
        nonce = await sub.get_nonce(hot)
        burst = [Extrinsic.sign(SetWeights(netuid=1, uids=(0,), weights=(1,)), hot, nonce=nonce + n, genesis=genesis)
                 for n in range(300)]
        head = await sub.wait_for_block(await sub.get_current_block() + 1)
        results = await sub.submit_batch(burst)
        assert sum(r.success for r in results) == 256
        assert all(isinstance(r.error, SignerLimit) for r in results[256:])
        tail = await sub.submit(burst[10], wait_for_inclusion=True, timeout=30)  # already waiting: same outcome
        assert tail.status == "rejected" and isinstance(tail.error, ExtrinsicDropped), tail
        assert tail.hash == burst[10].hash
        await sub.wait_for_block(head + 3, timeout=30)
        assert len(node.mempool) == 0
        assert (await sub.call("metrics"))["mempool"] == 0
        assert await sub.get_nonce(hot) == nonce + 1  # the first applied, the second was rate limited
        await _same_extrinsic_twice(sub)


async def _same_extrinsic_twice(sub: Subtensor) -> None:
    import anyio

    bob = Keypair.from_uri("//Bob")
    ext = await sub.sign(bob, Transfer(dest=ALICE.public_key, amount=1))
    await sub.wait_for_block(await sub.get_current_block() + 1)
    outcomes: list[object] = []

    async def wait_for_it() -> None:
        outcomes.append(await sub.submit(ext, wait_for_inclusion=True))

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait_for_it)
        tg.start_soon(wait_for_it)
    assert [o.status for o in outcomes] == ["included", "included"]  # type: ignore[attr-defined]
    assert outcomes[0].hash == outcomes[1].hash == ext.hash  # type: ignore[attr-defined]
    assert outcomes[0].block == outcomes[1].block  # type: ignore[attr-defined]
    # sealed by now: the same bytes again are not a new extrinsic; they answer with the first one's receipt
    again = await sub.submit(ext, wait_for_inclusion=True)
    assert (again.status, again.hash, again.block) == ("included", ext.hash, outcomes[0].block)  # type: ignore


@pytest.mark.anyio
@pytest.mark.slow
async def test_a_write_dropped_behind_a_refused_extrinsic_of_its_key_is_signed_again(tmp_path: Path) -> None:
    """Two writers of one hotkey in one program (a validator's commit and reveal tasks): a set_weights refused when
    sealing (rate limited) makes the node drop the key's next extrinsic unapplied; a write made through the client
    (serve_axon here) is then signed again at the next nonce and included, not reported dropped (a validator lost a
    reveal this way: it took the drop for a refusal and forgot the commit). Blocks of 0.5 s, so that what is sent
    right after a block lands in the next one."""
    owner = Wallet("Alice")
    async with running_node(tmp_path, hyper=HYPER, block_time=0.5) as (_node, sub):
        assert (await sub.create_subnet(owner)).success
        hot, genesis = owner.hotkey, await sub.genesis_hash()
        nonce = await sub.get_nonce(hot)
        weights = [Extrinsic.sign(SetWeights(netuid=1, uids=(0,), weights=(1,)), hot, nonce=nonce + n, genesis=genesis)
                   for n in range(2)]
        await sub.wait_for_block(await sub.get_current_block() + 1)
        assert all(r.success for r in await sub.submit_batch(weights))
        sent = sub.submitted
        served = await sub.serve_axon(owner, 1, ip="127.0.0.1", port=9000)
        resent = sub.submitted - sent
        refused = await sub.wait_for_outcome(weights[1].hash)
        axon = (await sub.neuron(1, 0))["axon"]
    assert isinstance(refused.error, RateLimited)  # what made the node drop the serve_axon signed after it
    assert served.success, served.message
    assert resent == 2  # dropped once, then signed again at the nonce the refusal left free
    assert axon is not None and axon["port"] == 9000
