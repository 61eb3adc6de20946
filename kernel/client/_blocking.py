"""One generic blocking wrapper: use an async object (a Subtensor, a Metagraph) from scripts and the REPL.

``sub = blocking(Subtensor("local"))`` runs an event loop in a background thread (an anyio blocking portal); every
coroutine method called on the wrapper runs there and returns its result. Results whose class sets
``BLOCKING_WRAP = True`` (a Metagraph) come back wrapped on the same loop, so their async methods block too; a
wrapper of the same loop passed as an argument (``mg.sync(subtensor=sub)``) reaches the call as its async object.

A wrapper dropped without ``close()`` (a client made per call, in a loop) stops its loop when it is collected, so
threads and sockets do not pile up; a wrapped result (a Metagraph) keeps its client alive while it lives.
The loop's thread never keeps a process alive: it is a daemon thread, and every wrapper still open when the
interpreter exits is closed then (its target's ``__aexit__`` gets a few seconds, then the loop stops), before the
libraries it uses (nng) finalise. A daemon thread still inside a call at that moment is left waiting quietly (the
interpreter ends it) rather than printing a traceback. ``with subtensor(...) as sub:`` (or ``sub.close()``) closes
it earlier and is the form to prefer; a call on a closed wrapper raises :class:`ClientClosed`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import inspect
import sys
import threading
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Generic, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from ..errors import ClientClosed

__all__ = ["Blocking", "awaitable_property", "blocking", "in_async_code", "runs_on_loop"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

CLOSE_TIMEOUT = 5.0
"""Seconds a closing wrapper gives its target's ``__aexit__`` and its loop's thread before leaving them."""

START_TIMEOUT = 30.0
"""Seconds to wait for a new loop's thread to start (it takes milliseconds; a bound, not a pace)."""

_open: weakref.WeakSet[Blocking[Any]] = weakref.WeakSet()
_open_lock = threading.Lock()
_exiting = threading.Event()
"""Set once the interpreter's exit closes the wrappers left open."""


class awaitable_property:
    """A property whose getter is a coroutine function: ``await obj.name`` on the async object; through
    :func:`blocking`, the plain value (``sub.block``)."""

    def __init__(self, fget: Callable[[Any], Awaitable[Any]]) -> None:
        self.fget = fget
        self.__doc__ = fget.__doc__

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else self.fget(obj)


def runs_on_loop(method: F) -> F:
    """Mark a plain method that returns a coroutine when called in async code (and blocks, or refuses, in sync code)
    as one :class:`Blocking` runs on its loop, as it runs a coroutine method."""
    method.runs_on_loop = True  # type: ignore[attr-defined]
    return method


def in_async_code() -> bool:
    """Whether the calling thread runs an event loop (asyncio or trio) right now."""
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop()
        return True
    trio = sys.modules.get("trio")  # imported by whoever runs trio; never imported here for the question
    if trio is not None:
        with contextlib.suppress(RuntimeError):
            trio.lowlevel.current_trio_token()
            return True
    return False


