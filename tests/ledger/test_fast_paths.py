"""The runtime's fast paths give exactly what the plain ones give: the codec's ``evolve`` (validating only the changed
fields) against ``attrs.evolve``, the pruning rule against its definition, the weights upscale against its formula."""

from __future__ import annotations

import functools

import attrs
import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.ledger import ChainStatus, next_to_prune
from taonet.ledger._codec import encode, evolve, pack
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
    # what a client computes from a metagraph's columns (taonet subnet metagraph) is the registrar's choice
    rows = [(uid, n.emission, n.registered_at, n.hotkey == sn.owner_hotkey)
            for uid in range(sn.n) if (n := state.neuron(1, uid)) is not None]
    assert next_to_prune(rows, block, immunity) == prune_candidate(state, sn, block, set())


_step = st.one_of(
    st.tuples(st.just("put"), st.integers(0, 11), st.integers(0, 3), st.integers(0, 40), st.booleans()),
    st.tuples(st.just("grow"), st.integers(1, 12)),
    st.tuples(st.just("fork")),
    st.tuples(st.just("back")),
    st.tuples(st.just("query"), st.integers(0, 60), st.sets(st.integers(0, 11), max_size=3)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40)), min_size=1, max_size=12),
       st.integers(0, 30), st.lists(_step, max_size=30), st.integers(1, 2))
def test_prune_candidate_follows_its_rule_as_neurons_change_and_states_fork(
        neurons: list[tuple[int, int]], immunity: int, steps: list[tuple], netuid: int) -> None:
    """The pruning order kept between queries (moved for the neurons that changed) gives the rule's answer after any
    writes, in any of several states forked from one another, queried in any order, for a subnet that grows."""
    from taonet.ledger import DEV_SUBNET_DEFAULTS
    from taonet.ledger._state import genesis_subnet

    state = State()
    sn = genesis_subnet(netuid, bytes(32), KEY, 0, attrs.evolve(DEV_SUBNET_DEFAULTS, immunity_period=immunity),
                        lock=0, burn=0, difficulty=1)
    sn = attrs.evolve(sn, n=len(neurons))

    def hotkey(uid: int, owner: bool) -> bytes:
        return KEY if owner else (uid + 1).to_bytes(32, "little")

    for uid, (emission, registered_at) in enumerate(neurons):
        state.put_neuron(netuid, Neuron(uid=uid, hotkey=hotkey(uid, uid == 0), coldkey=bytes(32),
                                        registered_at=registered_at, last_update=registered_at, emission=emission))
    states = [(state, sn)]
    for step in steps:
        state, sn = states[-1]
        if step[0] == "put":
            _, uid, emission, registered_at, owner = step
            state.put_neuron(netuid, Neuron(uid=uid, hotkey=hotkey(uid, owner), coldkey=bytes(32),
                                            registered_at=registered_at, last_update=registered_at,
                                            emission=emission))
        elif step[0] == "grow":
            states[-1] = (state, attrs.evolve(sn, n=step[1]))
        elif step[0] == "fork":
            states.append((state.fork(), sn))
        elif step[0] == "back" and len(states) > 1:
            states.pop()
        elif step[0] == "query":
            _, block, exclude = step
            for s, sn_ in states:  # every live state, the kept order made in another one each time
                assert prune_candidate(s, sn_, block, exclude) == _prune_by_definition(s, sn_, block, exclude)


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


# --- the codec's generated to_wire and the shared hyperparameters' encoding ---------------------------------------


def _to_wire_by_definition(obj):
    """to_wire as the codec defined it before it was generated per class: every field in plan order, by its kind."""
    from taonet.ledger._codec import _pack, embedded_raws

    cls = type(obj)
    body = {}
    for name, kind in zip(cls._PLAN.names, cls._PLAN.kinds, strict=True):
        value = getattr(obj, name)
        if kind == "plain":
            body[name] = value
        elif kind == "absent":
            if value != cls._ABSENT[name]:
                body[name] = value
        elif kind == "one":
            body[name] = None if value is None else _to_wire_by_definition(value)
        elif kind == "many":
            body[name] = [_to_wire_by_definition(v) for v in value]
        elif kind in ("embedded", "lazy", "canonical"):
            body[name] = list(embedded_raws(value))
        else:
            body[name] = _pack(kind, value)
    return [cls.TAG, cls.VERSION, body]


