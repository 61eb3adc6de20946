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

Priority (Linux): nng moves every message and every send through its own threads (a poller, then task threads,
several hops each), and each hop wakes a thread. At the same priority as the event loop's thread, a woken nng thread
preempts it whenever they share a core: about 14 context switches per request with 64 in flight, which is most of
what profiles showed inside ``nng_ctx_send``. So the first receives that complete in a process lower the priority
of nng's threads by ``_NNG_NICE`` nice levels: they still run at once when the loop's thread waits, but they mostly
let it finish what it is doing and then catch up in batches. Python's threads (the loop's, anyio's workers) keep
their priority.

Exit (Linux): pynng ends every process with ``nng_fini``, which destroys locks that nng's threads still take while
they finish tearing down sockets closed just before (a dialer's connection still negotiating, say: the client of a
port that does not speak nng); such a thread then panics the process (SIGABRT, ``panic: pthread_mutex_lock:
Invalid argument``: pynng issue #108). Importing this module registers :func:`wait_nng_quiet` as an exit handler
that runs before pynng's (exit handlers run newest first): it waits, at most :data:`EXIT_QUIET_LIMIT`, until none of
nng's threads is running or runnable. Measured with a script that closes clients of such a port and exits, both
cores busy: 11 panics in 120 runs without it, 0 in 120 with it. ``taonet`` commands skip ``nng_fini`` altogether
(tools/_end.py).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import os
import re
import socket
import threading
import time
import weakref
from typing import Any, Final, final

import cffi
import pynng
import sniffio
from pynng import _aio as _pynng_aio
from pynng import _nng as _pynng_nng
from pynng import ffi, lib
from pynng.exceptions import check_err

__all__ = [
    "EXIT_QUIET_LIMIT",
    "NngContext",
    "SpareContexts",
    "bound_address",
    "forget_oversized",
    "oversized",
    "pipe_peer",
    "wait_nng_quiet",
    "watch_oversized",
]

_AIO_MAP: dict[int, Any] = _pynng_aio._aio_map
_CANCELED = lib.NNG_ECANCELED


# Nice levels by which nng's threads run below their own priority (capped at 19). +8 took 64-in-flight round trips
# from ~3,700 to ~4,900/s in `taonet bench wire`, and one-at-a-time round trips lose ~20% (not more) when a busy
# loop shares the core. Higher values gain a little more throughput but let such a neighbour delay nng's wakeups
# further: at +19, as under SCHED_BATCH, one-at-a-time round trips fell from ~1,250 to 250/s (p50 4 ms).
_NNG_NICE: Final = 8

_lowered: set[int] = set()  # nng threads whose priority is already lowered
_settle_scans = 8  # scans left in the first burst; 0 once a scan finds no new nng thread
_RESCAN_S: Final = 1.0
"""After the first burst, a completed receive scans again at most this often: an nng thread that was not named yet,
or started later, at a scan would otherwise keep the loop's priority for good (a scan costs ~0.1 ms)."""
_next_scan = 0.0  # time.monotonic() from which a completed receive scans again


def _settle_nng_threads() -> None:
    """Lower the priority of nng's threads by _NNG_NICE (Linux; see the module docs).

    Called on completed receives until a scan finds no new nng thread (nng names each thread as it starts, so a
    thread that had not started at the first scan is caught by a later one), then at most once every _RESCAN_S.
    """
    global _settle_scans, _next_scan
    _settle_scans = max(0, _settle_scans - 1)
    _next_scan = time.monotonic() + _RESCAN_S
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:  # not Linux
        tids = []
    found = False
    for tid in tids:
        if tid in _lowered:
            continue
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if not f.read().startswith("nng:"):
                    continue
            # on Linux, PRIO_PROCESS with a thread id sets that thread's nice value only
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + _NNG_NICE))
        except OSError:  # the thread ended, or the system refuses: nng runs as it was
            continue
        _lowered.add(tid)
        found = True
    if not found:
        _settle_scans = 0