class _PortalThread:
    """An event loop in a daemon thread with a blocking portal into it; ``stop()`` ends both (bounded)."""

    def __init__(self, backend: str) -> None:
        ready: Future[BlockingPortal] = Future()

        async def serve() -> None:
            async with BlockingPortal() as portal:
                ready.set_result(portal)
                await portal.sleep_until_stopped()

        def run() -> None:
            try:
                anyio.run(serve, backend=backend)
            except BaseException as e:  # handed to the thread that waits in result()
                if not ready.done():
                    ready.set_exception(e)

        self._thread = threading.Thread(target=run, name="taonet-blocking", daemon=True)
        self._thread.start()
        self.portal = ready.result(START_TIMEOUT)
        self.stopped = False

    def runs_here(self) -> bool:
        """Whether the calling thread is this loop's own."""
        return self._thread is threading.current_thread()

    def stop(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Stop the loop (cancelling what still runs there) and wait up to ``timeout`` for its thread."""
        self.stopped = True
        if self._thread is threading.current_thread():
            return
        # already stopped, or stuck: either way the daemon thread cannot hold the process
        with contextlib.suppress(RuntimeError, FutureTimeout, CancelledError):
            self.portal.start_task_soon(self.portal.stop, True).result(timeout)
        self._thread.join(timeout)


class Blocking(Generic[T]):
    """A synchronous view of an async object; close it (or use ``with``) to stop its loop."""

    def __init__(self, target: T, *, portal: BlockingPortal | None = None, backend: str = "asyncio",
                 _loop: _PortalThread | None = None, _parent: Blocking[Any] | None = None) -> None:
        self._target = target
        self._owner: _PortalThread | None = None
        self._entered = False
        self._closed = False
        self._parent = _parent  # a wrapper on another's loop keeps that one (and so its loop) alive
        self._finalizer: weakref.finalize[Any, Any] | None = None
        if portal is None:
            self._owner = _PortalThread(backend)
            portal = self._owner.portal
        self._portal = portal
        self._loop = self._owner or _loop  # the loop this wrapper runs on, when a wrapper of ours made it
        if self._owner is None:
            return
        _close_at_exit_before_libraries()
        with _open_lock:
            _open.add(self)
        if hasattr(target, "__aenter__"):
            try:
                self._portal.call(target.__aenter__)  # type: ignore[attr-defined]
            except BaseException:
                self.close()
                raise
            self._entered = True
        # A wrapper dropped without close() (a client made per call, in a loop) stops its loop when collected, so
        # threads and sockets do not pile up; at exit, _close_all_at_exit closes what is still referenced.
        self._finalizer = weakref.finalize(self, _release, self._owner, self._portal,
                                           target if self._entered else None)
        self._finalizer.atexit = False

    def __getattr__(self, name: str) -> Any:
        static = inspect.getattr_static(type(self._target), name, None)
        if isinstance(static, awaitable_property):  # ``await sub.block`` on the async object: its value here
            return self._on_loop(functools.partial(static.fget, self._target))()
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr) or getattr(attr, "runs_on_loop", False):
            return functools.wraps(attr)(self._on_loop(attr))
        if inspect.ismethod(attr):  # a plain method: what it returns is wrapped as a coroutine's result is

            @functools.wraps(attr)
            def plain(*args: Any, **kwargs: Any) -> Any:
                out = attr(*args, **kwargs)
                # the target itself (Metagraph.load fills it in place and returns it): this wrapper, whose
                # sync() blocks; the bare object's would hand back a coroutine never awaited
                return self if out is self._target else self._wrap(out)

            return plain
        return attr

    def _on_loop(self, attr: Any) -> Any:
        """``attr`` (a coroutine function, or one whose result may be a coroutine) as a blocking call on the loop."""

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._loop is not None and self._loop.stopped:
                if _exiting.is_set() and threading.current_thread() is not threading.main_thread():
                    _park_until_exit()  # a daemon thread calling again after the exit closed the client
                raise ClientClosed(what=repr(self))
            # a wrapper of this loop passed as an argument (mg.sync(subtensor=sub)) is its async object there: the
            # wrapper's blocking calls cannot run on the loop they would wait for
            args = tuple(self._unwrap(a) for a in args)
            kwargs = {k: self._unwrap(v) for k, v in kwargs.items()}
            try:
                out = self._portal.call(functools.partial(attr, *args, **kwargs))
                return self if out is self._target else self._wrap(out)  # initialize() returns its client
            except BaseException as e:
                if _exiting.is_set() and threading.current_thread() is not threading.main_thread():
                    _park_until_exit()
                if self._loop is not None and self._loop.stopped and isinstance(e, RuntimeError | CancelledError):
                    raise ClientClosed(what=repr(self)) from None  # closed (by another thread) while it ran
                raise

        return call

    def _unwrap(self, value: Any) -> Any:
        return value._target if isinstance(value, Blocking) and value._portal is self._portal else value

    def runs_here(self) -> bool:
        """Whether the calling thread is this wrapper's event loop's own (where its blocking calls cannot run)."""
        return self._loop is not None and self._loop.runs_here()

    def _wrap(self, value: Any) -> Any:
        if getattr(type(value), "BLOCKING_WRAP", False):
            return Blocking(value, portal=self._portal, _loop=self._loop, _parent=self)
        return value

    @property
    def wrapped(self) -> T:
        """The async object underneath."""
        return self._target

    @property
    def closed(self) -> bool:
        """True once :meth:`close` stopped this wrapper's loop (a wrapper sharing another's loop never is)."""
        return self._closed

    def close(self) -> None:
        """Leave the target's async context and stop the background loop (each step bounded in time)."""
        owner, self._owner = self._owner, None
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._entered:
            self._entered = False
            # the loop is gone, or the target would not leave in time: stopping the loop ends it
            with contextlib.suppress(RuntimeError, FutureTimeout, CancelledError):
                self._portal.start_task_soon(self._target.__aexit__, None, None, None  # type: ignore[attr-defined]
                                             ).result(CLOSE_TIMEOUT)
        if owner is not None:
            owner.stop()
            with _open_lock:
                _open.discard(self)
            self._closed = True

    def __enter__(self) -> Blocking[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"blocking({self._target!r})"

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._target)) | {"close", "closed", "runs_here", "wrapped"})


def _close_all_at_exit() -> None:
    """Close every wrapper a script left open, so its node connections end cleanly before the interpreter does."""
    _exiting.set()
    with _open_lock:
        still_open = list(_open)
    for b in still_open:
        b.close()


def _release(owner: _PortalThread, portal: BlockingPortal, entered: Any) -> None:
    """Leave ``entered``'s async context and stop ``owner``'s loop: a wrapper nobody references any more."""
    if owner.stopped or _exiting.is_set():
        return
    if owner.runs_here():  # collected on its own loop's thread: ask, never wait on ourselves
        owner.stopped = True
        with contextlib.suppress(RuntimeError):
            if entered is not None:
                portal.start_task_soon(entered.__aexit__, None, None, None)
            portal.start_task_soon(portal.stop, True)
        return
    if entered is not None:
        with contextlib.suppress(RuntimeError, FutureTimeout, CancelledError):
            portal.start_task_soon(entered.__aexit__, None, None, None).result(CLOSE_TIMEOUT)
    owner.stop()


def _close_at_exit_before_libraries() -> None:
    """(Re-)register :func:`_close_all_at_exit` as the newest exit handler, so it runs before those of the libraries
    imported so far: pynng's finalises nng, after which closing a socket or a context aborts the process."""
    atexit.unregister(_close_all_at_exit)
    atexit.register(_close_all_at_exit)


def _park_until_exit() -> None:
    """A daemon thread whose call the interpreter's exit cut short waits here for the exit instead of raising."""
    threading.Event().wait()


def blocking(target: T) -> Blocking[T]:
    """Wrap ``target`` so its coroutine methods can be called from synchronous code."""
    return Blocking(target)