def _hypers():
    from taonet.ledger import DEV_SUBNET_DEFAULTS

    return st.builds(lambda tempo, cr, period, burn: attrs.evolve(
        DEV_SUBNET_DEFAULTS, tempo=tempo, commit_reveal_weights_enabled=cr, commit_reveal_period=period,
        min_burn=burn, max_burn=burn), st.integers(0, 1 << 40), st.booleans(), st.integers(0, 5),
        st.integers(0, (1 << 64) - 1))


@st.composite
def _subnets(draw, hyper=None):
    from taonet.ledger._state import PendingRegistration, Subnet

    pending = tuple(PendingRegistration(hotkey=draw(st.binary(min_size=32, max_size=32)), coldkey=KEY,
                                        paid=draw(st.integers(0, 1 << 64 - 1)), method=draw(st.sampled_from(["burn",
                                                                                                            "pow"])),
                                        block=draw(st.integers(0, 1 << 30)))
                    for _ in range(draw(st.integers(0, 3))))
    return Subnet(netuid=draw(st.integers(0, 0xFFFF)), owner=KEY, owner_hotkey=bytes(32),
                  created_at=draw(st.integers(0, 1 << 40)), hyper=hyper if hyper is not None else draw(_hypers()),
                  n=draw(st.integers(0, 4096)), pending_emission=draw(st.integers(0, (1 << 64) - 1)), pending=pending)


@settings(max_examples=200, deadline=None)
@given(_hypers(), st.lists(st.integers(0, (1 << 64) - 1), min_size=1, max_size=5), st.data())
def test_subnet_encoding_with_shared_hyperparameters_is_the_plain_encoding(hyper, pots, data) -> None:
    """A subnet's bytes, written with its hyperparameters' cached encoding, are cbor2's bytes of its wire form; and
    so for many subnets evolved from one (sharing one hyperparameters object) and after the cache is emptied."""
    import cbor2

    from taonet.ledger._codec import _SHARED_RAW, _SHARED_RAW_MAX, to_wire

    sn = data.draw(_subnets(hyper))
    for pot in pots:
        sn = evolve(sn, pending_emission=pot)
        assert sn.hyper is hyper
        assert to_wire(sn) == _to_wire_by_definition(sn)
        assert encode(sn) == cbor2.dumps(_to_wire_by_definition(sn)) == cbor2.dumps(to_wire(sn), canonical=True)
    assert len(_SHARED_RAW) <= _SHARED_RAW_MAX
    _SHARED_RAW.clear()
    assert encode(sn) == cbor2.dumps(_to_wire_by_definition(sn))


def test_the_shared_encoding_cache_is_bounded_and_keyed_by_the_object_itself() -> None:
    """More distinct hyperparameters than the cache holds still encode exactly; a new object never reads another's
    bytes."""
    import cbor2

    from taonet.ledger import DEV_SUBNET_DEFAULTS
    from taonet.ledger._codec import _SHARED_RAW, _SHARED_RAW_MAX
    from taonet.ledger._state import genesis_subnet

    base = genesis_subnet(1, KEY, bytes(32), 5, DEV_SUBNET_DEFAULTS, lock=7, burn=9, difficulty=3)
    for tempo in range(2 * _SHARED_RAW_MAX + 3):
        sn = evolve(base, hyper=attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=tempo))
        assert encode(sn) == cbor2.dumps(_to_wire_by_definition(sn))
        assert len(_SHARED_RAW) <= _SHARED_RAW_MAX


def test_generated_to_wire_equals_its_definition_for_every_message_of_a_chain() -> None:
    """Blocks, extrinsics, events and every state row of a chain with registrations, weights, stake and an epoch:
    the generated to_wire gives the wire form by definition, and encode() its bytes."""
    import cbor2

    from taonet.ledger import AddStake, SetWeights, Transfer
    from taonet.ledger._codec import Message, to_wire

    from .chains import ALICE, BOB, OWNER_HOT, chain_with_subnet, hot

    chain = chain_with_subnet(miners=2)
    hotkeys = [OWNER_HOT, hot("m0"), hot("m1")]
    chain.call(ALICE, Transfer(dest=BOB.public_key, amount=10**9))
    chain.call(ALICE, AddStake(hotkey=hotkeys[0].public_key, amount=10**9))
    chain.seal()
    chain.call(hotkeys[0], SetWeights(netuid=1, uids=[0, 1, 2], weights=[1, 2, 3]))
    while chain.height < 30:
        chain.seal()
    seen = 0
    messages = []
    for block in chain.store.read():
        messages += [block, block.header, *block.extrinsics, *(x.call for x in block.extrinsics), *block.events,
                     *(r.event for r in block.events)]
    for table in ("chain", "acct", "subnet", "neuron"):
        messages += [v for _, v in chain.state.items(table) if isinstance(v, Message)]
    for m in messages:
        assert to_wire(m) == _to_wire_by_definition(m)
        assert encode(m) == cbor2.dumps(_to_wire_by_definition(m), canonical=True)
        seen += 1
    assert seen > 100
    assert {"EpochResult", "RegistrarAnswer", "SetWeights", "EmissionPaid", "Subnet", "Neuron"} <= {
        type(m).__name__ for m in messages}


