"""Lean async I/O on nng contexts, for asyncio and trio.

pynng's ``Context.asend``/``arecv`` allocate an nng aio and a helper object on every call and wake the event loop
twice per round trip (once when the send completes, once when the reply arrives). A round trip only needs the second:
a :class:`NngContext` owns two preallocated aios, awaits its receives, and lets its sends complete in the background
(once nng has queued a message it owns it; a send that fails frees its message in the completion callback).

Completions arrive through pynng's own cffi callback (``_async_complete``), which looks the Python side up in
``pynng._aio._aio_map`` by the id passed with the aio: the same mechanism pynng uses, so this module depends on
pynng's internals of the 0.8/0.9 series (pinned in pyproject).

Ownership rule: one task owns a context; it calls :meth:`NngContext.close` when none of its own receives is pending
(a cancelled receive waits for nng to finish cancelling before it raises, so ``finally: ctx.close()`` is safe).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, final

import pynng
import sniffio
from pynng import _aio as _pynng_aio
from pynng import ffi, lib
from pynng.exceptions import check_err

__all__ = ["NngContext", "pipe_peer"]

_AIO_MAP: dict[int, Any] = _pynng_aio._aio_map
_CANCELED = lib.NNG_ECANCELED


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


@final
class _AsyncioWaker:
    """Wakes one waiting asyncio task from an nng thread."""

    __slots__ = ("fut", "loop")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.fut: asyncio.Future[None] | None = None

    def arm(self) -> None:
        self.fut = self.loop.create_future()

    def fire(self) -> None:  # runs in an nng thread
        fut = self.fut
        if fut is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                self.loop.call_soon_threadsafe(_set_done, fut)

    async def wait(self, aio: Any) -> None:
        """Wait for the aio; on cancellation, cancel it, wait for nng to finish, and re-raise."""
        fut = self.fut
        assert fut is not None
        try:
            await asyncio.shield(fut)
        except asyncio.CancelledError:
            lib.nng_aio_cancel(aio)
            while not fut.done():
                try:
                    await asyncio.shield(fut)
                except asyncio.CancelledError:
                    continue
            raise


@final
class _TrioWaker:
    """Wakes one waiting trio task from an nng thread."""

    __slots__ = ("task", "token", "trio")

    def __init__(self) -> None:
        import trio

        self.trio = trio
        self.token = trio.lowlevel.current_trio_token()
        self.task: Any = None

    def arm(self) -> None:
        self.task = self.trio.lowlevel.current_task()

    def fire(self) -> None:  # runs in an nng thread
        task = self.task
        if task is not None:
            with contextlib.suppress(self.trio.RunFinishedError):
                self.token.run_sync_soon(self.trio.lowlevel.reschedule, task)

    async def wait(self, aio: Any) -> Any:
        """Wait for the aio; if trio asked to cancel meanwhile, return the function that raises the cancellation."""
        raise_cancel: Any = None

        def abort(rc: Any) -> Any:
            nonlocal raise_cancel
            lib.nng_aio_cancel(aio)
            raise_cancel = rc
            return self.trio.lowlevel.Abort.FAILED

        await self.trio.lowlevel.wait_task_rescheduled(abort)
        self.task = None
        return raise_cancel


def _waker() -> _AsyncioWaker | _TrioWaker:
    lib_name = sniffio.current_async_library()
    if lib_name == "asyncio":
        return _AsyncioWaker()
    if lib_name == "trio":
        return _TrioWaker()
    raise RuntimeError(f"unsupported async library {lib_name!r} (taonet runs on asyncio or trio)")


def _alloc_aio(key: int | None) -> Any:
    """An nng aio completing through pynng's callback under ``key``, or with no callback at all (key None)."""
    aio_p = ffi.new("nng_aio **")
    if key is None:
        check_err(lib.nng_aio_alloc(aio_p, ffi.NULL, ffi.NULL))
    else:
        check_err(lib.nng_aio_alloc(aio_p, lib._async_complete, ffi.cast("void *", key)))
    return aio_p[0]


