"""The runtime: the pure, deterministic rules that turn a state and a block into the next state and its events.

:class:`BlockBuilder` applies extrinsics one at a time to a fork of the state in pipeline order (system calls
first, then user calls, then the block's own bookkeeping); the node seals blocks with it, and :func:`apply`
replays a sealed block through the very same code. The call handlers live in ``_user_calls`` and
``_system_calls``; every one checks everything first and only then writes, so a rejected extrinsic (a typed
:class:`~taonet.ledger.errors.ExtrinsicRejected`) leaves the state exactly as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import _system_calls, _user_calls, _weight_commits  # noqa: F401 - importing them registers their handlers
from ._block import ZERO_HASH, BlockHeader, SignedBlock, items_root
from ._calls import Extrinsic, SystemCall
from ._codec import embedded_raws, evolve, make_checked, raw_bytes
from ._dispatch import HANDLERS, SELF_CHARGING, BlockContext, charge, fee_for, require_free
from ._events import FINALIZE, EmissionAccrued, Event, EventRecord, FeePaid
from ._keys import Keypair, verify
from ._state import State, with_pot
from ._system_calls import prune_candidate, registrar_answer, required_answers
from ._user_calls import current_burn, install_subnet, subnet_lock_cost
from .errors import (
    BadSignature,
    ExtrinsicRejected,
    FutureNonce,
    InvalidBlock,
    InvalidCall,
    StaleNonce,
    SystemCallRejected,
    WrongGenesis,
)

__all__ = [
    "BlockBuilder",
    "BlockContext",
    "apply",
    "apply_extrinsic",
    "current_burn",
    "fee_for",
    "install_subnet",
    "prune_candidate",
    "registrar_answer",
    "required_answers",
    "subnet_lock_cost",
]

USER_STAGE = 99


# --- extrinsic entry point ------------------------------------------------------------------------------------------


def apply_extrinsic(
    state: State, ext: Extrinsic, ctx: BlockContext, *, check_signature: bool = True
) -> list[Event]:
    """Validate and apply one extrinsic to ``state`` (which it changes only if nothing is rejected)."""
    call = ext.call
    handler = HANDLERS.get(type(call))
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
        fee = fee_for(state, call)
    if check_signature and not verify(ext.signer, ext.signed_bytes(), ext.signature):
        raise BadSignature()
    if fee:
        require_free(state, ext.signer, 0, fee)
    events = handler(state, ctx, ext, fee)
    if isinstance(call, SystemCall):
        return events
    if type(call) not in SELF_CHARGING:
        charge(state, ext.signer, fee)
    if fee:
        events.append(FeePaid(who=ext.signer, amount=fee))
    return events


# --- blocks ------------------------------------------------------------------------------------------------------


_new_record = make_checked(EventRecord)


def _record(phase: int, event: Event) -> EventRecord:
    """``EventRecord(phase=phase, event=event)``: without re-running its validators for what they would accept (an
    event of a registered class, a phase in range), through them otherwise (their error)."""
    if isinstance(event, Event) and hasattr(type(event), "TAG") and type(phase) is int and (
            FINALIZE <= phase <= _MAX_PHASE):
        return _new_record(phase=phase, event=event)
    return EventRecord(phase=phase, event=event)


_MAX_PHASE = 1 << 32  # EventRecord.phase's upper bound


PREVIOUS_TABLES = ("chain", "subnet", "neuron")
"""What the handlers read of the state a block started from (``BlockContext.previous``): the height, the subnets (is an
epoch due) and the neurons (the registrar's pruning rule)."""


class BlockBuilder:
    """Applies extrinsics to a fork of ``state`` for block ``number`` in pipeline order, then seals the block.

    With ``consume`` it applies them to ``state`` itself (no table is copied unless the start's view shares it): for a
    fold that never looks back. ``state`` is then the builder's: after a rejection it is left part-way through.
    """

    def __init__(self, state: State, *, parent: bytes, timestamp: int, genesis: bytes | None = None,
                 consume: bool = False) -> None:
        number = state.height + 1
        if number < 1:
            raise InvalidBlock(number=number, reason="block 0 is made from a genesis config, not built")
        genesis = genesis if genesis is not None else state.get("chain", "genesis", parent if number == 1 else None)
        if genesis is None:
            raise InvalidBlock(number=number, reason="the genesis hash is unknown")
        if consume:  # build on ``state`` itself; the handlers see the block's start through a view of what they read
            self._state = state
            previous = state.view(PREVIOUS_TABLES)
        else:
            self._state = state.fork()
            previous = state
        s = self._state
        self.ctx = BlockContext(number=number, timestamp=timestamp, genesis=genesis, previous=previous)
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
        s.put("chain", "status", evolve(s.status, height=number))

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
        self.records.extend(_record(index, e) for e in events)
        return events

    def _finalize(self) -> None:
        s = self._state
        if self._fees:
            st = s.status
            s.put("chain", "status", evolve(st, issuance=st.issuance - self._fees, burned=st.burned + self._fees))
        subnets = s.subnets()
        if not subnets:
            return
        amount = s.params.block_emission
        share, rest = divmod(amount, len(subnets))
        for i, sn in enumerate(subnets):  # remainder RAO go one each to the lowest netuids
            s.put("subnet", sn.netuid, with_pot(sn, sn.pending_emission + share + (i < rest)))
        st = s.status
        s.put("chain", "status", evolve(st, issuance=st.issuance + amount))
        self.records.append(_record(FINALIZE, EmissionAccrued(amount=amount, subnets=len(subnets))))

    def finish_state(self) -> State:
        """Run the block's bookkeeping and return the new state, without computing a header (roots, digest)."""
        if self._finished:
            raise InvalidBlock(number=self.number, reason="the block is already sealed")
        missing = required_answers(self.ctx.previous) - self._answered
        if missing:
            raise InvalidBlock(number=self.number, reason=f"answers due for block {self.number - 1} are missing: "
                                                          f"{sorted(missing)}")
        self._finalize()
        self._finished = True
        return self._state

    def finish(self) -> tuple[State, BlockHeader]:
        """Run the block's bookkeeping and return the new state and the (unsigned) header."""
        self.finish_state()
        return self._state, self._header(items_root(x.to_bytes() for x in self.extrinsics))

    def _header(self, extrinsics_root: bytes, events_root: bytes | None = None) -> BlockHeader:
        """The header of the finished block, given the root of the extrinsics pushed (and of its event records, when
        known already)."""
        return BlockHeader(
            number=self.number,
            parent=self.parent,
            timestamp=self.ctx.timestamp,
            extrinsics_root=extrinsics_root,
            events_root=items_root(raw_bytes(r) for r in self.records) if events_root is None else events_root,
            state_digest=self._state.digest(),
            author=self._state.params.authority,
        )

    def seal(self, authority: Keypair) -> tuple[SignedBlock, State]:
        """Finish the block and sign it with the authority key."""
        state, header = self.finish()
        if authority.public_key != header.author:
            raise InvalidBlock(number=self.number, reason="the sealing key is not the chain's authority")
        block = SignedBlock(header=header, extrinsics=tuple(self.extrinsics), events=tuple(self.records),
                            signature=authority.sign(header.hash))
        return block, state


def apply(
    state: State, block: SignedBlock, *, parent: bytes | None = None, verify_signatures: bool = True,
    check_header: bool = True, consume: bool = False,
) -> tuple[State, list[EventRecord]]:
    """Re-execute ``block`` on ``state``: the next state and the events, or :class:`InvalidBlock` if it does not follow.

    With ``consume`` the block is applied to ``state`` itself, not to a fork of it (a fold that never looks back:
    no table is copied per block): ``state`` must not be used afterwards, whether the block applies or not.

    ``parent`` is the hash of the previous block (checked against the header when given). With
    ``verify_signatures`` the block's and every extrinsic's signature are checked. Without ``check_header`` the
    recomputed roots and state digest are neither computed nor compared (a reader that trusts the log, and checks
    the digest of the state it finally reaches: the changed entries are folded into the digest then, once).
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
    builder = BlockBuilder(state, parent=h.parent, timestamp=h.timestamp, consume=consume)
    for i, ext in enumerate(block.extrinsics):
        try:
            builder.push(ext, check_signature=verify_signatures)
        except ExtrinsicRejected as e:
            raise InvalidBlock(number=h.number, reason=f"extrinsic {i} is rejected: {e}") from e
    if not check_header:
        return builder.finish_state(), builder.records
    new = builder.finish_state()
    # every extrinsic of the block was pushed, in its order: the root of those pushed is the block's own (computed
    # once, and kept if its roots were checked already); so is the root of the event records re-executed when their
    # bytes are the very bytes the block carries (compared instead of hashed again), else it is hashed from them
    raws = tuple([raw_bytes(r) for r in builder.records])
    header = builder._header(block.extrinsics_root,
                             block.events_root if raws == tuple(embedded_raws(block.events)) else items_root(raws))
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
