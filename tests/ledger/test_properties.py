"""Laws over random valid chains: conservation of TAO, determinism of the fold, snapshots compose."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.ledger import (
    TAO,
    AddStake,
    BurnedRegister,
    Chain,
    CreateSubnet,
    FileStore,
    MemoryStore,
    Nominate,
    RemoveStake,
    SetHyperparameter,
    SetSubnetIdentity,
    SetWeights,
    State,
    Transfer,
    fold,
    replay,
)

from .chains import ALICE, BOB, CHARLIE, DAVE, binding, hot, new_chain

COLD = [ALICE, BOB, CHARLIE, DAVE]
HOTS = [hot(f"p{i}") for i in range(6)]
amounts = st.integers(min_value=1, max_value=3000) .map(lambda x: x * TAO // 10)

op = st.one_of(
    st.tuples(st.just("transfer"), st.integers(0, 3), st.integers(0, 3), amounts),
    st.tuples(st.just("stake"), st.integers(0, 3), st.integers(0, 5), amounts),
    st.tuples(st.just("unstake"), st.integers(0, 3), st.integers(0, 5), amounts),
    st.tuples(st.just("subnet"), st.integers(0, 3), st.integers(0, 5)),
    st.tuples(st.just("register"), st.integers(0, 3), st.integers(0, 5), st.integers(1, 3)),
    st.tuples(st.just("nominate"), st.integers(0, 3), st.integers(0, 5), st.integers(0, 11796)),
    st.tuples(st.just("weights"), st.integers(0, 1), st.integers(1, 2), st.lists(st.integers(0, 3), max_size=4)),
    st.tuples(st.just("hyper"), st.integers(0, 3), st.integers(1, 3), st.sampled_from(["tempo", "immunity_period"]),
              st.integers(1, 20)),
    st.tuples(st.just("identity"), st.integers(0, 3), st.integers(1, 3), st.sampled_from(["", "template", "x.y-z"])),
    st.just(("seal",)),
)

SETUP = [("subnet", 0, 0), ("subnet", 1, 1), ("seal",), ("register", 2, 2, 1), ("register", 3, 3, 1),
         ("register", 1, 4, 2), ("stake", 0, 0, 100 * TAO), ("seal",), ("nominate", 2, 2, 1000), ("seal",)]


def _call(chain: Chain, o: tuple) -> None:
    kind = o[0]
    if kind == "transfer":
        chain.call(COLD[o[1]], Transfer(dest=COLD[o[2]].public_key, amount=o[3]))
    elif kind == "stake":
        chain.call(COLD[o[1]], AddStake(hotkey=HOTS[o[2]].public_key, amount=o[3]))
    elif kind == "unstake":
        chain.call(COLD[o[1]], RemoveStake(hotkey=HOTS[o[2]].public_key, amount=o[3]))
    elif kind == "subnet":
        h = HOTS[o[2]]
        chain.call(COLD[o[1]], CreateSubnet(hotkey=h.public_key, hotkey_signature=binding(chain, h, COLD[o[1]])))
    elif kind == "register":
        h = HOTS[o[2]]
        chain.call(COLD[o[1]], BurnedRegister(netuid=o[3], hotkey=h.public_key,
                                              hotkey_signature=binding(chain, h, COLD[o[1]])))
    elif kind == "nominate":
        chain.call(COLD[o[1]], Nominate(hotkey=HOTS[o[2]].public_key, take=o[3]))
    elif kind == "weights":
        uids = sorted(set(o[3]))
        chain.call(HOTS[o[1]], SetWeights(netuid=o[2], uids=uids, weights=[u + 1 for u in uids]))
    elif kind == "hyper":
        chain.call(COLD[o[1]], SetHyperparameter(netuid=o[2], name=o[3], value=o[4]))
    elif kind == "identity":
        chain.call(COLD[o[1]], SetSubnetIdentity(netuid=o[2], plugin=o[3], description=f"d{o[1]}"))


def _check_conserved(state: State) -> None:
    issuance, held = state.issuance_check()
    assert issuance == held
    assert all(a.free >= 0 for _, a in state.items("acct"))
    assert all(v > 0 for _, v in state.items("stake"))


def _run(ops: list[tuple], store: object) -> Chain:
    chain = new_chain(store)
    _check_conserved(chain.state)
    minted = 0
    start = chain.state.status.issuance
    burned0 = chain.state.status.burned
    # every op gets its own block, so one rejection does not turn the signer's next nonces into future ones
    steps = [*SETUP, *(x for o in ops for x in (o, ("seal",))), ("seal",)]
    for o in steps:
        if o[0] == "seal":
            chain.seal()
            if chain.state.subnets():
                minted += chain.state.params.block_emission
            _check_conserved(chain.state)
            st_ = chain.state.status
            assert st_.issuance == start + minted - (st_.burned - burned0)
        else:
            _call(chain, o)
    return chain


@settings(max_examples=40)
@given(ops=st.lists(op, min_size=5, max_size=40))
def test_total_issuance_equals_what_the_state_holds_at_every_block(ops: list[tuple]) -> None:
    """Issuance == free + stake + pots + locks + held burns at every block, and grows by minted minus burned."""
    _run(ops, MemoryStore())


@settings(max_examples=15)
@given(ops=st.lists(op, min_size=5, max_size=30))
def test_the_same_log_folds_to_the_same_digests(ops: list[tuple]) -> None:
    """Two folds of one log give identical per-block digests, equal to the headers' and to cold digests."""
    chain = _run(ops, MemoryStore())
    first = [(b.number, s.digest()) for b, s in fold(chain.store)]
    second = [(b.number, s.digest()) for b, s in fold(chain.store, verify_signatures=False)]
    assert first == second
    assert [d for _, d in first] == [b.header.state_digest for b in chain.store.read()]
    final = replay(chain.store)
    assert final.cold_digest() == final.digest() == chain.state.digest()


