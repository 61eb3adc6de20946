"""Nonces: the freshness window, replay memory in any arrival order, and bounded space."""

from __future__ import annotations

import pytest

from taonet.kernel.errors import Overloaded, ReplayedRequest, StaleRequest
from taonet.kernel.wire._nonce import NonceGuard

S = 10**9
NOW = 1_800_000_000 * S
HK, UUID = b"\x01" * 32, "dendrite-1"


def admit(g: NonceGuard, nonce: int, *, now: int = NOW, timeout: float = 12.0, hk: bytes = HK,
          uuid: str = UUID) -> None:
    g.check(hk, uuid, nonce, timeout, now)
    g.record(hk, uuid, nonce, now)


def test_nonce_window_is_ten_seconds_plus_timeout_back_and_two_seconds_ahead() -> None:
    """Accepted from now - (10 s + timeout) to now + 2 s; refused just outside either edge."""
    g = NonceGuard()
    admit(g, NOW - 22 * S + 1, timeout=12.0)
    admit(g, NOW + 2 * S)
    with pytest.raises(StaleRequest):
        g.check(HK, UUID, NOW - 22 * S - 1, 12.0, NOW)
    with pytest.raises(StaleRequest):
        g.check(HK, UUID, NOW + 2 * S + 1, 12.0, NOW)


def test_a_nonce_is_accepted_once_per_hotkey_and_uuid() -> None:
    """The same nonce is refused the second time from one (hotkey, uuid) but accepted from another caller."""
    g = NonceGuard()
    admit(g, NOW)
    with pytest.raises(ReplayedRequest):
        admit(g, NOW)
    admit(g, NOW, uuid="dendrite-2")
    admit(g, NOW, hk=b"\x02" * 32)


def test_concurrent_requests_may_arrive_in_any_order() -> None:
    """Nonces arriving shuffled are all accepted (no high-water mark), and each only once."""
    g = NonceGuard()
    order = [5, 1, 9, 3, 7, 2, 8, 4, 6, 0]
    for i in order:
        admit(g, NOW - i * 1000)
    for i in order:
        with pytest.raises(ReplayedRequest):
            admit(g, NOW - i * 1000)


def test_timeouts_are_capped_so_the_memory_always_covers_the_window() -> None:
    """A huge (unsigned) timeout cannot make a nonce older than the retention window fresh."""
    g = NonceGuard(max_timeout_s=60.0)
    with pytest.raises(StaleRequest):
        g.check(HK, UUID, NOW - 71 * S, 10_000.0, NOW)
    g.check(HK, UUID, NOW - 69 * S, 10_000.0, NOW)


def test_per_caller_memory_is_bounded_and_older_nonces_fall_below_the_floor() -> None:
    """Past ``per_caller`` nonces the oldest is forgotten and anything at or below it is refused."""
    g = NonceGuard(per_caller=4)
    for i in range(6):
        admit(g, NOW + i)
    assert len(g) == 4
    with pytest.raises(ReplayedRequest, match="older than the 4 newest"):
        admit(g, NOW + 1)
    admit(g, NOW + 100)


def test_full_memory_refuses_new_callers_until_nonces_expire() -> None:
    """When every remembered nonce is still live, a new request gets Overloaded; expired ones are reclaimed."""
    g = NonceGuard(per_caller=8, max_entries=8, max_timeout_s=10.0)
    for i in range(8):
        admit(g, NOW + i, uuid=f"u{i}")
    with pytest.raises(Overloaded):
        admit(g, NOW + 99, uuid="newcomer")
    later = NOW + 25 * S  # past 10 s + 10 s max timeout (+2 s ahead)
    admit(g, later, now=later, uuid="newcomer")
    assert len(g) == 8 - 2 + 1  # the newcomer forgot two idle callers (EXPIRE_PER_NEW_CALLER), which made room
    for i in range(8, 11):
        admit(g, later + i, now=later, uuid=f"u{i}")
    assert len(g) == 4  # the rest forgotten as more come


def test_idle_callers_are_forgotten_as_new_ones_come_not_only_once_the_memory_is_full() -> None:
    """1,000 callers of one request each (a `taonet query` is a new dendrite each time), then, once their nonces have
    expired, 500 new callers: each new one forgets two idle ones, so the memory holds the 500, not 1,500 (before, idle
    callers stayed until the memory was full, then were walked all at once). A caller still active stays."""
    g = NonceGuard(max_timeout_s=10.0)
    for i in range(1000):
        admit(g, NOW + i, uuid=f"old{i}")
    later = NOW + 25 * S  # past 10 s + 10 s max timeout (+2 s ahead)
    admit(g, later, now=later, uuid="old999")  # active again: kept
    for i in range(500):
        admit(g, later + i, now=later, uuid=f"new{i}")
    assert len(g) == 500 + 1  # and old999's latest (its first expired from its own memory)
    with pytest.raises(ReplayedRequest):
        admit(g, later, now=later, uuid="old999")


def test_admit_checks_and_records_in_one_step() -> None:
    """``admit`` refuses a nonce another copy recorded after an earlier check passed (the race after an await)."""
    g = NonceGuard()
    g.check(HK, UUID, NOW, 12.0, NOW)  # two copies both pass the first check...
    g.check(HK, UUID, NOW, 12.0, NOW)
    g.admit(HK, UUID, NOW, 12.0, NOW)  # ...the first one through is recorded...
    with pytest.raises(ReplayedRequest):
        g.admit(HK, UUID, NOW, 12.0, NOW)  # ...and the second is refused, not recorded twice
    assert len(g) == 1
