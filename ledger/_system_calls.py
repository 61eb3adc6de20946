"""The system calls: the answers of the block pipeline's actors (tempo scheduler, consensus, registrar).

The registrar's answer is checked against the registration rules recomputed on the state the block started from;
an epoch result is checked for everything that does not need floating point (due, shapes, the pot paid exactly,
credits to real stakers). A block must hold every answer due (lockstep).
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from itertools import compress, repeat
from operator import is_not, le
from typing import Any

from . import _economics as econ
from ._calls import (
    DifficultyAdjustment,
    EpochResult,
    Extrinsic,
    Genesis,
    RegistrarAnswer,
    RegistrationRefusal,
    TempoElapsed,
    UidAssignment,
)
from ._codec import evolve, evolve_checked
from ._consensus import due_netuids, epoch_due
from ._dispatch import BlockContext, handles
from ._epoch_fast import pay_epoch
from ._events import (
    DifficultyAdjusted,
    EmissionPaid,
    EpochCompleted,
    Event,
    NeuronRegistered,
    NeuronReplaced,
    RegistrationRefused,
    StakeCredited,
)
from ._events import TempoElapsed as TempoElapsedEvent
from ._state import Neuron, State, Subnet
from ._weight_commits import drop_expired_commits
from .errors import SystemCallRejected

__all__ = ["prune_candidate", "registrar_answer", "registrar_due", "required_answers"]


# --- the registrar: registration answers --------------------------------------------------------------------------


def prune_candidate(state: State, sn: Subnet, block: int, exclude: set[int]) -> int | None:
    """The UID a registration into the full subnet ``sn`` replaces at ``block`` (DESIGN.md "Economics").

    Lowest emission at the last epoch among neurons past their immunity period; ties go to the earliest
    registration, then the lowest UID; if every neuron is immune, the same rule over the immune ones. The owner's
    UID is never chosen, nor any UID in ``exclude`` (those assigned earlier in the same answer).
    """
    immune_from = block - sn.hyper.immunity_period  # registered after this block: still immune
    owner_hotkey = sn.owner_hotkey
    row, order, registered = _prune_order(state, sn.netuid, sn.n)
    # ``order`` ascends by (emission, registered_at, uid): the first open candidate in it is the lowest open one
    # (open: registered_at <= immune_from, that is block - registered_at >= immunity_period) ...
    for _emission, _registered_at, uid in compress(order, map(le, registered, repeat(immune_from))):
        if uid not in exclude and row[uid].hotkey != owner_hotkey:
            return uid
    # ... and when there is none, every candidate is immune: the first candidate is the lowest immune one
    for _emission, _registered_at, uid in order:
        if uid not in exclude and row[uid].hotkey != owner_hotkey:
            return uid
    return None


_PruneOrder = tuple[tuple[tuple[int, int], ...], list[Neuron | None], list[tuple[int, int, int]], list[int]]
"""The neuron keys of a subnet's UIDs 0..n-1, the neurons found there, the (emission, registered_at, uid) of every
neuron found, ascending, and their registered_at in the same order."""

_PRUNE_ORDERS: dict[int, _PruneOrder] = {}
"""netuid -> the order last computed for it (in whatever state): checked against the neurons themselves before use."""
_PRUNE_ORDERS_MAX = 64
_PRUNE_REBUILD_ABOVE = 16  # more changed neurons than this (an epoch): sort again rather than move each one


def _prune_key(uid: int, n: Neuron) -> tuple[int, int, int]:
    return n.emission, n.registered_at, uid


def _prune_order(state: State, netuid: int, n: int
                 ) -> tuple[list[Neuron | None], list[tuple[int, int, int]], list[int]]:
    """The neurons at UIDs 0..n-1 of ``netuid`` in ``state``, their pruning keys ascending, and the registered_at of
    each key in that order.

    A pruning query comes every few blocks for the same subnet, after a registration or two changed a neuron of it:
    the order kept from the last query is brought up to date by moving the neurons that are not the very objects it
    was made from (neurons are frozen, so an unchanged neuron is the same object), instead of sorting every neuron
    again. Nothing in the state is trusted to say what changed: any way a neuron is written is seen.
    """
    kept = _PRUNE_ORDERS.get(netuid)
    if kept is not None and len(kept[0]) == n:
        keys, old_row, old_order, old_registered = kept
        row = state.rows("neuron", keys)
        changed = list(compress(range(n), map(is_not, row, old_row)))
        if not changed:
            return old_row, old_order, old_registered
        if len(changed) <= _PRUNE_REBUILD_ABOVE:
            # the kept lists may be in use elsewhere: never changed in place
            order, registered = old_order.copy(), old_registered.copy()
            for uid in changed:
                old, new = old_row[uid], row[uid]
                if old is not None:
                    i = bisect_left(order, _prune_key(uid, old))
                    del order[i], registered[i]
                if new is not None:
                    key = _prune_key(uid, new)
                    i = bisect_left(order, key)
                    order.insert(i, key)
                    registered.insert(i, new.registered_at)
            _keep(netuid, (keys, row, order, registered))
            return row, order, registered
    else:
        # the table's own key objects where it has them: a lookup by the very key object skips comparing tuples
        held = {key[1]: key for key, _ in state.items("neuron") if key[0] == netuid}
        keys = tuple(held.get(uid) or (netuid, uid) for uid in range(n))
        row = state.rows("neuron", keys)
    order = sorted(_prune_key(uid, nr) for uid, nr in enumerate(row) if nr is not None)
    registered = [key[1] for key in order]
    _keep(netuid, (keys, row, order, registered))
    return row, order, registered


def _keep(netuid: int, order: _PruneOrder) -> None:
    if len(_PRUNE_ORDERS) >= _PRUNE_ORDERS_MAX and netuid not in _PRUNE_ORDERS:
        _PRUNE_ORDERS.clear()
    _PRUNE_ORDERS[netuid] = order


def registrar_answer(state: State) -> RegistrarAnswer:
    """The registrar's answer to the block ``state`` ends with: UID assignments, refusals, difficulty adjustments.

    Requests are answered in the order they were made, subnet by subnet: a free UID first, else the pruning rule;
    beyond ``max_registrations_per_block`` a request is refused and its burn refunded. A subnet whose adjustment
    interval has passed gets its new proof-of-work difficulty.
    """
    number = state.height
    answer_block = number + 1
    assignments, refusals, difficulties = [], [], []
    for sn in state.subnets():
        h = sn.hyper
        n = sn.n
        taken: set[int] = set()
        for req in sn.pending:
            if len(taken) >= h.max_registrations_per_block:
                refusals.append(RegistrationRefusal(netuid=sn.netuid, hotkey=req.hotkey, coldkey=req.coldkey,
                                                    refund=req.paid, reason="max registrations per block reached"))
                continue
            if n < h.max_allowed_uids:
                uid = n
                n += 1
            else:
                found = prune_candidate(state, sn, answer_block, taken)
                if found is None:
                    refusals.append(RegistrationRefusal(netuid=sn.netuid, hotkey=req.hotkey, coldkey=req.coldkey,
                                                        refund=req.paid, reason="no UID can be freed"))
                    continue
                uid = found
            taken.add(uid)
            assignments.append(UidAssignment(netuid=sn.netuid, hotkey=req.hotkey, uid=uid))
        if number - sn.last_adjustment >= h.adjustment_interval:
            regs = sn.registrations_this_interval + len(taken)
            d = econ.adjust_difficulty(sn.difficulty, regs, h.target_registrations_per_interval,
                                       lo=h.min_difficulty, hi=h.max_difficulty)
            difficulties.append(DifficultyAdjustment(netuid=sn.netuid, difficulty=d))
    return RegistrarAnswer(block=number, assignments=tuple(assignments), refusals=tuple(refusals),
                           difficulties=tuple(difficulties))


def registrar_due(state: State) -> bool:
    """True when the registrar's answer to the block ``state`` ends with is not empty.

    The same as ``not registrar_answer(state).is_empty`` without running the pruning rule: every waiting registration
    gets an assignment or a refusal, and a subnet past its adjustment interval gets a difficulty adjustment.
    """
    number = state.height
    return any(sn.pending or number - sn.last_adjustment >= sn.hyper.adjustment_interval for sn in state.subnets())


@handles(RegistrarAnswer)
def _registrar_answer(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: RegistrarAnswer = ext.call  # type: ignore[assignment]
    if call.block != ctx.number - 1:
        raise SystemCallRejected(reason=f"registrar answer for block {call.block} in block {ctx.number}")
    # The registrar answered the state the block started from, as the runtime checks it here.
    if call != registrar_answer(ctx.previous):
        raise SystemCallRejected(reason="the registrar's answer differs from what the registration rules give")
    events: list[Event] = []
    burned = 0
    by_subnet: dict[int, list[Any]] = {}
    for a in call.assignments:
        by_subnet.setdefault(a.netuid, []).append(a)
    refused = {(r.netuid, r.hotkey) for r in call.refusals}
    for r in call.refusals:
        acct = state.account(r.coldkey)
        state.set_account(r.coldkey, acct.free + r.refund, acct.nonce)
        events.append(RegistrationRefused(netuid=r.netuid, hotkey=r.hotkey, coldkey=r.coldkey, refund=r.refund,
                                          reason=r.reason))
    touched = {a.netuid for a in call.assignments} | {r.netuid for r in call.refusals}
    for sn in state.subnets():
        if sn.netuid not in touched and not sn.pending:
            continue
        pending = {p.hotkey: p for p in sn.pending}
        n, burn, burn_block, regs = sn.n, sn.burn, sn.burn_block, sn.registrations_this_interval
        h = sn.hyper
        for a in by_subnet.get(sn.netuid, []):
            req = pending[a.hotkey]
            old = state.neuron(sn.netuid, a.uid)
            neuron = Neuron(uid=a.uid, hotkey=a.hotkey, coldkey=req.coldkey, registered_at=ctx.number,
                            last_update=ctx.number)
            state.put_neuron(sn.netuid, neuron)
            burned += req.paid
            if old is None:
                n = max(n, a.uid + 1)
                events.append(NeuronRegistered(netuid=sn.netuid, uid=a.uid, hotkey=a.hotkey, coldkey=req.coldkey,
                                               burned=req.paid))
            else:
                events.append(NeuronReplaced(netuid=sn.netuid, uid=a.uid, old_hotkey=old.hotkey, hotkey=a.hotkey,
                                             coldkey=req.coldkey, burned=req.paid))
            now = econ.current_burn(burn, burn_block, ctx.number, half_life=h.burn_half_life, min_burn=h.min_burn,
                                    max_burn=h.max_burn)
            burn = econ.burn_after_registration(now, mult_milli=h.burn_increase_mult_milli, min_burn=h.min_burn,
                                                max_burn=h.max_burn)
            burn_block = ctx.number
            regs += 1
        assert all((sn.netuid, p.hotkey) in refused or any(a.hotkey == p.hotkey for a in by_subnet.get(sn.netuid, []))
                   for p in sn.pending)
        state.put("subnet", sn.netuid, evolve(sn, n=n, burn=burn, burn_block=burn_block,
                                                    registrations_this_interval=regs, pending=()))
    for d in call.difficulties:
        sn = state.subnet(d.netuid)
        assert sn is not None
        state.put("subnet", d.netuid, evolve(sn, difficulty=d.difficulty, registrations_this_interval=0,
                                                   last_adjustment=call.block))
        events.append(DifficultyAdjusted(netuid=d.netuid, difficulty=d.difficulty))
    if burned:
        st = state.status
        state.put("chain", "status", evolve(st, issuance=st.issuance - burned, burned=st.burned + burned))
    return events


# --- tempo and epochs ------------------------------------------------------------------------------------------


def required_answers(previous: State) -> set[tuple[object, ...]]:
    """The system-call keys a block must hold, given the state it starts from (lockstep: every due answer)."""
    keys: set[tuple[object, ...]] = set()
    for netuid in due_netuids(previous):
        keys.add((TempoElapsed.TAG, netuid))
        keys.add((EpochResult.TAG, netuid))
    if registrar_due(previous):
        keys.add((RegistrarAnswer.TAG,))
    return keys


def _due_subnet(ctx: BlockContext, netuid: int, block: int) -> Subnet:
    sn = ctx.previous.subnet(netuid)
    if block != ctx.number - 1 or sn is None or not epoch_due(netuid, sn.hyper.tempo, block):
        raise SystemCallRejected(reason=f"no epoch of subnet {netuid} is due at block {block}")
    return sn


@handles(TempoElapsed)
def _tempo_elapsed(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: TempoElapsed = ext.call  # type: ignore[assignment]
    _due_subnet(ctx, call.netuid, call.block)
    return [TempoElapsedEvent(netuid=call.netuid, block=call.block),
            *drop_expired_commits(state, call.netuid, call.block)]


def _check_epoch_result(state: State, sn: Subnet, c: EpochResult, v: dict[str, list[int]]) -> None:
    """Check what the runtime can of an epoch result (shapes, the pot paid exactly, credits to real stakers)."""
    n = sn.n
    for name in ("rank", "trust", "consensus", "incentive", "dividends", "vtrust", "permits", "emission"):
        if len(v[name]) != n:
            raise SystemCallRejected(reason=f"epoch result: {name} has {len(v[name])} values for {n} UIDs")
    permits = v["permits"]
    if max(permits, default=0) > 1:
        raise SystemCallRejected(reason="epoch result: permits must be 0 or 1")
    owner_uid = state.uid_of(sn.netuid, sn.owner_hotkey)
    if owner_uid is not None and not permits[owner_uid]:
        raise SystemCallRejected(reason="epoch result: the owner's UID must hold a permit")
    if sum(permits) > sn.hyper.max_allowed_validators + (owner_uid is not None):
        raise SystemCallRejected(reason="epoch result: more permits than max_allowed_validators")
    rows, ptr, buids = v["bond_rows"], v["bond_ptr"], v["bond_uids"]
    if (len(ptr) != len(rows) + 1 or ptr[0] != 0 or ptr[-1] != len(buids) or len(buids) != len(v["bond_values"])
            or any(a > b for a, b in itertools.pairwise(ptr)) or list(rows) != sorted(set(rows))
            or max(rows, default=-1) >= n or max(buids, default=-1) >= n):  # no row, no UID beyond the subnet
        raise SystemCallRejected(reason="epoch result: malformed bonds")
    if c.pot != sn.pending_emission:
        raise SystemCallRejected(reason=f"epoch result pays {c.pot} RAO but the pot holds {sn.pending_emission}")
    emission = v["emission"]
    paid = sum(emission)
    expected_cut = c.pot * state.params.owner_cut // 0xFFFF
    if c.owner_cut != expected_cut and not (c.owner_cut == c.pot and paid == 0 and owner_uid is None):
        raise SystemCallRejected(reason=f"epoch result: owner cut {c.owner_cut}, the rule gives {expected_cut}")
    if paid + c.owner_cut != c.pot:
        raise SystemCallRejected(reason=f"epoch result pays {paid + c.owner_cut} RAO of a {c.pot} RAO pot")
    per_hotkey: dict[bytes, int] = {}
    for cr in c.credits:
        if state.uid_of(sn.netuid, cr.hotkey) is None:
            raise SystemCallRejected(reason="epoch result credits a hotkey without a UID on the subnet")
        if cr.coldkey != state.owner_of(cr.hotkey) and cr.coldkey not in state.stakers(cr.hotkey):
            raise SystemCallRejected(reason="epoch result credits a coldkey with no stake on the hotkey")
        per_hotkey[cr.hotkey] = per_hotkey.get(cr.hotkey, 0) + cr.amount
    for uid in range(n):
        hk = state.neuron(sn.netuid, uid).hotkey  # type: ignore[union-attr]
        if per_hotkey.get(hk, 0) != emission[uid]:
            raise SystemCallRejected(reason=f"epoch result: credits to UID {uid} differ from its emission")


@handles(EpochResult)
def _epoch_result(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    c: EpochResult = ext.call  # type: ignore[assignment]
    _due_subnet(ctx, c.netuid, c.block)
    sn = state.subnet(c.netuid)
    assert sn is not None
    events = pay_epoch(state, sn, c)  # the fast path; None (nothing written) when it does not accept c outright
    if events is None:
        events = pay_epoch_plain(state, sn, c)
    if c.owner_cut:
        a = state.account(sn.owner)
        state.set_account(sn.owner, a.free + c.owner_cut, a.nonce)
    state.put("subnet", c.netuid, evolve(sn, pending_emission=0, last_epoch=c.block))
    return events


def pay_epoch_plain(state: State, sn: Subnet, c: EpochResult) -> list[Event]:
    """Check the epoch result ``c`` of subnet ``sn`` and write its neurons and stake credits: the events so far.

    The definition :func:`~taonet.ledger._epoch_fast.pay_epoch` follows (and falls back to): item by item, through
    the fields' validators.
    """
    v = c.vectors()
    _check_epoch_result(state, sn, c, v)
    events: list[Event] = [EpochCompleted(netuid=c.netuid, block=c.block, pot=c.pot, owner_cut=c.owner_cut)]
    ptr = v["bond_ptr"]
    bonds = {row: (c.bond_uids[2 * ptr[k]:2 * ptr[k + 1]], c.bond_values[2 * ptr[k]:2 * ptr[k + 1]])
             for k, row in enumerate(v["bond_rows"])}
    rank, trust, consensus, incentive = v["rank"], v["trust"], v["consensus"], v["incentive"]
    dividends, vtrust, permits, emissions = v["dividends"], v["vtrust"], v["permits"], v["emission"]
    for uid in range(sn.n):
        old = state.neuron(c.netuid, uid)
        assert old is not None
        emission = emissions[uid]
        # u16 and u64 values unpacked from the result's vectors, a bool: what the neuron's fields accept, unchecked
        new = evolve_checked(old, rank=rank[uid], trust=trust[uid], consensus=consensus[uid],
                             incentive=incentive[uid], dividends=dividends[uid], vtrust=vtrust[uid],
                             validator_permit=bool(permits[uid]), emission=emission)
        if uid in bonds:
            bond_uids, bond_values = bonds[uid]
            new = evolve(new, bond_uids=bond_uids, bond_values=bond_values)
        state.put_neuron(c.netuid, new)
        if emission:
            events.append(EmissionPaid(netuid=c.netuid, uid=uid, hotkey=old.hotkey, amount=emission))
    for cr in c.credits:
        if cr.amount:
            state.add_stake(cr.coldkey, cr.hotkey, cr.amount)
            events.append(StakeCredited(coldkey=cr.coldkey, hotkey=cr.hotkey, amount=cr.amount))
    return events


# --- genesis -----------------------------------------------------------------------------------------------------


@handles(Genesis)
def _genesis(_state: State, _ctx: BlockContext, _ext: Extrinsic, _fee: int) -> list[Event]:
    raise SystemCallRejected(reason="genesis is only valid as the single call of block 0")