@settings(max_examples=10)
@given(ops=st.lists(op, min_size=5, max_size=30), cut=st.integers(0, 100))
def test_a_snapshot_plus_its_tail_equals_the_whole_fold(ops: list[tuple], cut: int) -> None:
    """For any height k, snapshot(fold to k) + fold(k+1..) == fold(0..head)."""
    chain = _run(ops, MemoryStore())
    k = cut % (chain.height + 1)
    snap = State.from_snapshot(replay(chain.store, to=k).to_snapshot())
    assert snap.height == k
    tail = snap
    for _, tail in fold(chain.store, start=snap):  # noqa: B007
        pass
    assert tail.digest() == chain.state.digest()


@settings(max_examples=10)
@given(ops=st.lists(op, min_size=5, max_size=30), cut=st.integers(0, 100))
def test_replay_checking_only_the_last_digest_reaches_the_same_state(ops: list[tuple], cut: int) -> None:
    """For any height k, replay(to=k) without per-block header checks == the fully checked replay, and at every
    block the registrar is due exactly when its answer is not empty."""
    from taonet.ledger._system_calls import registrar_answer, registrar_due

    chain = _run(ops, MemoryStore())
    k = cut % (chain.height + 1)
    fast = replay(chain.store, to=k, check_every_block=False)
    assert fast.digest() == fast.cold_digest() == replay(chain.store, to=k).digest()
    for _, state in fold(chain.store, verify_signatures=False):
        assert registrar_due(state) == (not registrar_answer(state).is_empty)


def test_file_and_memory_logs_fold_identically(tmp_path: object) -> None:
    """The same submissions give byte-identical blocks in memory and on disk."""
    ops = [("subnet", 0, 0), ("seal",), ("register", 1, 1, 1), ("stake", 0, 0, 5 * TAO), ("seal",),
           ("weights", 0, 1, [0, 1]), ("transfer", 2, 3, TAO)]
    mem = _run(ops, MemoryStore())
    disk = _run(ops, FileStore(tmp_path / "log", fsync=False))
    assert [mem.store.get_raw(n) for n in range(mem.height + 1)] == [
        disk.store.get_raw(n) for n in range(disk.height + 1)
    ]
    disk.store.close()