@final
class NngContext:
    """An nng context (Req0 or Rep0) with an awaited receive and background sends."""

    __slots__ = ("_closed", "_ctx", "_pending", "_raio", "_recv_cb", "_recv_key", "_rwaker", "_saio")

    def __init__(self, sock: pynng.Socket) -> None:
        self._ctx = ffi.new("nng_ctx *")
        check_err(lib.nng_ctx_open(self._ctx, sock.socket))
        self._closed = False
        self._rwaker = _waker()
        # the receive callback is a bound method kept alive here; its id keys pynng's callback map
        self._recv_cb = self._rwaker.fire
        self._recv_key = id(self._recv_cb)
        self._raio = _alloc_aio(self._recv_key)
        # sends complete without a callback (no GIL, no wakeup); their aios are reaped on the next send or close
        self._saio = _alloc_aio(None)
        self._pending: list[Any] = []

    @property
    def sending(self) -> bool:
        """True while a send is still being handed to nng's pipe."""
        return bool(lib.nng_aio_busy(self._saio)) or any(lib.nng_aio_busy(a) for a in self._pending)

    # --- operations -----------------------------------------------------------------------------------------
    async def recv(self, timeout_ms: int = -1) -> tuple[bytes, Any]:
        """The next message and the nng pipe it came on; raises pynng errors (Closed, Timeout...).

        ``timeout_ms`` bounds the wait inside nng (-1: no bound), which is cheaper than a cancel scope.
        """
        aio = self._raio
        waker = self._rwaker
        lib.nng_aio_set_timeout(aio, timeout_ms)
        waker.arm()
        _AIO_MAP[self._recv_key] = self._recv_cb
        lib.nng_ctx_recv(self._ctx[0], aio)
        raise_cancel = await waker.wait(aio)
        rv = lib.nng_aio_result(aio)
        if rv == _CANCELED and raise_cancel is not None:
            raise_cancel()
        check_err(rv)
        msg = lib.nng_aio_get_msg(aio)
        lib.nng_aio_set_msg(aio, ffi.NULL)
        try:
            data = ffi.unpack(ffi.cast("char *", lib.nng_msg_body(msg)), lib.nng_msg_len(msg))
            pipe = lib.nng_msg_get_pipe(msg)
        finally:
            lib.nng_msg_free(msg)
        if raise_cancel is not None:  # trio: the message came in as we were being cancelled; it is dropped
            raise_cancel()
        return data, pipe

    def send(self, data: bytes) -> None:
        """Queue ``data`` on this context; nng owns it from here (a send that fails frees its message later)."""
        aio = self._saio
        if lib.nng_aio_busy(aio):  # the previous send is still queued (its pipe is busy): use a fresh aio
            self._pending.append(aio)
            aio = self._saio = _alloc_aio(None)
        else:
            _reap(aio)
        if self._pending:
            self._reap_pending()
        msg_p = ffi.new("nng_msg **")
        check_err(lib.nng_msg_alloc(msg_p, 0))
        msg = msg_p[0]
        rv = lib.nng_msg_append(msg, data, len(data))
        if rv != 0:
            lib.nng_msg_free(msg)
            check_err(rv)
        lib.nng_aio_set_msg(aio, msg)
        lib.nng_ctx_send(self._ctx[0], aio)

    def _reap_pending(self) -> None:
        still = []
        for aio in self._pending:
            if lib.nng_aio_busy(aio):
                still.append(aio)
            else:
                _reap(aio)
                lib.nng_aio_free(aio)
        self._pending = still

    def close(self) -> None:
        """Close the context and free its aios (in-flight sends end with it); idempotent."""
        if self._closed:
            return
        self._closed = True
        lib.nng_ctx_close(self._ctx[0])  # an already closed socket closed it too: the error is moot
        lib.nng_aio_free(self._raio)
        _AIO_MAP.pop(self._recv_key, None)
        for aio in [*self._pending, self._saio]:
            lib.nng_aio_wait(aio)
            _reap(aio)
            lib.nng_aio_free(aio)
        self._pending = []


def _reap(aio: Any) -> None:
    """Free the message of a finished send that failed (nng gives it back to us)."""
    if lib.nng_aio_result(aio) != 0:
        msg = lib.nng_aio_get_msg(aio)
        if msg != ffi.NULL:
            lib.nng_aio_set_msg(aio, ffi.NULL)
            lib.nng_msg_free(msg)


def pipe_peer(pipe: Any) -> tuple[int, str]:
    """(pipe id, remote address text such as ``127.0.0.1:5555``) of an nng pipe; the text is empty if unknown."""
    pid = lib.nng_pipe_id(pipe)
    if pid < 0:
        return pid, ""
    sa = ffi.new("nng_sockaddr []", 1)
    if lib.nng_pipe_get_addr(pipe, b"remote-address", sa) != 0:
        return pid, ""
    return pid, str(pynng.sockaddr._nng_sockaddr(sa))
