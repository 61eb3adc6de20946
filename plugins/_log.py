"""The plugins' loggers: the kernel's library loggers (quiet in a program that did not configure structlog),
imported on first use so that ``import taonet.plugins`` stays light (no kernel, no sockets)."""

from __future__ import annotations

from typing import Any

__all__ = ["get_logger"]


class _Deferred:
    """``taonet.kernel.wire.get_logger(name)``, made when first used."""

    __slots__ = ("_name", "_real")

    def __init__(self, name: str) -> None:
        self._name = name
        self._real: Any = None

    def _resolve(self) -> Any:
        if self._real is None:
            from taonet.kernel.wire import get_logger

            self._real = get_logger(self._name)
        return self._real

    def bind(self, **values: Any) -> Any:
        """The logger with ``values`` added to every line's context."""
        return self._resolve().bind(**values)

    def __getattr__(self, method: str) -> Any:  # debug, info, warning, error, exception
        return getattr(self._resolve(), method)


def get_logger(name: str) -> Any:
    """The logger plugin code logs through (see the module docs)."""
    return _Deferred(name)