# --- applying a block in place (a fold that never looks back) ----------------------------------------------------


def test_apply_in_place_gives_the_state_and_events_apply_gives() -> None:
    """Every block of a chain with prunings, epochs, weights and transfers: applied in place (``consume``), the state
    (every table, the digest, the snapshot) and the events equal those of applying it to a fork, which leaves the state
    it started from as it was."""
    from taonet.ledger import apply, state_from_genesis_block

    from .chains import pruning_chain, tables

    chain = pruning_chain(40)
    blocks = list(chain.store.read())
    assert any(type(r.event).__name__ == "NeuronReplaced" for b in blocks for r in b.events)
    assert any(type(r.event).__name__ == "EpochCompleted" for b in blocks for r in b.events)
    forked = state_from_genesis_block(blocks[0])
    in_place = state_from_genesis_block(blocks[0])
    for block in blocks[1:]:
        before = tables(forked)
        digest_before = forked.digest()
        forked_next, events = apply(forked, block)
        assert tables(forked) == before and forked.digest() == digest_before  # the fork left its start alone
        in_place, events_in_place = apply(in_place, block, consume=True)
        assert events_in_place == events
        forked = forked_next
        assert tables(in_place) == tables(forked)
        assert in_place.digest() == forked.digest() == block.header.state_digest
    assert in_place.to_snapshot() == forked.to_snapshot() == chain.state.to_snapshot()


def test_a_state_view_holds_only_its_tables_and_the_state_copies_them_before_writing() -> None:
    """The view a block applied in place gives its handlers (the start's height, subnets, neurons) keeps what it saw
    while the state moves on, and refuses to read any other table."""
    import pytest

    from .chains import pruning_chain

    chain = pruning_chain(6)
    state = chain.state.fork()
    view = state.view(("chain", "subnet", "neuron"))
    height, subnets, neurons = view.height, view.subnets(), view.neurons(1)
    sn = subnets[0]
    state.put("subnet", sn.netuid, evolve(sn, pending_emission=sn.pending_emission + 1))
    state.put_neuron(1, evolve(neurons[1], emission=neurons[1].emission + 5))
    state.put("chain", "status", evolve(state.status, height=height + 1))
    assert (view.height, view.subnets(), view.neurons(1)) == (height, subnets, neurons)
    assert state.height == height + 1 and state.neurons(1) != neurons
    with pytest.raises(KeyError):
        view.account(bytes(32))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 65535), max_size=300))
def test_packed_upscale_is_the_packed_rounded_max_upscale(values: list[int]) -> None:
    """The numpy upscale SetWeights stores gives the bytes of the integer formula, packed."""
    from taonet.ledger._user_calls import _u16_max_upscale_packed

    assert _u16_max_upscale_packed(tuple(values)) == pack(_u16_max_upscale(values), "u16")


@functools.cache
def _twelve_uids():
    """A chain whose subnet 1 has 12 UIDs and whose owner (UID 0) holds a validator permit."""
    from .chains import chain_with_subnet

    chain = chain_with_subnet(miners=11)
    while not chain.state.neuron(1, 0).validator_permit:
        chain.seal()
    return chain


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(12))), st.lists(st.integers(0, 65535), min_size=12, max_size=12),
       st.booleans())
