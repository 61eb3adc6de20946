"""Commit-reveal weights on the chain: the hash binding, the reveal window, the pending bound, expiry at the epoch;
every rejection typed with the state digest unchanged; an old chain (no commit-reveal) encodes as before."""

from __future__ import annotations

import hashlib

import attrs
import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.ledger import (
    MAX_WEIGHT_COMMITS,
    Chain,
    CommitWeights,
    Hyperparameters,
    RevealWeights,
    SetHyperparameter,
    SetWeights,
    State,
    WeightCommitExpired,
    WeightsCommitted,
    WeightsRevealed,
    encode,
    fold,
    replay,
    reveal_window,
    weight_commit_hash,
)
from taonet.ledger import errors as E
from taonet.ledger._genesis import DEV_SUBNET_DEFAULTS
from taonet.ledger._state import OPTIONAL_IN_SNAPSHOT

from .chains import ALICE, OWNER_HOT, chain_with_subnet, hot
from .test_runtime import _rejects

CR = attrs.evolve(DEV_SUBNET_DEFAULTS, commit_reveal_weights_enabled=True, tempo=10)
SALT = b"salt-0123456789"
UIDS, VALUES = (1, 2), (40000, 20000)


def _cr_chain(**hyper: object) -> Chain:
    """Subnet 1 with commit-reveal on (tempo 10: epochs at blocks 9, 20, 31, ...); OWNER_HOT (UID 0) has a permit."""
    return chain_with_subnet(miners=2, hyper=attrs.evolve(CR, **hyper))


def _commit(chain: Chain, *, uids: tuple[int, ...] = UIDS, values: tuple[int, ...] = VALUES, salt: bytes = SALT,
            version_key: int = 0, key: object = OWNER_HOT) -> bytes:
    digest = weight_commit_hash(key.public_key, 1, uids, values, salt, version_key)  # type: ignore[attr-defined]
    chain.call(key, CommitWeights(netuid=1, commit_hash=digest))  # type: ignore[arg-type]
    res = chain.seal()
    assert not res.rejected, res.rejected
    return digest


def _reveal(uids: tuple[int, ...] = UIDS, values: tuple[int, ...] = VALUES, salt: bytes = SALT,
            version_key: int = 0, netuid: int = 1) -> RevealWeights:
    return RevealWeights(netuid=netuid, uids=uids, values=values, salt=salt, version_key=version_key)


def _seal_to(chain: Chain, block: int) -> None:
    while chain.height < block:
        chain.seal()


def test_the_hash_binds_hotkey_netuid_uids_values_salt_and_version_key() -> None:
    """The hash is blake2b-256 of the canonical CBOR array docs/consensus.md gives; changing any part changes it."""
    hk = OWNER_HOT.public_key
    base = weight_commit_hash(hk, 1, UIDS, VALUES, SALT, 7)
    doc = cbor2.dumps(["taonet.weight_commit", hk, 1, list(UIDS), list(VALUES), SALT, 7], canonical=True)
    assert base == hashlib.blake2b(doc, digest_size=32).digest()
    others = [weight_commit_hash(hot("x").public_key, 1, UIDS, VALUES, SALT, 7),
              weight_commit_hash(hk, 2, UIDS, VALUES, SALT, 7),
              weight_commit_hash(hk, 1, (2, 1), VALUES, SALT, 7),
              weight_commit_hash(hk, 1, UIDS, (40000, 20001), SALT, 7),
              weight_commit_hash(hk, 1, UIDS, VALUES, SALT + b"!", 7),
              weight_commit_hash(hk, 1, UIDS, VALUES, SALT, 8)]
    assert len({base, *others}) == 7


def test_the_window_is_the_interval_period_tempos_after_the_commit() -> None:
    """Subnet 1, tempo 10 (epochs at 9, 20, 31): a commit at 8 or 9 reveals in 10..20, one at 10 in 21..31;
    period 2 moves the window one interval further."""
    assert reveal_window(1, 10, 1, 8) == reveal_window(1, 10, 1, 9) == (10, 20)
    assert reveal_window(1, 10, 1, 10) == (21, 31)
    assert reveal_window(1, 10, 2, 10) == (32, 42)


