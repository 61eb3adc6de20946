"""The launcher's check whether another process holds a port (it decides whether the node gets the default RPC port
9944, and whether a port of the network file is taken): a listener counts; connections a node closed first, left in
TIME_WAIT on its port for a minute, do not (the node's own bind succeeds then)."""

from __future__ import annotations

import socket
import time

import pytest

from taonet.tools.launcher._run import _held, _port_free


def _time_wait_port() -> int:
    """A loopback port with a connection in TIME_WAIT on it and no listener: the listening side closed first."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        accepted, _ = listener.accept()
        accepted.close()  # the server's side closes first: its end (on `port`) goes to TIME_WAIT
        deadline = time.monotonic() + 5
        while client.recv(1) and time.monotonic() < deadline:  # b"" once the FIN arrived
            pass
        client.close()
    return port


def test_a_port_another_process_listens_on_is_held() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not _port_free(port)
        assert _held(f"tcp://127.0.0.1:{port}")


def test_a_port_with_only_closed_connections_in_time_wait_is_free() -> None:
    port = _time_wait_port()
    with socket.socket() as s, pytest.raises(OSError, match="in use"):  # the premise: a plain bind fails here
        s.bind(("127.0.0.1", port))
    assert _port_free(port)
    assert not _held(f"tcp://127.0.0.1:{port}")