def test_set_weights_stores_the_same_row_whatever_the_order_of_the_pairs(order, weights, keep_sorted) -> None:
    """Weights sent by UID (the fast path) or in any other order store the same packed row: the pairs by UID, the
    weights max-upscaled."""
    from taonet.ledger import Extrinsic, SetWeights
    from taonet.ledger._dispatch import BlockContext
    from taonet.ledger._user_calls import _set_weights

    from .chains import OWNER_HOT

    chain = _twelve_uids()
    by_uid = dict(zip(order, weights, strict=True))
    uids = sorted(order) if keep_sorted else order
    rows = []
    for pairs in ([(u, by_uid[u]) for u in uids], sorted(by_uid.items())):
        state = chain.state.fork()
        ctx = BlockContext(number=state.height + 1, timestamp=0, genesis=chain.genesis_hash, previous=chain.state)
        call = SetWeights(netuid=1, uids=[u for u, _ in pairs], weights=[w for _, w in pairs])
        _set_weights(state, ctx, Extrinsic.sign(call, OWNER_HOT, nonce=0, genesis=chain.genesis_hash), 0)
        n = state.neuron(1, 0)
        rows.append((n.weight_uids, n.weight_values))
    assert rows[0] == rows[1]
    assert rows[0] == (pack(range(12), "u16"), pack(_u16_max_upscale([by_uid[u] for u in range(12)]), "u16"))


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "rank": st.integers(0, 0xFFFF), "trust": st.integers(0, 0xFFFF), "vtrust": st.integers(0, 0xFFFF),
    "validator_permit": st.booleans(), "emission": st.integers(0, (1 << 64) - 1), "last_update": st.integers(0, 99)}))
def test_evolve_checked_equals_evolve_on_values_the_fields_accept(changes: dict) -> None:
    """Unchecked evolve (the epoch's bulk rewrite) builds the neuron checked evolve builds, cache slots empty."""
    from taonet.ledger._codec import evolve_checked

    fast = evolve_checked(NEURON, **changes)
    assert fast == evolve(NEURON, **changes) == attrs.evolve(NEURON, **changes)
    assert encode(fast) == encode(attrs.evolve(NEURON, **changes))
    status = ChainStatus(height=1, issuance=5)
    assert evolve_checked(status, height=changes.get("last_update", 3)) == attrs.evolve(
        status, height=changes.get("last_update", 3))


def test_replay_in_place_reaches_the_states_of_the_plain_fold() -> None:
    """``replay`` (which folds in place from its own snapshot or genesis) reaches, at every height, the tables and
    digest that folding with a fork per block reaches, and leaves the store's snapshots as they were."""
    from taonet.ledger import MemoryStore, fold, replay

    from .chains import pruning_chain, tables

    store = MemoryStore()
    pruning_chain(30, store, snapshot_every=7)
    plain = {b.number: (tables(s), s.digest()) for b, s in fold(store, verify_signatures=False)}
    snapshot = store.latest_snapshot(21).to_snapshot()
    for k in range(store.height + 1):
        for use_snapshots in (True, False):
            for check in (True, False):
                state = replay(store, to=k, use_snapshots=use_snapshots, check_every_block=check)
                assert (tables(state), state.digest()) == plain[k]
    assert store.latest_snapshot(21).to_snapshot() == snapshot


def test_every_registered_message_class_gets_a_generated_to_wire() -> None:
    """The generator handles every class the codec knows (every field kind), not only those a chain happens to hold:
    each generated function reads every field of its class's plan, and nothing else of the message."""
    from taonet.ledger._codec import _compile_wire, registered

    helpers = {"TAG", "VERSION", "to_wire", "one", "raws", "pack", "list"}
    for cls in registered().values():
        read = {n for n in _compile_wire(cls).__code__.co_names
                if n not in helpers and not n.startswith(("CODE_", "ABSENT_"))}
        assert read == set(cls._PLAN.names), cls


# --- decoding: the generated path against the general one ---------------------------------------------------------


@functools.cache
def _chain_messages() -> tuple:
    """Every message of a small chain with registrations, weights, stake and an epoch: blocks, headers, extrinsics,
    calls, event records, events, and the state's rows."""
    from taonet.ledger import AddStake, SetWeights, Transfer
    from taonet.ledger._codec import Message

    from .chains import ALICE, BOB, OWNER_HOT, chain_with_subnet, hot

    chain = chain_with_subnet(miners=2)
    chain.call(ALICE, Transfer(dest=BOB.public_key, amount=10**9))
    chain.call(ALICE, AddStake(hotkey=OWNER_HOT.public_key, amount=10**9))
    chain.seal()
    chain.call(OWNER_HOT, SetWeights(netuid=1, uids=[0, 1, 2], weights=[1, 2, 3]))
    chain.call(hot("m0"), SetWeights(netuid=1, uids=[2], weights=[9]))
    while chain.height < 30:
        chain.seal()
    messages = []
    for block in chain.store.read():
        messages += [block, block.header, *block.extrinsics, *(x.call for x in block.extrinsics), *block.events,
                     *(r.event for r in block.events)]
    for table in ("chain", "acct", "subnet", "neuron"):
        messages += [v for _, v in chain.state.items(table) if isinstance(v, Message)]
    return tuple(messages)


