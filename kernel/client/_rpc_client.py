"""The RPC client: calls on a node's (or replica's) RPC over one pooled nng Req0 socket, each with a timeout.

A request is canonical CBOR ``{"m": method, "p": {params}}``; a reply is ``{"ok": result}`` or ``{"err": {code,
fields}}``, rebuilt here as the typed error the server raised. Each call opens its own nng context, so calls run
concurrently.

A client that has never reached its server waits at most ``connect_timeout`` (3 s by default, and never longer
than the call's own timeout) for the background dial to connect, then raises :class:`NoNode`: nothing listening is
reported in seconds, not after a long call timeout. The call's timeout bounds the whole call: the reply is waited
for until that many seconds after the call started, the wait for a connection included.

Once connected, a server that goes away (its process ended, its connection closed) is reported in seconds too, as
:class:`Unreachable` (not :class:`NoNode`: a request may have reached the server). A write out on a connection
that breaks fails at once (nng reports the reset; the server may have taken it); a read (:data:`RESENT_READS`) is sent
again, as a call made while the connection is gone. A request sent while the socket has no connection (the server
went away before, nng redials it every 0.1 s or so) waits for a connection as long as the socket has had none for
less than ``connect_timeout`` seconds (counted from the loss, by nng's pipe callback; and at least
:data:`REDIAL_GRACE` from the call's start): a server back on the same address within that grace gets the request
and answers it; past the grace the call raises :class:`Unreachable`. Only such calls run a watcher task beside their
receive; it sleeps until the grace ends, then :data:`CHECK_EVERY` seconds between looks once a connection is back.

A call sent on an open connection runs no watcher: it waits in a cancel scope the client keeps in its set of calls
in flight (bounded by them: each takes itself out when it ends). A request that went out on the connection fails at
once when it breaks, but one sent in the microseconds between nng dropping the connection and the pipe callback
noting it is queued while nng redials, and nothing would end it: so the callback, when it notes the loss, posts to
each such call's event loop (``call_soon_threadsafe``, trio's ``run_sync_soon``: it never blocks nng's thread) the
same grace as a deadline on its scope, and a new connection posts its removal. At the deadline, with no connection
back, the call raises :class:`Unreachable` as a watched one does.

A reply is a peer's bytes (a client may talk to a replica anyone runs): one of 64 KiB or more is first checked to
decode to at most ``max_density`` bytes of Python objects per byte (16 by default, :func:`taonet.ledger.loads_bounded`;
a submit_batch reply at most :data:`DENSE_REPLIES`), else the call raises :class:`RefusedReply` (an
:class:`RpcServerError`, as a malformed reply does) without decoding it, and the client goes on serving later calls.
The node's honest replies measured at most 12.4 bytes of objects per byte (a neuron with 1,024 weights; a metagraph of
1,024 UIDs 1.8, with its weights 1.5; 1,000 blocks 1.4; 128 subnets 11.4), except a submit_batch answered with
refusals (31.8 for 10,000; at most 35.7 for any error the ledger has): so a hostile 256 MiB reply of empty maps
(~18 GiB decoded) is refused.

A node over its connection bounds (``--max-connections-per-address`` and the like) closes each connection from the
client's address in its pre-connect callback: the client sees every connection made and closed ~1 ms later (pipe
callbacks: added, then removed), again at each of nng's redials, where nothing listening shows no connection at
all. A client whose connections were all closed within :data:`CLOSED_AT_ONCE` of their making, and that never kept
one, raises :class:`ConnectionsRefused` (a :class:`NoNode`: the node read nothing it sent) instead of "no node", once
its connect timeout has passed (a slot freed meanwhile is taken). A call that caught the ~1 ms such a connection is
open and sent on it sends again on the next connection nng makes, within that timeout: the node closed it before
reading anything. A client that had a connection, lost it, and whose new ones are turned away raises
:class:`Unreachable` saying so.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import anyio
import pynng
import sniffio

from taonet.ledger import DENSITY, dumps, loads_bounded
from taonet.ledger.errors import CodecError, MessageTooDense, MessageTooLarge, TaonetError, error_from_wire

from ..errors import (
    REFUSED_ADVICE,
    BadAddress,
    ConnectionsRefused,
    NodeSilent,
    NoNode,
    RefusedReply,
    RpcTimeout,
    Unreachable,
)
from ..wire import NngContext, OpenPipes

__all__ = ["CHECK_EVERY", "CLOSED_AT_ONCE", "DENSE_REPLIES", "MAX_REQUEST", "REDIAL_GRACE", "RpcClient"]

CHECK_EVERY = 0.25
"""A call sent while disconnected, once a connection is back, looks this often whether it was lost again."""

REDIAL_GRACE = 1.0
"""A call made when the connection was lost long ago still gives nng this long (at most ``connect_timeout``) to redial
before it raises :class:`Unreachable` (nng redials a lost server every 0.1 s or so)."""

CLOSED_AT_ONCE = 0.25
"""A connection the server closes within this many seconds of its making was turned away, not lost: a node over its
connection bounds closes it in its pre-connect callback, which the client sees as a connection made and closed ~1 ms
later (measured on 127.0.0.1; a round trip later over a network), again at each of nng's redials."""