def test_weights_count_only_once_revealed_in_the_window() -> None:
    """A commit stores nothing but its hash; the reveal in the window sets the weights and clears the commit."""
    chain = _cr_chain()
    digest = _commit(chain)
    commit_block = chain.height
    (pending,) = chain.state.weight_commits(1, OWNER_HOT.public_key)
    assert (pending.commit_hash, pending.block) == (digest, commit_block)
    assert chain.state.neuron(1, 0).weight_uids == b""
    _seal_to(chain, pending.reveal_from - 1)
    chain.call(OWNER_HOT, _reveal())
    res = chain.seal()
    assert not res.rejected and chain.height == pending.reveal_from
    events = chain.events(res)
    assert WeightsRevealed(netuid=1, uid=0, hotkey=OWNER_HOT.public_key, commit_hash=digest, count=2) in events
    assert chain.state.neuron(1, 0).weights()[0].tolist() == [1, 2]
    assert chain.state.weight_commits(1, OWNER_HOT.public_key) == ()


def test_the_commit_event_says_the_window() -> None:
    """WeightsCommitted names the hash and the reveal window the commit got."""
    chain = _cr_chain()
    digest = weight_commit_hash(OWNER_HOT.public_key, 1, UIDS, VALUES, SALT, 0)
    chain.call(OWNER_HOT, CommitWeights(netuid=1, commit_hash=digest))
    res = chain.seal()
    first, last = reveal_window(1, 10, 1, chain.height)
    assert WeightsCommitted(netuid=1, uid=0, hotkey=OWNER_HOT.public_key, commit_hash=digest, reveal_from=first,
                            reveal_until=last) in chain.events(res)


def test_rejected_reveals_are_typed_and_change_nothing() -> None:
    """A mismatched reveal, one too early, one for another netuid and one from another hotkey: each typed, and the
    digest (and every table) unchanged."""
    chain = _cr_chain()
    _commit(chain)
    (pending,) = chain.state.weight_commits(1, OWNER_HOT.public_key)
    assert chain.height < pending.reveal_from
    err = _rejects(chain, chain.sign(OWNER_HOT, _reveal()), E.RevealTooEarly)
    assert err.reveal_from == pending.reveal_from
    _seal_to(chain, pending.reveal_from)
    _rejects(chain, chain.sign(OWNER_HOT, _reveal(values=(40000, 20001))), E.WeightCommitNotFound)
    _rejects(chain, chain.sign(OWNER_HOT, _reveal(salt=b"another-salt")), E.WeightCommitNotFound)
    _rejects(chain, chain.sign(OWNER_HOT, _reveal(version_key=1)), E.WeightCommitNotFound)
    _rejects(chain, chain.sign(OWNER_HOT, _reveal(netuid=2)), E.SubnetNotFound)
    _rejects(chain, chain.sign(hot("m0"), _reveal()), E.WeightCommitNotFound)


def test_a_reveal_for_another_existing_netuid_is_not_found() -> None:
    """The netuid is in the hash: the same data revealed on another commit-reveal subnet matches nothing there."""
    from taonet.ledger import CreateSubnet

    from .chains import binding

    chain = _cr_chain()
    other = hot("owner2")
    chain.call(ALICE, CreateSubnet(hotkey=other.public_key, hotkey_signature=binding(chain, other, ALICE)))
    chain.seal()
    _commit(chain)
    (pending,) = chain.state.weight_commits(1, OWNER_HOT.public_key)
    _seal_to(chain, pending.reveal_from)
    # OWNER_HOT holds no UID on subnet 2: registered elsewhere is refused as such; subnet 2's owner has no commit.
    _rejects(chain, chain.sign(OWNER_HOT, _reveal(netuid=2)), E.HotkeyNotRegistered)
    _rejects(chain, chain.sign(other, _reveal(netuid=2)), E.WeightCommitNotFound)


def test_a_reveal_after_its_window_is_too_late_then_the_commit_expires() -> None:
    """After the window closes a reveal is RevealTooLate (digest unchanged); the next epoch drops the commit with a
    WeightCommitExpired event."""
    chain = _cr_chain()
    digest = _commit(chain)
    (pending,) = chain.state.weight_commits(1, OWNER_HOT.public_key)
    _seal_to(chain, pending.reveal_until + 1)
    err = _rejects(chain, chain.sign(OWNER_HOT, _reveal()), E.RevealTooLate)
    assert err.reveal_until == pending.reveal_until
    expired = []
    for _ in range(12):
        expired += [e for e in chain.events(chain.seal()) if isinstance(e, WeightCommitExpired)]
        if expired:
            break
    assert expired == [WeightCommitExpired(netuid=1, hotkey=OWNER_HOT.public_key, commit_hash=digest,
                                           block=pending.block)]
    assert chain.state.weight_commits(1, OWNER_HOT.public_key) == ()
    _rejects(chain, chain.sign(OWNER_HOT, _reveal()), E.WeightCommitNotFound)