def _decoded(fn):  # the message and its bytes, or the error's type and message
    from taonet.ledger.errors import CodecError

    try:
        m = fn()
    except CodecError as e:
        return type(e).__name__, str(e)
    return "ok", m, encode(m), [type(getattr(m, n)) for n in type(m)._PLAN.names]


def test_generated_decoding_equals_the_general_path_for_every_message_of_a_chain() -> None:
    """Each message of a chain decodes through the generated path to what the general path gives (equal values,
    equal bytes, the same types in every field), canonical or not."""
    from taonet.ledger._codec import _DECODERS, _decode_body, decode_value, to_wire

    kinds = set()
    for m in _chain_messages():
        wire = to_wire(m)
        for canonical in (False, True):
            fast = _decoded(lambda w=wire, c=canonical: decode_value(w, canonical=c))
            general = _decoded(lambda w=wire, c=canonical, k=type(m): _decode_body(k, w[1], w[2], canonical=c))
            assert fast == general
            assert fast[1] == m
        kinds.add(type(m).__name__)
    assert {"EpochResult", "RegistrarAnswer", "SetWeights", "Extrinsic", "SignedBlock", "Neuron"} <= kinds
    assert all(_DECODERS[type(m)] is not False for m in _chain_messages())  # none went the general way


_REORDERED = ["call.transfer", 1, {"amount": 5, "dest": bytes(32)}]
_wire_values = st.one_of(
    st.integers(-(1 << 65), 1 << 65), st.booleans(), st.none(), st.binary(max_size=70), st.text(max_size=5),
    st.floats(allow_nan=False), st.lists(st.integers(-2, 70_000), max_size=4), st.lists(st.binary(max_size=3),
                                                                                         max_size=3),
    st.just(["call.transfer", 1, {"dest": bytes(32), "amount": 5}]), st.just(["nope", 1, {}]),
    st.just({"a": 1}), st.just(bytes(2 * 4097)), st.just(bytes(8 * 4097)), st.just(bytes(2 * 4096)),
    # not canonical: fields out of order, inline, in a list, embedded as bytes
    st.just(_REORDERED), st.just([_REORDERED]), st.just([cbor2.dumps(_REORDERED)]),
    st.just([cbor2.dumps(["call.transfer", 1, {"dest": bytes(32), "amount": 5}])]),
)


@settings(max_examples=400, deadline=None)
@given(st.data(), st.booleans())
def test_generated_decoding_gives_the_general_paths_value_or_error_for_any_field_values(data, canonical) -> None:
    """A message's wire form with some fields replaced by anything (wrong types, out of range, too long, nested
    garbage): the generated path gives the general path's message or its very error (type and text)."""
    from taonet.ledger._codec import _decode_body, decode_value, to_wire

    by_class: dict[str, list] = {}
    for message in _chain_messages():
        by_class.setdefault(type(message).__name__, []).append(message)
    m = data.draw(st.sampled_from(by_class[data.draw(st.sampled_from(sorted(by_class)))]))
    tag, version, body = to_wire(m)
    body = dict(body)
    for name in data.draw(st.lists(st.sampled_from(list(body)), min_size=1, max_size=3, unique=True)):
        body[name] = data.draw(_wire_values)
    wire = [tag, version, body]
    fast = _decoded(lambda: decode_value(wire, canonical=canonical))
    general = _decoded(lambda: _decode_body(type(m), version, body, canonical=canonical))
    assert fast == general


def test_every_registered_message_class_gets_a_generated_decoding() -> None:
    """The decoding generator handles every class the codec knows (not only those a chain holds)."""
    from taonet.ledger._codec import _compile_decode, registered

    for cls in registered().values():
        assert _compile_decode(cls) is not False, cls


# --- the state digest ---------------------------------------------------------------------------------------------


def _key_bytes_by_definition(key) -> bytes:
    if type(key) is bytes:
        return key
    if type(key) is int:
        return key.to_bytes(8, "little", signed=True)
    if type(key) is str:
        return key.encode()
    if type(key) is tuple:
        return b"".join(_key_bytes_by_definition(k) for k in key)
    raise TypeError(f"unsupported key type {type(key).__name__}")


