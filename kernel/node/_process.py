"""What a node's (or a replica's) process holds: its resident memory and its cyclic garbage collector's state, as the
``metrics`` RPC says them (``taonet node status`` shows them)."""

from __future__ import annotations

import gc
import os
from typing import Any

__all__ = ["process_figures", "rss_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int | None:
    """This process's resident memory in bytes (``/proc/self/statm``, a few microseconds), None where unreadable."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def process_figures() -> dict[str, Any]:
    """The process's resident memory and, per GC generation (0, 1, 2): the objects counted toward its next
    collection, its threshold, its collections so far and the objects they freed; and the objects frozen out of the
    GC (``gc.freeze``)."""
    stats = gc.get_stats()
    return {"rss_bytes": rss_bytes(), "gc_counts": list(gc.get_count()), "gc_thresholds": list(gc.get_threshold()),
            "gc_collections": [s["collections"] for s in stats], "gc_collected": [s["collected"] for s in stats],
            "gc_frozen": gc.get_freeze_count()}
