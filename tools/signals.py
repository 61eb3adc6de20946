"""Stopping the `taonet` processes cleanly: SIGINT (Ctrl-C) and SIGTERM cancel the task group that runs them."""

from __future__ import annotations

import signal
from collections.abc import Callable

import anyio

__all__ = ["cancel_on_signals"]


async def cancel_on_signals(scope: anyio.CancelScope, on_signal: Callable[[], None] | None = None) -> None:
    """Wait for SIGINT or SIGTERM, then call ``on_signal`` (if any) and cancel ``scope``; run it in that scope's
    task group so the whole group, this watcher included, ends together."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if on_signal is not None:
                on_signal()
            scope.cancel()
            return
