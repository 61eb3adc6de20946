"""Dendrite: a validator's client. It sends signed synapses to axons and returns one answered synapse per axon.

``await dendrite(axons, synapse, timeout=12.0)`` queries one axon (and returns one synapse) or a list of them at once
(and returns a list, in the same order); ``dendrite.query(...)`` is the same from synchronous code. Every answer carries
its status and terminal info and arrives no later than the timeout; a dead or slow axon costs only its own slot. Every
reply's signature is checked against the axon's hotkey; a reply that fails the check is reported as a 401 and its
content dropped.

Sockets: one nng Req0 socket per endpoint, kept open (up to ``max_endpoints``) and closed when the dendrite closes;
concurrent requests to one endpoint use contexts on that socket.

Bytes held: a call given ``max_bytes`` holds at most that many reply bytes however many axons it asks: each axon's
reply may hold ``max_bytes // len(axons)`` (or its synapse's bound, if smaller), and a larger one is refused where it
arrives: nng reads its length and closes that connection before taking any of it in (a socket per receive limit, so
one axon's limit never lowers another call's). The answer is a 500 whose ``dendrite.reply_limit`` says the limit.
"""

from __future__ import annotations

import collections
import contextlib
import math
import time
import uuid as _uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Generic, TypeVar, final, overload

import anyio
import attrs
import pynng

from taonet.ledger import DENSITY, Keypair
from taonet.ledger import loads_bounded as _strict_loads  # a peer's bytes: refused if they would decode dense
from taonet.ledger import verify as _verify
from taonet.ledger.errors import CodecError, InvalidKey, MessageTooDense, MessageTooLarge

from ..errors import BadRequest, ProtocolError
from ._axon_info import AxonInfo
from ._format import (
    WIRE_VERSION,
    Reply,
    Status,
    body_hash,
    decode_reply,
    encode_pull,
    encode_request,
    error_retry_after,
    reply_signed_bytes,
    request_signed_bytes,
)
from ._log import get_logger
from ._nng import NngContext, forget_oversized, oversized, watch_oversized
from ._pipes import OpenPipes
from ._refusals import dial_refusals, watch_dialer
from ._stream import StreamFrame
from ._synapse import StreamingSynapse, Synapse, TerminalInfo

__all__ = ["Dendrite", "DendriteConfig", "SynapseStream"]

logger = get_logger(__name__)

S = TypeVar("S", bound=Synapse)
SS = TypeVar("SS", bound=StreamingSynapse)


@attrs.frozen(kw_only=True)
class DendriteConfig:
    """A dendrite's limits."""

    max_request_size: int = attrs.field(default=4 * 1024 * 1024, validator=attrs.validators.ge(1024))
    """Largest request sent (a larger one is answered locally with 413); a synapse's ``MAX_SIZE`` overrides it."""
    max_response_size: int = attrs.field(default=16 * 1024 * 1024, validator=attrs.validators.ge(1024))
    """Largest reply accepted; a synapse's ``MAX_SIZE`` overrides it. A stream's frames together may not pass it
    either (the assembled result is one reply's worth): an axon streaming without end ends with 500 at this size,
    not after holding everything it sent until the timeout."""
    max_endpoints: int = attrs.field(default=4096, validator=attrs.validators.ge(1))
    """Endpoint sockets kept open; the least recently used idle ones are closed beyond it."""
    reconnect_min: float = 0.1
    """First delay before redialing an endpoint that is down, in seconds."""
    reconnect_max: float = 5.0
    """Longest delay between redials, in seconds."""


