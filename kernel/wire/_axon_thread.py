"""An axon served from a background thread, for synchronous scripts: the Bittensor SDK's ``axon.start()``/``stop()``.

The thread runs its own event loop (asyncio) with the axon's ``serve`` in a task group; ``start`` returns once the
socket listens, ``stop`` cancels the task group and waits (bounded) for the thread. The thread is a daemon, so it
never holds a process open, and every axon still running when the interpreter exits is stopped then, before nng
is finalised (pynng's own exit handler; closing a socket after it aborts the process).
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

__all__ = ["Background"]

START_TIMEOUT = 30.0
"""Seconds to wait for the thread's axon to listen (it takes milliseconds; a bound, not a pace)."""

STOP_TIMEOUT = 5.0
"""Seconds ``stop`` waits for the thread to end."""

_running: weakref.WeakSet[Background] = weakref.WeakSet()
_lock = threading.Lock()


class Background:
    """An axon serving in a daemon thread; :meth:`stop` ends it."""

    def __init__(self, axon: Any) -> None:
        ready: Future[tuple[Any, anyio.Event]] = Future()

        async def main() -> None:
            stop = anyio.Event()
            async with anyio.create_task_group() as tg:
                await tg.start(axon.serve)
                ready.set_result((anyio.lowlevel.current_token(), stop))
                await stop.wait()
                tg.cancel_scope.cancel()

        def run() -> None:
            try:
                anyio.run(main)
            except BaseException as e:  # handed to start(), which raises it (the axon could not listen)
                if not ready.done():
                    leaves = e.exceptions if isinstance(e, BaseExceptionGroup) else (e,)
                    ready.set_exception(leaves[0] if len(leaves) == 1 else e)

        self._thread = threading.Thread(target=run, name="taonet-axon", daemon=True)
        self._thread.start()
        self._token, self._stop = ready.result(START_TIMEOUT)
        atexit.unregister(_stop_all)  # newest exit handler: runs before pynng's
        atexit.register(_stop_all)
        with _lock:
            _running.add(self)

    @property
    def running(self) -> bool:
        """Whether the thread still serves."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and wait (at most ``STOP_TIMEOUT`` seconds) for the thread to end."""
        with _lock:
            _running.discard(self)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            with contextlib.suppress(RuntimeError, FutureTimeout):  # the loop is already gone
                anyio.from_thread.run_sync(self._stop.set, token=self._token)
            self._thread.join(STOP_TIMEOUT)


def _stop_all() -> None:
    """Stop every axon a script started and never stopped."""
    with _lock:
        running = list(_running)
    for b in running:
        b.stop()
