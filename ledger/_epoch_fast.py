"""The epoch result's fast path: the same checks and writes as the plain handler, done in bulk.

An epoch rewrites every neuron of its subnet and pays most of them: the plain handler (``_system_calls``) unpacks
every vector into lists, checks them item by item and builds each new neuron and event through the fields'
validators. Here the shapes and bonds are checked on the packed bytes (numpy), and the neurons and events are built
without running validators, as every value is known to fit its field: u16 and u64 values unpacked from the result's
vectors, bools, and keys the state holds. Any result the fast checks do not accept outright goes to the plain handler,
which raises the error it raises (or applies it, if the fast checks were only cautious): errors stay the plain ones.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MemberDescriptorType
from typing import Any

import attrs
import numpy as np

from ._calls import EpochResult
from ._codec import unpack
from ._events import EmissionPaid, EpochCompleted, Event, StakeCredited
from ._state import Neuron, State, Subnet

__all__ = ["pay_epoch"]

_MAX_BOND_ROW = 4096
"""The most values a neuron's packed bond field holds (``Neuron.bond_uids``'s ``max_len``)."""

_OUTPUTS = ("rank", "trust", "consensus", "incentive", "dividends", "vtrust")
"""The u16 outputs of an epoch, in the order the fast builders take them."""


def _unchecked_builder(cls: type, params: tuple[str, ...], copied: tuple[str, ...]) -> Callable[..., Any]:
    """A function building a ``cls`` from positional ``params`` (then a template ``old`` giving the ``copied`` fields)
    without running a converter or validator: generated straight-line code, as attrs writes ``__init__``.

    Every init field of ``cls`` must be in ``params`` or ``copied`` (checked here, so a new field cannot be forgotten);
    a field outside ``__init__`` (a cache slot) gets its default.
    """
    fields = attrs.fields(cls)
    init = {a.name for a in fields if a.init}
    if set(params) | set(copied) != init or set(params) & set(copied):
        raise TypeError(f"{cls.__name__}: the builder must set exactly its init fields {sorted(init)}")
    if {a.name for a in fields} & {"build", "cls", "new", "new_", "old"}:
        raise TypeError(f"{cls.__name__}: a field's name clashes with the builder's own names")
    names: dict[str, Any] = {"new_": object.__new__, "cls": cls}
    args = ", ".join((*params, "old") if copied else params)
    lines = [f"def build({args}):", "    new = new_(cls)"]
    for i, a in enumerate(fields):
        slot = getattr(cls, a.name, None)
        # a slot's own setter (what object.__setattr__ finds and calls, less the lookup), else object.__setattr__
        if type(slot) is MemberDescriptorType:
            names[f"set_{i}"] = slot.__set__  # type: ignore[attr-defined]
            target = f"    set_{i}(new, "
        else:
            names[f"set_{i}"] = object.__setattr__
            target = f"    set_{i}(new, {a.name!r}, "
        if a.name in params:
            lines.append(f"{target}{a.name})")
        elif a.name in copied:
            lines.append(f"{target}old.{a.name})")
        else:
            if isinstance(a.default, attrs.Factory) or a.default is attrs.NOTHING:  # type: ignore[arg-type]
                raise TypeError(f"{cls.__name__}.{a.name}: no plain default for an unchecked build")
            names[f"default_{i}"] = a.default
            lines.append(f"{target}default_{i})")
    lines.append("    return new")
    exec(compile("\n".join(lines), f"<unchecked {cls.__name__}>", "exec"), names)
    return names["build"]  # type: ignore[no-any-return]


_NEURON_OUT = (*_OUTPUTS, "validator_permit", "emission")
_NEURON_KEPT = tuple(a.name for a in attrs.fields(Neuron) if a.init and a.name not in _NEURON_OUT)
_new_neuron = _unchecked_builder(Neuron, _NEURON_OUT, _NEURON_KEPT)
_new_bonded_neuron = _unchecked_builder(Neuron, (*_NEURON_OUT, "bond_uids", "bond_values"),
                                        tuple(n for n in _NEURON_KEPT if n not in ("bond_uids", "bond_values")))
_emission_paid = _unchecked_builder(EmissionPaid, ("netuid", "uid", "hotkey", "amount"), ())
_stake_credited = _unchecked_builder(StakeCredited, ("coldkey", "hotkey", "amount"), ())


def _checked(state: State, sn: Subnet, c: EpochResult) -> tuple[list[Neuron], tuple[int, ...], list[int]] | None:
    """What the plain checks accept, decided on the packed vectors: (the subnet's neurons by UID, the emission per
    UID, the bond pointers), or None when this result is not accepted outright (the plain checks then decide)."""
    n = sn.n
    netuid = sn.netuid
    two = 2 * n
    if (len(c.rank) != two or len(c.trust) != two or len(c.consensus) != two or len(c.incentive) != two
            or len(c.dividends) != two or len(c.vtrust) != two or len(c.permits) != n or len(c.emission) != 8 * n):
        return None
    permits = c.permits
    if n and max(permits) > 1:
        return None
    owner_uid = state.uid_of(netuid, sn.owner_hotkey)
    if owner_uid is not None and not (owner_uid < n and permits[owner_uid]):
        return None
    if permits.count(1) > sn.hyper.max_allowed_validators + (owner_uid is not None):
        return None
    # bonds: row k of the (strictly increasing) rows holds bond_uids/values[ptr[k]:ptr[k + 1]], within the subnet
    rows = np.frombuffer(c.bond_rows, "<u2").astype(np.int64)
    ptr = np.frombuffer(c.bond_ptr, "<u4").astype(np.int64)
    nbonds = len(c.bond_uids) // 2
    if (len(ptr) != len(rows) + 1 or ptr[0] != 0 or ptr[-1] != nbonds or len(c.bond_values) != len(c.bond_uids)):
        return None
    if len(rows):
        steps = np.diff(ptr)
        if steps.min() < 0 or steps.max() > _MAX_BOND_ROW or np.diff(rows).min(initial=1) <= 0 or rows[-1] >= n:
            return None
    if nbonds and int(np.frombuffer(c.bond_uids, "<u2").max()) >= n:
        return None
    if c.pot != sn.pending_emission:
        return None
    emission = unpack(c.emission, "u64")
    paid = sum(emission)
    expected_cut = c.pot * state.params.owner_cut // 0xFFFF
    if c.owner_cut != expected_cut and not (c.owner_cut == c.pot and paid == 0 and owner_uid is None):
        return None
    if paid + c.owner_cut != c.pot:
        return None
    # credits: to hotkeys holding a UID here, from coldkeys owning or staking on them, summing to each UID's emission
    uid_of, owner_of, stakers = state.uid_of, state.owner_of, state.stakers
    per_hotkey: dict[bytes, int] = {}
    for cr in c.credits:
        hk, ck = cr.hotkey, cr.coldkey
        if uid_of(netuid, hk) is None or (ck != owner_of(hk) and ck not in stakers(hk)):
            return None
        per_hotkey[hk] = per_hotkey.get(hk, 0) + cr.amount
    try:
        neurons = state.neurons(netuid)
    except KeyError:  # a UID below n without a neuron: the plain checks say what that is
        return None
    get = per_hotkey.get
    for uid, (old, amount) in enumerate(zip(neurons, emission, strict=True)):
        if get(old.hotkey, 0) != amount or old.uid != uid:  # each neuron at its UID: what put_neuron writes to
            return None
    return neurons, emission, ptr.tolist()


def pay_epoch(state: State, sn: Subnet, c: EpochResult) -> list[Event] | None:
    """Apply the epoch result ``c`` to subnet ``sn`` as the plain handler does (the same state, the same events),
    or None, having changed nothing, when the result is not one the fast checks accept outright."""
    checked = _checked(state, sn, c)
    if checked is None:
        return None
    neurons, emissions, ptr = checked
    netuid = c.netuid
    events: list[Event] = [EpochCompleted(netuid=netuid, block=c.block, pot=c.pot, owner_cut=c.owner_cut)]
    bu, bv = c.bond_uids, c.bond_values
    bonds = {row: (bu[2 * ptr[k]:2 * ptr[k + 1]], bv[2 * ptr[k]:2 * ptr[k + 1]])
             for k, row in enumerate(unpack(c.bond_rows, "u16"))}
    rank, trust, consensus, incentive, dividends, vtrust = (unpack(getattr(c, name), "u16") for name in _OUTPUTS)
    permits = [p == 1 for p in c.permits]
    put = state.put
    append = events.append
    for uid, (old, r, t, co, i, d, vt, permit, emission) in enumerate(zip(
            neurons, rank, trust, consensus, incentive, dividends, vtrust, permits, emissions, strict=True)):
        row = bonds.get(uid)
        if row is None:
            new = _new_neuron(r, t, co, i, d, vt, permit, emission, old)
        else:
            new = _new_bonded_neuron(r, t, co, i, d, vt, permit, emission, row[0], row[1], old)
        put("neuron", (netuid, uid), new)  # the hotkey is unchanged: the UID index stays (what put_neuron keeps)
        if emission:
            append(_emission_paid(netuid, uid, old.hotkey, emission))
    credited = [(cr.coldkey, cr.hotkey, cr.amount) for cr in c.credits if cr.amount]
    state.credit_stakes(credited)  # add_stake of each, in order
    for coldkey, hotkey, amount in credited:
        append(_stake_credited(coldkey, hotkey, amount))
    return events
