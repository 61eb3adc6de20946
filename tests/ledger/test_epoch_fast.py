"""The epoch result's fast path (``_epoch_fast.pay_epoch``) gives exactly what the plain handler gives: the same state
(tables, digest, snapshot bytes), the same events, the same error for a result it refuses; and the event records laid
out directly for the events root are the generic encoder's bytes."""

from __future__ import annotations

import functools
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.ledger import AddStake, Nominate, ServeAxon, SetWeights
from taonet.ledger._calls import EpochResult, StakeCredit
from taonet.ledger._codec import decode, dumps_wire, encode, pack, to_wire
from taonet.ledger._consensus import epoch_result
from taonet.ledger._epoch_fast import pay_epoch
from taonet.ledger._events import (
    EmissionAccrued,
    EmissionPaid,
    EpochCompleted,
    EventRecord,
    HyperparameterSet,
    StakeCredited,
)
from taonet.ledger._state import _NEURON, AxonEndpoint, Neuron, neuron_bytes, neuron_from_bytes
from taonet.ledger._system_calls import pay_epoch_plain
from tests.ledger.chains import ALICE, BOB, CHARLIE, OWNER_HOT, chain_with_subnet, fund, hot, tables

U64 = (1 << 64) - 1


@functools.cache
def _epoch_chain() -> tuple[Any, EpochResult]:
    """A subnet of 5 UIDs with weights, an axon, a delegate staked on by two coldkeys and a full pot: (state, its
    result)."""
    chain = chain_with_subnet(miners=4)
    fund(chain, [CHARLIE], 10**12)
    m0 = hot("m0")
    chain.call(BOB, Nominate(hotkey=m0.public_key, take=6000))
    chain.call(CHARLIE, AddStake(hotkey=m0.public_key, amount=10**11))
    chain.call(BOB, AddStake(hotkey=m0.public_key, amount=10**10))
    chain.seal()
    chain.call(OWNER_HOT, SetWeights(netuid=1, uids=[1, 2, 3], weights=[5, 9, 2]))
    chain.call(m0, SetWeights(netuid=1, uids=[2, 4], weights=[5, 9]))
    chain.call(hot("m1"), ServeAxon(netuid=1, ip="127.0.0.1", port=8091))
    for _ in range(3):
        chain.seal()
    return chain.state, epoch_result(chain.state, 1)


def _fast_then_plain(state: Any, sn: Any, c: EpochResult) -> list[Any]:
    """What the handler does: the fast path, and the plain one when the fast path declines (having written nothing)."""
    before = tables(state)
    events = pay_epoch(state, sn, c)
    if events is None:
        assert tables(state) == before
        events = pay_epoch_plain(state, sn, c)
    return events


def _outcome(pay: Any, c: EpochResult) -> tuple[Any, ...]:
    base, _ = _epoch_chain()
    state = base.fork()
    try:
        events = pay(state, state.subnet(1), c)
    except Exception as e:  # the very error (its type and message) is what is compared
        return type(e).__name__, str(e)
    records = [EventRecord(phase=3, event=e) for e in events]
    return ("ok", events, [dumps_wire(to_wire(r)) for r in records], tables(state), state.digest(),
            state.to_snapshot())


def _assert_same(c: EpochResult) -> tuple[Any, ...]:
    fast, plain = _outcome(_fast_then_plain, c), _outcome(pay_epoch_plain, c)
    assert fast == plain
    return fast


def test_the_fast_path_applies_a_genuine_result_as_the_plain_handler_does() -> None:
    state, c = _epoch_chain()
    assert c.credits and c.bond_rows and c.owner_cut and len(c.credits) > len({cr.hotkey for cr in c.credits})
    assert any(n.axon is not None for n in state.neurons(1))
    assert pay_epoch(state.fork(), state.subnet(1), c) is not None  # the fast path itself, not its fallback
    kind, events, *_ = _assert_same(c)
    assert kind == "ok"
    assert type(events[0]) is EpochCompleted and {type(e) for e in events[1:]} == {EmissionPaid, StakeCredited}


_VECTORS = {"rank": ("u16", 0xFFFF), "trust": ("u16", 0xFFFF), "consensus": ("u16", 0xFFFF),
            "incentive": ("u16", 0xFFFF), "dividends": ("u16", 0xFFFF), "vtrust": ("u16", 0xFFFF),
            "permits": ("u8", 2), "emission": ("u64", U64), "bond_rows": ("u16", 6), "bond_ptr": ("u32", 9),
            "bond_uids": ("u16", 6), "bond_values": ("u16", 0xFFFF)}


