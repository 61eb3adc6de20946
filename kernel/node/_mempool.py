"""The node's mempool: signed extrinsics checked once on entry, waiting in per-account nonce order.

On entry an extrinsic's genesis hash, nonce, signature and funds are checked against the head state plus what the
same account already has waiting; a failure is a typed error returned at once. Sealing takes, for each account in
order of arrival, its run of consecutive nonces, up to a count and a byte budget per block.

Nothing can fill it for good: it holds at most ``limit`` extrinsics, ``max_bytes`` of their encodings, and
``per_signer`` per signer; an extrinsic that pays nothing (no fee, no amount) is only admitted from a key the chain
knows (see :func:`unknown_rule`); when one of a signer's extrinsics is rejected at sealing its later nonces are dropped
at once (they can never apply); and a signer whose first waiting nonce is not its account's next one for
``expire_after`` blocks loses everything it has waiting.
Every check is O(1) per extrinsic (amortised), and the per-block bookkeeping touches only the signers sealed in it
plus the signers due for an expiry check.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from taonet.ledger import (
    AddStake,
    BurnedRegister,
    CreateSubnet,
    Extrinsic,
    SetHyperparameter,
    SetSubnetIdentity,
    State,
    SystemCall,
    Transfer,
    current_burn,
    fee_for,
    ss58_encode,
    subnet_lock_cost,
    verify,
)
from taonet.ledger.errors import (
    BadSignature,
    ExtrinsicRejected,
    FutureNonce,
    InsufficientBalance,
    NotSubnetOwner,
    StaleNonce,
    SubnetNotFound,
    WrongGenesis,
)

from ..errors import AlreadyQueued, MempoolFull, SignerLimit, UnknownSigner

__all__ = ["Mempool", "MempoolFull", "refused_anyway", "unknown_rule"]

_OWNER_CALLS: frozenset[type] = frozenset({SetHyperparameter, SetSubnetIdentity})
"""Calls only the subnet's owner coldkey may sign."""


def _spend(state: State, ext: Extrinsic) -> int:
    """What a call takes from the signer's free balance, besides the fee (an estimate for admission only)."""
    call = ext.call
    t = type(call)
    if t is Transfer or t is AddStake:
        return call.amount  # type: ignore[attr-defined]
    if t is CreateSubnet:
        return subnet_lock_cost(state, state.height + 1)
    if t is BurnedRegister:
        sn = state.subnet(call.netuid)  # type: ignore[attr-defined]
        return 0 if sn is None else current_burn(sn, state.height + 1)
    return 0


def unknown_rule(state: State, ext: Extrinsic) -> str | None:
    """The admission rule a fee-free ``ext`` breaks (None when its signer is a key the chain knows).

    A hotkey call (set_weights, serve_axon) must come from a hotkey registered on its subnet; any other call from a
    key with a free balance, an extrinsic already sealed (a nonce above 0), or an owner (a hotkey bound to a coldkey).
    Creating such keys costs a funded, sealed extrinsic each, so free calls cannot come from an unbounded crowd.
    """
    call, signer = ext.call, ext.signer
    if call.SIGNER == "hotkey":
        netuid = getattr(call, "netuid", None)
        if netuid is None:
            return None if state.owner_of(signer) is not None else "a hotkey bound to a coldkey"
        return None if state.uid_of(netuid, signer) is not None else f"a hotkey registered on subnet {netuid}"
    acct = state.account(signer)
    if acct.free > 0 or acct.nonce > 0 or state.owner_of(signer) is not None:
        return None
    return "a key with a free balance or an extrinsic already sealed"


def refused_anyway(state: State, ext: Extrinsic) -> ExtrinsicRejected | None:
    """What the runtime would refuse ``ext`` for whatever its signer's standing (None: nothing found).

    Checked when a fee-free call breaks :func:`unknown_rule`, so that its refusal names the true reason: a subnet
    that does not exist, or an owner-only call from another key, rather than "fund the key". O(1) lookups only.
    """
    call = ext.call
    netuid = getattr(call, "netuid", None)
    if not isinstance(netuid, int):
        return None
    sn = state.subnet(netuid)
    if sn is None:
        return SubnetNotFound(netuid=netuid)
    if type(call) in _OWNER_CALLS and ext.signer != sn.owner:
        return NotSubnetOwner(netuid=netuid)
    return None


