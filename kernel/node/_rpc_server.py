"""The node's RPC server: CBOR request/reply over nng Rep0 (the client side is ``taonet.kernel.client.RpcClient``).

A request is canonical CBOR ``{"m": method, "p": {params}}`` (anything else is refused: ``NonCanonical``); a reply
is ``{"ok": result}`` or ``{"err": {code, fields}}`` (a typed :class:`~taonet.ledger.errors.TaonetError` rebuilt on
the client).

A few receiving contexts only take requests in; each request admitted is handled by its own task (in the server's
task group), which keeps the nng context it came on until it replies, and the receiver takes a fresh context. So a
slow or waiting request never holds up the intake, and the server can refuse at once:

* at most ``max_in_flight`` requests are handled at a time, at most ``per_client`` from one connection (nng
  pipe), and at most ``max_bytes_in_flight`` bytes of requests are held; a request over any gets
  :class:`~taonet.kernel.errors.Busy` straight from the receiver (and its bytes are let go at once);
* each request's task knows where it came from (:func:`~taonet.kernel.node._reads.current_origin`: the remote
  address, and whether its connection is still open), so the reads it does in worker threads take turns by address
  and are skipped when the requester has hung up;
* each request has a time budget (``budget`` seconds, or its method's entry in ``budgets``); a handler still
  running after it is cancelled and its caller gets ``Busy``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import anyio.abc
import attrs
import pynng
from pynng import lib as _nng

from taonet.ledger import dumps, loads, loads_bounded
from taonet.ledger.errors import MessageTooLarge, NonCanonical, TaonetError, error_to_wire

from ..client import MAX_REQUEST
from ..errors import Busy, RpcBadRequest, RpcServerError, UnknownMethod
from ..wire import (
    MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_ADDRESS,
    ConnectionLimit,
    NngContext,
    SpareContexts,
    bound_address,
    get_logger,
    limit_connections,
)
from ._reads import Origin, serving

__all__ = ["RpcServer", "connection_figures", "encode_reply"]

log = get_logger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
DEFAULT_MAX_REQUEST = MAX_REQUEST
DEFAULT_MAX_BYTES_IN_FLIGHT = 64 << 20
_OVER = 64 << 10  # nng takes requests this far over the limit (refused with a typed error); it drops larger ones
_PEEK_LIMIT = 64 << 10  # a refused request's method name is read only from requests this small


def encode_reply(result: Any = None, error: TaonetError | None = None) -> bytes:
    """A reply's bytes."""
    return dumps({"err": error_to_wire(error)} if error is not None else {"ok": result})


def connection_figures(limit: ConnectionLimit | None) -> dict[str, int]:
    """A listening socket's connection figures (:meth:`ConnectionLimit.stats`) beside the bounds it enforces
    (``max_connections``, ``max_connections_per_address``, ``max_connections_per_network``); empty before it
    listens."""
    if limit is None:
        return {}
    return {**limit.stats(), "max_connections": limit.total, "max_connections_per_address": limit.per_address,
            "max_connections_per_network": limit.per_network}


def _method_of(raw: bytes) -> str:
    """The method a request names, read cheaply for a refusal ("?" if it cannot be read)."""
    if len(raw) > _PEEK_LIMIT:
        return "?"
    try:
        msg = loads(raw)
    except Exception:
        return "?"
    m = msg.get("m") if type(msg) is dict else None
    return m[:64] if type(m) is str else "?"