DENSE_REPLIES: Mapping[str, int] = MappingProxyType({"submit_batch": 64})
"""Methods whose honest replies are denser than the client's ``max_density``, and the density allowed for them: a
submit_batch reply lists one small error map per refused extrinsic (up to 10,000, 36 bytes of objects per byte at
most; 64 leaves room for error types to come)."""


def _seconds(x: float) -> str:
    """Seconds for a message: 0.5, 3, 120."""
    return f"{x:.2g}" if x < 10 else f"{x:.0f}"


def _count(refused: int, waited: float) -> str:
    """How many connections were turned away in ``waited`` seconds (at least the one just closed)."""
    n = max(1, refused)
    return f"{n} connection{'s' if n > 1 else ''} in {_seconds(waited)} s"


def _server_error(method: str, address: str, data: Any) -> TaonetError:
    """The typed error a reply's ``err`` names; :class:`RefusedReply` when it names none this client knows (a
    malformed error, an unknown code, or fields its class cannot be built from)."""
    err = error_from_wire(data)
    if type(err) is TaonetError and not (type(data) is dict and data.get("code") == TaonetError.CODE):
        code = data.get("code") if type(data) is dict else None
        what = f"code {code!r:.60}, fields {data.get('fields')!r:.120}" if isinstance(code, str) else f"{data!r:.120}"
        return RefusedReply(method=method, address=address,
                            reason=f"its error is not one this client knows ({what}): malformed, or from a newer "
                                   "taonet")
    return err


def _loop_glue() -> tuple[Any, Callable[..., object], Callable[[], float]]:
    """For the running event loop (asyncio or trio): a new cancel scope (trio's own on trio: ~2 us cheaper than
    anyio's wrapper), a thread-safe way to run ``fn(*args)`` on the loop soon, never blocking, and the loop's clock
    (the one scope deadlines count in)."""
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.CancelScope(), trio.lowlevel.current_trio_token().run_sync_soon, trio.current_time
    import asyncio

    loop = asyncio.get_running_loop()
    return anyio.CancelScope(), loop.call_soon_threadsafe, loop.time


class _TurnedAway(Exception):
    """A call's connection was closed as it was made, and the client never kept one: the server read nothing."""


class _Broke(Exception):
    """A call's request went out on a connection that broke before its reply came (the server may have read it)."""


RESENT_READS = frozenset({
    "info", "head", "wait_block", "block", "blocks", "events", "account", "stake", "stakes", "hotkey", "delegates",
    "subnets", "subnet", "lock_cost", "commitment", "neuron", "metagraph", "subnet_identity", "weight_commits",
    "receipt", "next_nonce", "metrics"})
"""Methods that only read: one whose connection broke under it is sent again on the next connection (with the grace a
call sent while disconnected gets), as one sent a moment later would be; a write is not (the node may have taken it)."""

