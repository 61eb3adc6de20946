"""``State.credit_stakes`` (an epoch's credits in one call) is ``State.add_stake`` of each credit in turn: the same
tables (entries and their order), the same entries marked for the digest, the same digest, the same error, and the
state it was forked from unchanged."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.ledger._state import TABLES, State

COLD = [bytes([1]) * 32, bytes([2]) * 32, bytes([3]) * 32]
HOT = [bytes([7]) * 32, bytes([8]) * 32, bytes([9]) * 32]
_CREDIT = st.tuples(st.sampled_from(COLD), st.sampled_from(HOT),
                    st.one_of(st.integers(1, 1000), st.integers(-60, 60), st.just(0)))


def _tables(state: State) -> dict[str, list[tuple[Any, Any]]]:
    return {name: list(state.items(name)) for name in TABLES}


def _outcome(state: State, run: Any) -> tuple[Any, ...]:
    try:
        run(state)
        error = None
    except Exception as e:  # the error itself is what is compared
        error = (type(e), str(e))
    return error, _tables(state), {k: set(v) for k, v in state._dirty.items()}, state.digest()


@settings(max_examples=400, deadline=None)
@given(st.lists(_CREDIT, max_size=12), st.booleans(), st.lists(_CREDIT, max_size=20))
def test_credit_stakes_is_add_stake_of_each_credit_in_turn(seed: list[tuple[bytes, bytes, int]], digest_first: bool,
                                                           credits: list[tuple[bytes, bytes, int]]) -> None:
    base = State()
    for coldkey, hotkey, amount in seed:
        base.add_stake(coldkey, hotkey, abs(amount))
    if digest_first:
        base.digest()
    before = _tables(base)

    def each(state: State) -> None:
        for coldkey, hotkey, amount in credits:
            state.add_stake(coldkey, hotkey, amount)

    plain = _outcome(base.fork(), each)
    bulk = _outcome(base.fork(), lambda s: s.credit_stakes(credits))
    assert bulk == plain
    assert _tables(base) == before  # the forks copied what they wrote


@settings(max_examples=100, deadline=None)
@given(st.lists(_CREDIT, max_size=20))
def test_credit_stakes_on_a_state_that_owns_its_tables_is_add_stake_of_each(credits: list[Any]) -> None:
    def each(state: State) -> None:
        for coldkey, hotkey, amount in credits:
            state.add_stake(coldkey, hotkey, amount)

    assert _outcome(State(), lambda s: s.credit_stakes(credits)) == _outcome(State(), each)


def test_credit_stakes_refuses_a_debit_beyond_the_stake_after_applying_the_credits_before_it() -> None:
    import pytest

    state = State()
    with pytest.raises(ValueError, match="stake would go negative"):
        state.credit_stakes([(COLD[0], HOT[0], 5), (COLD[1], HOT[0], 3), (COLD[0], HOT[0], -9)])
    assert state.get("stake", (COLD[0], HOT[0])) == 5
    assert state.get("hkstake", HOT[0]) == 8
    assert state.get("stakers", HOT[0]) == frozenset(COLD[:2])
