"""The node's RPC server: CBOR request/reply over nng Rep0 (the client side is ``taonet.kernel.client.RpcClient``).

A request is canonical CBOR ``{"m": method, "p": {params}}``; a reply is ``{"ok": result}`` or ``{"err": {code,
fields}}`` (a typed :class:`~taonet.ledger.errors.TaonetError` rebuilt on the client). The server runs one nng
context per concurrent request, in a task group it owns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import pynng
import structlog

from taonet.ledger import dumps, loads
from taonet.ledger.errors import MessageTooLarge, TaonetError, error_to_wire

from ..errors import RpcBadRequest, RpcServerError, UnknownMethod
from ..wire import NngContext, bound_address

__all__ = ["RpcServer", "encode_reply"]

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