class RpcServer:
    """Serve ``handlers`` (method name -> async function of the params dict) on nng Rep0 addresses."""

    def __init__(self, address: str, handlers: Mapping[str, Handler], *, receivers: int = 4,
                 max_in_flight: int = 256, per_client: int = 16, budget: float = 10.0,
                 budgets: Mapping[str, float] | None = None, max_request: int = DEFAULT_MAX_REQUEST,
                 max_bytes_in_flight: int = DEFAULT_MAX_BYTES_IN_FLIGHT,
                 also: tuple[str, ...] = (), name: str = "rpc", max_connections: int = MAX_CONNECTIONS,
                 max_connections_per_address: int = MAX_CONNECTIONS_PER_ADDRESS,
                 max_connections_per_network: int | None = None) -> None:
        self.address = address
        self.also = also
        self.handlers = dict(handlers)
        self.receivers = receivers
        self.max_in_flight = max_in_flight
        self.per_client = per_client
        self.budget = budget
        self.budgets = dict(budgets or {})
        self.max_request = max_request
        self.max_bytes_in_flight = max(max_bytes_in_flight, max_request)  # one request of the largest size fits
        self.max_connections = max_connections
        self.max_connections_per_address = max_connections_per_address
        self.max_connections_per_network = max_connections_per_network
        self._limit = ConnectionLimit(max_connections, max_connections_per_address,  # replaced at each serve
                                      max_connections_per_network)
        self.log = log.bind(actor=name, address=address)
        self.served = 0
        self.refused = 0
        self.over_budget = 0
        self._in_flight = 0
        self._bytes_in_flight = 0
        self._per_pipe: dict[int, int] = {}
        self._spare = SpareContexts(receivers + max_in_flight)  # contexts between requests (some may still be sending)
        self._sock: pynng.Rep0 | None = None

    def stats(self) -> dict[str, int]:
        """Requests served, refused (over a share) and cut (over budget), those in flight, the connections and remote
        addresses and networks now, the connections refused as they came (in all, and over their address's or
        their network's share), and the bounds (:func:`connection_figures`)."""
        figures = connection_figures(self._limit)
        if self._sock is None:
            figures.update(connections=0, addresses=0, networks=0)
        return {"served": self.served, "refused": self.refused, "over_budget": self.over_budget,
                "in_flight": self._in_flight, "bytes_in_flight": self._bytes_in_flight, **figures}

    async def serve(self, *, task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen, report the (first) bound address through ``task_status``, and serve until cancelled."""
        # nng reads a message whole (allocated as its length arrives), so its limit is what one connection can make
        # the node hold: a little over ours (a request just over it gets a typed error; a client checks before
        # sending), and nng closes the connection of anything larger.
        with pynng.Rep0(recv_max_size=self.max_request + _OVER) as sock:
            self._limit = limit_connections(sock, self.max_connections, self.max_connections_per_address,
                                            self.max_connections_per_network)
            self._sock = sock
            sock.listen(self.address)
            bound = bound_address(sock, self.address)
            for extra in self.also:
                sock.listen(extra)
            try:
                async with anyio.create_task_group() as tg:
                    for _ in range(self.receivers):
                        tg.start_soon(self._receive, sock, tg)
                    task_status.started(bound)
                    self.log.info("rpc.listening", bound=bound, also=list(self.also))
            finally:
                self._sock = None
                self._spare.close()

    async def _receive(self, sock: pynng.Rep0, tg: anyio.abc.TaskGroup) -> None:
        ctx = self._spare.take(sock)
        try:
            while True:
                raw, pipe = await ctx.recv(want_pipe=True)
                pid = _nng.nng_pipe_id(pipe)
                mine = self._per_pipe.get(pid, 0)
                size = len(raw)
                if (self._in_flight >= self.max_in_flight or mine >= self.per_client
                        or self._bytes_in_flight + size > self.max_bytes_in_flight):
                    reason = (f"this connection has {mine} requests in flight, its share is {self.per_client}"
                              if mine >= self.per_client else
                              f"the node is handling its limit of {self.max_in_flight} requests"
                              if self._in_flight >= self.max_in_flight else
                              f"the node holds its limit of {self.max_bytes_in_flight >> 20} MiB of requests")
                    method = _method_of(raw)
                    del raw  # let its bytes go before the reply is sent
                    self.refused += 1
                    await self._reply(ctx, encode_reply(error=Busy(method=method, reason=reason,
                                                                   retry_after=0.05)))
                    self._spare.put_back(ctx)  # never wait here for a reply to leave: intake must go on
                    ctx = self._spare.take(sock)
                    continue
                self._in_flight += 1
                self._bytes_in_flight += size
                self._per_pipe[pid] = mine + 1
                tg.start_soon(self._serve_one, ctx, raw, pid)
                ctx = self._spare.take(sock)
        finally:
            ctx.close()

    async def _serve_one(self, ctx: NngContext, raw: bytes, pid: int) -> None:
        size, limit = len(raw), self._limit
        try:
            reply = await self.handle(raw, Origin(limit.address_of(pid), functools.partial(limit.holds, pid)))
            del raw
            await self._reply(ctx, reply)
        finally:
            self._in_flight -= 1
            self._bytes_in_flight -= size
            left = self._per_pipe[pid] - 1
            if left:
                self._per_pipe[pid] = left
            else:
                del self._per_pipe[pid]
            self._spare.put_back(ctx)

    async def _reply(self, ctx: NngContext, reply: bytes) -> None:
        if ctx.sending:  # not expected: contexts are only received on once their last reply has left
            await anyio.to_thread.run_sync(ctx.wait_sent, abandon_on_cancel=True)
        try:
            ctx.send(reply)
        except pynng.NNGException as e:  # the requester went away; keep serving
            self.log.debug("rpc.reply_dropped", error=str(e))

    async def handle(self, raw: bytes, origin: Origin | None = None) -> bytes:
        """Decode one request, run its handler within its budget (and its caller's deadline, when it says one), and
        encode the reply (never raises for bad input). ``origin``: the connection it came on, which the handler's
        reads see (:func:`~taonet.kernel.node._reads.current_origin`)."""
        method = "?"
        received = anyio.current_time()
        try:
            if len(raw) > self.max_request:
                raise MessageTooLarge(size=len(raw), limit=self.max_request)
            msg = loads_bounded(raw, max_size=self.max_request)
            if type(msg) is not dict or type(msg.get("m")) is not str or type(msg.get("p", {})) is not dict:
                raise RpcBadRequest(method="?", reason='a request is {"m": method, "p": {params}}')
            wait = msg.get("d")  # how long its caller waits for the reply (seconds), when it says
            if wait is not None and (type(wait) not in (int, float) or not 0 <= wait <= 1e6):
                raise RpcBadRequest(method="?", reason='a request\'s "d" is the seconds its caller waits, 0..1e6')
            if dumps(msg) != raw:  # keys out of order, a longer head than needed, or bytes after the request
                raise NonCanonical(what="the request (its keys' order, a non-minimal integer or length, or bytes "
                                        "after it)")
            method = msg["m"]
            handler = self.handlers.get(method)
            if handler is None:
                raise UnknownMethod(method=method[:64])
            budget = self.budgets.get(method, self.budget)
            deadline = None if wait is None else received + wait
            if origin is not None and deadline is not None:
                origin = attrs.evolve(origin, deadline=deadline)
            with anyio.move_on_after(budget if wait is None else min(budget, wait)) as scope, \
                    serving(origin) if origin is not None else contextlib.nullcontext():
                result = await handler(msg.get("p", {}))
            if scope.cancelled_caught:
                self.over_budget += 1
                reason = (f"the request ran over its time budget of {budget:g} s" if wait is None or budget <= wait
                          else f"its caller's wait of {wait:g} s ended first")
                raise Busy(method=method[:64], reason=reason, retry_after=1.0)
            self.served += 1
            return encode_reply(result)
        except TaonetError as e:
            return encode_reply(error=e)
        except (KeyError, TypeError, ValueError) as e:
            return encode_reply(error=RpcBadRequest(method=method[:64], reason=f"{type(e).__name__}: {e}"[:200]))
        except Exception as e:  # a bug in a handler must not take the server down
            self.log.exception("rpc.handler_failed", method=method)
            return encode_reply(error=RpcServerError(method=method[:64], reason=type(e).__name__))
