"""The user calls: transfers, stake, delegation, subnets and their hyperparameters, registration requests,
weights and axons. Each handler checks everything first and only then writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from . import _economics as econ
from ._calls import (
    AddStake,
    BurnedRegister,
    CreateSubnet,
    Extrinsic,
    Nominate,
    PowRegister,
    RemoveStake,
    ServeAxon,
    SetCommitment,
    SetHyperparameter,
    SetSubnetIdentity,
    SetWeights,
    Transfer,
    check_weight_counts,
    check_weight_shape,
)
from ._codec import evolve, pack
from ._dispatch import BlockContext, addr, check_binding, handles, hotkey_uid, require_free, subnet_of
from ._events import (
    AxonServed,
    CommitmentSet,
    DelegateNominated,
    Event,
    HyperparameterSet,
    RegistrationRequested,
    StakeAdded,
    StakeRemoved,
    SubnetCreated,
    SubnetIdentitySet,
    Transferred,
    WeightsSet,
)
from ._params import HYPERPARAMETER_BOUNDS
from ._state import (
    AxonEndpoint,
    Commitment,
    Neuron,
    PendingRegistration,
    State,
    Subnet,
    SubnetIdentity,
    genesis_subnet,
)
from .errors import (
    AlreadyRegistered,
    BelowExistentialDeposit,
    CommitRevealRequired,
    HotkeyOwnedByOther,
    InsufficientBalance,
    InsufficientStake,
    InvalidCall,
    InvalidHyperparameter,
    NotDelegate,
    NotSubnetOwner,
    NoValidatorPermit,
    ProofOfWorkInvalid,
    RateLimited,
    RegistrationClosed,
    StaleVersionKey,
    SubnetLimitReached,
    UnknownHotkey,
    ZeroTransfer,
)

__all__ = ["MAX_PENDING_REGISTRATIONS", "current_burn", "install_subnet", "subnet_lock_cost"]

MAX_PENDING_REGISTRATIONS = 4096


@handles(Transfer, charges_itself=True)
def _transfer(state: State, _ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: Transfer = ext.call  # type: ignore[assignment]
    src, dest, amount = ext.signer, call.dest, call.amount
    deposit = state.params.existential_deposit
    if deposit:
        # The sender may go down to zero: accounts are never reaped (docs/ledger.md says why).
        if amount == 0:
            raise ZeroTransfer(dest=addr(dest))
        if amount < deposit and dest != src and not state.account_exists(dest):
            raise BelowExistentialDeposit(amount=amount, minimum=deposit)
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


@handles(AddStake)
def _add_stake(state: State, _ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: AddStake = ext.call  # type: ignore[assignment]
    who, hotkey = ext.signer, call.hotkey
    owner = state.owner_of(hotkey)
    if owner is None:
        raise UnknownHotkey(hotkey=addr(hotkey))
    if owner != who and state.take_of(hotkey) is None:
        raise NotDelegate(hotkey=addr(hotkey))
    require_free(state, who, call.amount, fee)
    a = state.account(who)
    state.set_account(who, a.free - call.amount, a.nonce)
    state.add_stake(who, hotkey, call.amount)
    return [StakeAdded(coldkey=who, hotkey=hotkey, amount=call.amount)]


@handles(RemoveStake)
def _remove_stake(state: State, _ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: RemoveStake = ext.call  # type: ignore[assignment]
    who, hotkey = ext.signer, call.hotkey
    if state.owner_of(hotkey) is None:
        raise UnknownHotkey(hotkey=addr(hotkey))
    have = state.stake(who, hotkey)
    if have < call.amount:
        raise InsufficientStake(needed=call.amount, available=have)
    a = state.account(who)
    if a.free + call.amount < fee:
        raise InsufficientBalance(needed=fee, available=a.free + call.amount)
    state.add_stake(who, hotkey, -call.amount)
    state.set_account(who, a.free + call.amount, a.nonce)
    return [StakeRemoved(coldkey=who, hotkey=hotkey, amount=call.amount)]


@handles(Nominate)
def _nominate(state: State, _ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: Nominate = ext.call  # type: ignore[assignment]
    owner = state.owner_of(call.hotkey)
    if owner is None:
        raise UnknownHotkey(hotkey=addr(call.hotkey))
    if owner != ext.signer:
        raise HotkeyOwnedByOther(hotkey=addr(call.hotkey), owner=addr(owner))
    if call.take > state.params.max_take:
        raise InvalidCall(reason=f"take {call.take / 65535:.2%} ({call.take}/65535) is above the chain's maximum "
                                 f"{state.params.max_take / 65535:.2%} ({state.params.max_take}/65535): give a "
                                 "smaller --take")
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


@handles(CreateSubnet)
def _create_subnet(state: State, ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: CreateSubnet = ext.call  # type: ignore[assignment]
    who = ext.signer
    check_binding(state, ctx, who, call.hotkey, call.hotkey_signature)
    lock = subnet_lock_cost(state, ctx.number)
    if lock > call.max_lock:
        raise InvalidCall(reason=f"the subnet lock is {lock} RAO, above your limit of {call.max_lock} RAO")
    netuid = _lowest_free_netuid(state)
    require_free(state, who, lock, fee)
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


@handles(SetHyperparameter)
def _set_hyperparameter(state: State, _ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: SetHyperparameter = ext.call  # type: ignore[assignment]
    sn = subnet_of(state, call.netuid)
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


@handles(SetSubnetIdentity)
def _set_subnet_identity(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: SetSubnetIdentity = ext.call  # type: ignore[assignment]
    sn = subnet_of(state, call.netuid)
    if ext.signer != sn.owner:
        raise NotSubnetOwner(netuid=call.netuid)
    if call.plugin:
        state.put("ident", sn.netuid, SubnetIdentity(plugin=call.plugin, description=call.description, url=call.url,
                                                     block=ctx.number))
    else:
        state.delete("ident", sn.netuid)
    return [SubnetIdentitySet(netuid=sn.netuid, plugin=call.plugin, description=call.description, url=call.url)]


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
    sn = subnet_of(state, call.netuid)
    if not sn.hyper.registration_allowed:
        raise RegistrationClosed(netuid=sn.netuid, reason="the owner has disabled registration")
    check_binding(state, ctx, who, call.hotkey, call.hotkey_signature)
    if state.uid_of(sn.netuid, call.hotkey) is not None or any(p.hotkey == call.hotkey for p in sn.pending):
        raise AlreadyRegistered(hotkey=addr(call.hotkey), netuid=sn.netuid)
    if len(sn.pending) >= MAX_PENDING_REGISTRATIONS:
        raise RegistrationClosed(netuid=sn.netuid, reason="too many registrations are waiting; retry next block")
    return sn


def _request(state: State, ctx: BlockContext, sn: Subnet, who: bytes, hotkey: bytes, paid: int,
             method: str) -> list[Event]:
    req = PendingRegistration(hotkey=hotkey, coldkey=who, paid=paid, method=method, block=ctx.number)
    state.put("subnet", sn.netuid, evolve(sn, pending=(*sn.pending, req)))
    state.put("owner", hotkey, who)
    return [RegistrationRequested(netuid=sn.netuid, hotkey=hotkey, coldkey=who, paid=paid, method=method)]


@handles(BurnedRegister)
def _burned_register(state: State, ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: BurnedRegister = ext.call  # type: ignore[assignment]
    who = ext.signer
    sn = _check_registration(state, ctx, who, call)
    burn = current_burn(sn, ctx.number)
    if burn > call.max_burn:
        raise InvalidCall(reason=f"the burn is {burn} RAO, above your limit of {call.max_burn} RAO")
    require_free(state, who, burn, fee)
    a = state.account(who)
    state.set_account(who, a.free - burn, a.nonce)
    return _request(state, ctx, sn, who, call.hotkey, burn, "burn")


@handles(PowRegister)
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
        return (0,) * len(values)
    twice = 2 * top
    return tuple([(v * 0x1FFFE + top) // twice for v in values])  # 0x1FFFE = 0xFFFF * 2


def _u16_max_upscale_packed(values: Sequence[int]) -> bytes:
    """``pack(_u16_max_upscale(values), "u16")`` computed in numpy (u16 values: every product fits in 64 bits)."""
    top = max(values, default=0)
    if top == 0:
        return bytes(2 * len(values))
    a = np.array(values, dtype=np.uint64)
    return ((a * 0x1FFFE + top) // (2 * top)).astype("<u2").tobytes()


@handles(SetWeights)
def _set_weights(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: SetWeights = ext.call  # type: ignore[assignment]
    sn = subnet_of(state, call.netuid)
    if sn.hyper.commit_reveal_weights_enabled and isinstance(ext, Extrinsic):  # a reveal comes as a _Reveal
        raise CommitRevealRequired(netuid=sn.netuid)
    hotkey = ext.signer
    uid = hotkey_uid(state, sn.netuid, hotkey)
    h = sn.hyper
    if call.version_key < h.weights_version:
        raise StaleVersionKey(required=h.weights_version, got=call.version_key)
    neuron = state.neuron(sn.netuid, uid)
    assert neuron is not None  # the uid index and the neuron table move together
    if neuron.weights_block and ctx.number - neuron.weights_block < h.weights_rate_limit:
        raise RateLimited(what="set_weights", retry_at=neuron.weights_block + h.weights_rate_limit)
    uids, weights = call.uids, call.weights
    check_weight_shape(uids, weights, sn.n)
    self_only = uids == (uid,)
    if not neuron.validator_permit and not self_only:
        raise NoValidatorPermit(netuid=sn.netuid, uid=uid)
    check_weight_counts(uids, weights, n=sn.n, self_only=self_only, min_allowed_weights=h.min_allowed_weights,
                        max_weights_limit=h.max_weights_limit)
    if list(uids) == sorted(uids):  # already by UID (a validator's usual order): nothing to reorder
        sorted_uids, sorted_weights = uids, weights
    else:  # by UID (they are distinct, so sorting the pairs orders by UID alone)
        sorted_uids, sorted_weights = zip(*sorted(zip(uids, weights, strict=True)), strict=True)
    state.put_neuron(sn.netuid, evolve(
        neuron, last_update=ctx.number, weights_block=ctx.number,
        weight_uids=pack(sorted_uids, "u16"), weight_values=_u16_max_upscale_packed(sorted_weights),
    ))
    return [WeightsSet(netuid=sn.netuid, uid=uid, hotkey=hotkey, count=len(uids))]


set_weights_handler = _set_weights
"""The set_weights rules, for reveals (``_weight_commits``): ``ext`` is anything with ``call`` and ``signer``."""


@handles(ServeAxon)
def _serve_axon(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: ServeAxon = ext.call  # type: ignore[assignment]
    sn = subnet_of(state, call.netuid)
    uid = hotkey_uid(state, sn.netuid, ext.signer)
    neuron = state.neuron(sn.netuid, uid)
    assert neuron is not None
    limit = sn.hyper.serving_rate_limit
    if neuron.axon is not None and ctx.number - neuron.axon.block < limit:
        raise RateLimited(what="serve_axon", retry_at=neuron.axon.block + limit)
    axon = AxonEndpoint(ip=call.ip, port=call.port, protocol=call.protocol, version=call.version, block=ctx.number)
    state.put_neuron(sn.netuid, evolve(neuron, axon=axon))
    return [AxonServed(netuid=sn.netuid, uid=uid, hotkey=ext.signer, ip=call.ip, port=call.port,
                       protocol=call.protocol, version=call.version)]


@handles(SetCommitment)
def _set_commitment(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: SetCommitment = ext.call  # type: ignore[assignment]
    sn = subnet_of(state, call.netuid)
    uid = hotkey_uid(state, sn.netuid, ext.signer)
    state.put("commit", (sn.netuid, ext.signer), Commitment(block=ctx.number, data=call.data))
    return [CommitmentSet(netuid=sn.netuid, uid=uid, hotkey=ext.signer, data=call.data)]


def install_subnet(state: State, netuid: int, owner: bytes, hotkey: bytes, hyper: Any) -> None:
    """Create a subnet at genesis (no lock, no signature: the genesis config is trusted)."""
    _install_subnet(state, netuid, owner, hotkey, 0, hyper, lock=0)
