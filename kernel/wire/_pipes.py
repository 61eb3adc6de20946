"""Which connections of a pynng socket are open, told right when nng reports a connection's end before its start.

nng reports a connection's addition (post-connect) and its removal (post-remove) from different threads, and for a
connection closed as soon as it was made (a node over its connection bounds turns a client away in ~1 ms) the
removal may come first. pynng then adds the connection back to ``sock.pipes`` on the late post-connect event, and
it stays there for good: measured on 127.0.0.1, a client whose connections were turned away kept such a ghost after
a quarter of its dials (so it believed itself connected forever), and a listening socket kept 15 ghosts for 3,000
connections opened and closed at once (a table an adversary could grow without bound). :class:`OpenPipes` keeps the
count of open connections itself, never counts a connection whose removal came first, and drops its ghost from
pynng's table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import final

import pynng

__all__ = ["EARLY_ENDS", "OpenPipes"]

EARLY_ENDS = 1024
"""Connections whose removal came before their addition, remembered until the addition comes (at most this many:
the oldest are forgotten first; nng reports each addition within microseconds of its removal)."""


@final
class OpenPipes:
    """The open connections of one pynng socket, kept by post-connect and post-remove callbacks registered on it
    (register before the socket dials or listens). ``on_up(pipe)`` runs for each connection that opens;
    ``on_gone(pipe, opened)`` for each that closes, ``opened`` False if its removal came before its addition (it
    closed at once). Both run in nng's threads, one at a time for a socket (pynng holds a lock around them)."""

    __slots__ = ("_early", "_on_gone", "_on_up", "_open", "_sock", "ghosts")

    def __init__(self, sock: pynng.Socket, on_up: Callable[[pynng.Pipe], object] | None = None,
                 on_gone: Callable[[pynng.Pipe, bool], object] | None = None) -> None:
        self._sock = sock
        self._on_up = on_up
        self._on_gone = on_gone
        self._open: set[int] = set()  # ids of connections added and not yet removed
        self._early: dict[int, None] = {}  # ids removed before they were added (insertion order: oldest first)
        self.ghosts = 0
        """Connections whose removal came before their addition (each dropped from pynng's table)."""
        sock.add_post_pipe_connect_cb(self._added)
        sock.add_post_pipe_remove_cb(self._removed)

    @property
    def count(self) -> int:
        """Connections open now."""
        return len(self._open)

    def __contains__(self, pipe_id: object) -> bool:
        """Whether the connection with this pipe id is open."""
        return pipe_id in self._open

    def _added(self, pipe: pynng.Pipe) -> None:  # an nng thread
        if pipe.id in self._early:  # already removed: a ghost pynng just put back in its table
            del self._early[pipe.id]
            self.ghosts += 1
            table = getattr(self._sock, "_pipes", None)  # pynng keeps no other way to drop it
            if isinstance(table, dict):
                table.pop(pipe.id, None)
            return
        self._open.add(pipe.id)
        if self._on_up is not None:
            self._on_up(pipe)

    def _removed(self, pipe: pynng.Pipe) -> None:  # an nng thread
        opened = pipe.id in self._open
        if opened:
            self._open.discard(pipe.id)
        else:
            self._early[pipe.id] = None
            if len(self._early) > EARLY_ENDS:
                del self._early[next(iter(self._early))]
        if self._on_gone is not None:
            self._on_gone(pipe, opened)