EXIT_QUIET_LIMIT: Final = 0.5
"""Seconds a process waits at exit, at most, for nng's threads to finish what they were doing (see the module docs)."""
_QUIET_LOOKS: Final = 3  # looks in a row that find no nng thread running, _QUIET_EVERY apart
_QUIET_EVERY: Final = 0.002


def _nng_thread_running() -> bool:
    """Whether one of this process's nng threads is running or runnable now (False where /proc cannot tell)."""
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:  # not Linux
        return False
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if not f.read().startswith("nng:"):
                    continue
            with open(f"/proc/self/task/{tid}/stat") as f:
                if f.read().rpartition(")")[2].split()[0] == "R":
                    return True
        except (OSError, IndexError):  # the thread ended meanwhile
            continue
    return False


def wait_nng_quiet(limit: float = EXIT_QUIET_LIMIT) -> bool:
    """Wait until no nng thread has been running for a few looks in a row, ``limit`` seconds at most; whether that
    came (an exit handler: pynng's ``nng_fini`` must not tear nng down under a thread still closing a socket). A
    Ctrl-C meanwhile ends the wait (False): the process is already ending, and a traceback would say nothing."""
    deadline = time.monotonic() + limit
    calm = 0
    try:
        while True:
            calm = 0 if _nng_thread_running() else calm + 1
            if calm >= _QUIET_LOOKS:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_QUIET_EVERY)
    except KeyboardInterrupt:
        return False


atexit.register(wait_nng_quiet)  # registered after pynng's own handler (imported above), so it runs before it


