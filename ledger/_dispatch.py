"""The runtime's dispatch table and what every call handler shares: the block context, fees, common checks.

A handler is ``handler(state, ctx, extrinsic, fee) -> events``: it checks everything first and only then writes, so
a rejection (a typed :class:`~taonet.ledger.errors.ExtrinsicRejected`) leaves the state exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ._calls import Call, Extrinsic, hotkey_binding_payload
from ._events import Event
from ._keys import ss58_encode, verify
from ._state import State, Subnet
from .errors import (
    BadHotkeySignature,
    HotkeyNotRegistered,
    HotkeyOwnedByOther,
    InsufficientBalance,
    SubnetNotFound,
)

__all__ = ["HANDLERS", "SELF_CHARGING", "BlockContext", "Handler", "handles"]


@attrs.frozen
class BlockContext:
    """What a call handler may know about the block it runs in, including the state the block started from.

    When the block is applied in place (``apply(..., consume=True)``) ``previous`` is a view holding only the tables
    in ``_runtime.PREVIOUS_TABLES``: a handler reading another table of it must add that table there.
    """

    number: int
    timestamp: int
    genesis: bytes
    previous: State = attrs.field(eq=False, repr=False)


Handler = Callable[[State, BlockContext, Extrinsic, int], list[Event]]
HANDLERS: dict[type[Call], Handler] = {}
SELF_CHARGING: set[type[Call]] = set()


def handles(call_type: type[Call], *, charges_itself: bool = False) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the handler of ``call_type`` (``charges_itself``: it bumps the nonce and takes the fee)."""

    def wrap(fn: Handler) -> Handler:
        HANDLERS[call_type] = fn
        if charges_itself:
            SELF_CHARGING.add(call_type)
        return fn

    return wrap


def addr(key: bytes) -> str:
    """The SS58 address of a key, for error messages."""
    return ss58_encode(key)


def fee_for(state: State, call: Call) -> int:
    """The fee ``call`` pays."""
    # Neuron work signed by hotkeys is free (and rate limited instead), as on the real chain.
    if call.SIGNER != "coldkey":
        return 0
    return state.params.extrinsic_fee


def charge(state: State, who: bytes, fee: int) -> None:
    """Take the fee from ``who`` and bump its nonce."""
    a = state.account(who)
    state.set_account(who, a.free - fee, a.nonce + 1)


def require_free(state: State, who: bytes, amount: int, fee: int) -> None:
    """Raise InsufficientBalance unless ``who`` can pay ``amount`` plus ``fee``."""
    free = state.free(who)
    if free < amount + fee:
        raise InsufficientBalance(needed=amount + fee, available=free)


def subnet_of(state: State, netuid: int) -> Subnet:
    """The subnet, or SubnetNotFound."""
    sn = state.subnet(netuid)
    if sn is None:
        raise SubnetNotFound(netuid=netuid)
    return sn


def hotkey_uid(state: State, netuid: int, hotkey: bytes) -> int:
    """The hotkey's UID on ``netuid``, or HotkeyNotRegistered."""
    uid = state.uid_of(netuid, hotkey)
    if uid is None:
        raise HotkeyNotRegistered(hotkey=addr(hotkey), netuid=netuid)
    return uid


def check_binding(state: State, ctx: BlockContext, coldkey: bytes, hotkey: bytes, signature: bytes) -> None:
    """Raise unless ``hotkey`` may be bound to ``coldkey`` and signed its consent."""
    owner = state.owner_of(hotkey)
    if owner is not None and owner != coldkey:
        raise HotkeyOwnedByOther(hotkey=addr(hotkey), owner=addr(owner))
    if not verify(hotkey, hotkey_binding_payload(ctx.genesis, coldkey), signature):
        raise BadHotkeySignature(hotkey=addr(hotkey))
