"""The node's mempool: signed extrinsics checked once on entry, waiting in per-account nonce order.

On entry an extrinsic's genesis hash, nonce, signature and funds are checked against the head state plus what the
same account already has waiting; a failure is a typed error returned at once. Sealing takes, for each account in
order of arrival, its run of consecutive nonces. The pool is bounded.
"""

from __future__ import annotations

from collections.abc import Iterator

from taonet.ledger import (
    AddStake,
    BurnedRegister,
    CreateSubnet,
    Extrinsic,
    State,
    SystemCall,
    Transfer,
    current_burn,
    fee_for,
    subnet_lock_cost,
    verify,
)
from taonet.ledger.errors import (
    BadSignature,
    FutureNonce,
    InsufficientBalance,
    StaleNonce,
    WrongGenesis,
)

from ..errors import AlreadyQueued, MempoolFull

__all__ = ["Mempool", "MempoolFull"]


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


class Mempool:
    """Extrinsics waiting for a block, by signer and nonce."""

    def __init__(self, *, limit: int = 100_000) -> None:
        self.limit = limit
        self._by_signer: dict[bytes, dict[int, Extrinsic]] = {}
        self._spent: dict[bytes, int] = {}
        self._arrival: dict[bytes, int] = {}
        self._seq = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def waiting(self, signer: bytes) -> int:
        """How many extrinsics of ``signer`` are waiting."""
        return len(self._by_signer.get(signer, ()))

    def admit(self, state: State, genesis: bytes, ext: Extrinsic) -> None:
        """Check ``ext`` against ``state`` and what its signer has waiting; queue it or raise a typed error."""
        if isinstance(ext.call, SystemCall):
            raise BadSignature(what="system call (only the node's actors answer with those)")
        if ext.genesis != genesis:
            raise WrongGenesis(expected=genesis, got=ext.genesis)
        if self._count >= self.limit:
            raise MempoolFull(limit=self.limit)
        signer = ext.signer
        acct = state.account(signer)
        waiting = self._by_signer.get(signer, {})
        nxt = acct.nonce + len(waiting)
        if ext.nonce < acct.nonce:
            raise StaleNonce(expected=acct.nonce, got=ext.nonce)
        if ext.nonce in waiting:
            raise AlreadyQueued(nonce=ext.nonce)
        if ext.nonce > nxt:
            raise FutureNonce(expected=nxt, got=ext.nonce)
        if not verify(signer, ext.signed_bytes(), ext.signature):
            raise BadSignature()
        cost = _spend(state, ext) + fee_for(state, ext.call)
        spent = self._spent.get(signer, 0) + cost
        if cost and spent > acct.free:
            raise InsufficientBalance(needed=spent, available=acct.free)
        if not waiting:
            self._by_signer[signer] = waiting
            self._arrival[signer] = self._seq
            self._seq += 1
        waiting[ext.nonce] = ext
        self._spent[signer] = spent
        self._count += 1

    def ready(self, state: State, *, canonical: bool = False, limit: int | None = None) -> Iterator[Extrinsic]:
        """Extrinsics for the next block: per signer, consecutive nonces from its account nonce.

        Signers come in order of arrival, or by public key when ``canonical`` (a deterministic block order for
        ``--clock logical``). Stops after ``limit`` extrinsics.
        """
        signers = sorted(self._by_signer) if canonical else sorted(self._by_signer, key=self._arrival.__getitem__)
        n = 0
        for signer in signers:
            waiting = self._by_signer[signer]
            nonce = state.account(signer).nonce
            while nonce in waiting:
                if limit is not None and n >= limit:
                    return
                yield waiting[nonce]
                n += 1
                nonce += 1

    def remove(self, exts: list[Extrinsic]) -> None:
        """Forget extrinsics that were sealed or rejected."""
        for ext in exts:
            waiting = self._by_signer.get(ext.signer)
            if waiting is None or waiting.pop(ext.nonce, None) is None:
                continue
            self._count -= 1
            if not waiting:
                del self._by_signer[ext.signer]
                self._spent.pop(ext.signer, None)
                self._arrival.pop(ext.signer, None)

    def prune(self, state: State) -> list[Extrinsic]:
        """Drop what the new head made stale, and recompute what each signer has committed; returns the dropped."""
        dropped: list[Extrinsic] = []
        for signer in list(self._by_signer):
            nonce = state.account(signer).nonce
            waiting = self._by_signer[signer]
            dropped += [waiting[n] for n in sorted(waiting) if n < nonce]
        self.remove(dropped)
        for signer, waiting in self._by_signer.items():
            self._spent[signer] = sum(_spend(state, x) + fee_for(state, x.call) for x in waiting.values())
        return dropped
