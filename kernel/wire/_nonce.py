"""Request nonces: freshness window and replay memory, in bounded space.

A nonce is the caller's clock in ns since the epoch. It is fresh when it is no older than ``past_s`` plus the
request's timeout and no more than ``future_s`` ahead of this clock. A fresh nonce is refused if it was already
accepted from the same (hotkey, dendrite uuid). Requests may arrive in any order, so the memory is a set per caller,
not a high-water mark.

Space is bounded two ways:

- per caller, at most ``per_caller`` nonces are remembered; when one more arrives, the oldest is forgotten and becomes
  the caller's *floor*, and anything at or below the floor is refused (a caller would need more than ``per_caller``
  requests in flight at once to be hurt by this);
- overall, at most ``max_entries`` nonces are remembered; nonces expire once no timeout could make them fresh again
  (``past_s + max_timeout_s``), and when the memory is full of unexpired nonces new requests are refused with
  :class:`~taonet.kernel.errors.Overloaded` rather than risking a replay.

Callers come and go (each ``taonet query`` is a new dendrite, so a new caller): every new caller forgets up to
:data:`EXPIRE_PER_NEW_CALLER` of the least recently active callers whose nonces have all expired, so the memory holds
roughly the callers of the last ``past_s + max_timeout_s`` seconds, instead of filling up with idle ones until it is
full and then walking all of them in one go (0.6 s at the default size, on the event loop).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from typing import Final, final

from ..errors import Overloaded, ReplayedRequest, StaleRequest

__all__ = ["EXPIRE_PER_NEW_CALLER", "NonceGuard"]

_NS: Final = 1_000_000_000
EXPIRE_PER_NEW_CALLER: Final = 2
"""Idle callers a new caller's first nonce forgets at most (more than one: idle callers drain faster than new ones
come)."""


@final
class _Caller:
    __slots__ = ("floor", "heap", "newest", "seen")

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.heap: list[int] = []
        self.floor = -1
        self.newest = 0


@final
class NonceGuard:
    """Checks that request nonces are fresh and unseen, remembering a bounded number of them."""

    __slots__ = ("_callers", "_future_ns", "_max_entries", "_max_timeout_s", "_past_ns", "_per_caller",
                 "_retention_ns", "_total")

    def __init__(
        self, *, past_s: float = 10.0, future_s: float = 2.0, max_timeout_s: float = 60.0,
        per_caller: int = 4096, max_entries: int = 1 << 19,
    ) -> None:
        if per_caller < 1 or max_entries < per_caller:
            raise ValueError("need 1 <= per_caller <= max_entries")
        self._past_ns = int(past_s * _NS)
        self._future_ns = int(future_s * _NS)
        self._max_timeout_s = max_timeout_s
        self._retention_ns = int((past_s + max_timeout_s) * _NS)
        self._per_caller = per_caller
        self._max_entries = max_entries
        self._callers: OrderedDict[tuple[bytes, str], _Caller] = OrderedDict()
        self._total = 0

    def __len__(self) -> int:
        return self._total

    def check(self, hotkey: bytes, uuid: str, nonce: int, timeout_s: float, now_ns: int) -> None:
        """Raise StaleRequest or ReplayedRequest unless ``nonce`` is fresh and unseen (records nothing).

        ``timeout_s`` is capped at ``max_timeout_s``: the timeout header is not signed, so an inflated one must not
        stretch the window past what the memory covers.
        """
        age = now_ns - nonce
        window = self._past_ns + int(min(timeout_s, self._max_timeout_s) * _NS)
        if age > window or -age > self._future_ns:
            raise StaleRequest(age_s=age / _NS, window_s=window / _NS)
        c = self._callers.get((hotkey, uuid))
        if c is not None:
            if nonce in c.seen:
                raise ReplayedRequest()
            if nonce <= c.floor:
                raise ReplayedRequest(
                    f"nonce is older than the {self._per_caller} newest from this caller, so it may be a replay"
                )

    def admit(self, hotkey: bytes, uuid: str, nonce: int, timeout_s: float, now_ns: int) -> None:
        """Check and record ``nonce`` in one call (raises like :meth:`check` and :meth:`record`).

        Use it wherever anything was awaited since an earlier :meth:`check`: a concurrent copy of the same request
        may have been recorded meanwhile, and only a check made in the same step as the record refuses it.
        """
        self.check(hotkey, uuid, nonce, timeout_s, now_ns)
        self.record(hotkey, uuid, nonce, now_ns)

    def record(self, hotkey: bytes, uuid: str, nonce: int, now_ns: int) -> None:
        """Remember an accepted nonce; raises Overloaded when the memory is full of unexpired nonces."""
        key = (hotkey, uuid)
        callers = self._callers
        c = callers.get(key)
        if c is None:
            self._expire_idle(now_ns, EXPIRE_PER_NEW_CALLER)
            if self._total >= self._max_entries:
                self._expire(now_ns)
                if self._total >= self._max_entries:
                    raise Overloaded("the axon's nonce memory is full; retry in a few seconds")
            c = callers[key] = _Caller()
        else:
            callers.move_to_end(key)
            self._prune(c, now_ns)
            if self._total >= self._max_entries:
                self._expire(now_ns)
                if self._total >= self._max_entries:
                    raise Overloaded("the axon's nonce memory is full; retry in a few seconds")
        c.seen.add(nonce)
        heapq.heappush(c.heap, nonce)
        self._total += 1
        if nonce > c.newest:
            c.newest = nonce
        if len(c.heap) > self._per_caller:
            old = heapq.heappop(c.heap)
            c.seen.discard(old)
            self._total -= 1
            if old > c.floor:
                c.floor = old

    def _prune(self, c: _Caller, now_ns: int) -> None:
        cutoff = now_ns - self._retention_ns
        heap = c.heap
        while heap and heap[0] < cutoff:
            c.seen.discard(heapq.heappop(heap))
            self._total -= 1

    def _expire_idle(self, now_ns: int, most: int) -> None:
        """Forget at most ``most`` of the least recently active callers whose newest nonce can no longer be fresh."""
        cutoff = now_ns - self._retention_ns - self._future_ns
        callers = self._callers
        for _ in range(most):
            if not callers:
                return
            key, c = next(iter(callers.items()))
            if c.newest >= cutoff:
                return
            del callers[key]
            self._total -= len(c.heap)

    def _expire(self, now_ns: int) -> None:
        """Forget every caller whose newest nonce can no longer be fresh (oldest-active first), then prune the rest."""
        self._expire_idle(now_ns, len(self._callers))
        for c in self._callers.values():
            self._prune(c, now_ns)