def _advice(ext: Extrinsic) -> str:
    """What makes the node admit a fee-free ``ext`` whose signer :func:`unknown_rule` refused."""
    if ext.call.SIGNER != "hotkey":
        return "fund the key first (a transfer to it)"
    netuid = getattr(ext.call, "netuid", None)
    if netuid is None:
        return "register the hotkey first"
    return f"register the hotkey on subnet {netuid} first (taonet subnet register {netuid})"


class Mempool:
    """Extrinsics waiting for a block, by signer and nonce, bounded in total (count and bytes) and per signer."""

    def __init__(self, *, limit: int = 100_000, per_signer: int = 256, expire_after: int = 10,
                 known_signers_only: bool = True, max_bytes: int = 128 << 20) -> None:
        if limit < 1 or per_signer < 1 or expire_after < 1 or max_bytes < 1:
            raise ValueError("the mempool's limit, per_signer, expire_after and max_bytes must be at least 1")
        self.limit, self.per_signer, self.expire_after = limit, per_signer, expire_after
        self.max_bytes = max_bytes
        self.known_signers_only = known_signers_only
        # signer -> nonce -> extrinsic; the dict's order is the signers' order of arrival
        self._by_signer: dict[bytes, dict[int, Extrinsic]] = {}
        self._spent: dict[bytes, int] = {}
        self._cost: dict[bytes, int] = {}  # extrinsic hash -> what admission counted it to spend
        self._progress: dict[bytes, int] = {}  # signer -> height at which it last arrived or had one sealed
        # (progress height, signer), oldest first; an entry older than the signer's progress is skipped
        self._watch: deque[tuple[int, bytes]] = deque()
        self._count = 0
        self._bytes = 0  # the encodings' sizes summed (each extrinsic keeps its encoding: no re-encoding)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, ext_hash: object) -> bool:
        return ext_hash in self._cost

    @property
    def bytes_held(self) -> int:
        """The encoded size of every waiting extrinsic, summed."""
        return self._bytes

    def waiting(self, signer: bytes) -> int:
        """How many extrinsics of ``signer`` are waiting."""
        return len(self._by_signer.get(signer, ()))

    def admit(self, state: State, genesis: bytes, ext: Extrinsic) -> bool:
        """Check ``ext`` against ``state`` and what its signer has waiting; queue it or raise a typed error.

        Returns True when queued, False when the very same extrinsic (same hash) is already waiting.
        """
        if isinstance(ext.call, SystemCall):
            raise BadSignature(what="system call (only the node's actors answer with those)")
        if ext.genesis != genesis:
            raise WrongGenesis(expected=genesis, got=ext.genesis)
        if ext.hash in self._cost:
            return False
        signer = ext.signer
        waiting = self._by_signer.get(signer, {})
        if len(waiting) >= self.per_signer:
            raise SignerLimit(limit=self.per_signer)
        if self._count >= self.limit:
            raise MempoolFull(limit=self.limit)
        size = len(ext.to_bytes())  # cached since the hash above
        if self._bytes + size > self.max_bytes:
            raise MempoolFull(limit=self.max_bytes, unit="bytes")
        acct = state.account(signer)
        nxt = acct.nonce + len(waiting)
        if ext.nonce < acct.nonce:
            raise StaleNonce(expected=acct.nonce, got=ext.nonce)
        if ext.nonce in waiting:
            raise AlreadyQueued(nonce=ext.nonce)
        if ext.nonce > nxt:
            raise FutureNonce(expected=nxt, got=ext.nonce)
        cost = _spend(state, ext) + fee_for(state, ext.call)
        if not cost and self.known_signers_only:
            rule = unknown_rule(state, ext)
            if rule is not None:
                refusal = refused_anyway(state, ext)
                if refusal is not None:
                    raise refusal
                raise UnknownSigner(signer=ss58_encode(signer), call=type(ext.call).__name__, rule=rule,
                                    advice=_advice(ext))
        if not verify(signer, ext.signed_bytes(), ext.signature):
            raise BadSignature()
        spent = self._spent.get(signer, 0) + cost
        if cost and spent > acct.free:
            raise InsufficientBalance(needed=spent, available=acct.free)
        if not waiting:
            self._by_signer[signer] = waiting
            self._stamp(signer, state.height)
        waiting[ext.nonce] = ext
        self._spent[signer] = spent
        self._cost[ext.hash] = cost
        self._count += 1
        self._bytes += size
        return True

    def ready(self, state: State, *, canonical: bool = False, limit: int | None = None,
              max_bytes: int | None = None) -> Iterator[Extrinsic]:
        """Extrinsics for the next block: per signer, consecutive nonces from its account nonce.

        Signers come in order of arrival, or by public key when ``canonical`` (a deterministic block order for
        ``--clock logical``). Stops after ``limit`` extrinsics, and before the one whose encoding would take the
        total past ``max_bytes`` (the first is always given, however large: nothing waits for ever); what is left
        comes first in the next block, in the same order.
        """
        if max_bytes is not None and self._bytes <= max_bytes:
            max_bytes = None  # the whole pool fits: no extrinsic's size needs reading
        signers = sorted(self._by_signer) if canonical else list(self._by_signer)
        n = used = 0
        for signer in signers:
            waiting = self._by_signer[signer]
            nonce = state.account(signer).nonce
            while nonce in waiting:
                if limit is not None and n >= limit:
                    return
                ext = waiting[nonce]
                if max_bytes is not None:
                    used += len(ext.to_bytes())
                    if used > max_bytes and n:
                        return
                yield ext
                n += 1
                nonce += 1

    def remove(self, exts: list[Extrinsic]) -> None:
        """Forget extrinsics that were sealed or rejected."""
        for ext in exts:
            waiting = self._by_signer.get(ext.signer)
            if waiting is None:
                continue
            held = waiting.get(ext.nonce)
            if held is None or held.hash != ext.hash:  # not this one (another with its nonce is made stale later)
                continue
            del waiting[ext.nonce]
            self._count -= 1
            self._bytes -= len(held.to_bytes())
            self._spent[ext.signer] -= self._cost.pop(ext.hash, 0)
            if not waiting:
                self._forget(ext.signer)

    def after_block(self, state: State, included: list[Extrinsic], rejected: list[Extrinsic]) -> list[Extrinsic]:
        """Bring the pool to the new head ``state``: forget what was sealed, drop what can no longer apply.

        Dropped (and returned): what the new head made stale, every later nonce of a signer with an extrinsic
        ``rejected`` at sealing, and everything of a signer not ready for ``expire_after`` blocks.
        """
        self.remove(included)
        self.remove(rejected)
        dropped: list[Extrinsic] = []
        failed = {x.signer for x in rejected}
        for signer in failed:
            dropped += self._drop_signer(signer)
        for signer in {x.signer for x in included} - failed:
            waiting = self._by_signer.get(signer)
            if waiting is None:
                continue
            n = state.account(signer).nonce - 1
            stale = []
            while n in waiting:  # waiting nonces are consecutive: the stale ones sit right below the account's
                stale.append(waiting[n])
                n -= 1
            self.remove(stale)
            dropped += stale
            if signer in self._by_signer:
                self._stamp(signer, state.height)
        dropped += self._expire(state)
        return dropped

    def _expire(self, state: State) -> list[Extrinsic]:
        """Drop signers without progress for ``expire_after`` blocks whose first waiting nonce cannot apply."""
        dropped: list[Extrinsic] = []
        h = state.height
        while self._watch and self._watch[0][0] <= h - self.expire_after:
            since, signer = self._watch.popleft()
            if self._progress.get(signer) != since:
                continue  # it progressed (or left) since this entry was made
            if state.account(signer).nonce in self._by_signer[signer]:
                self._stamp(signer, h)  # ready, only waiting for room in a block
            else:
                dropped += self._drop_signer(signer)
        return dropped

    def _stamp(self, signer: bytes, height: int) -> None:
        self._progress[signer] = height
        self._watch.append((height, signer))

    def _drop_signer(self, signer: bytes) -> list[Extrinsic]:
        waiting = self._by_signer.get(signer)
        if not waiting:
            return []
        out = [waiting[n] for n in sorted(waiting)]
        self.remove(out)
        return out

    def _forget(self, signer: bytes) -> None:
        del self._by_signer[signer]
        self._spent.pop(signer, None)
        self._progress.pop(signer, None)