MAX_RESENDS = 3
"""How many times one read is sent again after its connection broke (a node restarted as often gives up the call)."""


class _InFlight:
    """A call sent on an open connection and waiting for its reply: what the pipe callbacks need to give it the grace
    once the connection is lost (its scope and the means to reach its loop from another thread)."""

    __slots__ = ("armed", "clock", "done", "lost", "post", "scope", "started")

    def __init__(self, started: float) -> None:
        self.scope, self.post, self.clock = _loop_glue()
        self.started = started  # time.monotonic()
        self.lost: float | None = None  # the loss the scope's deadline counts from (None: no deadline)
        self.armed = False
        self.done = False


MAX_REQUEST = 4 << 20
"""The largest request a node's RPC takes by default (and a client sends: a larger one is refused before it is
sent). Reads are a few hundred bytes; only a batch of extrinsics is large, and :meth:`Subtensor.submit_batch` sends
one in as many requests as it needs. The bound is also what each connection may make the node hold while a request
is read (nng reads a message whole), so it is kept small."""


class RpcClient:
    """Call methods on an :class:`RpcServer`; ``async with RpcClient(address) as c: await c.call("head")``."""

    def __init__(self, address: str, *, timeout: float = 30.0, max_reply: int = 256 << 20,
                 connect_timeout: float = 3.0, max_density: int = DENSITY, max_request: int = MAX_REQUEST) -> None:
        self.address = address
        self.timeout = timeout
        self.max_reply = max_reply
        self.max_request = max_request
        self.max_density = max_density
        """Bytes of decoded objects a reply of 64 KiB or more may take per byte (:data:`DENSE_REPLIES` aside)."""
        self.connect_timeout = connect_timeout
        self._sock: pynng.Req0 | None = None
        self._pipes: OpenPipes | None = None  # its open connections
        self._connected = False
        self._lost_at: float | None = None  # time.monotonic() when the last connection closed; None while one is open
        self._in_flight: set[_InFlight] = set()  # calls sent on an open connection, until they end
        self._up_at = 0.0  # time.monotonic() when the last connection was made
        self._up_id = -1  # its pipe's id
        self._answered_on = -2  # the id of the pipe a reply last came on (while it was the last one made)
        self._refused = 0  # connections closed within CLOSED_AT_ONCE of their making, since the last one kept
        self._ends = 0  # connections whose end nng has reported (a count: a broken request waits for the next)
        self._kept = False  # whether a connection ever lasted CLOSED_AT_ONCE, or a reply came: a request was read

    async def __aenter__(self) -> RpcClient:
        self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open the pooled socket (dialing in the background, so the server may come up later)."""
        if self._sock is None:
            self._connected = False
            self._lost_at = None
            self._refused = 0
            self._kept = False
            # resend_time -1: never resend a request on our own (a submit is not idempotent)
            sock = pynng.Req0(resend_time=-1, recv_max_size=self.max_reply)
            # the callbacks before the dial: the first connection is noted too (when it was made, for CLOSED_AT_ONCE)
            self._pipes = OpenPipes(sock, on_up=self._pipe_up, on_gone=self._pipe_gone)
            try:
                sock.dial(self.address, block=False)
            except pynng.NNGException as e:
                sock.close()
                self._pipes = None
                raise BadAddress(address=self.address, reason=str(e)) from None
            except UnicodeEncodeError:  # bytes that are not text (from $TAONET_ENDPOINT) are no address
                sock.close()
                self._pipes = None
                raise BadAddress(address=repr(self.address), reason="not UTF-8 text") from None
            self._sock = sock

    def _pipe_up(self, pipe: pynng.Pipe) -> None:  # an nng thread
        self._up_at = time.monotonic()
        self._up_id = pipe.id
        self._lost_at = None
        for call in list(self._in_flight):  # calls given the grace: back to waiting without a deadline
            if call.armed:
                self._post(call, self._disarm, call)

    def _pipe_gone(self, pipe: pynng.Pipe, opened: bool) -> None:  # an nng thread
        pipes = self._pipes
        self._ends += 1
        if pipes is not None and not pipes.count:
            lost = self._lost_at = time.monotonic()
            # turned away (a node over its connection bounds), not lost; one whose removal nng reported before its
            # addition (closed at once) too
            if pipe.id != self._answered_on and (not opened or lost - self._up_at < CLOSED_AT_ONCE):
                self._refused += 1
            else:
                self._refused = 0
                self._kept = True
            # set before the list is taken: a call adds itself before it reads _lost_at, so each call either saw
            # the loss (and is watched) or is in this list
            for call in list(self._in_flight):
                self._post(call, self._arm, call, lost)

    @staticmethod
    def _post(call: _InFlight, fn: Callable[..., object], *args: object) -> None:  # an nng thread
        with contextlib.suppress(RuntimeError):  # the call's loop has ended (trio.RunFinishedError is one)
            call.post(fn, *args)

    def _arm(self, call: _InFlight, lost: float) -> None:  # the call's loop
        """Give a call in flight the grace from the loss at ``lost``: a deadline on its scope."""
        if call.done or self._lost_at is None:  # it ended, or a connection is back (its request went out on it)
            return
        call.lost = lost
        call.armed = True
        ends = max(lost + self.connect_timeout, call.started + min(REDIAL_GRACE, self.connect_timeout))
        call.scope.deadline = call.clock() + (ends - time.monotonic())

    def _disarm(self, call: _InFlight) -> None:  # the call's loop
        """A connection is back: the call waits for its reply again without a deadline (bar its own timeout)."""
        if call.done or self._lost_at is not None:  # ended, or lost again (which armed it again)
            return
        call.armed = False
        call.scope.deadline = math.inf

    async def _await_connection(self, method: str, started: float, deadline: float, skip: int | None) -> None:
        """Until the first connection (not the pipe ``skip``, one just turned away): wait for the background dial
        until ``deadline`` (time.monotonic()), or raise :class:`NoNode`."""
        assert self._pipes is not None
        delay = 0.005
        while not self._pipes.count or (skip is not None and self._up_id == skip):
            if time.monotonic() >= deadline:
                raise await self.never_reached(method, deadline - started)
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.1)
        self._connected = True

    async def _watch_connection(self, started: float, gone: list[float], scope: anyio.CancelScope) -> None:
        """Beside a call's receive: once the socket has had no connection for the grace, note it and end the call."""
        while True:
            lost = self._lost_at
            if lost is None:  # connected (a loss is stamped by the pipe callback)
                await anyio.sleep(CHECK_EVERY)
                continue
            ends = max(lost + self.connect_timeout, started + min(REDIAL_GRACE, self.connect_timeout))
            left = ends - time.monotonic()
            if left <= 0:
                gone.append(time.monotonic() - lost)
                scope.cancel()
                return
            await anyio.sleep(left)  # then look again: redialed meanwhile, or lost again later, or still gone

    async def _connection_end_noted(self, ends: int) -> None:
        """After a request failed as its connection broke: wait (at most :data:`CLOSED_AT_ONCE`) until nng's callback
        has reported a connection's end since ``ends`` (the count when the request was sent), which may come after the
        failure reached us; only then does the connection's life tell a connection turned away from one lost."""
        until = time.monotonic() + CLOSED_AT_ONCE
        while self._ends == ends and time.monotonic() < until:
            await anyio.sleep(0.005)

    async def never_reached(self, method: str, waited: float) -> NoNode:
        """The error for a ``method`` call that found no connection to keep within ``waited`` seconds:
        :class:`ConnectionsRefused` if the server closed each connection at once (its bounds turn this client
        away), :class:`NodeSilent` if a connection to the address is accepted (a node stopped or starved, whose
        system still completes connections), else :class:`NoNode` (nothing answered)."""
        if not self._kept and self._turned_away():
            return ConnectionsRefused(method=method, address=self.address,
                                      reason=_count(self._refused, waited))
        reason = f"nothing answered within {_seconds(waited)} s"
        if await _accepts_connections(self.address):
            return NodeSilent(method=method, address=self.address, reason=reason)
        return NoNode(method=method, address=self.address, reason=reason)

    def _turned_away(self) -> bool:
        """Whether the connections since the last one kept were all closed at once (the last one too, even if its
        removal was not noted yet: a request on it fails as the connection closes, maybe before the callback)."""
        return self._refused > 0 or (self._answered_on != self._up_id
                                     and 0.0 < time.monotonic() - self._up_at < CLOSED_AT_ONCE)

    @property
    def refused(self) -> int:
        """Connections the server closed as soon as they were made (it turns this client away: its connection
        bounds), since the last connection that lasted."""
        return self._refused

    @property
    def connected(self) -> bool:
        """Whether the server was ever reached (False: nothing was sent to it)."""
        return self._connected

    @property
    def connection_open(self) -> bool:
        """Whether a connection to the server is open now: False once a server that was reached went away (its
        process ended, its host dropped the connection), until nng dials it again."""
        return self._pipes is not None and self._pipes.count > 0

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = self._pipes = None

    async def call(self, method: str, timeout: float | None = None, **params: Any) -> Any:
        """Call ``method`` with keyword ``params``; the result, or the server's typed error raised here."""
        return await self.call_raw(method, params, timeout=timeout)

    async def call_raw(self, method: str, params: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Like :meth:`call` with the params as a dict."""
        if self._sock is None:
            self.open()
        assert self._sock is not None
        limit = self.timeout if timeout is None else timeout
        started = time.monotonic()
        connect_by = started + min(self.connect_timeout, limit)
        # "d": how long this call waits for its reply, so that a node does not do the work of a call given up on
        payload = dumps({"m": method, "p": params, "d": round(min(limit, 1e6), 3)})
        if len(payload) > self.max_request:  # the node would refuse it: say so without sending it
            raise MessageTooLarge(size=len(payload), limit=self.max_request)
        skip: int | None = None
        resent = 0
        while True:
            if not self._connected:
                await self._await_connection(method, started, connect_by, skip)
            try:
                # the reply wait is what is left of the call's timeout: the wait for a connection counts in it
                raw = await self._exchange(method, payload, limit, started)
                break
            except _Broke as e:
                if method not in RESENT_READS or resent >= MAX_RESENDS or time.monotonic() >= started + limit:
                    raise Unreachable(method=method, address=self.address,
                                      reason=f"{e} (the connection broke); is the node running (taonet node "
                                             "status)?") from None
                resent += 1  # sent again below: while nng redials, it waits with the grace of a disconnected call
            except _TurnedAway:
                # the connection was closed as it was made (a node over its bounds: it read nothing): send again on
                # the next one nng makes, until the connect timeout
                if time.monotonic() >= connect_by:
                    raise await self.never_reached(method, time.monotonic() - started) from None
                self._connected = False
                skip = self._up_id
        try:
            reply = loads_bounded(raw, max_size=self.max_reply,
                                  density=max(self.max_density, DENSE_REPLIES.get(method, 0)))
        except MessageTooDense as e:  # its advice is for the sender: say what the client saw
            raise RefusedReply(method=method, address=self.address,
                               reason=f"its {e.size} bytes may decode to more than {e.limit} bytes of objects "
                                      f"({e.reason})") from None
        except CodecError as e:
            raise RefusedReply(method=method, address=self.address, reason=f"unreadable reply: {e}") from None
        if type(reply) is not dict:
            raise RefusedReply(method=method, address=self.address, reason="reply is not a map")
        if "err" in reply:
            raise _server_error(method, self.address, reply["err"])
        if "ok" not in reply:
            raise RefusedReply(method=method, address=self.address, reason="the reply has neither 'ok' nor 'err'")
        return reply["ok"]

    async def _exchange(self, method: str, payload: bytes, limit: float, started: float) -> bytes:
        """Send ``payload`` on a context and receive its reply (until ``limit`` s after ``started``, the call's
        start), or raise why not."""
        assert self._sock is not None
        wait_ms = max(1, int((started + limit - time.monotonic()) * 1000))
        # The wire's contexts: nng's own timeout bounds the wait, and cancellation from outside is delivered
        # properly on both backends (pynng's asyncio glue would raise a CancelledError anyio cannot attribute).
        ctx = NngContext(self._sock)
        raw: bytes | None = None
        failed: BaseException | None = None
        gone: list[float] = []  # the seconds the connection had been gone, once the watcher gave up on it
        call: _InFlight | None = None
        ends = self._ends  # a request that breaks broke on a connection whose end is reported after this
        try:
            lost = self._lost_at
            if lost is None:  # in the set before _lost_at is read again: a loss noted from here on arms it
                call = _InFlight(time.monotonic())
                self._in_flight.add(call)
            ctx.send(payload)
            if call is not None and self._lost_at is None:
                # connected when sent: a request on a connection that breaks fails at once (nng reports the reset);
                # one that nng queued because the connection had just dropped gets the grace from the pipe callback
                try:
                    with call.scope:
                        raw, _ = await ctx.recv(wait_ms)
                except pynng.NNGException as e:
                    failed = e
                if call.scope.cancelled_caught and call.lost is not None:
                    gone.append(time.monotonic() - call.lost)
            else:  # queued while nng redials: watch for the grace beside the receive
                if call is not None:  # the loss was noted as it was sent: the watcher takes it from here
                    call.done = True
                    self._in_flight.discard(call)
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._watch_connection, time.monotonic(), gone, tg.cancel_scope)
                    try:
                        raw, _ = await ctx.recv(wait_ms)
                    except pynng.NNGException as e:
                        failed = e
                    finally:
                        tg.cancel_scope.cancel()
        finally:
            if call is not None:
                call.done = True
                self._in_flight.discard(call)
            ctx.close()
        if raw is not None:  # the server read a request: the connection was kept (a reply that came as the watcher
            self._kept = True  # gave up on the connection is still the reply)
            self._refused = 0
            self._answered_on = self._up_id
            return raw
        broke = failed is not None and not isinstance(failed, pynng.Timeout)
        if broke:
            await self._connection_end_noted(ends)
        if (gone or broke) and self._turned_away():
            if not self._kept:  # nothing this client sent was read: as if never connected
                raise _TurnedAway
            raise Unreachable(method=method, address=self.address,
                              reason=f"the node closed the connection, and every new one from this client at once "
                                     f"({_count(self._refused, time.monotonic() - started)}): {REFUSED_ADVICE}")
        if gone:
            raise Unreachable(method=method, address=self.address,
                              reason=f"the node closed the connection and nothing reconnected within {gone[0]:.2g} s; "
                                     f"is the node running (taonet node status)?")
        if isinstance(failed, pynng.Timeout):
            raise RpcTimeout(method=method, address=self.address, timeout=limit)
        if failed is not None:
            raise _Broke(str(failed))
        raise AssertionError("a receive neither returned nor failed")


PROBE_TIMEOUT = 0.5
"""Seconds a plain connection to a silent address is tried, to tell a node that does not answer from no node."""


async def _accepts_connections(address: str) -> bool:
    """Whether a plain TCP (or IPC) connection to the nng ``address`` is accepted within :data:`PROBE_TIMEOUT`: the
    system of a stopped or starved node still completes it (nng's handshake, which needs the node, does not)."""
    scheme, _, rest = address.partition("://")
    with anyio.move_on_after(PROBE_TIMEOUT):
        try:
            if scheme == "tcp":
                host, _, port = rest.rpartition(":")
                stream = await anyio.connect_tcp(host.strip("[]"), int(port))
            elif scheme == "ipc":
                stream = await anyio.connect_unix(rest)
            else:
                return False
        except (OSError, ValueError):
            return False
        await stream.aclose()
        return True
    return False