@final
class _AsyncioBatch:
    """Completions for one asyncio loop: nng threads post futures; the loop sets them in batches.

    One ``call_soon_threadsafe`` (one write to the loop's self-pipe) wakes the loop for every completion posted
    before it runs, instead of one per completion. Everything here runs under the GIL, so the flag and list need
    no lock: a post that sees ``scheduled`` true is always drained by the pending (or a later) drain.
    """

    __slots__ = ("__weakref__", "loop", "ready", "scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = weakref.ref(loop)  # weak: the batch is the loop's value in a WeakKeyDictionary
        self.ready: list[asyncio.Future[None]] = []
        self.scheduled = False

    def post(self, fut: asyncio.Future[None]) -> None:  # nng thread
        self.ready.append(fut)
        if not self.scheduled:
            self.scheduled = True
            loop = self.loop()
            if loop is not None:
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    loop.call_soon_threadsafe(self.drain)

    def drain(self) -> None:  # loop thread
        self.scheduled = False
        ready, self.ready = self.ready, []
        for fut in ready:
            if not fut.done():
                fut.set_result(None)


@final
class _TrioBatch:
    """Completions for one trio run: nng threads post tasks; the run reschedules them in batches."""

    __slots__ = ("__weakref__", "ready", "reschedule", "scheduled", "token")

    def __init__(self, token: Any, reschedule: Any) -> None:
        self.token = weakref.ref(token)  # weak: the batch is the token's value in a WeakKeyDictionary
        self.reschedule = reschedule
        self.ready: list[Any] = []
        self.scheduled = False

    def post(self, task: Any) -> None:  # nng thread
        self.ready.append(task)
        if not self.scheduled:
            self.scheduled = True
            token = self.token()
            if token is not None:
                with contextlib.suppress(RuntimeError):  # trio.RunFinishedError: the run is over
                    token.run_sync_soon(self.drain)

    def drain(self) -> None:  # trio thread
        self.scheduled = False
        ready, self.ready = self.ready, []
        for task in ready:
            self.reschedule(task)


_BATCHES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


@final
class _AsyncioWaker:
    """Wakes one waiting asyncio task from an nng thread (through its loop's batch)."""

    __slots__ = ("batch", "completed", "fut", "loop")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        batch = _BATCHES.get(self.loop)
        if batch is None:
            batch = _BATCHES[self.loop] = _AsyncioBatch(self.loop)
        self.batch = batch
        self.fut: asyncio.Future[None] | None = None
        self.completed = False

    def arm(self) -> None:
        self.completed = False
        self.fut = self.loop.create_future()

    def fire(self) -> None:  # nng thread
        self.completed = True
        fut = self.fut
        if fut is not None:
            self.batch.post(fut)

    async def wait(self, aio: Any) -> None:
        """Wait for the aio; on cancellation, cancel it, wait until nng has finished with it, and re-raise."""
        fut = self.fut
        assert fut is not None
        try:
            await fut
        except asyncio.CancelledError:
            # asyncio cancelled ``fut`` with the task; from here nng completes into a fresh future
            while not self.completed:
                fut = self.fut = self.loop.create_future()
                lib.nng_aio_cancel(aio)  # no-op once the aio is done
                if self.completed:
                    break
                with contextlib.suppress(asyncio.CancelledError):  # repeated cancellations: keep waiting for nng
                    await fut
            raise


@final
class _TrioWaker:
    """Wakes one waiting trio task from an nng thread (through its run's batch)."""

    __slots__ = ("batch", "task", "trio")

    def __init__(self) -> None:
        import trio

        self.trio = trio
        token = trio.lowlevel.current_trio_token()
        batch = _BATCHES.get(token)
        if batch is None:
            batch = _BATCHES[token] = _TrioBatch(token, trio.lowlevel.reschedule)
        self.batch = batch
        self.task: Any = None

    def arm(self) -> None:
        self.task = self.trio.lowlevel.current_task()

    def fire(self) -> None:  # nng thread
        task = self.task
        if task is not None:
            self.batch.post(task)

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

    __slots__ = ("_closed", "_ctx", "_raio", "_recv_cb", "_recv_key", "_rwaker", "_saio", "_timeout")

    def __init__(self, sock: pynng.Socket) -> None:
        self._ctx = ffi.new("nng_ctx *")
        check_err(lib.nng_ctx_open(self._ctx, sock.socket))
        self._closed = False
        self._rwaker = _waker()
        # the receive callback is a bound method kept alive here; its id keys pynng's callback map
        self._recv_cb = self._rwaker.fire
        self._recv_key = id(self._recv_cb)
        self._raio = _alloc_aio(self._recv_key)
        self._timeout = -1  # a new aio waits without bound
        # sends complete without a callback (no GIL, no wakeup); a failed one is reaped on the next send or close
        self._saio = _alloc_aio(None)

    @property
    def sending(self) -> bool:
        """True while this context's last send is still queued in nng (a context takes one send at a time)."""
        return bool(lib.nng_aio_busy(self._saio))

    # --- operations -----------------------------------------------------------------------------------------
    async def recv(self, timeout_ms: int = -1, *, want_pipe: bool = False) -> tuple[bytes, Any]:
        """The next message (and, with ``want_pipe``, the nng pipe it came on, else None).

        ``timeout_ms`` bounds the wait inside nng (-1: no bound), which is cheaper than a cancel scope. Raises
        pynng errors (Timeout, Closed...).
        """
        aio = self._raio
        waker = self._rwaker
        if timeout_ms != self._timeout:
            lib.nng_aio_set_timeout(aio, timeout_ms)
            self._timeout = timeout_ms
        waker.arm()
        _AIO_MAP[self._recv_key] = self._recv_cb
        lib.nng_ctx_recv(self._ctx[0], aio)
        try:
            raise_cancel = await waker.wait(aio)
        except BaseException:  # cancelled: drop a message that came in anyway, then let the cancellation go on
            _drop_msg(aio)
            raise
        if _settle_scans or time.monotonic() >= _next_scan:
            _settle_nng_threads()
        rv = lib.nng_aio_result(aio)
        if rv == _CANCELED and raise_cancel is not None:
            raise_cancel()
        check_err(rv)
        msg = lib.nng_aio_get_msg(aio)
        lib.nng_aio_set_msg(aio, ffi.NULL)
        try:
            data = ffi.unpack(ffi.cast("char *", lib.nng_msg_body(msg)), lib.nng_msg_len(msg))
            pipe = lib.nng_msg_get_pipe(msg) if want_pipe else None
        finally:
            lib.nng_msg_free(msg)
        if raise_cancel is not None:  # trio: the message came in as we were being cancelled; it is dropped
            raise_cancel()
        return data, pipe

    def subscribe(self, topic: bytes = b"") -> None:
        """On a Sub0 socket: receive messages starting with ``topic`` on this context (b"": everything)."""
        check_err(lib.nng_ctx_set(self._ctx[0], b"sub:subscribe", ffi.new("char[]", topic), len(topic)))

    def wait_sent(self) -> None:
        """Block this thread until the last send has left (call it from a worker thread)."""
        lib.nng_aio_wait(self._saio)

    def send(self, data: bytes) -> None:
        """Queue ``data`` on this context; nng owns it from here (a send that fails frees its message later).

        Raises RuntimeError while the previous send is still queued (nng allows one per context): check
        :attr:`sending` first and use another context meanwhile.
        """
        aio = self._saio
        if lib.nng_aio_busy(aio):
            raise RuntimeError("this nng context is still sending; use another one")
        _reap(aio)
        msg_p = ffi.new("nng_msg **")
        check_err(lib.nng_msg_alloc(msg_p, 0))
        msg = msg_p[0]
        rv = lib.nng_msg_append(msg, data, len(data))
        if rv != 0:
            lib.nng_msg_free(msg)
            check_err(rv)
        lib.nng_aio_set_msg(aio, msg)
        lib.nng_ctx_send(self._ctx[0], aio)

    def close(self) -> None:
        """Close the context and free its aios (in-flight sends end with it); idempotent."""
        if self._closed:
            return
        self._closed = True
        lib.nng_ctx_close(self._ctx[0])  # an already closed socket closed it too: the error is moot
        lib.nng_aio_free(self._raio)
        _AIO_MAP.pop(self._recv_key, None)
        lib.nng_aio_wait(self._saio)  # closing the context ended any queued send
        _reap(self._saio)
        lib.nng_aio_free(self._saio)


def _drop_msg(aio: Any) -> None:
    """Free a received message nobody will read."""
    if lib.nng_aio_result(aio) == 0:
        msg = lib.nng_aio_get_msg(aio)
        if msg != ffi.NULL:
            lib.nng_aio_set_msg(aio, ffi.NULL)
            lib.nng_msg_free(msg)


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


@final
class SpareContexts:
    """The contexts of a Rep0 socket's receivers between requests. A receiver never waits for its reply to leave (a
    caller that does not read would hold it for ever): it puts its context back and takes one whose last reply has
    left, or a new one. At most ``bound`` are kept; beyond that the oldest is closed (a reply still queued on it is
    dropped: its caller does not read)."""

    __slots__ = ("_spare", "bound")

    def __init__(self, bound: int = 1) -> None:
        self.bound = bound
        self._spare: collections.deque[NngContext] = collections.deque()

    def take(self, sock: pynng.Socket) -> NngContext:
        """A context ready to receive: a spare one whose last reply has left, else a new one."""
        spare = self._spare
        for _ in range(len(spare)):
            ctx = spare.popleft()
            if not ctx.sending:
                return ctx
            spare.append(ctx)  # its reply is still queued behind a slow (or unread) connection
        return NngContext(sock)

    def put_back(self, ctx: NngContext) -> bool:
        """Keep ``ctx`` for a later request (closing the oldest beyond the bound); whether its reply was still
        queued."""
        sending = ctx.sending
        self._spare.append(ctx)
        while len(self._spare) > self.bound:
            self._spare.popleft().close()
        return sending

    def __len__(self) -> int:
        return len(self._spare)

    def close(self) -> None:
        """Close every spare context."""
        for ctx in self._spare:
            ctx.close()
        self._spare.clear()


def bound_address(where: pynng.Socket | pynng.Listener, requested: str) -> str:
    """The address actually bound: the port nng chose replaces port 0 of a tcp address; others are returned as is.

    ``where`` is the listener, or a socket whose most recent listener it is; ``tcp://``, ``tcp4://`` and
    ``tcp6://`` addresses are resolved.
    """
    scheme, sep, rest = requested.partition("://")
    host, _, port = rest.rpartition(":")
    if not (sep and scheme.startswith("tcp") and port == "0"):
        return requested
    listener = where if isinstance(where, pynng.Listener) else where.listeners[-1]
    chosen = socket.ntohs(listener.local_address.port)  # pynng reports it in network order
    return f"{scheme}://{host}:{chosen}"


_LOG_FFI: Final = cffi.FFI()
_LOG_FFI.cdef("void nng_log_set_logger(void (*)(int, int, const char *, const char *));"
              "void nng_log_set_level(int); int nng_log_get_level(void);")
_NNG_LOG_WARN: Final = 4  # nng's NNG_LOG_WARN
_OVERSIZE: Final = re.compile(rb"Oversize message of (\d+) bytes \(> \d+\) on socket<(\d+)>")
_oversized: dict[int, tuple[int, int]] = {}  # socket id -> (messages refused over its receive limit, last size)
_oversized_lock = threading.Lock()
_logger: Any = None  # the cffi callback nng logs to, kept alive here; False if it could not be set


def _log_to_python(level: int, facility: int, msgid: Any, msg: Any) -> None:  # an nng thread
    """nng's logger: note each message refused over a socket's receive limit (nng logs nothing else we read)."""
    if msgid == _LOG_FFI.NULL or _LOG_FFI.string(msgid) != b"NNG-RCVMAX":
        return
    found = _OVERSIZE.match(_LOG_FFI.string(msg))
    if found is None:
        return
    size, sid = int(found[1]), int(found[2])
    with _oversized_lock:
        _oversized[sid] = (_oversized.get(sid, (0, 0))[0] + 1, size)


def watch_oversized() -> bool:
    """Have nng tell this module of every message it refuses over a socket's receive limit (it then closes that
    connection, which a caller otherwise cannot tell from a peer that went away); whether it will. Idempotent.

    This sets nng's process-wide logger (nng has one; by default it drops every message), and the level to at
    least warnings if it was lower."""
    global _logger
    if _logger is None:
        try:
            nng = _LOG_FFI.dlopen(_pynng_nng.__file__)  # the library pynng runs (already loaded): its one logger
            callback = _LOG_FFI.callback("void(int, int, const char *, const char *)", _log_to_python,
                                         onerror=lambda *_: None)
            if nng.nng_log_get_level() < _NNG_LOG_WARN:
                nng.nng_log_set_level(_NNG_LOG_WARN)
            nng.nng_log_set_logger(callback)
            _logger = callback
            # nng's threads must not call into an interpreter that is finalizing: back to nng's null logger first
            # (registered after pynng's nng_fini, so run before it)
            atexit.register(nng.nng_log_set_logger, _LOG_FFI.NULL)
        except (OSError, AttributeError):  # another build of pynng: its nng without a logger to set
            _logger = False
    return _logger is not False


def oversized(sock: pynng.Socket) -> tuple[int, int]:
    """(messages nng refused so far over ``sock``'s receive limit, size in bytes of the last one); (0, 0) if none
    (or nobody watches: see :func:`watch_oversized`)."""
    return _oversized.get(sock.socket.id, (0, 0))


def forget_oversized(sock: pynng.Socket) -> None:
    """Drop what :func:`oversized` knows of ``sock`` (call it as the socket closes)."""
    with _oversized_lock:
        _oversized.pop(sock.socket.id, None)
