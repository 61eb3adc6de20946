"""The runtime: the pure, deterministic rules that turn a state and a block into the next state and its events.

:class:`BlockBuilder` applies extrinsics one at a time to a fork of the state in pipeline order (system calls
first, then user calls, then the block's own bookkeeping); the node seals blocks with it, and :func:`apply`
replays a sealed block through the very same code. Every call handler checks everything first and only then
writes, so a rejected extrinsic (a typed :class:`~taonet.ledger.errors.ExtrinsicRejected`) leaves the state
exactly as it was.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from . import _economics as econ
from ._block import ZERO_HASH, BlockHeader, SignedBlock, items_root
from ._calls import (
    AddStake,
    BurnedRegister,
    Call,
    CreateSubnet,
    DifficultyAdjustment,
    EpochResult,
    Extrinsic,
    Genesis,
    Nominate,
    PowRegister,
    RegistrarAnswer,
    RegistrationRefusal,
    RemoveStake,
    ServeAxon,
    SetHyperparameter,
    SetWeights,
    SystemCall,
    TempoElapsed,
    Transfer,
    UidAssignment,
    hotkey_binding_payload,
)
from ._codec import raw_bytes
from ._consensus import due_netuids, epoch_due
from ._events import (
    FINALIZE,
    AxonServed,
    DelegateNominated,
    DifficultyAdjusted,
    EmissionAccrued,
    EmissionPaid,
    EpochCompleted,
    Event,
    EventRecord,
    FeePaid,
    HyperparameterSet,
    NeuronRegistered,
    NeuronReplaced,
    RegistrationRefused,
    RegistrationRequested,
    StakeAdded,
    StakeCredited,
    StakeRemoved,
    SubnetCreated,
    Transferred,
    WeightsSet,
)
from ._events import TempoElapsed as TempoElapsedEvent
from ._keys import Keypair, ss58_encode, verify
from ._params import HYPERPARAMETER_BOUNDS
from ._state import AxonEndpoint, Neuron, PendingRegistration, State, Subnet, genesis_subnet
from .errors import (
    AlreadyRegistered,
    BadHotkeySignature,
    BadSignature,
    ExtrinsicRejected,
    FutureNonce,
    HotkeyNotRegistered,
    HotkeyOwnedByOther,
    InsufficientBalance,
    InsufficientStake,
    InvalidBlock,
    InvalidCall,
    InvalidHyperparameter,
    InvalidWeights,
    NotDelegate,
    NotSubnetOwner,
    NoValidatorPermit,
    ProofOfWorkInvalid,
    RateLimited,
    RegistrationClosed,
    StaleNonce,
    StaleVersionKey,
    SubnetLimitReached,
    SubnetNotFound,
    SystemCallRejected,
    UnknownHotkey,
    WrongGenesis,
)

__all__ = ["BlockBuilder", "BlockContext", "apply", "registrar_answer"]

MAX_PENDING_REGISTRATIONS = 4096
USER_STAGE = 99
ROOT_NETUID = 0


@attrs.frozen
class BlockContext:
    """What a call handler may know about the block it runs in, including the state the block started from."""

    number: int
    timestamp: int
    genesis: bytes
    previous: State = attrs.field(eq=False, repr=False)


Handler = Callable[[State, BlockContext, Extrinsic, int], list[Event]]
_HANDLERS: dict[type[Call], Handler] = {}
_SELF_CHARGING: set[type[Call]] = set()


def _handles(call_type: type[Call], *, charges_itself: bool = False) -> Callable[[Handler], Handler]:
    def wrap(fn: Handler) -> Handler:
        _HANDLERS[call_type] = fn
        if charges_itself:
            _SELF_CHARGING.add(call_type)
        return fn

    return wrap


def _addr(key: bytes) -> str:
    return ss58_encode(key)


def _fee_for(state: State, call: Call) -> int:
    # Neuron work signed by hotkeys is free (and rate limited instead), as on the real chain.
    if call.SIGNER != "coldkey":
        return 0
    return state.params.extrinsic_fee


def _charge(state: State, who: bytes, fee: int) -> None:
    a = state.account(who)
    state.set_account(who, a.free - fee, a.nonce + 1)


def _require_free(state: State, who: bytes, amount: int, fee: int) -> None:
    free = state.free(who)
    if free < amount + fee:
        raise InsufficientBalance(needed=amount + fee, available=free)


def _subnet(state: State, netuid: int) -> Subnet:
    sn = state.subnet(netuid)
    if sn is None:
        raise SubnetNotFound(netuid=netuid)
    return sn


def _hotkey_uid(state: State, netuid: int, hotkey: bytes) -> int:
    uid = state.uid_of(netuid, hotkey)
    if uid is None:
        raise HotkeyNotRegistered(hotkey=_addr(hotkey), netuid=netuid)
    return uid


def _check_binding(state: State, ctx: BlockContext, coldkey: bytes, hotkey: bytes, signature: bytes) -> None:
    owner = state.owner_of(hotkey)
    if owner is not None and owner != coldkey:
        raise HotkeyOwnedByOther(hotkey=_addr(hotkey), owner=_addr(owner))
    if not verify(hotkey, hotkey_binding_payload(ctx.genesis, coldkey), signature):
        raise BadHotkeySignature(hotkey=_addr(hotkey))


# --- extrinsic entry point ------------------------------------------------------------------------------------------


def apply_extrinsic(
    state: State, ext: Extrinsic, ctx: BlockContext, *, check_signature: bool = True
) -> list[Event]:
    """Validate and apply one extrinsic to ``state`` (which it changes only if nothing is rejected)."""
    call = ext.call
    handler = _HANDLERS.get(type(call))
    if handler is None:
        raise InvalidCall(reason=f"{type(call).__name__} is not a call this runtime executes")
    if ext.genesis != ctx.genesis:
        raise WrongGenesis(expected=ctx.genesis, got=ext.genesis)
    if isinstance(call, SystemCall):
        if ext.signer != state.params.authority:
            raise BadSignature(what="system call (not signed by the authority)")
        if ext.nonce != ctx.number:
            raise StaleNonce(expected=ctx.number, got=ext.nonce)
        fee = 0
    else:
        nonce = state.account(ext.signer).nonce
        if ext.nonce != nonce:
            if ext.nonce < nonce:
                raise StaleNonce(expected=nonce, got=ext.nonce)
            raise FutureNonce(expected=nonce, got=ext.nonce)
        fee = _fee_for(state, call)
    if check_signature and not verify(ext.signer, ext.signed_bytes(), ext.signature):
        raise BadSignature()
    if fee:
        _require_free(state, ext.signer, 0, fee)
    events = handler(state, ctx, ext, fee)
    if isinstance(call, SystemCall):
        return events
    if type(call) not in _SELF_CHARGING:
        _charge(state, ext.signer, fee)
    if fee:
        events.append(FeePaid(who=ext.signer, amount=fee))
    return events


# --- user calls -----------------------------------------------------------------------------------------------------


@_handles(Transfer, charges_itself=True)
def _transfer(state: State, _ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: Transfer = ext.call  # type: ignore[assignment]
    src, dest, amount = ext.signer, call.dest, call.amount
    a = state.account(src)
    if a.free < amount + fee:
        raise InsufficientBalance(needed=amount + fee, available=a.free)
    if dest == src:
        state.set_account(src, a.free - fee, a.nonce + 1)
    else:
        state.set_account(src, a.free - amount - fee, a.nonce + 1)
        b = state.account(dest)
        state.set_account(dest, b.free + amount, b.nonce)
    return [Transferred(src=src, dest=dest, amount=amount)]


@_handles(AddStake)
def _add_stake(state: State, _ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: AddStake = ext.call  # type: ignore[assignment]
    who, hotkey = ext.signer, call.hotkey
    owner = state.owner_of(hotkey)
    if owner is None:
        raise UnknownHotkey(hotkey=_addr(hotkey))
    if owner != who and state.take_of(hotkey) is None:
        raise NotDelegate(hotkey=_addr(hotkey))
    _require_free(state, who, call.amount, fee)
    a = state.account(who)
    state.set_account(who, a.free - call.amount, a.nonce)
    state.add_stake(who, hotkey, call.amount)
    return [StakeAdded(coldkey=who, hotkey=hotkey, amount=call.amount)]


@_handles(RemoveStake)
def _remove_stake(state: State, _ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: RemoveStake = ext.call  # type: ignore[assignment]
    who, hotkey = ext.signer, call.hotkey
    if state.owner_of(hotkey) is None:
        raise UnknownHotkey(hotkey=_addr(hotkey))
    have = state.stake(who, hotkey)
    if have < call.amount:
        raise InsufficientStake(needed=call.amount, available=have)
    a = state.account(who)
    if a.free + call.amount < fee:
        raise InsufficientBalance(needed=fee, available=a.free + call.amount)
    state.add_stake(who, hotkey, -call.amount)
    state.set_account(who, a.free + call.amount, a.nonce)
    return [StakeRemoved(coldkey=who, hotkey=hotkey, amount=call.amount)]


@_handles(Nominate)
def _nominate(state: State, _ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: Nominate = ext.call  # type: ignore[assignment]
    owner = state.owner_of(call.hotkey)
    if owner is None:
        raise UnknownHotkey(hotkey=_addr(call.hotkey))
    if owner != ext.signer:
        raise HotkeyOwnedByOther(hotkey=_addr(call.hotkey), owner=_addr(owner))
    if call.take > state.params.max_take:
        raise InvalidCall(reason=f"take {call.take}/65535 is above the chain's maximum {state.params.max_take}/65535")
    state.put("deleg", call.hotkey, call.take)
    return [DelegateNominated(hotkey=call.hotkey, take=call.take)]


def _lowest_free_netuid(state: State) -> int:
    limit = state.params.max_subnets
    for netuid in range(1, limit + 1):
        if state.subnet(netuid) is None:
            return netuid
    raise SubnetLimitReached(limit=limit)


def subnet_lock_cost(state: State, block: int) -> int:
    """The lock (RAO) creating a subnet costs at ``block``."""
    st, p = state.status, state.params
    return econ.lock_cost(st.last_lock, st.last_lock_block, block, min_lock=p.min_lock, half_life=p.lock_half_life)


@_handles(CreateSubnet)
def _create_subnet(state: State, ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: CreateSubnet = ext.call  # type: ignore[assignment]
    who = ext.signer
    _check_binding(state, ctx, who, call.hotkey, call.hotkey_signature)
    lock = subnet_lock_cost(state, ctx.number)
    if lock > call.max_lock:
        raise InvalidCall(reason=f"the subnet lock is {lock} RAO, above your limit of {call.max_lock} RAO")
    netuid = _lowest_free_netuid(state)
    _require_free(state, who, lock, fee)
    a = state.account(who)
    state.set_account(who, a.free - lock, a.nonce)
    st = state.status
    state.put("chain", "status", attrs.evolve(st, last_lock=lock, last_lock_block=ctx.number))
    _install_subnet(state, netuid, who, call.hotkey, ctx.number, state.params.subnet_defaults, lock=lock)
    return [SubnetCreated(netuid=netuid, owner=who, hotkey=call.hotkey, lock=lock)]


def _install_subnet(state: State, netuid: int, owner: bytes, hotkey: bytes, block: int, hyper: Any, *,
                    lock: int) -> None:
    p = state.params
    sn = genesis_subnet(netuid, owner, hotkey, block, hyper, lock=lock,
                        burn=p.initial_burn, difficulty=p.initial_difficulty)
    state.put("subnet", netuid, attrs.evolve(sn, n=1))
    state.put("owner", hotkey, owner)
    state.put_neuron(netuid, Neuron(uid=0, hotkey=hotkey, coldkey=owner, registered_at=block, last_update=block,
                                    validator_permit=True))


@_handles(SetHyperparameter)
def _set_hyperparameter(state: State, _ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: SetHyperparameter = ext.call  # type: ignore[assignment]
    sn = _subnet(state, call.netuid)
    if ext.signer != sn.owner:
        raise NotSubnetOwner(netuid=call.netuid)
    bounds = HYPERPARAMETER_BOUNDS.get(call.name)
    if bounds is None:
        raise InvalidHyperparameter(name=call.name, reason="no such hyperparameter (see `taonet subnet hparams`)")
    lo, hi = bounds
    if not lo <= call.value <= hi:
        raise InvalidHyperparameter(name=call.name, reason=f"{call.value} is outside [{lo}, {hi}]")
    current = getattr(sn.hyper, call.name)
    value: int | bool = bool(call.value) if isinstance(current, bool) else call.value
    hyper = attrs.evolve(sn.hyper, **{call.name: value})
    _check_consistent(hyper, sn, call.name)
    state.put("subnet", sn.netuid, attrs.evolve(sn, hyper=hyper))
    return [HyperparameterSet(netuid=sn.netuid, name=call.name, value=call.value)]


def _check_consistent(h: Any, sn: Subnet, name: str) -> None:
    pairs = (("alpha_low", "alpha_high"), ("min_burn", "max_burn"), ("min_difficulty", "max_difficulty"),
             ("max_allowed_validators", "max_allowed_uids"))
    for lo, hi in pairs:
        if getattr(h, lo) > getattr(h, hi):
            raise InvalidHyperparameter(name=name,
                                        reason=f"{lo} ({getattr(h, lo)}) would exceed {hi} ({getattr(h, hi)})")
    if h.max_allowed_uids < sn.n:
        raise InvalidHyperparameter(name=name, reason=f"max_allowed_uids cannot go below the {sn.n} UIDs in use")


def current_burn(sn: Subnet, block: int) -> int:
    """The burn (RAO) a registration on ``sn`` pays at ``block``."""
    h = sn.hyper
    return econ.current_burn(sn.burn, sn.burn_block, block, half_life=h.burn_half_life, min_burn=h.min_burn,
                             max_burn=h.max_burn)


def _check_registration(state: State, ctx: BlockContext, who: bytes, call: Any) -> Subnet:
    sn = _subnet(state, call.netuid)
    if not sn.hyper.registration_allowed:
        raise RegistrationClosed(netuid=sn.netuid, reason="the owner has disabled registration")
    _check_binding(state, ctx, who, call.hotkey, call.hotkey_signature)
    if state.uid_of(sn.netuid, call.hotkey) is not None or any(p.hotkey == call.hotkey for p in sn.pending):
        raise AlreadyRegistered(hotkey=_addr(call.hotkey), netuid=sn.netuid)
    if len(sn.pending) >= MAX_PENDING_REGISTRATIONS:
        raise RegistrationClosed(netuid=sn.netuid, reason="too many registrations are waiting; retry next block")
    return sn


def _request(state: State, ctx: BlockContext, sn: Subnet, who: bytes, hotkey: bytes, paid: int,
             method: str) -> list[Event]:
    req = PendingRegistration(hotkey=hotkey, coldkey=who, paid=paid, method=method, block=ctx.number)
    state.put("subnet", sn.netuid, attrs.evolve(sn, pending=(*sn.pending, req)))
    state.put("owner", hotkey, who)
    return [RegistrationRequested(netuid=sn.netuid, hotkey=hotkey, coldkey=who, paid=paid, method=method)]


@_handles(BurnedRegister)
def _burned_register(state: State, ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: BurnedRegister = ext.call  # type: ignore[assignment]
    who = ext.signer
    sn = _check_registration(state, ctx, who, call)
    burn = current_burn(sn, ctx.number)
    if burn > call.max_burn:
        raise InvalidCall(reason=f"the burn is {burn} RAO, above your limit of {call.max_burn} RAO")
    _require_free(state, who, burn, fee)
    a = state.account(who)
    state.set_account(who, a.free - burn, a.nonce)
    return _request(state, ctx, sn, who, call.hotkey, burn, "burn")


@_handles(PowRegister)
def _pow_register(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: PowRegister = ext.call  # type: ignore[assignment]
    who = ext.signer
    sn = _check_registration(state, ctx, who, call)
    if not sn.hyper.pow_registration_allowed:
        raise RegistrationClosed(netuid=sn.netuid, reason="proof-of-work registration is disabled")
    window = state.params.pow_window
    if not ctx.number - window <= call.block_number < ctx.number:
        raise ProofOfWorkInvalid(reason=f"block {call.block_number} is not within the last {window} blocks")
    block_hash = state.get("hash", call.block_number)
    if block_hash is None:
        raise ProofOfWorkInvalid(reason=f"block {call.block_number} is not known")
    if not econ.pow_ok(block_hash, call.hotkey, call.nonce, sn.difficulty):
        raise ProofOfWorkInvalid(reason=f"the work does not meet difficulty {sn.difficulty}")
    return _request(state, ctx, sn, who, call.hotkey, 0, "pow")


def _u16_max_upscale(values: Sequence[int]) -> tuple[int, ...]:
    top = max(values, default=0)
    if top == 0:
        return tuple(0 for _ in values)
    return tuple((v * 0xFFFF * 2 + top) // (2 * top) for v in values)


@_handles(SetWeights)
def _set_weights(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: SetWeights = ext.call  # type: ignore[assignment]
    sn = _subnet(state, call.netuid)
    hotkey = ext.signer
    uid = _hotkey_uid(state, sn.netuid, hotkey)
    h = sn.hyper
    if call.version_key < h.weights_version:
        raise StaleVersionKey(required=h.weights_version, got=call.version_key)
    neuron = state.neuron(sn.netuid, uid)
    assert neuron is not None  # the uid index and the neuron table move together
    if neuron.weights_block and ctx.number - neuron.weights_block < h.weights_rate_limit:
        raise RateLimited(what="set_weights", retry_at=neuron.weights_block + h.weights_rate_limit)
    uids, weights = call.uids, call.weights
    if len(uids) != len(weights):
        raise InvalidWeights(reason=f"{len(uids)} uids but {len(weights)} weights")
    if len(uids) > sn.n:
        raise InvalidWeights(reason=f"too many: {len(uids)} weights for a subnet of {sn.n} UIDs")
    if len(set(uids)) != len(uids):
        raise InvalidWeights(reason="duplicate uids")
    unknown = [u for u in uids if u >= sn.n]
    if unknown:
        raise InvalidWeights(reason=f"unknown uids {unknown[:5]} (the subnet has {sn.n} UIDs)")
    self_only = uids == (uid,)
    if not neuron.validator_permit and not self_only:
        raise NoValidatorPermit(netuid=sn.netuid, uid=uid)
    need = min(h.min_allowed_weights, sn.n)
    if len(uids) < need and not self_only:
        raise InvalidWeights(reason=f"too few: {len(uids)} weights, the subnet requires at least {need}")
    total = sum(weights)
    if h.max_weights_limit < 0xFFFF and total and len(uids) > 1:
        top = max(weights) * 0xFFFF // total
        if top > h.max_weights_limit:
            raise InvalidWeights(reason=f"a weight of {top}/65535 is above the max weight {h.max_weights_limit}/65535")
    order = sorted(range(len(uids)), key=uids.__getitem__)
    stored = _u16_max_upscale([weights[i] for i in order])
    state.put_neuron(sn.netuid, attrs.evolve(
        neuron, last_update=ctx.number, weights_block=ctx.number,
        weight_uids=[uids[i] for i in order], weight_values=stored,
    ))
    return [WeightsSet(netuid=sn.netuid, uid=uid, hotkey=hotkey, count=len(uids))]


@_handles(ServeAxon)
def _serve_axon(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: ServeAxon = ext.call  # type: ignore[assignment]
    sn = _subnet(state, call.netuid)
    uid = _hotkey_uid(state, sn.netuid, ext.signer)
    neuron = state.neuron(sn.netuid, uid)
    assert neuron is not None
    limit = sn.hyper.serving_rate_limit
    if neuron.axon is not None and ctx.number - neuron.axon.block < limit:
        raise RateLimited(what="serve_axon", retry_at=neuron.axon.block + limit)
    axon = AxonEndpoint(ip=call.ip, port=call.port, protocol=call.protocol, version=call.version, block=ctx.number)
    state.put_neuron(sn.netuid, attrs.evolve(neuron, axon=axon))
    return [AxonServed(netuid=sn.netuid, uid=uid, hotkey=ext.signer, ip=call.ip, port=call.port,
                       protocol=call.protocol, version=call.version)]


# --- the registrar: registration answers --------------------------------------------------------------------------


def prune_candidate(state: State, sn: Subnet, block: int, exclude: set[int]) -> int | None:
    """The UID a registration into the full subnet ``sn`` replaces at ``block`` (DESIGN.md "Economics").

    Lowest emission at the last epoch among neurons past their immunity period; ties go to the earliest
    registration, then the lowest UID; if every neuron is immune, the same rule over the immune ones. The owner's
    UID is never chosen, nor any UID in ``exclude`` (those assigned earlier in the same answer).
    """
    immune_period = sn.hyper.immunity_period
    best_open: tuple[int, int, int] | None = None
    best_immune: tuple[int, int, int] | None = None
    for uid in range(sn.n):
        if uid in exclude:
            continue
        n = state.neuron(sn.netuid, uid)
        if n is None or n.hotkey == sn.owner_hotkey:
            continue
        key = (n.emission, n.registered_at, uid)
        if block - n.registered_at < immune_period:
            if best_immune is None or key < best_immune:
                best_immune = key
        elif best_open is None or key < best_open:
            best_open = key
    best = best_open or best_immune
    return None if best is None else best[2]


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


@_handles(RegistrarAnswer)
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
        state.put("subnet", sn.netuid, attrs.evolve(sn, n=n, burn=burn, burn_block=burn_block,
                                                    registrations_this_interval=regs, pending=()))
    for d in call.difficulties:
        sn = state.subnet(d.netuid)
        assert sn is not None
        state.put("subnet", d.netuid, attrs.evolve(sn, difficulty=d.difficulty, registrations_this_interval=0,
                                                   last_adjustment=call.block))
        events.append(DifficultyAdjusted(netuid=d.netuid, difficulty=d.difficulty))
    if burned:
        st = state.status
        state.put("chain", "status", attrs.evolve(st, issuance=st.issuance - burned, burned=st.burned + burned))
    return events


# --- tempo and epochs ------------------------------------------------------------------------------------------


def required_answers(previous: State) -> set[tuple[object, ...]]:
    """The system-call keys a block must hold, given the state it starts from (lockstep: every due answer)."""
    keys: set[tuple[object, ...]] = set()
    for netuid in due_netuids(previous):
        keys.add((TempoElapsed.TAG, netuid))
        keys.add((EpochResult.TAG, netuid))
    if not registrar_answer(previous).is_empty:
        keys.add((RegistrarAnswer.TAG,))
    return keys


def _due_subnet(ctx: BlockContext, netuid: int, block: int) -> Subnet:
    sn = ctx.previous.subnet(netuid)
    if block != ctx.number - 1 or sn is None or not epoch_due(netuid, sn.hyper.tempo, block):
        raise SystemCallRejected(reason=f"no epoch of subnet {netuid} is due at block {block}")
    return sn


@_handles(TempoElapsed)
def _tempo_elapsed(_state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: TempoElapsed = ext.call  # type: ignore[assignment]
    _due_subnet(ctx, call.netuid, call.block)
    return [TempoElapsedEvent(netuid=call.netuid, block=call.block)]


def _check_epoch_result(state: State, sn: Subnet, c: EpochResult, v: dict[str, list[int]]) -> None:
    """Check what the runtime can of an epoch result (shapes, the pot paid exactly, credits to real stakers)."""
    n = sn.n
    for name in ("rank", "trust", "consensus", "incentive", "dividends", "vtrust", "permits", "emission"):
        if len(v[name]) != n:
            raise SystemCallRejected(reason=f"epoch result: {name} has {len(v[name])} values for {n} UIDs")
    permits = v["permits"]
    if any(x > 1 for x in permits):
        raise SystemCallRejected(reason="epoch result: permits must be 0 or 1")
    owner_uid = state.uid_of(sn.netuid, sn.owner_hotkey)
    if owner_uid is not None and not permits[owner_uid]:
        raise SystemCallRejected(reason="epoch result: the owner's UID must hold a permit")
    if sum(permits) > sn.hyper.max_allowed_validators + (owner_uid is not None):
        raise SystemCallRejected(reason="epoch result: more permits than max_allowed_validators")
    rows, ptr, buids = v["bond_rows"], v["bond_ptr"], v["bond_uids"]
    if (len(ptr) != len(rows) + 1 or ptr[0] != 0 or ptr[-1] != len(buids) or len(buids) != len(v["bond_values"])
            or any(a > b for a, b in itertools.pairwise(ptr)) or list(rows) != sorted(set(rows))
            or any(r >= n for r in rows) or any(u >= n for u in buids)):
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


@_handles(EpochResult)
def _epoch_result(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    c: EpochResult = ext.call  # type: ignore[assignment]
    _due_subnet(ctx, c.netuid, c.block)
    sn = state.subnet(c.netuid)
    assert sn is not None
    v = c.vectors()
    _check_epoch_result(state, sn, c, v)
    events: list[Event] = [EpochCompleted(netuid=c.netuid, block=c.block, pot=c.pot, owner_cut=c.owner_cut)]
    ptr = v["bond_ptr"]
    bonds = {row: (c.bond_uids[2 * ptr[k]:2 * ptr[k + 1]], c.bond_values[2 * ptr[k]:2 * ptr[k + 1]])
             for k, row in enumerate(v["bond_rows"])}
    for uid in range(sn.n):
        old = state.neuron(c.netuid, uid)
        assert old is not None
        emission = v["emission"][uid]
        changes = dict(rank=v["rank"][uid], trust=v["trust"][uid], consensus=v["consensus"][uid],
                       incentive=v["incentive"][uid], dividends=v["dividends"][uid], vtrust=v["vtrust"][uid],
                       validator_permit=bool(v["permits"][uid]), emission=emission)
        if uid in bonds:
            changes["bond_uids"], changes["bond_values"] = bonds[uid]
        state.put_neuron(c.netuid, attrs.evolve(old, **changes))
        if emission:
            events.append(EmissionPaid(netuid=c.netuid, uid=uid, hotkey=old.hotkey, amount=emission))
    for cr in c.credits:
        if cr.amount:
            state.add_stake(cr.coldkey, cr.hotkey, cr.amount)
            events.append(StakeCredited(coldkey=cr.coldkey, hotkey=cr.hotkey, amount=cr.amount))
    if c.owner_cut:
        a = state.account(sn.owner)
        state.set_account(sn.owner, a.free + c.owner_cut, a.nonce)
    state.put("subnet", c.netuid, attrs.evolve(sn, pending_emission=0, last_epoch=c.block))
    return events


# --- genesis -----------------------------------------------------------------------------------------------------


@_handles(Genesis)
def _genesis(_state: State, _ctx: BlockContext, _ext: Extrinsic, _fee: int) -> list[Event]:
    raise SystemCallRejected(reason="genesis is only valid as the single call of block 0")


# --- blocks ------------------------------------------------------------------------------------------------------


class BlockBuilder:
    """Applies extrinsics to a fork of ``state`` for block ``number`` in pipeline order, then seals the block."""

    def __init__(self, state: State, *, parent: bytes, timestamp: int, genesis: bytes | None = None) -> None:
        number = state.height + 1
        if number < 1:
            raise InvalidBlock(number=number, reason="block 0 is made from a genesis config, not built")
        self._state = state.fork()
        s = self._state
        genesis = genesis if genesis is not None else s.get("chain", "genesis", parent if number == 1 else None)
        if genesis is None:
            raise InvalidBlock(number=number, reason="the genesis hash is unknown")
        self.ctx = BlockContext(number=number, timestamp=timestamp, genesis=genesis, previous=state)
        self.parent = parent
        self.extrinsics: list[Extrinsic] = []
        self.records: list[EventRecord] = []
        self._stage = 0  # the ORDER of the last system call pushed; user calls are stage 99
        self._answered: set[tuple[object, ...]] = set()
        self._fees = 0  # burned at the end of the block
        self._finished = False
        # begin: remember the parent hash (proof of work uses recent hashes), advance the height
        if number == 1:
            s.put("chain", "genesis", genesis)
        s.put("hash", number - 1, parent)
        s.delete("hash", number - 1 - s.params.pow_window)
        s.put("chain", "status", attrs.evolve(s.status, height=number))

    @property
    def state(self) -> State:
        """The state as of the extrinsics pushed so far (read only)."""
        return self._state

    @property
    def number(self) -> int:
        """The number of the block being built."""
        return self.ctx.number

    def push(self, ext: Extrinsic, *, check_signature: bool = True) -> list[Event]:
        """Apply one extrinsic; raises :class:`ExtrinsicRejected` (state untouched) if it may not enter the block."""
        if self._finished:
            raise InvalidBlock(number=self.number, reason="the block is already sealed")
        call = ext.call
        key = None
        if isinstance(call, SystemCall):
            stage = call.ORDER
            key = call.answer_key()
            if key in self._answered:
                raise SystemCallRejected(reason=f"{type(call).__name__} {key[1:]} was already answered in this block")
        else:
            stage = USER_STAGE
        if stage < self._stage:
            raise SystemCallRejected(reason="system calls come first, in the order scheduler, consensus, registrar")
        events = apply_extrinsic(self._state, ext, self.ctx, check_signature=check_signature)
        self._stage = stage
        if key is not None:
            self._answered.add(key)
        if events and type(events[-1]) is FeePaid:
            self._fees += events[-1].amount
        index = len(self.extrinsics)
        self.extrinsics.append(ext)
        self.records.extend(EventRecord(phase=index, event=e) for e in events)
        return events

    def _finalize(self) -> None:
        s = self._state
        if self._fees:
            st = s.status
            s.put("chain", "status", attrs.evolve(st, issuance=st.issuance - self._fees, burned=st.burned + self._fees))
        subnets = s.subnets()
        if not subnets:
            return
        amount = s.params.block_emission
        share, rest = divmod(amount, len(subnets))
        for i, sn in enumerate(subnets):  # remainder RAO go one each to the lowest netuids
            s.put("subnet", sn.netuid, attrs.evolve(sn, pending_emission=sn.pending_emission + share + (i < rest)))
        st = s.status
        s.put("chain", "status", attrs.evolve(st, issuance=st.issuance + amount))
        self.records.append(EventRecord(phase=FINALIZE, event=EmissionAccrued(amount=amount, subnets=len(subnets))))

    def finish(self) -> tuple[State, BlockHeader]:
        """Run the block's bookkeeping and return the new state and the (unsigned) header."""
        if self._finished:
            raise InvalidBlock(number=self.number, reason="the block is already sealed")
        missing = required_answers(self.ctx.previous) - self._answered
        if missing:
            raise InvalidBlock(number=self.number, reason=f"answers due for block {self.number - 1} are missing: "
                                                          f"{sorted(missing)}")
        self._finalize()
        self._finished = True
        header = BlockHeader(
            number=self.number,
            parent=self.parent,
            timestamp=self.ctx.timestamp,
            extrinsics_root=items_root(x.to_bytes() for x in self.extrinsics),
            events_root=items_root(raw_bytes(r) for r in self.records),
            state_digest=self._state.digest(),
            author=self._state.params.authority,
        )
        return self._state, header

    def seal(self, authority: Keypair) -> tuple[SignedBlock, State]:
        """Finish the block and sign it with the authority key."""
        state, header = self.finish()
        if authority.public_key != header.author:
            raise InvalidBlock(number=self.number, reason="the sealing key is not the chain's authority")
        block = SignedBlock(header=header, extrinsics=tuple(self.extrinsics), events=tuple(self.records),
                            signature=authority.sign(header.hash))
        return block, state


