"""Loggers for library code: structlog as the program configured it, else warnings and errors only, on stderr.

Unconfigured, structlog prints every level to stdout, so a user's script holding a Dendrite or a client printed
taonet's debug lines into its own output. A library must not change the process's structlog configuration, so each
of its loggers decides per call: once anything configured structlog (every ``taonet`` command does, a test's
``capture_logs`` does) it is ``structlog.get_logger(name)`` exactly; until then it is quiet.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

__all__ = ["get_logger"]

_QUIET = structlog.make_filtering_bound_logger(logging.WARNING)
_QUIET_PROCESSORS = [
    structlog.processors.add_log_level,
    structlog.dev.set_exc_info,
    structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
    # a plain traceback: structlog's default renders one with rich, every frame's locals shown, which took ~0.5-0.9 s
    # of the event loop for each failing forward of an axon (a peer could send them on purpose) and printed the
    # request's bytes and signature
    structlog.dev.ConsoleRenderer(colors=sys.stderr is not None and sys.stderr.isatty(),
                                  exception_formatter=structlog.dev.plain_traceback),
]


class _Logger:
    """A module's logger (see the module docs); ``bind`` gives another with more context, resolved the same way."""

    __slots__ = ("_context", "_name", "_proxy", "_quiet")

    def __init__(self, name: str, context: dict[str, Any]) -> None:
        self._name = name
        self._context = context
        self._proxy: Any = None
        self._quiet: Any = None

    def bind(self, **values: Any) -> _Logger:
        """This logger with ``values`` added to every line's context."""
        return _Logger(self._name, {**self._context, **values})

    def _target(self) -> Any:
        if structlog.is_configured():
            if self._proxy is None:  # structlog's own lazy proxy: it follows later configuration by itself
                self._proxy = structlog.get_logger(self._name, **self._context)
            return self._proxy
        if self._quiet is None:
            self._quiet = structlog.wrap_logger(structlog.PrintLogger(sys.stderr), wrapper_class=_QUIET,
                                                processors=_QUIET_PROCESSORS, **self._context)
        return self._quiet

    def __getattr__(self, method: str) -> Any:  # debug, info, warning, error, exception, msg, ...
        return getattr(self._target(), method)


def get_logger(name: str, **context: Any) -> Any:
    """The logger library code logs through: structlog's once the program configured structlog, else warnings and
    errors only, on stderr (a library never writes its debug lines into a program's output)."""
    return _Logger(name, context)
