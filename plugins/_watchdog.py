"""The event loop's watchdog: a heartbeat on the loop, read from a worker thread, that names whoever keeps the loop
blocked (a plugin doing heavy work synchronously in an ``async def``). A neuron host runs one for all its neurons;
``taonet miner run`` and ``validator run`` one for their neuron."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

import anyio

from ._log import get_logger
from ._neuron import HOOK_THREAD

__all__ = ["BLOCK_WARN", "blocked_hint", "frame_where", "watch_loop"]

BLOCK_WARN = 0.5
"""Seconds the loop may stay blocked before the watchdog says so."""
logger = get_logger("taonet.plugins.host")


def blocked_hint() -> str:
    """What to do about a blocked loop: an async hook's heavy work, or, while plain-def hooks run in threads, their
    pure-Python work holding the GIL the loop waits for (a thread does not help there; a process does)."""
    hint = ("an async hook doing heavy work synchronously: make it a plain def (it then runs in a worker thread) or "
            "await anyio.to_thread.run_sync")
    hooks = sorted({t.name.removeprefix(HOOK_THREAD) for t in threading.enumerate() if t.name.startswith(HOOK_THREAD)})
    if not hooks:
        return hint
    return (f"plain-def hooks running in threads ({', '.join(hooks[:4])}): work in pure Python holds the GIL the "
            'loop needs; run that neuron in its own process (process = "own", localnet --per-host 1) or move the '
            f"work to numpy or a subprocess; else {hint}")


def frame_where(frame: FrameType | None) -> str:
    """Where a frame is, for people: ``FILE:LINE (FUNCTION)``, or "?"."""
    return "?" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno} ({frame.f_code.co_name})"


async def watch_loop(blame: Callable[[FrameType | None], str], *, block_warn: float = BLOCK_WARN,
                     on_blocked: Callable[[str, float, str], None] | None = None) -> None:
    """Watch the event loop this task runs on until cancelled: when it stays blocked past ``block_warn`` seconds, log
    ``host.loop_blocked`` (``blocked_by``: ``blame`` of the loop thread's frame, ``seconds``, ``where``, ``hint``)
    and call ``on_blocked(name, seconds, where)``; once it runs again, ``host.loop_unblocked``."""
    loop_thread = threading.get_ident()
    beat = [time.monotonic()]
    stop = threading.Event()
    period = max(0.01, block_warn / 4)

    async def heartbeat() -> None:
        while True:
            beat[0] = time.monotonic()
            await anyio.sleep(period)

    def watch() -> None:
        reported: float | None = None
        since = 0.0
        while not stop.wait(period):
            lag = time.monotonic() - beat[0]
            if lag > block_warn and reported != beat[0]:
                reported, since = beat[0], lag
                frame = sys._current_frames().get(loop_thread)
                name, where = blame(frame), frame_where(frame)
                if on_blocked is not None:
                    on_blocked(name, round(lag, 3), where)
                logger.warning("host.loop_blocked", blocked_by=name, seconds=round(lag, 2), where=where,
                               hint=blocked_hint())
            elif reported is not None and reported != beat[0]:
                logger.info("host.loop_unblocked", after_s=round(max(since, beat[0] - reported), 2))
                reported = None

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeat)
        try:
            await anyio.to_thread.run_sync(watch, abandon_on_cancel=True, limiter=anyio.CapacityLimiter(1))
        finally:
            stop.set()