def apply(
    state: State, block: SignedBlock, *, parent: bytes | None = None, verify_signatures: bool = True
) -> tuple[State, list[EventRecord]]:
    """Re-execute ``block`` on ``state``: the next state and the events, or :class:`InvalidBlock` if it does not follow.

    ``parent`` is the hash of the previous block (checked against the header when given). With
    ``verify_signatures`` the block's and every extrinsic's signature are checked.
    """
    h = block.header
    if h.number != state.height + 1:
        raise InvalidBlock(number=h.number, reason=f"expected block {state.height + 1}")
    if parent is not None and h.parent != parent:
        raise InvalidBlock(number=h.number, reason="its parent hash is not the previous block's hash")
    if h.author != state.params.authority:
        raise InvalidBlock(number=h.number, reason="its author is not the chain's authority")
    if verify_signatures and not block.signature_ok():
        raise InvalidBlock(number=h.number, reason="the authority's signature does not verify")
    builder = BlockBuilder(state, parent=h.parent, timestamp=h.timestamp)
    for i, ext in enumerate(block.extrinsics):
        try:
            builder.push(ext, check_signature=verify_signatures)
        except ExtrinsicRejected as e:
            raise InvalidBlock(number=h.number, reason=f"extrinsic {i} is rejected: {e}") from e
    new, header = builder.finish()
    if header != h:
        what = [f for f in ("extrinsics_root", "events_root", "state_digest") if getattr(header, f) != getattr(h, f)]
        raise InvalidBlock(number=h.number, reason=f"recomputed {', '.join(what) or 'header'} differs")
    return new, builder.records


def genesis_header_state(state: State, records: Sequence[EventRecord], genesis_ext: Extrinsic, timestamp: int
                         ) -> BlockHeader:
    """The header of block 0 for a state built from a genesis config."""
    return BlockHeader(
        number=0, parent=ZERO_HASH, timestamp=timestamp,
        extrinsics_root=items_root([genesis_ext.to_bytes()]),
        events_root=items_root(raw_bytes(r) for r in records),
        state_digest=state.digest(), author=state.params.authority,
    )


def install_subnet(state: State, netuid: int, owner: bytes, hotkey: bytes, hyper: Any) -> None:
    """Create a subnet at genesis (no lock, no signature: the genesis config is trusted)."""
    _install_subnet(state, netuid, owner, hotkey, 0, hyper, lock=0)