@st.composite
def _variants(draw: Any) -> EpochResult:
    """The genuine result with a few fields changed: values that keep it valid and values that break it."""
    _, c = _epoch_chain()
    changes: dict[str, Any] = {}
    for name in draw(st.sets(st.sampled_from([*_VECTORS, "pot", "owner_cut", "credits"]), max_size=3)):
        if name in _VECTORS:
            dtype, hi = _VECTORS[name]
            values = list(c.vectors()[name])
            how = draw(st.sampled_from(["one", "all", "shorter", "longer"]))
            if how == "one" and values:
                values[draw(st.integers(0, len(values) - 1))] = draw(st.integers(0, hi))
            elif how == "all":
                values = draw(st.lists(st.integers(0, hi), min_size=len(values), max_size=len(values)))
            elif how == "shorter":
                values = values[:-1]
            else:
                values.append(draw(st.integers(0, hi)))
            changes[name] = pack(values, dtype)
        elif name in ("pot", "owner_cut"):
            changes[name] = max(0, getattr(c, name) + draw(st.sampled_from([-1, 1, -getattr(c, name)])))
        else:
            credits = list(c.credits)
            k = draw(st.integers(0, len(credits) - 1))
            how = draw(st.sampled_from(["drop", "double", "amount", "stranger", "unknown hotkey", "zero"]))
            if how == "drop":
                del credits[k]
            elif how == "double":
                credits.append(credits[k])
            elif how == "amount":
                credits[k] = attrs.evolve(credits[k], amount=credits[k].amount + 1)
            elif how == "stranger":
                credits[k] = attrs.evolve(credits[k], coldkey=ALICE.public_key)
            elif how == "unknown hotkey":
                credits[k] = attrs.evolve(credits[k], hotkey=hot("nobody").public_key)
            else:
                credits.append(StakeCredit(coldkey=credits[k].coldkey, hotkey=credits[k].hotkey, amount=0))
            changes["credits"] = tuple(credits)
    return attrs.evolve(c, **changes)


@settings(max_examples=250, deadline=None)
@given(_variants())
def test_the_fast_path_gives_the_plain_state_events_and_errors_for_any_result(c: EpochResult) -> None:
    _assert_same(c)


@pytest.mark.parametrize(("change", "error"), [
    (lambda cr: attrs.evolve(cr, coldkey=ALICE.public_key), "credits a coldkey with no stake on the hotkey"),
    (lambda cr: attrs.evolve(cr, hotkey=hot("nobody").public_key), "credits a hotkey without a UID on the subnet"),
    (lambda cr: attrs.evolve(cr, amount=cr.amount + 1), "credits to UID 1 differ from its emission"),
])
def test_a_wrong_credit_is_refused_with_the_plain_handlers_error(change: Any, error: str) -> None:
    _, c = _epoch_chain()
    kind, message = _assert_same(attrs.evolve(c, credits=(change(c.credits[0]), *c.credits[1:])))
    assert kind == "SystemCallRejected" and error in message


def test_a_bond_row_longer_than_a_neuron_holds_fails_as_in_the_plain_handler() -> None:
    _, c = _epoch_chain()
    long_row = attrs.evolve(c, bond_rows=pack([0], "u16"), bond_ptr=pack([0, 4097], "u32"),
                            bond_uids=pack([1] * 4097, "u16"), bond_values=pack([7] * 4097, "u16"))
    kind, message = _assert_same(long_row)
    assert kind == "ValueError" and "bond_uids" in message


_keys = st.binary(min_size=32, max_size=32)


@settings(max_examples=300, deadline=None)
@given(st.integers(-1, (1 << 32)), st.one_of(
    st.builds(EmissionPaid, netuid=st.integers(0, U64), uid=st.integers(0, U64), hotkey=_keys,
              amount=st.integers(0, U64)),
    st.builds(StakeCredited, coldkey=_keys, hotkey=_keys, amount=st.integers(0, U64)),
    st.builds(EmissionAccrued, amount=st.integers(0, U64), subnets=st.integers(0, 300)),
    st.builds(HyperparameterSet, netuid=st.integers(0, 9), name=st.text(max_size=8),
              value=st.integers(-(1 << 63), U64)),
))
def test_laid_out_event_records_are_the_generic_encoding(phase: int, event: Any) -> None:
    record = EventRecord(phase=phase, event=event)
    raw = encode(record)
    assert raw == dumps_wire(to_wire(record))
    assert decode(raw, canonical=True) == record


def _layout_by_definition(n: Neuron) -> bytes:
    """The digest's fixed layout of a neuron, the axon encoded afresh."""
    head = _NEURON.pack(n.uid, n.registered_at, n.last_update, n.weights_block, n.rank, n.trust, n.consensus,
                        n.incentive, n.dividends, n.vtrust, 0, n.validator_permit, n.emission, len(n.weight_uids),
                        len(n.weight_values), len(n.bond_uids), len(n.bond_values))
    return b"".join((head, n.hotkey, n.coldkey, n.weight_uids, n.weight_values, n.bond_uids, n.bond_values,
                     b"" if n.axon is None else encode(n.axon)))


def test_the_neuron_layout_keeps_axon_bytes_by_identity_and_bounded() -> None:
    """More distinct axons than the cache holds still lay out exactly; an axon never reads another's bytes."""
    from taonet.ledger._state import _AXON_RAW, _AXON_RAW_MAX

    base = Neuron(uid=3, hotkey=bytes(range(32)), coldkey=bytes(32), registered_at=10, last_update=12)
    for port in range(_AXON_RAW_MAX + 40):
        n = attrs.evolve(base, axon=AxonEndpoint(ip="10.0.0.1", port=port % 65536, block=port))
        assert neuron_bytes(n) == _layout_by_definition(n)
        assert neuron_bytes(attrs.evolve(n, rank=1)) == _layout_by_definition(attrs.evolve(n, rank=1))  # cached
        assert neuron_from_bytes(neuron_bytes(n)) == n
        assert len(_AXON_RAW) <= _AXON_RAW_MAX
    assert neuron_bytes(base) == _layout_by_definition(base)
