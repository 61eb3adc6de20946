"""OpenPipes: a socket's open connections counted right when nng reports a connection's removal before its addition
(it does, from two threads, for a connection closed as it was made), and pynng's table left without the ghost such an
order leaves in it. The order replayed exactly; then real sockets on 127.0.0.1: a client turned away at every fast
redial, and a listening socket under a crowd opening and closing connections."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pynng

from taonet.kernel.wire import OpenPipes, limit_connections
from taonet.kernel.wire._pipes import EARLY_ENDS

from ..client.servers import free_address


def _turning_server(address: str) -> pynng.Rep0:
    """A listening socket that closes every connection in its pre-connect callback (a node over its bounds)."""
    sock = pynng.Rep0()
    sock.add_pre_pipe_connect_cb(lambda pipe: pipe.close())
    sock.listen(address)
    return sock


def test_a_connection_removed_before_it_was_added_is_never_counted_and_its_ghost_is_dropped() -> None:
    """nng's reversed order replayed on a real socket: removal (the tracker's post-remove callback), then pynng putting
    the connection back in its table and the post-connect callback: not counted, on_up not called, on_gone told it
    never opened, the ghost gone from sock.pipes; a connection in the usual order is counted until it closes."""
    ups: list[int] = []
    gones: list[tuple[int, bool]] = []
    with pynng.Req0() as sock:
        pipes = OpenPipes(sock, on_up=lambda p: ups.append(p.id),
                          on_gone=lambda p, opened: gones.append((p.id, opened)))
        ghost = SimpleNamespace(id=41)
        pipes._removed(ghost)  # type: ignore[arg-type]
        sock._pipes[ghost.id] = ghost  # what pynng does on the late post-connect event
        pipes._added(ghost)  # type: ignore[arg-type]
        assert pipes.count == 0 and ghost.id not in pipes and not sock.pipes
        assert ups == [] and gones == [(41, False)] and pipes.ghosts == 1

        kept = SimpleNamespace(id=42)
        pipes._added(kept)  # type: ignore[arg-type]
        assert pipes.count == 1 and 42 in pipes and ups == [42]
        pipes._removed(kept)  # type: ignore[arg-type]
        assert pipes.count == 0 and gones[-1] == (42, True) and pipes.ghosts == 1


def test_removals_never_followed_by_an_addition_are_remembered_within_a_bound() -> None:
    """Removals whose addition never comes are kept at most EARLY_ENDS; the oldest forgotten first."""
    with pynng.Req0() as sock:
        pipes = OpenPipes(sock)
        for i in range(EARLY_ENDS + 10):
            pipes._removed(SimpleNamespace(id=i))  # type: ignore[arg-type]
        assert len(pipes._early) == EARLY_ENDS
        assert 0 not in pipes._early and EARLY_ENDS + 9 in pipes._early


def test_a_client_turned_away_at_every_redial_is_never_left_believing_it_is_connected() -> None:
    """A Req0 redialing every 5 ms a server that closes each connection at once, for 2 s (each connection lives ~1 ms):
    every connection pynng lists is one the tracker counts as open; once the server is gone, within 2 s neither
    lists any (a ghost would stay in sock.pipes for good: a client that believes itself connected forever)."""
    address = free_address()
    server = _turning_server(address)
    try:
        with pynng.Req0(reconnect_time_min=5, reconnect_time_max=5) as sock:
            pipes = OpenPipes(sock)
            sock.dial(address, block=False)
            stale = 0
            ends = time.monotonic() + 2.0
            while time.monotonic() < ends:
                listed = [p.id for p in sock.pipes]
                time.sleep(0.03)  # a real connection of this server's lives ~1 ms; one listed 30 ms later is stale
                stale += sum(1 for pid in listed if pid in {p.id for p in sock.pipes} and pid not in pipes)
            server.close()
            deadline = time.monotonic() + 2.0
            while (sock.pipes or pipes.count) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not sock.pipes and pipes.count == 0, (sock.pipes, pipes.count, pipes.ghosts)
            assert stale == 0
    finally:
        server.close()


def test_a_crowd_opening_and_closing_connections_leaves_a_listening_socket_no_ghosts() -> None:
    """Four threads each open and close 400 connections to a socket bounded by limit_connections: afterwards (within
    5 s) pynng lists no connection and the bound counts none (measured without OpenPipes: 15 ghosts kept for good in
    3,000 such connections)."""
    address = free_address()
    with pynng.Rep0() as server:
        bound = limit_connections(server, 4096, 4096)
        server.listen(address)

        def churn() -> None:
            for _ in range(400):
                with pynng.Req0() as c:
                    c.dial(address, block=True)

        threads = [threading.Thread(target=churn) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
        deadline = time.monotonic() + 5.0
        while (server.pipes or bound.connections) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not server.pipes and bound.connections == 0, (len(server.pipes), bound.connections)