def test_pending_commits_are_bounded() -> None:
    """A hotkey holds at most MAX_WEIGHT_COMMITS pending commits; one more is TooManyWeightCommits, nothing changed."""
    chain = _cr_chain(tempo=200)  # one long interval, so no commit expires meanwhile
    for i in range(MAX_WEIGHT_COMMITS):
        _commit(chain, salt=b"salt-%08d" % i)
    assert len(chain.state.weight_commits(1, OWNER_HOT.public_key)) == MAX_WEIGHT_COMMITS
    extra = weight_commit_hash(OWNER_HOT.public_key, 1, UIDS, VALUES, b"one-too-many", 0)
    err = _rejects(chain, chain.sign(OWNER_HOT, CommitWeights(netuid=1, commit_hash=extra)), E.TooManyWeightCommits)
    assert err.limit == MAX_WEIGHT_COMMITS


def test_direct_set_weights_on_a_commit_reveal_subnet_is_refused() -> None:
    """set_weights is CommitRevealRequired on such a subnet, and the message says to commit."""
    chain = _cr_chain()
    err = _rejects(chain, chain.sign(OWNER_HOT, SetWeights(netuid=1, uids=UIDS, weights=VALUES)),
                   E.CommitRevealRequired)
    assert "commit" in str(err)


def test_commit_and_reveal_are_refused_where_commit_reveal_is_off() -> None:
    """On a subnet without commit-reveal both calls are CommitRevealDisabled."""
    chain = chain_with_subnet(miners=2)
    digest = weight_commit_hash(OWNER_HOT.public_key, 1, UIDS, VALUES, SALT, 0)
    _rejects(chain, chain.sign(OWNER_HOT, CommitWeights(netuid=1, commit_hash=digest)), E.CommitRevealDisabled)
    _rejects(chain, chain.sign(OWNER_HOT, _reveal()), E.CommitRevealDisabled)


def test_commits_are_rate_limited_and_a_repeated_hash_refused() -> None:
    """A commit within weights_rate_limit blocks of the last one is RateLimited; a hash already pending is refused."""
    chain = _cr_chain(weights_rate_limit=3, tempo=50)
    digest = _commit(chain)
    other = weight_commit_hash(OWNER_HOT.public_key, 1, UIDS, VALUES, b"other-salt", 0)
    err = _rejects(chain, chain.sign(OWNER_HOT, CommitWeights(netuid=1, commit_hash=other)), E.RateLimited)
    assert err.retry_at == chain.height + 3
    chain.run(3)
    _rejects(chain, chain.sign(OWNER_HOT, CommitWeights(netuid=1, commit_hash=digest)), E.InvalidCall)


def test_the_revealed_weights_obey_the_set_weights_rules() -> None:
    """A reveal is checked as set_weights is: a hotkey without a permit may not weight others (NoValidatorPermit)."""
    chain = _cr_chain()
    miner = hot("m0")
    _commit(chain, key=miner, uids=(2,), values=(1,))
    (pending,) = chain.state.weight_commits(1, miner.public_key)
    _seal_to(chain, pending.reveal_from)
    _rejects(chain, chain.sign(miner, _reveal(uids=(2,), values=(1,))), E.NoValidatorPermit)


def test_hyperparameters_default_off_encode_as_before_and_are_owner_settable_within_bounds() -> None:
    """At their defaults the two new hyperparameters are not in the encoding (old subnets digest as before); the
    owner sets them within [0, 1] and [1, 100]."""
    assert b"commit_reveal" not in encode(Hyperparameters())
    assert b"commit_reveal" in encode(attrs.evolve(Hyperparameters(), commit_reveal_period=2))
    chain = chain_with_subnet(miners=1)
    chain.call(ALICE, SetHyperparameter(netuid=1, name="commit_reveal_weights_enabled", value=1))
    chain.call(ALICE, SetHyperparameter(netuid=1, name="commit_reveal_period", value=3))
    res = chain.seal()
    assert not res.rejected
    h = chain.state.subnet(1).hyper
    assert h.commit_reveal_weights_enabled is True and h.commit_reveal_period == 3
    for value in (0, 101):
        _rejects(chain, chain.sign(ALICE, SetHyperparameter(netuid=1, name="commit_reveal_period", value=value)),
                 E.InvalidHyperparameter)


