"""How often nng's dialers were refused (ECONNREFUSED: nothing listens at the address), read from nng's statistics.

A dialer started without blocking (as the dendrite's are) reports nothing when a connection attempt fails: nng
redials in the background, and a request sent meanwhile waits for a connection that may never come. nng counts each
refusal in the dialer's ``refused`` statistic; :func:`dial_refusals` reads it, so a call waiting on a socket with no
connection can tell "nothing listens there" (fail at once, as Bittensor's HTTP client does) from "not connected yet".

nng only gives a snapshot of every statistic of the process (``nng_stats_get``): ~0.1 ms for one socket, ~0.7 ms
with 300 sockets and 150 connections, ~16 ms with 2,000 sockets (measured on 127.0.0.1); the watched dialers are
picked out of it in one walk over its top-level scopes. One snapshot serves every call looking within
:data:`MIN_GAP` (or ten times the last snapshot's cost, if longer): so however many calls wait at once, snapshots take
at most ~10% of a core.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Final

from pynng import ffi, lib

__all__ = ["MIN_GAP", "dial_refusals", "watch_dialer"]

MIN_GAP: Final = 0.005
"""Seconds a snapshot of nng's statistics serves before another is taken (longer when snapshots are slow)."""

_lock = threading.Lock()
_watched: dict[int, tuple[Any, int]] = {}  # dialer id -> (its nng_dialer, calls watching it): bounded by calls
_counts: dict[int, int] = {}  # dialer id -> refusals, as of the last snapshot (only watched dialers)
_taken_at = -1e9  # time.monotonic() of the last snapshot
_gap = MIN_GAP


class watch_dialer:
    """While in use, the dialer's refusals are read at each snapshot: ``with watch_dialer(d): dial_refusals(d)``."""

    __slots__ = ("_dialer",)

    def __init__(self, dialer: Any) -> None:
        self._dialer = dialer

    def __enter__(self) -> None:
        key = self._dialer.id
        with _lock:
            dialer, n = _watched.get(key, (self._dialer, 0))
            _watched[key] = (dialer, n + 1)

    def __exit__(self, *exc: object) -> None:
        key = self._dialer.id
        with _lock:
            dialer, n = _watched.pop(key, (None, 1))
            if n > 1:
                _watched[key] = (dialer, n - 1)
            else:
                _counts.pop(key, None)


def dial_refusals(dialer: Any) -> int:
    """Connection attempts of ``dialer`` (an ``nng_dialer``) refused so far, as of a snapshot at most
    :data:`MIN_GAP` old (or ten times the last snapshot's cost); 0 for a dialer nobody watches."""
    global _taken_at, _gap
    with _lock:
        now = time.monotonic()
        if now - _taken_at >= _gap:
            _snapshot()
            _taken_at = time.monotonic()
            _gap = max(MIN_GAP, 10 * (_taken_at - now))
        return _counts.get(dialer.id, 0)


def _snapshot() -> None:
    """Read every watched dialer's ``refused`` statistic into ``_counts`` (under ``_lock``): one walk over the
    snapshot's top-level scopes (nng puts each dialer's there), not a search of the whole tree per dialer."""
    _counts.clear()
    if not _watched:
        return
    root_p = ffi.new("nng_stat **")
    if lib.nng_stats_get(root_p) != 0:  # out of memory, or statistics not built in: no news this time
        return
    root = root_p[0]
    try:
        scope = lib.nng_stat_child(root)
        while scope != ffi.NULL:
            if lib.nng_stat_type(scope) == lib.NNG_STAT_SCOPE and ffi.string(lib.nng_stat_name(scope)) == b"dialer":
                key, refused = _dialer_figures(scope)
                if key in _watched and refused is not None:
                    _counts[key] = refused
            scope = lib.nng_stat_next(scope)
    finally:
        lib.nng_stats_free(root)


def _dialer_figures(scope: Any) -> tuple[int | None, int | None]:
    """A dialer scope's ``id`` and ``refused`` statistics (None where absent)."""
    key = refused = None
    stat = lib.nng_stat_child(scope)
    while stat != ffi.NULL and (key is None or refused is None):
        name = ffi.string(lib.nng_stat_name(stat))
        if name == b"id":
            key = int(lib.nng_stat_value(stat))
        elif name == b"refused":
            refused = int(lib.nng_stat_value(stat))
        stat = lib.nng_stat_next(stat)
    return key, refused
