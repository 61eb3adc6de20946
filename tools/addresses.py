"""Whether an address can be listened on or dialed, asked of nng itself before anything starts: the node's command
(`node run`) and the launcher's file check use it to refuse a bad or taken address in one line."""

from __future__ import annotations

__all__ = ["IN_USE", "dial_problem", "listen_problem"]

IN_USE = "in use"
"""What :func:`listen_problem` says of an address another process listens on."""


def listen_problem(address: str) -> str | None:
    """Why a node could not listen on ``address``, asked of nng as the node asks it (a socket listens there and is
    closed at once): None when it can; :data:`IN_USE` when another process listens there; else what is wrong with the
    address (a host that is not this machine's, a port outside 0..65535, an ipc:// folder that does not exist...)."""
    import pynng

    if address.startswith("inproc://"):  # this process's own: nothing to ask
        return None
    sock = pynng.Pair0()
    try:
        sock.listen(address)
    except pynng.AddressInUse:
        return IN_USE
    except pynng.AddressInvalid:
        return ("is not an address this machine can listen on (a host that is not this machine's, or a port outside "
                "0..65535): use 127.0.0.1 or 0.0.0.0 and a port (0: any free one)")
    except pynng.NoEntry:
        return ("cannot be listened on (a host that does not resolve, or an ipc:// folder that does not exist): check "
                "the address")
    except pynng.NotSupported:
        return "is not an address nng listens on: use tcp://HOST:PORT (port 0: any free port) or ipc:///PATH"
    except pynng.NNGException as e:
        return f"cannot be listened on ({str(e).lower()}): check the address"
    except UnicodeEncodeError:
        return "is not UTF-8 text"
    finally:
        sock.close()
    return None


def dial_problem(address: str) -> str | None:
    """Why a client could not dial ``address`` (an endpoint: ``host:port``, ``local`` or an nng URL), parsed as every
    taonet client parses it (resolve_endpoint, then nng's own parser; nothing is connected): None when it can."""
    import pynng

    from taonet.kernel.client import resolve_endpoint
    from taonet.kernel.errors import BadAddress

    try:
        url = resolve_endpoint(address)
    except BadAddress as e:
        return f"is not an address a node can be reached at ({e.reason})"
    sock = pynng.Req0()
    try:
        made = pynng.ffi.new("nng_dialer *")
        code = pynng.lib.nng_dialer_create(made, sock.socket, url.encode())  # parsed, never started: no connection
        if code == 0:
            pynng.lib.nng_dialer_close(made[0])
    except UnicodeEncodeError:
        return "is not UTF-8 text"
    finally:
        sock.close()
    if code != 0:
        return "is not an address a node can be reached at: give HOST:PORT, tcp://HOST:PORT or ipc:///PATH"
    return None