class _Failed(Exception):
    """Internal: a call ended with a status and no usable reply."""

    def __init__(self, status: int, message: str, reply: Reply | None = None, limit: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reply = reply
        self.limit = limit


_IDLE_CONTEXTS = 128
_REQUEST_ID = 4
"""Bytes nng's REQ/REP puts before every reply (the request id): a socket's receive limit counts them."""


def _receive_limit(bound: int, share: int) -> int:
    """The receive limit of a reply bounded by ``bound`` bytes that may hold ``share`` bytes: ``bound`` when it fits,
    else the largest power of two within ``share`` (powers of two keep the sockets per axon few: one per limit)."""
    if bound <= share:
        return bound
    return 1 << (max(1, share).bit_length() - 1)


def _check_max_bytes(max_bytes: int | None) -> int | None:
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive number of bytes (or None), got {max_bytes!r:.40}")
    return max_bytes


_WATCH_FIRST = 0.002
_WATCH_EVERY = 0.1
"""A call sent while its endpoint has no connection looks for a refused dial after 2 ms, then at doubling intervals
up to 0.1 s (a refusal on 127.0.0.1 comes within ~1 ms of the dial; over a network, a round trip)."""


@final
class _Endpoint:
    __slots__ = ("address", "busy", "closed", "dialer", "idle", "pipes", "refused", "sock")

    def __init__(self, address: str, sock: pynng.Req0, pipes: OpenPipes, dialer: Any) -> None:
        self.address = address
        self.sock = sock
        self.pipes = pipes
        self.dialer = dialer  # the nng_dialer: its refusals are read from nng's statistics
        self.refused = False  # a call saw its dial refused (nothing listened): dialed afresh by the next call
        self.busy = 0
        self.idle: list[NngContext] = []
        self.closed = False

    def close(self) -> None:
        self.closed = True
        for ctx in self.idle:
            ctx.close()
        self.idle.clear()
        self.sock.close()
        forget_oversized(self.sock)


def _info_of(axon: Any) -> AxonInfo:
    if isinstance(axon, AxonInfo):
        return axon
    info = getattr(axon, "info", None)
    if callable(info):  # an Axon of this process: dial its bound address, loopback for a wildcard
        got = info()
        address = axon.address
        for wildcard in ("tcp://0.0.0.0:", "tcp://[::]:"):
            if address.startswith(wildcard):
                address = "tcp://127.0.0.1:" + address[len(wildcard):]
        return attrs.evolve(got, url=address)
    raise TypeError(f"expected an AxonInfo or an Axon, got {type(axon).__name__}")


def _keypair_of(who: Any) -> Keypair:
    if isinstance(who, Keypair):
        return who
    hotkey = getattr(who, "hotkey", None)
    if isinstance(hotkey, Keypair):
        return hotkey
    raise TypeError("expected a Wallet or a Keypair")


@final
class Dendrite:
    """Queries axons with signed synapses. Use as ``async with Dendrite(wallet) as d: await d(axons, synapse)``.

    A bare ``Dendrite(wallet)`` (as in the Bittensor SDK) answers calls too: each opens its sockets and closes them
    when it ends, so a loop of calls redials every time; keep one open with ``async with`` where that matters."""

    def __init__(self, wallet: Any, *, config: DendriteConfig | None = None, version: int = WIRE_VERSION) -> None:
        self._keypair = _keypair_of(wallet)
        if not self._keypair.can_sign:
            raise ValueError(f"the dendrite's hotkey {self._keypair.ss58_address} has no secret; it cannot sign")
        self.config = config or DendriteConfig()
        self.uuid = str(_uuid.uuid4())
        """This dendrite's uuid: axons remember nonces per (hotkey, uuid)."""
        self._version = version
        self._pk = self._keypair.public_key
        self._ss58 = self._keypair.ss58_address
        self._endpoints: collections.OrderedDict[tuple[str, int], _Endpoint] = collections.OrderedDict()
        self._open = False
        self._bare_calls = 0  # calls in flight on a Dendrite used without `async with`
        self._last_nonce = 0
        self._log = logger.bind(actor="dendrite", hotkey=self._ss58)

    @property
    def hotkey(self) -> Keypair:
        """The hotkey that signs this dendrite's requests."""
        return self._keypair

    # --- lifetime -------------------------------------------------------------------------------------------
    async def __aenter__(self) -> Dendrite:
        self._open = True
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every endpoint socket (requests still in flight end with 503)."""
        self.close_session()

    async def aclose_session(self) -> None:
        """The Bittensor SDK's name for :meth:`aclose`."""
        self.close_session()

    def close_session(self) -> None:
        """Close every endpoint socket, from synchronous code too (the Bittensor SDK's name; :meth:`aclose` in
        async code is the same)."""
        self._open = False
        endpoints, self._endpoints = self._endpoints, collections.OrderedDict()
        for ep in endpoints.values():
            ep.close()

    # --- queries --------------------------------------------------------------------------------------------
    @overload
    async def __call__(self, axons: Sequence[Any], synapse: S, timeout: float = 12.0, *,
                       deserialize: bool = False, max_bytes: int | None = None, run_async: bool = True,
                       streaming: bool = False) -> list[Any]: ...

    @overload
    async def __call__(self, axons: Any, synapse: S, timeout: float = 12.0, *, deserialize: bool = False,
                       max_bytes: int | None = None, run_async: bool = True, streaming: bool = False) -> Any: ...

    async def __call__(self, axons: Any, synapse: S, timeout: float = 12.0, *, deserialize: bool = False,
                       max_bytes: int | None = None, run_async: bool = True, streaming: bool = False) -> Any:
        """Query one axon (returns one synapse) or a list of axons at once (returns a list, in order).

        Args:
            axons: an AxonInfo or Axon, or a sequence of them.
            synapse: the request; each answer is a copy of it with the miner's outputs and the terminal info.
            timeout: seconds; every answer is in by then.
            deserialize: return ``synapse.deserialize()`` of each answer instead of the synapse.
            max_bytes: the reply bytes the whole call may hold (None: each reply up to its own bound): each axon's
                reply may hold ``max_bytes // len(axons)``, a larger one is refused as it arrives (500, with
                ``dendrite.reply_limit``).
            run_async: the SDK's switch: False asks the axons one after another (each with the whole timeout).
            streaming: the SDK's switch: True returns :meth:`call_stream` generators (one per axon, not started)
                instead of answers, for a StreamingSynapse on a dendrite held open by ``async with``.
        """
        many = isinstance(axons, (list, tuple))
        targets = list(axons) if many else [axons]
        if streaming:
            streams = [self.call_stream(t, synapse, timeout, deserialize) for t in targets]  # type: ignore[arg-type]
            return streams if many else streams[0]
        if run_async:
            results = await self._query(targets, synapse, timeout, _check_max_bytes(max_bytes))
        else:
            results = [(await self._query([t], synapse, timeout, _check_max_bytes(max_bytes)))[0] for t in targets]
        if deserialize:
            results = [r.deserialize() for r in results]
        return results if many else results[0]

    forward = __call__

    def query(self, axons: Any, synapse: S, timeout: float = 12.0, *, deserialize: bool = False,
              max_bytes: int | None = None) -> Any:
        """The blocking form of ``await dendrite(axons, synapse, timeout)``, for synchronous code (the Bittensor SDK's
        ``dendrite.query``): the same answers, on an event loop of its own that ends with the call.

        Every answer is in by ``timeout`` seconds, and the call's sockets are closed when it returns: it leaves no
        thread, loop or socket behind. In async code ``await dendrite(...)`` instead (this raises RuntimeError
        there, as it would block the running loop); a dendrite held open by ``async with`` is for that code too.
        """
        if _in_async_code():
            raise RuntimeError("dendrite.query() blocks, and this is async code: await dendrite(axons, synapse, "
                               "timeout) here")
        if self._open:
            raise RuntimeError("this dendrite is held open by 'async with' (its sockets belong to that code): "
                               "await it there, or query() with a dendrite of its own")
        timeout = _check_timeout(timeout)

        async def ask() -> Any:
            return await self(axons, synapse, timeout, deserialize=deserialize, max_bytes=max_bytes)

        return anyio.run(ask)

    async def call(self, axon: Any = None, synapse: S | None = None, timeout: float = 12.0, *,
                   deserialize: bool = False, max_bytes: int | None = None, target_axon: Any = None) -> Any:
        """Query one axon; the answered synapse (its reply holding at most ``max_bytes``, when given), or its
        ``deserialize()``. ``target_axon=`` is the Bittensor SDK's name for ``axon``; no synapse is a ping (as in
        the SDK, whose ``deserialize`` defaults to True: here False, as everywhere in taonet)."""
        if (axon is None) == (target_axon is None):
            raise TypeError("dendrite.call: give the axon (or target_axon=, the SDK's name), once")
        syn: Any = Synapse() if synapse is None else synapse
        answer = (await self._query([axon if target_axon is None else target_axon], syn, timeout,
                                    _check_max_bytes(max_bytes)))[0]
        return answer.deserialize() if deserialize else answer

    async def call_stream(self, target_axon: Any, synapse: SS, timeout: float = 12.0,
                          deserialize: bool = True) -> AsyncIterator[Any]:
        """The Bittensor SDK's stream: yields each chunk as it comes, then the final synapse (its ``deserialize()``
        when ``deserialize``, as in the SDK); needs ``async with Dendrite(...)``, as :meth:`stream` does."""
        async with self.stream(target_axon, synapse, timeout) as stream:
            async for chunk in stream:
                yield chunk
        yield stream.result.deserialize() if deserialize else stream.result

    def stream(self, axon: Any, synapse: SS, timeout: float = 12.0, *,
               max_bytes: int | None = None) -> SynapseStream[SS]:
        """Open a stream: ``async with d.stream(axon, syn) as s: async for chunk in s: ...``; then ``s.result``.

        ``max_bytes``: the most the stream holds at once, a frame arriving over its limit included (None: its frames
        together up to the synapse's bound): each frame may hold the largest power of two within half of it (or the
        bound, if smaller), and the frames together the rest; past that the stream ends with 500 and
        ``dendrite.reply_limit``."""
        self._check_open()
        if not isinstance(synapse, StreamingSynapse):
            raise TypeError(f"{type(synapse).__name__} is not a StreamingSynapse; use dendrite(...) instead")
        return SynapseStream(self, _info_of(axon), synapse, _check_timeout(timeout), _check_max_bytes(max_bytes))

    async def _query(self, targets: list[Any], synapse: S, timeout: float, max_bytes: int | None) -> list[S]:
        if self._open:
            return await self._query_open(targets, synapse, timeout, max_bytes)
        # Used bare, as the Bittensor SDK's dendrite is: the call opens its sockets and closes them when it ends
        # (the last of the calls in flight does), so nothing outlives it.
        self._bare_calls += 1
        try:
            return await self._query_open(targets, synapse, timeout, max_bytes)
        finally:
            self._bare_calls -= 1
            if self._bare_calls == 0 and not self._open:
                endpoints, self._endpoints = self._endpoints, collections.OrderedDict()
                for ep in endpoints.values():
                    ep.close()

    async def _query_open(self, targets: list[Any], synapse: S, timeout: float, max_bytes: int | None) -> list[S]:
        if not isinstance(synapse, Synapse):
            raise TypeError(f"expected a Synapse, got {type(synapse).__name__}")
        if isinstance(synapse, StreamingSynapse):
            raise TypeError(f"{type(synapse).__name__} streams; use dendrite.stream(...)")
        timeout = _check_timeout(timeout)
        infos = [_info_of(t) for t in targets]
        body = synapse._body()
        h = body_hash(synapse._hashed_body(body))
        deadline = time.monotonic() + timeout
        cap = None
        if max_bytes is not None and infos:
            cap = _receive_limit(synapse.MAX_SIZE or self.config.max_response_size, max_bytes // len(infos))
        if len(infos) == 1:
            return [await self._one(infos[0], synapse, body, h, timeout, deadline, cap)]
        results: list[Any] = [None] * len(infos)

        async def fill(i: int, info: AxonInfo) -> None:
            results[i] = await self._one(info, synapse, body, h, timeout, deadline, cap)

        async with anyio.create_task_group() as tg:
            for i, info in enumerate(infos):
                tg.start_soon(fill, i, info)
        return results

    async def _one(self, info: AxonInfo, syn: S, body: bytes, h: bytes, timeout: float, deadline: float,
                   cap: int | None) -> S:
        t0 = time.perf_counter()
        nonce = 0
        sig = None
        try:
            axon_pk = _axon_key(info)
            nonce = self._next_nonce()
            sig = self._keypair.sign(request_signed_bytes(nonce, self._pk, axon_pk, self.uuid, h))
            frame = encode_request(syn.NAME, axon=axon_pk, uuid=self.uuid, nonce=nonce, hotkey=self._pk,
                                   timeout_ms=max(1, int(timeout * 1000)), version=self._version, body_hash=h,
                                   signature=sig, body=body)
            limit = syn.MAX_SIZE or self.config.max_request_size
            if len(frame) > limit:
                raise _Failed(Status.TOO_LARGE, str(MessageTooLarge(size=len(frame), limit=limit)))
            raw = await self._exchange(info, frame, deadline, timeout, cap)
            reply = self._check_reply(raw, syn, nonce, axon_pk, cap)
            del raw  # the reply holds its body: one copy of it, not two, while the fields are decoded
            fields = _loads_body(reply, type(syn))
            dendrite = TerminalInfo(status_code=reply.status, status_message=reply.message,
                                    process_time=time.perf_counter() - t0, version=self._version, nonce=nonce,
                                    uuid=self.uuid, hotkey=self._ss58, signature=sig)
            return syn._merge(fields, timeout=timeout, dendrite=dendrite, axon=_axon_terminal(info, nonce, reply))
        except _Failed as f:
            return self._failed(syn, info, f, t0, timeout, nonce, sig)
        except ProtocolError as e:
            return self._failed(syn, info, _Failed(Status.SERVER_ERROR, f"malformed reply: {e}"[:300]), t0,
                                timeout, nonce, sig)

    async def _exchange(self, info: AxonInfo, frame: bytes, deadline: float, timeout: float,
                        cap: int | None = None) -> bytes:
        """Send a frame and wait for its reply until ``deadline``; raises _Failed (408, 503) otherwise, and 500 for a
        reply over ``cap`` bytes (the socket's receive limit: nng closes the connection at its length, and logs it).

        A connection lost before the reply is in is a 503 without a limit: nng's log tells it from a refused reply
        (a call sharing that connection with a refused reply, at once, is refused with it).

        Deadlines are ``time.monotonic()`` values, not the event loop's clock: nng counts the receive timeout in
        real milliseconds, and the monotonic clock costs a tenth of ``anyio.current_time()``.
        """
        ep = self._endpoint(info, cap)
        watching = cap is not None and watch_oversized()
        refused = oversized(ep.sock)[0] if watching else 0  # replies nng refused over its limit before this one
        ep.busy += 1
        raw = None
        ctx = ep.idle.pop() if ep.idle else None
        try:
            if ctx is None:
                ctx = NngContext(ep.sock)
            left_ms = math.ceil((deadline - time.monotonic()) * 1000)
            if left_ms > 0:
                ctx.send(frame)
                if ep.pipes.count:
                    raw, _ = await ctx.recv(left_ms)
                else:  # not connected (yet): watch for a refused dial beside the receive
                    raw = await self._recv_unless_refused(ep, ctx, left_ms, info)
        except pynng.Timeout:
            pass
        except pynng.ConnectionReset as e:
            if cap is None:
                raise _Failed(Status.OVERLOADED, f"transport error talking to {info.address}: {e}") from None
            count, size = oversized(ep.sock)
            if count > refused:
                raise _Failed(Status.SERVER_ERROR, f"reply too large: {info.address} sent {size - _REQUEST_ID} "
                                                   f"bytes, over this call's limit of {cap} bytes (nng closed the "
                                                   f"connection at its length)", limit=cap) from None
            if not watching:  # nng tells nothing of what it refused: either may be the cause
                raise _Failed(Status.SERVER_ERROR, f"reply too large, or the connection lost: {info.address} closed "
                                                   f"the connection before its reply was in, as nng does with a reply "
                                                   f"over this call's limit of {cap} bytes", limit=cap) from None
            raise _Failed(Status.OVERLOADED, f"connection lost: {info.address} closed the connection before its "
                                             f"reply was in") from None
        except pynng.NNGException as e:
            raise _Failed(Status.OVERLOADED, f"transport error talking to {info.address}: {e}") from None
        finally:
            ep.busy -= 1
            if ctx is not None:
                if raw is not None and not ep.closed and len(ep.idle) < _IDLE_CONTEXTS and not ctx.sending:
                    ep.idle.append(ctx)
                else:
                    ctx.close()
        if raw is None:
            if not ep.pipes.count:
                raise _Failed(Status.OVERLOADED, f"could not reach {info.address} within {timeout:g} s")
            raise _Failed(Status.TIMEOUT, f"no reply within {timeout:g} s")
        return raw

    async def _recv_unless_refused(self, ep: _Endpoint, ctx: NngContext, left_ms: int, info: AxonInfo) -> bytes:
        """Receive the reply, unless a dial of ``ep`` is refused while it has no connection (nothing listens at the
        address: Bittensor's HTTP client fails such a call at once): then raise _Failed (503) at once. Refusals from
        before this call do not count (a fresh endpoint has none)."""
        refused = False
        raw = b""
        error: pynng.NNGException | None = None
        with watch_dialer(ep.dialer):
            base = dial_refusals(ep.dialer)

            async def watch(scope: anyio.CancelScope) -> None:
                nonlocal refused
                delay = _WATCH_FIRST
                while True:
                    await anyio.sleep(delay)
                    delay = min(2 * delay, _WATCH_EVERY)
                    if not ep.pipes.count and dial_refusals(ep.dialer) > base:
                        refused = ep.refused = True
                        scope.cancel()
                        return

            async with anyio.create_task_group() as tg:
                tg.start_soon(watch, tg.cancel_scope)
                try:
                    raw, _ = await ctx.recv(left_ms)
                except pynng.NNGException as e:  # raised below, as the task group ends
                    error = e
                tg.cancel_scope.cancel()
        if refused:
            raise _Failed(Status.OVERLOADED, f"connection refused: nothing listens at {info.address} (is the axon "
                                             f"running?)")
        if error is not None:
            raise error
        return raw

    def _check_reply(self, raw: bytes, syn: Synapse, nonce: int, axon_pk: bytes, cap: int | None = None) -> Reply:
        """Decode a reply and check it is the addressed axon's signed answer to this request."""
        limit = cap or syn.MAX_SIZE or self.config.max_response_size
        try:
            reply = decode_reply(raw, max_size=limit)
        except MessageTooLarge as e:
            raise _Failed(Status.SERVER_ERROR, f"reply too large: {e}", limit=limit) from None
        except BadRequest as e:
            raise _Failed(Status.SERVER_ERROR, f"malformed reply: {e}"[:300]) from None
        if reply.hotkey != axon_pk:
            raise _Failed(Status.UNAUTHORIZED, "the reply is signed by another hotkey than the axon's")
        h = body_hash(reply.body)
        if h != reply.body_hash or not _verify(
            axon_pk, reply_signed_bytes(nonce, self._pk, axon_pk, self.uuid, h, reply.status), reply.signature
        ):
            raise _Failed(Status.UNAUTHORIZED, "the reply's signature does not verify under the axon's hotkey")
        if reply.name != syn.NAME and reply.status == Status.OK:
            raise _Failed(Status.SERVER_ERROR, f"the reply is for {reply.name!r}, not {syn.NAME!r}")
        return reply

    def _failed(self, syn: S, info: AxonInfo, f: _Failed, t0: float, timeout: float, nonce: int,
                sig: bytes | None) -> S:
        dendrite = TerminalInfo(status_code=f.status, status_message=f.message,
                                process_time=time.perf_counter() - t0, version=self._version,
                                nonce=nonce or None, uuid=self.uuid, hotkey=self._ss58, signature=sig,
                                reply_limit=f.limit)
        if f.reply is not None:
            axon = _axon_terminal(info, nonce, f.reply)
            dendrite = attrs.evolve(dendrite, retry_after=axon.retry_after)
        else:
            axon = TerminalInfo(ip=info.ip or info.url, port=info.port or None, hotkey=info.hotkey)
        self._log.debug("dendrite.failed", axon=info.address, status=f.status, reason=f.message)
        return syn.replace(timeout=timeout, dendrite=dendrite, axon=axon)

    # --- sockets --------------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError("a stream needs 'async with Dendrite(...) as d' (it owns the stream's socket)")

    def _next_nonce(self) -> int:
        n = time.time_ns()
        if n <= self._last_nonce:
            n = self._last_nonce + 1
        self._last_nonce = n
        return n

    def _endpoint(self, info: AxonInfo, cap: int | None = None) -> _Endpoint:
        """The socket to ``info``'s address whose receive limit is ``cap`` (None: the dendrite's own)."""
        if not info.is_serving:
            raise _Failed(Status.OVERLOADED, f"the axon of {info.hotkey} is not serving (no address)")
        address = info.address
        cfg = self.config
        recv_max = 2 * max(cfg.max_response_size, 1024) + 65536
        if cap is not None:
            recv_max = min(recv_max, cap + _REQUEST_ID)  # a reply frame of up to cap bytes, not one more
        key = (address, recv_max)
        eps = self._endpoints
        ep = eps.get(key)
        if ep is not None and ep.refused and not ep.pipes.count and not ep.busy:
            # refused when last dialed, and nng's next redial may be seconds away (it backs off to reconnect_max):
            # dial afresh now, so an axon back since answers this call and one still down is refused at once (one
            # still connecting, to a slow or far axon, is left to finish: closing it would never let it connect)
            ep.close()
            del eps[key]
            ep = None
        if ep is not None:
            eps.move_to_end(key)
            return ep
        sock = pynng.Req0(recv_max_size=recv_max, resend_time=-1,
                          reconnect_time_min=int(cfg.reconnect_min * 1000),
                          reconnect_time_max=int(cfg.reconnect_max * 1000))
        pipes = OpenPipes(sock)
        try:
            dialer = sock.dial(address, block=False)
        except pynng.NNGException as e:
            sock.close()
            raise _Failed(Status.OVERLOADED, f"cannot dial {address}: {e}") from None
        ep = eps[key] = _Endpoint(address, sock, pipes, dialer.dialer)
        if len(eps) > cfg.max_endpoints:
            for key in [k for k, v in eps.items() if v.busy == 0][: len(eps) - cfg.max_endpoints]:
                eps.pop(key).close()
        return ep


def _in_async_code() -> bool:
    """Whether an event loop (asyncio's or trio's) runs in this thread."""
    import asyncio
    import sys

    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        pass
    trio = sys.modules.get("trio")  # trio code has imported trio; no need to import it to know we are not in it
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
        return True
    except RuntimeError:
        return False


_TIMEOUT_RULE = "timeout must be a positive number of seconds under 1e6 (about 11 days)"


def _check_timeout(timeout: float) -> float:
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(f"{_TIMEOUT_RULE}, got {timeout!r:.40}") from None
    if not 0 < timeout < 1e6:
        raise ValueError(f"{_TIMEOUT_RULE}, got {timeout}")
    return timeout


def _axon_key(info: AxonInfo) -> bytes:
    try:
        return info.public_key
    except InvalidKey as e:
        raise _Failed(Status.BAD_REQUEST, f"the axon's hotkey is not an SS58 address: {e}") from None


def _loads_body(reply: Reply, cls: type[Synapse]) -> dict[str, Any]:
    if reply.status != Status.OK:
        raise _Failed(reply.status, reply.message, reply)
    density = cls.MAX_DENSITY or DENSITY
    try:
        fields = _strict_loads(reply.body, max_size=len(reply.body), density=density)
    except MessageTooDense as e:
        raise _Failed(Status.SERVER_ERROR, f"malformed reply body: {e}{cls._dense_advice(density)}"[:500],
                      reply) from None
    except CodecError as e:
        raise _Failed(Status.SERVER_ERROR, f"malformed reply body: {e}"[:300], reply) from None
    return fields


def _axon_terminal(info: AxonInfo, nonce: int, reply: Reply) -> TerminalInfo:
    return TerminalInfo(status_code=reply.status, status_message=reply.message,
                        process_time=reply.process_time_ns / 1e9, ip=info.ip or info.url, port=info.port or None,
                        version=reply.version, nonce=nonce, hotkey=info.hotkey, signature=reply.signature,
                        retry_after=None if reply.status == Status.OK else error_retry_after(reply.body))


@final
class SynapseStream(Generic[SS]):
    """A stream in progress: iterate it for chunks as they come; ``result`` is the final synapse once it ends."""

    def __init__(self, dendrite: Dendrite, info: AxonInfo, synapse: SS, timeout: float,
                 max_bytes: int | None = None) -> None:
        self._d = dendrite
        self._info = info
        self._syn = synapse
        self._timeout = timeout
        bound = synapse.MAX_SIZE or dendrite.config.max_response_size
        self._cap: int | None = None  # one frame's receive limit (None: the dendrite's own)
        self._total = bound  # the frames together
        if max_bytes is not None:  # a frame over the total may be in before it is refused: both fit in max_bytes
            self._cap = _receive_limit(bound, max(2, max_bytes) // 2)
            self._total = min(bound, max(2, max_bytes) - self._cap)
        self.chunks: list[Any] = []
        """Every chunk received so far."""
        self._pending: collections.deque[Any] = collections.deque()
        self._done = False
        self._sid: bytes | None = None
        self._seq = 0
        self._bytes = 0
        self._nonce = 0
        self._axon_pk = b""
        self._sig: bytes | None = None
        self._t0 = 0.0
        self._deadline = 0.0
        self._last: Reply | None = None
        self._result: SS | None = None

    @property
    def result(self) -> SS:
        """The final synapse: ``assemble(chunks)`` with the stream's status (before the end: no status yet)."""
        if self._result is not None:
            return self._result
        return self._finish(None, "stream in progress")

    async def __aenter__(self) -> SynapseStream[SS]:
        d, syn = self._d, self._syn
        self._t0 = time.perf_counter()
        self._deadline = time.monotonic() + self._timeout
        try:
            self._axon_pk = _axon_key(self._info)
            body = syn._body()
            h = body_hash(syn._hashed_body(body))
            self._nonce = d._next_nonce()
            self._sig = d._keypair.sign(request_signed_bytes(self._nonce, d._pk, self._axon_pk, d.uuid, h))
            frame = encode_request(syn.NAME, axon=self._axon_pk, uuid=d.uuid, nonce=self._nonce, hotkey=d._pk,
                                   timeout_ms=max(1, int(self._timeout * 1000)), version=d._version, body_hash=h,
                                   signature=self._sig, body=body)
            limit = syn.MAX_SIZE or d.config.max_request_size
            if len(frame) > limit:
                raise _Failed(Status.TOO_LARGE, str(MessageTooLarge(size=len(frame), limit=limit)))
            raw = await d._exchange(self._info, frame, self._deadline, self._timeout, self._cap)
            reply = d._check_reply(raw, syn, self._nonce, self._axon_pk, self._cap)
            if reply.status == Status.OK and reply.stream is None:
                raise _Failed(Status.SERVER_ERROR, "the axon answered a stream without a stream id", reply)
            self._sid = reply.stream
            self._take(reply)
        except _Failed as f:
            self._end(f.status, f.message, f.reply, f.limit)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if (not self._done or self._bytes > self._limit()) and self._sid is not None:  # left early, or cut at size
            self._end(Status.OK, "stream closed by the caller before its end", None)
            with anyio.CancelScope(shield=True), anyio.move_on_after(1.0):
                frame = encode_pull(self._syn.NAME, uuid=self._d.uuid, seq=self._seq, nonce=self._nonce,
                                    hotkey=self._d._pk, stream=self._sid, cancel=True)
                with contextlib.suppress(_Failed):  # best effort: the axon drops the stream at its deadline anyway
                    await self._d._exchange(self._info, frame, time.monotonic() + 1.0, 1.0, self._cap)

    def __aiter__(self) -> SynapseStream[SS]:
        return self

    async def __anext__(self) -> Any:
        while not self._pending:
            if self._done:
                raise StopAsyncIteration
            await self._pull()
        return self._pending.popleft()

    async def _pull(self) -> None:
        assert self._sid is not None
        d = self._d
        frame = encode_pull(self._syn.NAME, uuid=d.uuid, seq=self._seq, nonce=self._nonce, hotkey=d._pk,
                            stream=self._sid)
        try:
            raw = await d._exchange(self._info, frame, self._deadline, self._timeout, self._cap)
            self._take(d._check_reply(raw, self._syn, self._nonce, self._axon_pk, self._cap))
        except _Failed as f:
            self._end(f.status, f.message, f.reply, f.limit)

    def _take(self, reply: Reply) -> None:
        """Accept one signed frame: check its shape, order and chunk types, then queue its chunks."""
        self._last = reply
        if reply.status != Status.OK and reply.body == b"\xa0":  # an error reply, not a frame
            raise _Failed(reply.status, reply.message, reply)
        self._bytes += len(reply.body)
        limit = self._limit()
        if self._bytes > limit:
            raise _Failed(Status.SERVER_ERROR, f"the stream's frames passed {limit} bytes in all (the synapse's "
                                               "MAX_SIZE, else the dendrite's max_response_size, or the stream's "
                                               "share of max_bytes)", reply, limit)
        density = self._syn.MAX_DENSITY or DENSITY
        try:
            frame = StreamFrame.from_value(_strict_loads(reply.body, max_size=len(reply.body), density=density))
        except MessageTooDense as e:
            raise _Failed(Status.SERVER_ERROR, f"malformed stream frame: {e}{type(self._syn)._dense_advice(density)}"
                          [:500], reply) from None
        except (CodecError, BadRequest) as e:
            raise _Failed(Status.SERVER_ERROR, f"malformed stream frame: {e}"[:300], reply) from None
        if frame.seq != self._seq:
            raise _Failed(Status.SERVER_ERROR, f"frame starts at {frame.seq}, expected {self._seq}", reply)
        check = type(self._syn)._chunk_check()
        chunks: list[Any] = []
        bad = None
        try:
            chunks = [check(c) for c in frame.chunks]
        except TypeError:  # the chunks before the bad one still reach the caller, then the error
            for c in frame.chunks:
                try:
                    chunks.append(check(c))
                except TypeError as e:
                    bad = f"malformed chunk {self._seq + len(chunks)}: {e}"[:300]
                    break
        self._seq += len(chunks)
        self.chunks.extend(chunks)
        self._pending.extend(chunks)
        if bad is not None:
            raise _Failed(Status.SERVER_ERROR, bad, reply)
        if frame.done:
            self._end(reply.status, reply.message, reply)

    def _limit(self) -> int:
        return self._total

    def _end(self, status: int, message: str, reply: Reply | None, limit: int | None = None) -> None:
        if self._done:
            return
        self._done = True
        self._last = reply or self._last
        self._result = self._finish(status, message, limit)

    def _finish(self, status: int | None, message: str, limit: int | None = None) -> SS:
        d, reply = self._d, self._last
        dendrite = TerminalInfo(status_code=status, status_message=message,
                                process_time=time.perf_counter() - self._t0, version=d._version,
                                nonce=self._nonce or None, uuid=d.uuid, hotkey=d._ss58, signature=self._sig,
                                reply_limit=limit)
        if reply is not None:
            axon = _axon_terminal(self._info, self._nonce, reply)
        else:
            axon = TerminalInfo(ip=self._info.ip or self._info.url, port=self._info.port or None,
                                hotkey=self._info.hotkey)
        return self._syn.assemble(list(self.chunks)).replace(timeout=self._timeout, dendrite=dendrite, axon=axon)
