"""One generic blocking wrapper: use an async object (a Subtensor, a Metagraph) from scripts and the REPL.

``sub = blocking(Subtensor("local"))`` runs an event loop in a background thread (anyio's blocking portal); every
coroutine method called on the wrapper runs there and returns its result. Results whose class sets
``BLOCKING_WRAP = True`` (a Metagraph) come back wrapped on the same loop, so their async methods block too.
"""

from __future__ import annotations

import functools
import inspect
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

__all__ = ["Blocking", "blocking"]

T = TypeVar("T")


class Blocking(Generic[T]):
    """A synchronous view of an async object; close it (or use ``with``) to stop its loop."""

    def __init__(self, target: T, *, portal: BlockingPortal | None = None, backend: str = "asyncio") -> None:
        self._target = target
        self._owner: AbstractContextManager[BlockingPortal] | None = None
        if portal is None:
            self._owner = start_blocking_portal(backend)
            portal = self._owner.__enter__()
        self._portal = portal
        self._entered = False
        if hasattr(target, "__aenter__") and self._owner is not None:
            self._portal.call(target.__aenter__)  # type: ignore[attr-defined]
            self._entered = True

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):

            @functools.wraps(attr)
            def call(*args: Any, **kwargs: Any) -> Any:
                return self._wrap(self._portal.call(functools.partial(attr, *args, **kwargs)))

            return call
        return attr

    def _wrap(self, value: Any) -> Any:
        if getattr(type(value), "BLOCKING_WRAP", False):
            return Blocking(value, portal=self._portal)
        return value

    @property
    def wrapped(self) -> T:
        """The async object underneath."""
        return self._target

    def close(self) -> None:
        """Leave the target's async context and stop the background loop."""
        if self._entered:
            self._portal.call(self._target.__aexit__, None, None, None)  # type: ignore[attr-defined]
            self._entered = False
        if self._owner is not None:
            self._owner.__exit__(None, None, None)
            self._owner = None

    def __enter__(self) -> Blocking[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"blocking({self._target!r})"

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._target)) | {"close", "wrapped"})


def blocking(target: T) -> Blocking[T]:
    """Wrap ``target`` so its coroutine methods can be called from synchronous code."""
    return Blocking(target)