def _entry_hash_by_definition(tag: bytes, key, value) -> int:
    import hashlib

    from taonet.ledger._state import _value_bytes

    kb = _key_bytes_by_definition(key)
    h = hashlib.blake2b(tag + len(kb).to_bytes(2, "little") + kb + _value_bytes(value), digest_size=32)
    return int.from_bytes(h.digest(), "little")


_key_parts = st.one_of(st.binary(max_size=40), st.integers(-(1 << 64), 1 << 64), st.text(max_size=8))
_keys = st.one_of(_key_parts, st.tuples(_key_parts, _key_parts), st.tuples(_key_parts, _key_parts, _key_parts),
                  st.tuples(st.tuples(_key_parts, _key_parts), _key_parts), st.tuples(), st.floats(0, 1),
                  st.tuples(_key_parts, st.floats(0, 1)))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([b"a", b"u", b"n", b"c"]), _keys,
       st.one_of(st.integers(0, (1 << 64) - 1), st.binary(max_size=40), st.just(NEURON)))
def test_entry_hash_is_its_definition_for_any_key(tag: bytes, key, value) -> None:
    """A table entry's digest contribution, with its keys' bytes written inline for the tables' key shapes, is the
    definition's for every key (pairs and triples of ints, bytes and text, nested, empty; an unsupported key type
    is the same TypeError)."""
    from taonet.ledger._state import entry_hash

    assert outcome(lambda: entry_hash(tag, key, value)) == outcome(lambda: _entry_hash_by_definition(tag, key, value))


def test_a_constructor_without_checks_builds_what_the_class_builds_for_every_message_of_a_chain() -> None:
    """make_checked(cls)(**fields) of any message equals the message, and encodes to its bytes, cache slots empty."""
    from taonet.ledger._codec import make_checked

    for m in _chain_messages():
        cls = type(m)
        fields = {a.name: getattr(m, a.name) for a in attrs.fields(cls) if a.init}
        built = make_checked(cls)(**fields)
        assert built == m and type(built) is cls and encode(built) == encode(m)
        assert all(getattr(built, a.name) is None for a in attrs.fields(cls) if not a.init)
        required = {name: v for name, v in fields.items() if attrs.fields_dict(cls)[name].default is attrs.NOTHING}
        if required != fields:  # the defaults left out: what the class builds with them left out
            assert make_checked(cls)(**required) == cls(**required)


@given(st.one_of(st.integers(-3, 3), st.integers((1 << 32) - 2, (1 << 32) + 2), st.just(True), st.just("1")),
       st.sampled_from(["event", "not an event", "bare Event"]))
def test_the_builders_event_records_are_the_constructors_for_any_phase_and_event(phase, kind) -> None:
    """The block builder's records (built without re-running the validators when they would pass) are what
    EventRecord builds, and its error where it refuses (a phase out of range or not an int, not an event)."""
    from taonet.ledger._events import Event, EventRecord, FeePaid
    from taonet.ledger._runtime import _record

    event = {"event": FeePaid(who=KEY, amount=3), "not an event": NEURON, "bare Event": Event()}[kind]
    assert outcome(lambda: _record(phase, event)) == outcome(lambda: EventRecord(phase=phase, event=event))


@settings(max_examples=200, deadline=None)
@given(st.data(), st.lists(st.integers(0, (1 << 64) - 1), min_size=1, max_size=5), st.booleans())
def test_a_subnets_digest_bytes_spliced_for_a_new_pot_are_its_encoding(data, pots, forget) -> None:
    """A subnet whose pot the block's bookkeeping changed is digested with its previous bytes, the pot replaced: they
    are its encoding (cbor2's bytes of its wire form by definition), for any subnet and pots, the cache emptied or
    not between the steps; and so is the digest of a state holding it."""
    import cbor2

    from taonet.ledger._state import _SUBNET_RAW, _SUBNET_RAW_MAX, _value_bytes, entry_hash, with_pot

    sn = data.draw(_subnets())
    assert _value_bytes(sn) == cbor2.dumps(_to_wire_by_definition(sn))
    for pot in pots:
        if forget:
            _SUBNET_RAW.clear()
        sn = with_pot(sn, pot)
        assert sn.pending_emission == pot
        assert _value_bytes(sn) == encode(sn) == cbor2.dumps(_to_wire_by_definition(sn))
        assert entry_hash(b"n", sn.netuid, sn) == _entry_hash_by_definition(b"n", sn.netuid, sn)
        assert len(_SUBNET_RAW) <= _SUBNET_RAW_MAX
    state = State()
    state.put("subnet", sn.netuid, sn)
    assert state.digest() == state.cold_digest()
