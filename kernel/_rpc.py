"""Request/reply over nng with CBOR: the node's RPC (and the actors' answer channel) on Rep0/Req0 sockets.

A request is canonical CBOR ``{"m": method, "p": {params}}``; a reply is ``{"ok": result}`` or ``{"err": {code,
fields}}`` (a typed :class:`~taonet.ledger.errors.TaonetError` rebuilt on the client). The server runs one nng
context per concurrent request, in a task group it owns; the client opens one context per call on one pooled Req0
socket, so calls run concurrently, and every call has a timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import pynng
import structlog

from taonet.ledger._codec import dumps, loads
from taonet.ledger.errors import CodecError, MessageTooLarge, TaonetError, error_from_wire, error_to_wire

from ._nng import NngContext
from .errors import RpcBadRequest, RpcServerError, RpcTimeout, UnknownMethod, Unreachable

__all__ = ["RpcClient", "RpcServer", "bound_address"]

log = structlog.get_logger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
DEFAULT_MAX_REQUEST = 32 << 20


def encode_reply(result: Any = None, error: TaonetError | None = None) -> bytes:
    """A reply's bytes."""
    return dumps({"err": error_to_wire(error)} if error is not None else {"ok": result})


class RpcServer:
    """Serve ``handlers`` (method name -> async function of the params dict) on an nng Rep0 address."""

    def __init__(self, address: str, handlers: Mapping[str, Handler], *, contexts: int = 32,
                 max_request: int = DEFAULT_MAX_REQUEST, name: str = "rpc") -> None:
        self.address = address
        self.handlers = dict(handlers)
        self.contexts = contexts
        self.max_request = max_request
        self.log = log.bind(actor=name, address=address)
        self.served = 0

    async def serve(self, *, task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen, report the bound address through ``task_status``, and serve until cancelled."""
        # nng drops anything above its own limit; ours is checked below so that big requests get a typed error.
        with pynng.Rep0(recv_max_size=2 * self.max_request + 1024) as sock:
            sock.listen(self.address)
            bound = bound_address(sock, self.address)
            async with anyio.create_task_group() as tg:
                for _ in range(self.contexts):
                    tg.start_soon(self._worker, sock)
                task_status.started(bound)
                self.log.info("rpc.listening", bound=bound)

    async def _worker(self, sock: pynng.Rep0) -> None:
        ctx = NngContext(sock)
        try:
            while True:
                raw, _ = await ctx.recv()
                reply = await self.handle(raw)
                if ctx.sending:  # the previous reply is still queued behind a busy pipe (rare)
                    await anyio.to_thread.run_sync(ctx.wait_sent, abandon_on_cancel=True)
                try:
                    ctx.send(reply)
                except pynng.NNGException as e:  # the requester went away; keep serving
                    self.log.debug("rpc.reply_dropped", error=str(e))
        finally:
            ctx.close()

    async def handle(self, raw: bytes) -> bytes:
        """Decode one request, run its handler, and encode the reply (never raises for bad input)."""
        method = "?"
        try:
            if len(raw) > self.max_request:
                raise MessageTooLarge(size=len(raw), limit=self.max_request)
            msg = loads(raw, max_size=self.max_request)
            if type(msg) is not dict or type(msg.get("m")) is not str or type(msg.get("p", {})) is not dict:
                raise RpcBadRequest(method="?", reason='a request is {"m": method, "p": {params}}')
            method = msg["m"]
            handler = self.handlers.get(method)
            if handler is None:
                raise UnknownMethod(method=method[:64])
            result = await handler(msg.get("p", {}))
            self.served += 1
            return encode_reply(result)
        except TaonetError as e:
            return encode_reply(error=e)
        except (KeyError, TypeError, ValueError) as e:
            return encode_reply(error=RpcBadRequest(method=method[:64], reason=f"{type(e).__name__}: {e}"[:200]))
        except Exception as e:  # a bug in a handler must not take the server down
            self.log.exception("rpc.handler_failed", method=method)
            return encode_reply(error=RpcServerError(method=method[:64], reason=type(e).__name__))


def bound_address(sock: pynng.Socket, requested: str) -> str:
    """The address actually bound (resolves tcp port 0 to the chosen port)."""
    if requested.startswith("tcp://") and requested.rsplit(":", 1)[-1] == "0":
        port = socket.ntohs(sock.listeners[-1].local_address.port)  # pynng reports it in network order
        host = requested[len("tcp://") :].rsplit(":", 1)[0]
        return f"tcp://{host}:{port}"
    return requested


class RpcClient:
    """Call methods on an :class:`RpcServer`; ``async with RpcClient(address) as c: await c.call("head")``."""

    def __init__(self, address: str, *, timeout: float = 30.0, max_reply: int = 256 << 20) -> None:
        self.address = address
        self.timeout = timeout
        self.max_reply = max_reply
        self._sock: pynng.Req0 | None = None

    async def __aenter__(self) -> RpcClient:
        self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open the pooled socket (dialing in the background, so the server may come up later)."""
        if self._sock is None:
            # resend_time -1: never resend a request on our own (a submit is not idempotent)
            self._sock = pynng.Req0(resend_time=-1, recv_max_size=self.max_reply)
            self._sock.dial(self.address, block=False)

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def call(self, method: str, timeout: float | None = None, **params: Any) -> Any:
        """Call ``method`` with keyword ``params``; the result, or the server's typed error raised here."""
        return await self.call_raw(method, params, timeout=timeout)

    async def call_raw(self, method: str, params: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Like :meth:`call` with the params as a dict."""
        if self._sock is None:
            self.open()
        assert self._sock is not None
        limit = self.timeout if timeout is None else timeout
        payload = dumps({"m": method, "p": params})
        # The wire's contexts: nng's own timeout bounds the wait, and cancellation from outside is delivered
        # properly on both backends (pynng's asyncio glue would raise a CancelledError anyio cannot attribute).
        ctx = NngContext(self._sock)
        try:
            ctx.send(payload)
            raw, _ = await ctx.recv(max(1, int(limit * 1000)))
        except pynng.Timeout:
            raise RpcTimeout(method=method, address=self.address, timeout=limit) from None
        except pynng.NNGException as e:
            raise Unreachable(method=method, address=self.address, reason=str(e)) from None
        finally:
            ctx.close()
        try:
            reply = loads(raw, max_size=self.max_reply)
        except CodecError as e:
            raise RpcServerError(method=method, reason=f"unreadable reply: {e}") from None
        if type(reply) is not dict:
            raise RpcServerError(method=method, reason="reply is not a map")
        if "err" in reply:
            raise error_from_wire(reply["err"])
        return reply.get("ok")
