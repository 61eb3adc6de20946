"""The runtime's fast paths give exactly what the plain ones give: the codec's ``evolve`` (validating only the changed
fields) against ``attrs.evolve``, the pruning rule against its definition, the weights upscale against its formula."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.ledger import ChainStatus
from taonet.ledger._codec import encode, evolve
from taonet.ledger._state import AxonEndpoint, Neuron, State
from taonet.ledger._system_calls import prune_candidate
from taonet.ledger._user_calls import _u16_max_upscale

KEY = bytes(range(32))
NEURON = Neuron(uid=3, hotkey=KEY, coldkey=bytes(32), registered_at=10, last_update=12,
                axon=AxonEndpoint(ip="10.0.0.1", port=8091), weight_uids=(1, 2), weight_values=(7, 65535))

# valid and invalid values for some fields of every kind: ints with bounds, bool, packed u16, optional message, bytes
values = {
    "uid": st.one_of(st.integers(-2, 70_000), st.booleans(), st.just("7")),
    "rank": st.integers(-1, 70_000),
    "emission": st.one_of(st.integers(-1, 1 << 65), st.floats(0, 10, allow_nan=False)),
    "validator_permit": st.one_of(st.booleans(), st.integers(0, 1)),
    "weight_uids": st.one_of(st.lists(st.integers(0, 70_000), max_size=5), st.binary(max_size=5), st.just("ab")),
    "axon": st.one_of(st.none(), st.just(AxonEndpoint(ip="::1", port=1)), st.just(3)),
    "hotkey": st.binary(min_size=31, max_size=33),
}


def outcome(fn):  # the value, or the error's type and message
    try:
        return "ok", fn()
    except (TypeError, ValueError, OverflowError) as e:
        return type(e).__name__, str(e)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional=values))
def test_evolve_equals_attrs_evolve_on_valid_and_invalid_changes(changes: dict) -> None:
    fast = outcome(lambda: evolve(NEURON, **changes))
    plain = outcome(lambda: attrs.evolve(NEURON, **changes))
    assert fast == plain
    if fast[0] == "ok":
        assert encode(fast[1]) == encode(plain[1])


def test_evolve_refuses_unknown_fields_as_attrs_does() -> None:
    assert outcome(lambda: evolve(NEURON, nope=1))[0] == outcome(lambda: attrs.evolve(NEURON, nope=1))[0] == "TypeError"
    status = ChainStatus(height=1, issuance=5)
    assert evolve(status, height=2) == attrs.evolve(status, height=2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 65535), max_size=40))
def test_upscale_is_the_rounded_max_upscale(values: list[int]) -> None:
    top = max(values, default=0)
    expected = tuple(0 if top == 0 else (v * 0xFFFF * 2 + top) // (2 * top) for v in values)
    assert _u16_max_upscale(values) == _u16_max_upscale(tuple(values)) == expected


def _prune_by_definition(state: State, sn, block: int, exclude: set[int]) -> int | None:
    best_open = best_immune = None
    for uid in range(sn.n):
        n = state.neuron(sn.netuid, uid)
        if uid in exclude or n is None or n.hotkey == sn.owner_hotkey:
            continue
        key = (n.emission, n.registered_at, uid)
        if block - n.registered_at < sn.hyper.immunity_period:
            best_immune = key if best_immune is None else min(best_immune, key)
        else:
            best_open = key if best_open is None else min(best_open, key)
    best = best_open or best_immune
    return None if best is None else best[2]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40)), min_size=1, max_size=12),
       st.integers(0, 60), st.integers(0, 30), st.sets(st.integers(0, 11), max_size=3))
def test_prune_candidate_follows_its_rule(neurons: list[tuple[int, int]], block: int, immunity: int,
                                          exclude: set[int]) -> None:
    from taonet.ledger import DEV_SUBNET_DEFAULTS
    from taonet.ledger._state import genesis_subnet

    state = State()
    sn = genesis_subnet(1, bytes(32), KEY, 0, attrs.evolve(DEV_SUBNET_DEFAULTS, immunity_period=immunity),
                        lock=0, burn=0, difficulty=1)
    sn = attrs.evolve(sn, n=len(neurons))
    for uid, (emission, registered_at) in enumerate(neurons):
        hotkey = KEY if uid == 0 else uid.to_bytes(32, "little")
        state.put_neuron(1, Neuron(uid=uid, hotkey=hotkey, coldkey=bytes(32), registered_at=registered_at,
                                   last_update=registered_at, emission=emission))
    assert prune_candidate(state, sn, block, exclude) == _prune_by_definition(state, sn, block, exclude)


def test_evolve_leaves_cached_bytes_behind() -> None:
    """A cache slot (a block's hash, an extrinsic's bytes) starts empty in the evolved copy, as attrs leaves it."""
    from .chains import new_chain

    chain = new_chain()
    chain.seal()
    block = chain.store.get(1)
    header = evolve(block.header, timestamp=block.header.timestamp + 1)
    moved = evolve(block, header=header)
    assert block.hash != moved.hash == attrs.evolve(block, header=header).hash == header.hash
    ext = chain.store.get(0).extrinsics[0]
    assert ext.to_bytes()  # cached on the original
    assert evolve(ext, nonce=ext.nonce + 1).to_bytes() == attrs.evolve(ext, nonce=ext.nonce + 1).to_bytes()
