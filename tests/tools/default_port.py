"""Holding the CLI's default endpoint port (127.0.0.1:9944) for tests of what a network does beside another node."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def default_port_held(timeout: float = 90.0) -> Iterator[socket.socket]:
    """Hold 127.0.0.1:9944 (a listening socket nobody answers on) for the block's duration. SO_REUSEADDR so that a
    port left in TIME_WAIT by an earlier network is no obstacle; when another test of the suite holds it, wait for
    it (bounded): assuming "held already" raced with that test releasing it, and the network under test then took
    the port it was meant to find taken."""
    deadline = time.monotonic() + timeout
    while True:
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", 9944))
            holder.listen()
            break
        except OSError:
            holder.close()
            if time.monotonic() > deadline:
                raise AssertionError("127.0.0.1:9944 stayed taken by another process") from None
            time.sleep(0.2)
    try:
        yield holder
    finally:
        holder.close()