def test_snapshots_leave_the_table_out_while_empty_and_round_trip_with_commits() -> None:
    """No pending commits: no 'wcommit' in the snapshot (as before); with some: same digest after loading."""
    chain = _cr_chain()
    assert "wcommit" in OPTIONAL_IN_SNAPSHOT and b"wcommit" not in chain.state.to_snapshot()
    _commit(chain)
    again = State.from_snapshot(chain.state.to_snapshot())
    assert again.digest() == chain.state.digest() == again.cold_digest()
    assert again.weight_commits(1, OWNER_HOT.public_key) == chain.state.weight_commits(1, OWNER_HOT.public_key)


# --- property: any sequence of commits and reveals folds to the same digest on replay ---------------------------

KEYS = [OWNER_HOT, hot("m0"), hot("m1")]
cr_op = st.one_of(
    st.tuples(st.just("commit"), st.integers(0, 2), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("reveal"), st.integers(0, 2), st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("set"), st.integers(0, 2)),
    st.tuples(st.just("toggle"), st.integers(0, 1)),
    st.tuples(st.just("seal"), st.integers(1, 6)),
)


def _vectors(which: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return ((1, 2), (40000, 20000)) if which == 0 else ((2,), (65535,)) if which == 1 else ((0, 1, 2), (1, 2, 3))


@settings(max_examples=12, deadline=None)
@given(ops=st.lists(cr_op, min_size=4, max_size=30))
def test_any_sequence_of_commits_and_reveals_replays_to_the_same_digests(ops: list[tuple]) -> None:
    """Random commits, reveals (right, wrong, early, late), direct sets and toggles: every block's digest is what
    a replay of the log computes, equal to the cold digest, and a snapshot plus its tail reaches the head."""
    chain = _cr_chain(min_allowed_weights=0)
    for op in ops:
        if op[0] == "commit" or op[0] == "reveal":
            key = KEYS[op[1]]
            uids, values = _vectors(op[3])
            salt = b"salt-%08d" % op[2]
            if op[0] == "commit":
                digest = weight_commit_hash(key.public_key, 1, uids, values, salt, 0)
                chain.call(key, CommitWeights(netuid=1, commit_hash=digest))
            else:
                chain.call(key, _reveal(uids=uids, values=values, salt=salt))
        elif op[0] == "set":
            chain.call(KEYS[op[1]], SetWeights(netuid=1, uids=(1,), weights=(1,)))
        elif op[0] == "toggle":
            chain.call(ALICE, SetHyperparameter(netuid=1, name="commit_reveal_weights_enabled", value=op[1]))
        else:
            chain.run(op[1])
            continue
        chain.seal()
    chain.run(2)
    digests = [(b.number, s.digest()) for b, s in fold(chain.store)]
    assert [d for _, d in digests] == [b.header.state_digest for b in chain.store.read()]
    final = replay(chain.store)
    assert final.digest() == final.cold_digest() == chain.state.digest()
    cut = len(digests) // 2
    snap = State.from_snapshot(replay(chain.store, to=cut).to_snapshot())
    tail = snap
    for _, tail in fold(chain.store, start=snap):  # noqa: B007
        pass
    assert tail.digest() == chain.state.digest()


def test_an_epoch_between_commit_and_reveal_sees_no_weights_and_the_next_one_does() -> None:
    """Consensus reads only revealed weights: the epoch before the reveal pays the miners no incentive; the first
    epoch after it does."""
    from taonet.ledger import TAO, AddStake, EpochCompleted

    chain = _cr_chain()
    chain.call(ALICE, AddStake(hotkey=OWNER_HOT.public_key, amount=100 * TAO))
    chain.seal()
    _commit(chain)
    (pending,) = chain.state.weight_commits(1, OWNER_HOT.public_key)

    def seal_through_epoch() -> int:
        for _ in range(30):
            res = chain.seal()
            done = [e for e in chain.events(res) if isinstance(e, EpochCompleted)]
            if done:
                return done[0].block
        raise AssertionError("no epoch")

    before = seal_through_epoch()
    assert before < pending.reveal_from
    assert [chain.state.neuron(1, u).incentive for u in (1, 2)] == [0, 0]
    _seal_to(chain, pending.reveal_from - 1)
    chain.call(OWNER_HOT, _reveal())
    assert not chain.seal().rejected
    seal_through_epoch()
    assert all(chain.state.neuron(1, u).incentive > 0 for u in (1, 2))
