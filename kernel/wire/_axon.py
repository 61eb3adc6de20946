"""Axon: a miner's server. It answers signed synapse requests on an nng Rep0 socket.

Every request is checked in this order, and the first failure is the reply's status:

1. size (413) and decoding of the frame and its headers (400); the synapse name must be attached (404);
2. the caller's signature over ``[nonce, caller hotkey, axon hotkey, dendrite uuid, body hash]`` (401);
3. the nonce is fresh (no older than 10 s + the request's timeout, no more than 2 s ahead) and not seen before from
   that (hotkey, uuid) (401), checked but not yet recorded; the request is addressed to this axon's hotkey (401); the
   body hashes to the signed hash (401); then the body is decoded into the synapse, its values checked against the
   field types (400);
4. the ``blacklist`` hook (403);
5. the nonce is checked again and recorded, in one step (401 for a copy of the request recorded meanwhile; 503 when
   the nonce memory is full of live nonces);
6. the ``verify`` hook (401), then ``priority``;
7. the forward, under the caller's timeout (408), in one of ``max_concurrency`` slots or waiting in a bounded queue
   ordered by priority (503 when full: a request of higher priority than the lowest waiter evicts it, and that
   waiter gets the 503); an exception or a wrong return value is a 500.

Every reply, errors included, is signed by the axon's hotkey. Sync hooks and forwards run in anyio worker threads.

Why this order: the nonce memory is bounded (``nonce_max_entries``), so only callers the blacklist lets in may
take a place in it; otherwise anyone with a fresh key could fill it and make the axon answer 503 to everyone. The
blacklist may be async or run in a worker thread, so other requests run while it decides; a copy of the same signed
request may pass step 3 meanwhile. Step 5 therefore checks the nonce again and records it with no await between the
two (every access to the nonce memory happens on the event loop's thread), so exactly one copy goes on and every
other copy gets 401. A route without a blacklist records the nonce at the end of step 3, in the same synchronous
step as its check. ``verify`` runs after the record, so a miner's own check sees each signed request at most once
(a replay never reaches it, which matters if it counts or spends something) and never runs for callers the
blacklist refused.
"""

from __future__ import annotations

import inspect
import math
import secrets
import time
import typing
from collections import Counter
from collections.abc import Callable
from typing import Any, Final, Self, final

import anyio
import attrs
import cbor2
import pynng
from pynng import lib

from taonet.ledger import DENSITY, Keypair
from taonet.ledger import loads_bounded as _strict_loads  # a peer's bytes: refused if they would decode dense
from taonet.ledger import verify as _verify
from taonet.ledger.errors import CodecError, MessageTooDense, MessageTooLarge, TaonetError

from ..errors import (
    BadRequest,
    Blacklisted,
    BodyHashMismatch,
    InvalidSignature,
    NotVerified,
    ProtocolError,
    RequestTimeout,
    ServerError,
    UnknownSynapse,
    WalletError,
    WrongAxon,
    status_of,
)
from ._axon_info import AxonInfo, ss58_of
from ._connections import (
    MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_ADDRESS,
    NETWORK_SHARES,
    ConnectionLimit,
    PendingBudget,
    limit_connections,
)
from ._fields import uncarried
from ._format import (
    EMPTY_BODY,
    WIRE_VERSION,
    Request,
    Status,
    body_hash,
    decode_frame,
    encode_error_details,
    encode_reply,
    reply_signed_bytes,
    request_signed_bytes,
)
from ._gate import PriorityGate
from ._late import LateThreads
from ._log import get_logger
from ._nng import SpareContexts, bound_address, pipe_peer
from ._nonce import NonceGuard
from ._stream import OutStream, StreamFrame
from ._synapse import StreamingSynapse, Synapse, TerminalInfo

__all__ = ["AddressInUse", "Axon", "AxonConfig"]

logger = get_logger(__name__)

_EMPTY_HASH: Final = body_hash(EMPTY_BODY)
_NO_CALLER: Final = b""
_HEADER_ROOM: Final = 65536
"""Bytes nng takes beyond the largest request accepted (a frame's headers and a little more, so a request a little
too large is read and answered 413; a larger one closes its connection)."""
_STATUS_CODES: Final = frozenset(int(s) for s in Status)


@attrs.frozen(kw_only=True)
class AxonConfig:
    """An axon's limits. The defaults suit a miner on the open network."""

    max_request_size: int = attrs.field(default=4 * 1024 * 1024, validator=attrs.validators.ge(1024))
    """Largest request accepted, in bytes (413 above it); a synapse's ``MAX_SIZE`` overrides it for its type."""
    max_response_size: int = attrs.field(default=16 * 1024 * 1024, validator=attrs.validators.ge(1024))
    """Largest reply sent; a forward whose reply is larger gets a 500."""
    max_concurrency: int = attrs.field(default=16, validator=attrs.validators.ge(1))
    """Forwards (and streams) running at once."""
    max_queue: int = attrs.field(default=64, validator=attrs.validators.ge(0))
    """Requests waiting for a slot, served by priority; when it is full a request of higher priority than the lowest
    waiter takes that waiter's place (the waiter gets 503 at once), any other gets 503."""
    max_timeout: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))
    """Longest caller timeout honoured, in seconds (a longer one is cut to this)."""
    nonce_past: float = 10.0
    """How old a nonce may be, in seconds, on top of the request's timeout."""
    nonce_future: float = 2.0
    """How far ahead of this clock a nonce may be, in seconds."""
    nonce_per_caller: int = 4096
    """Nonces remembered per (hotkey, dendrite uuid)."""
    nonce_max_entries: int = 1 << 19
    """Nonces remembered in all; beyond it new callers get 503 until old nonces expire."""
    stream_buffer: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    """Chunks a stream holds before its producer waits for the caller to pull."""
    max_streams: int = attrs.field(default=1024, validator=attrs.validators.ge(1))
    """Streams kept at once. A stream whose producer is done waits (up to its caller's timeout) for the caller's last
    pulls, without a slot; beyond this many, the one whose caller has left it alone longest is dropped (a caller
    that pulls is never the one left alone longest), so callers that open streams and never pull cannot pile them up
    for a minute each. 1024 is 64 times the default slots: room for every honest caller's stream."""
    max_connections: int = attrs.field(default=MAX_CONNECTIONS, validator=attrs.validators.ge(1))
    """Connections accepted at once; one more is closed as it comes (its dialer retries). A crowd holding connections
    open cannot use up the process's file descriptors; callers already connected are served on."""
    max_connections_per_address: int = attrs.field(default=MAX_CONNECTIONS_PER_ADDRESS,
                                                   validator=attrs.validators.ge(1))
    """Connections one remote address (an IPv4 address, an IPv6 /64) may hold at once; one more from it is closed as it
    comes, so one host cannot fill ``max_connections`` and shut other new callers out. A localnet's processes all
    dial from 127.0.0.1: a miner's axon has one connection per validator (8 with 8 validators)."""
    max_connections_per_network: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1)))
    """Connections one remote network (an IPv6 /48, an IPv4 /24) may hold at once, however many addresses it dials
    from (None: 4 x ``max_connections_per_address``, at most ``max_connections``)."""
    receivers: int | None = None
    """nng contexts receiving at once (default: concurrency + queue + 16, so a full queue is answered with 503)."""
    max_pending_mb: int = attrs.field(default=1024, validator=attrs.validators.ge(1))
    """MiB the messages connections hold may take in all. nng allocates a message's declared length as its header
    arrives and sets no deadline on the rest, so each connection may hold one message of up to the axon's receive
    limit (its largest request, ``max_request_size`` or an attached synapse's ``MAX_SIZE``, + 64 KiB of headers),
    sent but for its last byte, for as long as it stays open. The axon accepts at most this budget over that limit
    connections, lowering ``max_connections`` to fit and the address's and network's shares in proportion (not below
    a quarter and a half of it, nor above what they were set to): with 4 MiB requests, 252 connections, 63 from one
    address, 126 from one network. The axons of one process (a neuron host's) may share one budget on top:
    ``pending_budget``."""
    pending_budget: PendingBudget | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(PendingBudget)))
    """A budget shared with the process's other axons (a neuron host makes one for all its axons): each connection
    this axon admits within its own bounds also reserves its receive limit from it, until it closes, and one whose
    limit does not fit is closed as it comes, so the axons together hold at most that budget. None: the axon has only
    its own ``max_pending_mb``."""
    load_report_interval: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))
    """Seconds between checks of the refusals (requests answered with an error, connections closed as they came);
    when a check finds ``load_report_threshold`` or more since the last, ``axon.under_load`` is logged as a warning
    with the counts by reason."""
    load_report_threshold: int = attrs.field(default=1000, validator=attrs.validators.ge(1))
    """Refusals within one ``load_report_interval`` that make the axon log ``axon.under_load``."""


@attrs.frozen
class _Route:
    cls: type[Synapse]
    forward: Callable[..., Any]
    blacklist: Callable[..., Any] | None
    priority: Callable[..., Any] | None
    verify: Callable[..., Any] | None
    streaming: bool
    ping: bool = False
    is_async: bool = attrs.field(init=False)
    hooks: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "is_async", _is_async(self.forward))
        object.__setattr__(self, "hooks", any(h is not None for h in (self.blacklist, self.priority, self.verify)))


def _is_async(fn: Callable[..., Any]) -> bool:
    """True for async functions and objects whose ``__call__`` is async."""
    if inspect.iscoroutinefunction(fn):
        return True
    return not inspect.isroutine(fn) and inspect.iscoroutinefunction(type(fn).__call__)


async def _call(fn: Callable[..., Any], arg: Any, threads: LateThreads) -> Any:
    if _is_async(fn):
        return await fn(arg)
    return await threads.run(fn, arg)


def _synapse_type_of(fn: Callable[..., Any]) -> type[Synapse]:
    try:
        params = list(inspect.signature(fn).parameters.values())
        hints = typing.get_type_hints(fn)
    except (TypeError, ValueError, NameError) as e:
        raise TypeError(f"cannot read the signature of {fn!r} ({e}); pass synapse=YourSynapse to attach()") from None
    tp = hints.get(params[0].name) if params else None
    if not (isinstance(tp, type) and issubclass(tp, Synapse)):
        raise TypeError(
            f"{getattr(fn, '__qualname__', fn)!r}: annotate its first parameter with its Synapse class "
            "(def forward(synapse: MySynapse) -> MySynapse) or pass synapse=MySynapse to attach()"
        )
    return tp


class _HookRaised(Exception):
    """A blacklist or priority function raised (its exception is the cause): logged under the hook's name."""

    def __init__(self, hook: str) -> None:
        super().__init__(hook)
        self.hook = hook


def _keypair_of(who: Any) -> tuple[Keypair, str]:
    """(hotkey, coldkey SS58 or "") of a Keypair, a Wallet, or anything with coldkey and hotkey Keypairs."""
    if isinstance(who, Keypair):
        return who, ""
    hotkey = getattr(who, "hotkey", None)
    if not isinstance(hotkey, Keypair):
        raise TypeError("expected a Wallet or a Keypair")
    try:
        coldkey = who.coldkeypub.ss58_address
    except (WalletError, OSError):  # a wallet without a coldkeypub file still serves
        coldkey = ""
    except AttributeError:  # no coldkeypub: a pair of Keypairs (docs/sdk.md's Pair) names its coldkey's own
        cold = getattr(who, "coldkey", None)
        coldkey = cold.ss58_address if isinstance(cold, Keypair) else ""
    return hotkey, coldkey


async def _aping(synapse: Synapse) -> Synapse:
    return synapse


class AddressInUse(TaonetError, pynng.AddressInUse):
    """Raised when an axon cannot listen because another socket holds its address (pick another port, or port 0).

    A taonet error (``except TaonetError`` catches it) and still pynng's ``AddressInUse`` (older handlers of it do)."""

    CODE = "wire_address_in_use"

    def __init__(self, message: str, errno: int = lib.NNG_EADDRINUSE) -> None:
        pynng.AddressInUse.__init__(self, message, errno)


@final
class Axon:
    """Serves attached synapse types on an nng address (``tcp://``, ``ipc://`` or ``inproc://``).

    Use ``async with Axon(wallet, "tcp://0.0.0.0:8091").attach(forward) as axon: ...``, or
    ``await task_group.start(axon.serve)``; both return once the socket listens. The base :class:`Synapse` is
    attached as a ping that answers 200.
    """

    def __init__(
        self,
        wallet: Any,
        address: str | None = None,
        *,
        external_ip: str | None = None,
        external_port: int | None = None,
        config: AxonConfig | None = None,
        version: int = WIRE_VERSION,
        port: int | None = None,
        ip: str | None = None,
    ) -> None:
        if address is None:  # the SDK's Axon(wallet, port=8091, ip=...): tcp on that port
            address = f"tcp://{ip or '0.0.0.0'}:{8091 if port is None else port}"
        elif port is not None or ip is not None:
            raise TypeError(f"give the axon an address ({address!r}) or a port and ip, not both")
        self._keypair, self._coldkey = _keypair_of(wallet)
        if not self._keypair.can_sign:
            raise ValueError(f"the axon's hotkey {self._keypair.ss58_address} has no secret; it cannot sign replies")
        self.config = config or AxonConfig()
        self._address = address
        self._bound: str | None = None
        self._external_ip = external_ip
        self._external_port = external_port
        self._version = version
        self._routes: dict[str, _Route] = {}
        self._pk = self._keypair.public_key
        self._ss58 = self._keypair.ss58_address
        self.counts: Counter[int] = Counter()
        """Replies sent, by status code."""
        self._refused: set[str] = set()
        self.on_refused: Callable[[str, str], None] | None = None
        """Called with (synapse name, reason) the first time each reason is seen for refusing a forward's answer (the
        caller got 500), as it is logged: a neuron shows it where its operator looks (status, the launcher's view)."""
        self._log = logger.bind(actor="axon", hotkey=self._ss58)
        self._tg: anyio.abc.TaskGroup | None = None
        self._gate: PriorityGate | None = None
        self._nonces: NonceGuard | None = None
        self._streams: dict[bytes, OutStream] = {}
        self._threads = LateThreads()
        """Sync hooks' worker threads; at most MAX_LATE_THREADS run on after their callers gave up."""
        self._peers: dict[int, tuple[str | None, int | None]] = {}
        self._sock: pynng.Rep0 | None = None
        self._limit: ConnectionLimit | None = None
        self._spare = SpareContexts()  # contexts between requests (bound: one a receiver)
        self.streams_dropped = 0
        """Streams dropped at ``max_streams`` (done, and left unpulled longest)."""
        self.slow_sends = 0
        """Replies still queued when their receiver went on (behind a congested connection, or one that does not
        read); their contexts are set aside, at most one a receiver, the oldest closed beyond that."""
        self._terminal = TerminalInfo()
        self._max_size = self.config.max_request_size
        self._recv_max = self._max_size + _HEADER_ROOM
        self._bounds = (0, 0, 0)
        self._cm: Any = None
        self._background: Any = None
        self.attach(_aping, synapse=Synapse)

    # --- configuration -------------------------------------------------------------------------------------
    def attach(
        self,
        forward: Callable[..., Any] | None = None,
        blacklist: Callable[..., Any] | None = None,
        priority: Callable[..., Any] | None = None,
        verify: Callable[..., Any] | None = None,
        *,
        synapse: type[Synapse] | None = None,
        forward_fn: Callable[..., Any] | None = None,
        blacklist_fn: Callable[..., Any] | None = None,
        priority_fn: Callable[..., Any] | None = None,
        verify_fn: Callable[..., Any] | None = None,
    ) -> Self:
        """Serve a synapse type with ``forward``; the type is read from forward's first parameter annotation.

        Args:
            forward: ``(synapse) -> synapse`` (sync or async); for a :class:`StreamingSynapse`, a generator (sync
                or async) of chunks.
            blacklist: ``(synapse) -> bool | (bool, reason) | (bool, reason, retry_after)``; True refuses the
                caller with 403 (``retry_after``: seconds before it may try again, sent as a typed field).
            priority: ``(synapse) -> float``; higher is served first when the axon is busy.
            verify: ``(synapse) -> None``; raising refuses the request with 401. It runs after the built-in checks,
                the blacklist and the recording of the nonce, so it sees each signed request at most once.
            synapse: the synapse class, when forward's annotation does not name it.

        The SDK's keywords ``forward_fn``, ``blacklist_fn``, ``priority_fn`` and ``verify_fn`` name the same hooks.
        """
        hooks = []
        for name, ours, sdk in (("forward", forward, forward_fn), ("blacklist", blacklist, blacklist_fn),
                                ("priority", priority, priority_fn), ("verify", verify, verify_fn)):
            if ours is not None and sdk is not None:
                raise TypeError(f"attach() got both {name} and {name}_fn; give one")
            hooks.append(ours if ours is not None else sdk)
        forward, blacklist, priority, verify = hooks
        if forward is None:
            raise TypeError("attach() needs a forward function")
        if self._tg is not None:
            raise RuntimeError("attach() before serving: the axon sizes its socket for the synapses it serves")
        cls = synapse or _synapse_type_of(forward)
        if not (isinstance(cls, type) and issubclass(cls, Synapse)):
            raise TypeError(f"{cls!r} is not a Synapse subclass")
        for hook in (forward, blacklist, priority, verify):
            if hook is not None and not callable(hook):
                raise TypeError(f"{hook!r} is not callable")
        self._routes[cls.NAME] = _Route(cls, forward, blacklist, priority, verify, issubclass(cls, StreamingSynapse),
                                        ping=forward is _aping)
        return self

    @property
    def hotkey(self) -> Keypair:
        """The axon's hotkey."""
        return self._keypair

    @property
    def address(self) -> str:
        """The address it listens on (with the real port once serving, if it was given port 0)."""
        return self._bound or self._address

    @property
    def connections(self) -> int:
        """Connections open now (0 when not serving)."""
        return 0 if self._sock is None or self._limit is None else self._limit.connections

    @property
    def connections_refused(self) -> int:
        """Connections closed as they came, over ``max_connections``, over their address's or network's share, or
        beyond the shared ``pending_budget`` (a dialer that keeps retrying counts each time)."""
        return 0 if self._limit is None else self._limit.refused

    @property
    def connections_refused_per_address(self) -> int:
        """Of :attr:`connections_refused`, those closed because their address held ``max_connections_per_address``."""
        return 0 if self._limit is None else self._limit.refused_per_address

    @property
    def connections_refused_per_network(self) -> int:
        """Of :attr:`connections_refused`, those closed because their network held ``max_connections_per_network``."""
        return 0 if self._limit is None else self._limit.refused_per_network

    @property
    def connections_refused_pending(self) -> int:
        """Of :attr:`connections_refused`, those closed because the shared ``pending_budget`` had no room for them
        (the axon's own bounds did)."""
        return 0 if self._limit is None else self._limit.refused_pending

    def info(self) -> AxonInfo:
        """What a dendrite (or the chain) needs to reach this axon."""
        address = self.address
        if address.startswith("tcp://"):
            host, _, port = address[6:].rpartition(":")
            host = host.strip("[]")
            ip = self._external_ip or host
            port_n = self._external_port or int(port)
            return AxonInfo(ip=ip, port=port_n, hotkey=self._ss58, coldkey=self._coldkey, version=self._version,
                            protocol=6 if ":" in ip else 4)
        return AxonInfo(ip="", port=0, hotkey=self._ss58, coldkey=self._coldkey, version=self._version,
                        url=address)

    # --- lifetime -------------------------------------------------------------------------------------------
    def start(self) -> Self:
        """Serve from a background thread, as the Bittensor SDK's ``axon.start()``; returns once the socket
        listens. For synchronous scripts: :meth:`stop` ends it, and one still running at exit is stopped then.
        In async code use ``async with axon:`` instead."""
        if self._background is not None and self._background.running:
            raise RuntimeError("this axon is already serving; stop() it first")
        from ._axon_thread import Background

        self._background = Background(self)
        return self

    def stop(self) -> None:
        """Stop an axon started with :meth:`start` (bounded: a few seconds); nothing if it was not started."""
        background, self._background = self._background, None
        if background is not None:
            background.stop()

    async def __aenter__(self) -> Self:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        try:
            await tg.start(self.serve)
        except BaseException as e:
            tg.cancel_scope.cancel()
            try:
                await tg.__aexit__(type(e), e, e.__traceback__)
            except BaseExceptionGroup as group:
                if group.exceptions != (e,):
                    raise
            raise  # what stopped the axon from starting (the port in use), not a group around it
        self._cm = tg
        return self

    async def __aexit__(self, *exc: Any) -> bool | None:
        tg, self._cm = self._cm, None
        tg.cancel_scope.cancel()
        try:
            return await tg.__aexit__(*exc)
        except BaseExceptionGroup as group:
            # The body of `async with axon:` raised (ValueError, SystemExit, KeyboardInterrupt): the task group wraps
            # it alone in a group, which would turn sys.exit(3) into exit status 1. Let the body's own error through.
            if exc[1] is not None and group.exceptions == (exc[1],):
                return False
            raise

    @typing.overload
    def serve(self, *, task_status: anyio.abc.TaskStatus[AxonInfo] = ...) -> typing.Coroutine[Any, Any, None]: ...

    @typing.overload
    def serve(self, netuid: int, subtensor: Any) -> Any: ...

    def serve(self, netuid: int | None = None, subtensor: Any = None, *,
              task_status: anyio.abc.TaskStatus[AxonInfo] = anyio.TASK_STATUS_IGNORED) -> Any:
        """Listen and answer requests until cancelled: ``await task_group.start(axon.serve)`` returns once listening.

        ``axon.serve(netuid, subtensor)`` (the Bittensor SDK's form) publishes this axon on the chain instead:
        it returns ``subtensor.serve_axon(netuid, axon)``, the ExtrinsicResult from a blocking client
        (``taonet.kernel.client.blocking``), an awaitable of it from an async one (``await axon.serve(2, sub)``).
        Give the axon ``external_ip=`` when it listens on 0.0.0.0 (no dendrite can dial that).
        """
        if netuid is None and subtensor is None:
            return self._serve(task_status=task_status)
        if netuid is None or subtensor is None:
            raise TypeError("axon.serve(netuid, subtensor) publishes the axon: give both (or neither, to listen: "
                            "await task_group.start(axon.serve))")
        if isinstance(netuid, bool) or not isinstance(netuid, int):
            raise TypeError(f"axon.serve: netuid must be an integer (a subnet's number), not {netuid!r:.40}")
        publish = getattr(subtensor, "serve_axon", None)
        if not callable(publish):
            raise TypeError(f"axon.serve: {type(subtensor).__name__} has no serve_axon(netuid, axon); give a "
                            "taonet subtensor (taonet.kernel.client.Subtensor, or its blocking form)")
        return publish(netuid, self)

    async def _serve(self, *, task_status: anyio.abc.TaskStatus[AxonInfo] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen and answer requests until cancelled; ``task_status.started`` is called once listening."""
        if self._tg is not None:
            raise RuntimeError("this axon is already serving")
        cfg = self.config
        hard_cap = max(cfg.max_request_size, *(r.cls.MAX_SIZE or 0 for r in self._routes.values()))
        self._max_size = hard_cap
        # nng drops (and closes the pipe of) anything above its own cap, a little above ours: a request a little
        # too large still gets its 413. Each connection may hold one unfinished message of up to this many bytes.
        recv_max = hard_cap + _HEADER_ROOM
        total, per_address, per_network = self._bounds = _connection_budget(cfg, recv_max)
        shared = cfg.pending_budget
        if shared is not None and shared.total < recv_max:
            raise ValueError(f"the shared pending budget of {shared.mb} MiB cannot hold one request of {recv_max} "
                             f"bytes (the largest this axon accepts, + headers): raise its max_pending_mb (a neuron "
                             f"host's) to {-(-recv_max >> 20)} or more")
        self._recv_max = recv_max
        self._gate = PriorityGate(cfg.max_concurrency, cfg.max_queue)
        self._nonces = NonceGuard(past_s=cfg.nonce_past, future_s=cfg.nonce_future, max_timeout_s=cfg.max_timeout,
                                  per_caller=cfg.nonce_per_caller, max_entries=cfg.nonce_max_entries)
        receivers = cfg.receivers or cfg.max_concurrency + cfg.max_queue + 16
        with pynng.Rep0(recv_max_size=recv_max) as sock:
            self._limit = limit_connections(sock, total, per_address, per_network, pending=shared, cost=recv_max)
            self._sock = sock
            try:
                listener = sock.listen(self._address)
            except pynng.NNGException as e:  # the same pynng type, saying which address and what to do
                hint = ("another process holds it: pick another port, or port 0 for a free one"
                        if isinstance(e, pynng.AddressInUse) else "an axon listens on tcp://host:port, ipc:///path "
                        "or inproc://name")
                error = AddressInUse if isinstance(e, pynng.AddressInUse) else type(e)
                raise error(f"the axon cannot listen on {self._address}: {e}; {hint}", e.errno) from None
            self._bound = bound_address(listener, self._address)
            info = self.info()
            self._terminal = TerminalInfo(ip=info.ip or info.url, port=info.port or None, version=self._version,
                                          hotkey=self._ss58)
            self._spare.bound = receivers
            try:
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    for _ in range(receivers):
                        tg.start_soon(self._receive_loop, sock)
                    tg.start_soon(self._report_load)
                    self._log.info("axon.started", address=self._bound, synapses=sorted(self._routes),
                                   receive_limit=recv_max, connections=dict(zip(
                                       ("max", "per_address", "per_network"), self._bounds, strict=True)),
                                   shared_pending_mb=None if shared is None else shared.mb)
                    task_status.started(info)
            finally:
                self._tg = None
                self._spare.close()
                for st in self._streams.values():  # streams whose producer never ran (cancelled before it started)
                    st.dispose()
                self._streams.clear()
                self._peers.clear()
                self._sock = None
                self._log.info("axon.stopped", address=self._bound, replies=dict(self.counts))

    @property
    def receive_limit(self) -> int:
        """The largest message nng takes in, in bytes (the largest request accepted + 64 KiB; valid once serving):
        what one connection's unfinished message may hold."""
        return self._recv_max

    @property
    def connection_bounds(self) -> tuple[int, int, int]:
        """The connections accepted at once (valid once serving): in all, from one address, from one network;
        ``max_connections`` and its shares, lowered to fit ``max_pending_mb`` at :attr:`receive_limit` each (a shared
        ``pending_budget`` may close one sooner)."""
        return self._bounds

    def refusals(self) -> dict[str, int]:
        """Refusals so far by reason: requests by the name of their reply's status (``overloaded``, ``forbidden``,
        ``unauthorized``...), connections closed as they came by the bound they met (``connections_total``,
        ``connections_per_address``, ``connections_per_network``, ``connections_pending``: the shared budget)."""
        out = {Status(code).name.lower() if code in _STATUS_CODES else str(code): n
               for code, n in self.counts.items() if code != Status.OK and n}
        if self._limit is not None:
            lim = self._limit
            out["connections_total"] = (lim.refused - lim.refused_per_address - lim.refused_per_network
                                        - lim.refused_pending)
            out["connections_per_address"] = lim.refused_per_address
            out["connections_per_network"] = lim.refused_per_network
            out["connections_pending"] = lim.refused_pending
        return {k: n for k, n in out.items() if n}

    async def _report_load(self) -> None:
        """Every ``load_report_interval``, log ``axon.under_load`` (a warning) if the refusals since the last check
        reach ``load_report_threshold``: a flood leaves a trace where the operator looks, at most once an interval."""
        cfg = self.config
        last = self.refusals()
        while True:
            await anyio.sleep(cfg.load_report_interval)
            now = self.refusals()
            since = {k: n - last.get(k, 0) for k, n in now.items() if n > last.get(k, 0)}
            last = now
            if sum(since.values()) >= cfg.load_report_threshold:
                self._log.warning("axon.under_load", refused=since, interval_s=cfg.load_report_interval,
                                  connections=self.connections, hint="requests and connections refused since the "
                                  "last check, by reason; see docs/wire.md, 'Size limits, timeouts, concurrency'")

    @property
    def _receivers(self) -> int:
        """Receiving tasks of the running axon (the spare contexts' bound)."""
        return self._spare.bound

    # --- the request pipeline ------------------------------------------------------------------------------
    async def _receive_loop(self, sock: pynng.Rep0) -> None:
        ctx = self._spare.take(sock)
        try:
            while True:
                raw, pipe = await ctx.recv(want_pipe=True)
                t0 = time.perf_counter_ns()
                try:
                    reply = await self._handle(raw, pipe, t0)
                except Exception:  # a bug of ours must not stop the axon: answer 500 and keep serving
                    self._log.exception("axon.internal_error")
                    reply = self._error(None, Status.SERVER_ERROR, "internal error in the axon", t0)
                try:
                    ctx.send(reply)
                except pynng.NNGException as e:  # the caller went away; nothing to do
                    self._log.debug("axon.reply_not_sent", error=str(e))
                if self._spare.put_back(ctx):  # never wait here for the reply to leave: a caller that does not
                    self.slow_sends += 1  # read would hold this receiver for ever
                ctx = self._spare.take(sock)
        finally:
            ctx.close()

    def _peer(self, pipe: Any) -> tuple[str | None, int | None]:
        pid = lib.nng_pipe_id(pipe)
        peer = self._peers.get(pid)
        if peer is None:
            _, text = pipe_peer(pipe)
            host, sep, port = text.rpartition(":")
            peer = (host.strip("[]"), int(port)) if sep and port.isdigit() else (text or None, None)
            if len(self._peers) > 4096:
                self._peers.clear()
            self._peers[pid] = peer
        return peer

    async def _handle(self, raw: bytes, pipe: Any, t0: int) -> bytes:
        req: Request | None = None
        try:
            req = decode_frame(raw, max_size=self._max_size)
            if req.stream is not None:
                return await self._pull(req, t0)
            route, syn, timeout_s, now = self._admit(req, raw, pipe)
        except (ProtocolError, CodecError) as e:
            return self._reject(req, e, t0)
        gate = self._gate
        assert gate is not None
        try:
            if route.hooks or not gate.try_acquire():
                with anyio.move_on_after(_budget(timeout_s, t0)) as scope:
                    prio = await self._hooks(req, route, syn, timeout_s, now)
                    await gate.acquire(prio)
                if scope.cancelled_caught:
                    raise RequestTimeout(timeout_s)
            # a slot is held from here on
            if route.streaming:
                return await self._open_stream(req, route, syn, timeout_s, t0)
            try:
                out = await self._forward(route, syn, timeout_s, t0)
            finally:
                gate.release()
            return self._answer(req, route, syn, out, t0)
        except ProtocolError as e:
            return self._reject(req, e, t0)
        except _HookRaised as e:  # logged under the hook's name: it read as the forward failing
            ref = secrets.token_hex(4)
            cause = e.__cause__
            self._log.error("axon.hook_failed", hook=e.hook, synapse=req.name, caller=ss58_of(req.hotkey), ref=ref,
                            exc_info=cause)
            return self._reject(req, ServerError(f"server error: {type(cause).__name__} (axon log ref {ref})"), t0)
        except Exception as e:
            ref = secrets.token_hex(4)
            self._log.exception("axon.forward_failed", synapse=req.name, caller=ss58_of(req.hotkey), ref=ref)
            return self._reject(req, ServerError(f"server error: {type(e).__name__} (axon log ref {ref})"), t0)

    async def _hooks(self, req: Request, route: _Route, syn: Synapse, timeout_s: float, now: int) -> float:
        """Blacklist, then the nonce's record (if a blacklist ran), verify and priority; the priority to queue with."""
        if route.blacklist is not None:
            try:
                answer = await _call(route.blacklist, syn, self._threads)
            except ProtocolError:  # the hook's own answer to the caller (a ServerError it raised): as it is
                raise
            except Exception as e:
                raise _HookRaised("blacklist") from e
            refused, reason, retry_after = _blacklist_result(answer)
            if refused:
                raise Blacklisted(f"blacklisted: {reason}"[:300] if reason else "blacklisted", retry_after)
            nonces = self._nonces
            assert nonces is not None
            # checked again, in the same step as the record: a copy of this request may have been recorded while
            # the blacklist ran (no await between these two lines)
            nonces.admit(req.hotkey, req.uuid, req.nonce, timeout_s, now)
        if route.verify is not None:
            try:
                await _call(route.verify, syn, self._threads)
            except Exception as e:
                raise NotVerified(f"not verified: {type(e).__name__}: {e}"[:300]) from None
        if route.priority is None:
            return 0.0
        try:
            return float(await _call(route.priority, syn, self._threads))
        except ProtocolError:
            raise
        except Exception as e:
            raise _HookRaised("priority") from e

    async def _forward(self, route: _Route, syn: Synapse, timeout_s: float, t0: int) -> Any:
        """Run the forward under the caller's timeout.

        A sync forward runs in a worker thread; if it overruns, its result is dropped and the thread finishes on
        its own (a thread cannot be interrupted).
        """
        with anyio.move_on_after(_budget(timeout_s, t0)):
            if route.is_async:
                return await route.forward(syn)
            return await self._threads.run(route.forward, syn)
        raise RequestTimeout(timeout_s)

    def _admit(self, req: Request, raw: bytes, pipe: Any) -> tuple[_Route, Synapse, float, int]:
        """The synchronous checks; the route, the synapse, the timeout and the time of the nonce check.

        Without a blacklist the nonce is recorded here, with no await since its check; with one, :meth:`_hooks`
        records it once the blacklist has let the caller in.
        """
        route = self._routes.get(req.name)
        if route is None:
            raise UnknownSynapse(req.name)
        cls = route.cls
        if cls.MAX_SIZE is not None and len(raw) > cls.MAX_SIZE:
            raise MessageTooLarge(size=len(raw), limit=cls.MAX_SIZE)
        if not _verify(req.hotkey, request_signed_bytes(req.nonce, req.hotkey, req.axon, req.uuid, req.body_hash),
                       req.signature):
            raise InvalidSignature()
        now = time.time_ns()
        timeout_s = min(req.timeout_ms / 1000, self.config.max_timeout)
        nonces = self._nonces
        assert nonces is not None
        nonces.check(req.hotkey, req.uuid, req.nonce, timeout_s, now)
        if req.axon != self._pk:
            raise WrongAxon(expected=self._ss58, got=ss58_of(req.axon))
        narrow = cls.HASH_FIELDS is not None
        if not narrow and body_hash(req.body) != req.body_hash:
            raise BodyHashMismatch()
        density = cls.MAX_DENSITY or DENSITY
        try:
            fields = _strict_loads(req.body, max_size=len(req.body), density=density)
        except MessageTooDense as e:
            raise BadRequest(f"body: {e}{cls._dense_advice(density)}") from None
        except CodecError as e:
            raise BadRequest(f"body: {e}") from None
        ip, port = self._peer(pipe)
        caller = TerminalInfo(ip=ip, port=port, version=req.version, nonce=req.nonce, uuid=req.uuid,
                              hotkey=ss58_of(req.hotkey), signature=req.signature)
        syn = cls._from_body(fields, timeout=timeout_s, dendrite=caller, axon=self._terminal)
        if narrow and body_hash(syn._hashed_body(req.body)) != req.body_hash:
            raise BodyHashMismatch()
        if route.blacklist is None and not route.ping:  # a ping is idempotent: a replay of one costs nothing, and
            nonces.record(req.hotkey, req.uuid, req.nonce, now)  # strangers' pings must not fill the nonce memory
        return route, syn, timeout_s, now

    def _answer(self, req: Request, route: _Route, syn: Synapse, out: Any, t0: int) -> bytes:
        try:
            return self._reply(req, Status.OK, "Success", self._answer_body(route, syn, out), t0)
        except ServerError as e:  # the forward's answer: its author must see why, not only the caller
            self._warn_once(route.cls.NAME, str(e))
            raise

    def _answer_body(self, route: _Route, syn: Synapse, out: Any) -> bytes:
        if type(out) is not route.cls:
            raise ServerError(f"the forward returned {type(out).__name__}, not {route.cls.__name__}; "
                              "return synapse.replace(...)")
        changes = syn._changes(out)
        checks = route.cls._checks()
        for name, value in changes.items():  # what the caller's dendrite would refuse, refused here with the reason
            # what the wire cannot carry first: its reason names the value or key (a type check's may not), but a
            # numpy value as the field itself is the type check's to refuse, naming both types
            why = uncarried(value)  # the caller's dendrite refuses CBOR's tags, non-text keys, numpy's values
            uncarried_error = ServerError(f"the forward's answer has {route.cls.NAME}.{name} holding {why}, which "
                                          f"the wire cannot carry"[:300]) if why is not None else None
            if uncarried_error is not None and type(value).__module__ != "numpy":
                raise uncarried_error
            try:
                checks[name](value)
            except TypeError as e:
                raise ServerError(f"the forward's answer has {route.cls.NAME}.{name}: {e}"[:300]) from None
            if uncarried_error is not None:
                raise uncarried_error
        try:
            body = cbor2.dumps(changes, canonical=True)
        except (cbor2.CBOREncodeError, TypeError, ValueError) as e:
            raise ServerError(f"the forward's output cannot be encoded: {e}"[:300]) from None
        limit = route.cls.MAX_SIZE or self.config.max_response_size
        if len(body) > limit:
            raise ServerError(f"the reply of {len(body)} bytes exceeds the limit of {limit} bytes")
        return body

    def _warn_once(self, synapse: str, reason: str) -> None:
        """Log a refused answer as a warning the first time its reason is seen (at most 64 reasons are kept)."""
        if reason in self._refused or len(self._refused) >= 64:
            return
        self._refused.add(reason)
        self._log.warning("axon.answer_refused", synapse=synapse, reason=reason,
                          hint="the forward's return value: the caller got 500; later ones at debug level")
        if self.on_refused is not None:
            self.on_refused(synapse, reason)

    # --- replies --------------------------------------------------------------------------------------------
    def _reply(self, req: Request, status: int, message: str, body: bytes, t0: int,
               stream: bytes | None = None) -> bytes:
        h = body_hash(body)
        sig = self._keypair.sign(reply_signed_bytes(req.nonce, req.hotkey, self._pk, req.uuid, h, status))
        self.counts[int(status)] += 1
        return encode_reply(req.name, hotkey=self._pk, status=status, message=message, version=self._version,
                            body_hash=h, signature=sig, process_time_ns=time.perf_counter_ns() - t0, body=body,
                            stream=stream)

    def _error(self, req: Request | None, status: int, message: str, t0: int, body: bytes = EMPTY_BODY) -> bytes:
        if req is None:
            sig = self._keypair.sign(reply_signed_bytes(0, _NO_CALLER, self._pk, "", _EMPTY_HASH, status))
            self.counts[int(status)] += 1
            return encode_reply("error", hotkey=self._pk, status=status, message=message, version=self._version,
                                body_hash=_EMPTY_HASH, signature=sig,
                                process_time_ns=time.perf_counter_ns() - t0, body=EMPTY_BODY)
        return self._reply(req, status, message, body, t0)

    def _reject(self, req: Request | None, err: Exception, t0: int) -> bytes:
        status = status_of(err)
        message = str(err)[:1000]
        self._log.debug("axon.rejected", status=status, reason=message, synapse=req.name if req else None,
                        caller=ss58_of(req.hotkey) if req is not None and len(req.hotkey) == 32 else None)
        # the typed details (when to retry) ride in the signed body, so the message's words are free to change
        details = encode_error_details(retry_after=getattr(err, "retry_after", None))
        return self._error(req, status, message, t0, details)

    # --- streaming ------------------------------------------------------------------------------------------
    async def _open_stream(self, req: Request, route: _Route, syn: Synapse, timeout_s: float, t0: int) -> bytes:
        """Start the producer (it owns the slot the caller acquired) and answer with the first frame."""
        tg = self._tg
        assert tg is not None
        st = OutStream(sid=secrets.token_bytes(16), req=req, deadline=anyio.current_time() + _budget(timeout_s, t0),
                       buffer_size=self.config.stream_buffer, cls=route.cls,
                       threads=self._threads)
        self._make_room_for_a_stream()
        self._streams[st.sid] = st
        tg.start_soon(self._produce, st, route, syn)
        return await self._frame(st, 0, t0, opening=True)

    def _make_room_for_a_stream(self) -> None:
        """At ``max_streams``, drop the done stream least recently opened or pulled (streams still producing hold a
        slot each, so there are at most ``max_concurrency`` of those)."""
        streams = self._streams
        if len(streams) < self.config.max_streams:
            return
        for sid, st in streams.items():
            if st.finished:
                del streams[sid]
                st.delivered.set()  # its producer's task stops keeping it
                st.dispose()
                self.streams_dropped += 1
                return

    async def _produce(self, st: OutStream, route: _Route, syn: Synapse) -> None:
        gate = self._gate
        assert gate is not None
        try:
            with anyio.CancelScope(deadline=st.deadline) as scope:
                st.scope = scope
                await st.run(route.forward, syn)
            if scope.cancelled_caught and not st.finished:
                st.stop(Status.TIMEOUT, str(RequestTimeout(st.req.timeout_ms / 1000)))
            else:
                st.finish(Status.OK, "Success")
        except ProtocolError as e:  # a status the forward's own side chose (a plugin's error it already logged)
            st.finish(status_of(e), str(e)[:1000])
        except Exception as e:
            ref = secrets.token_hex(4)
            self._log.exception("axon.stream_failed", synapse=st.req.name, ref=ref)
            st.finish(Status.SERVER_ERROR, f"server error: {type(e).__name__} (axon log ref {ref})")
        finally:
            gate.release()
            st.close_producer()
        try:  # keep the stream until the caller has its last frame or can no longer ask for it
            with anyio.move_on_after(max(0.0, st.deadline - anyio.current_time()) + 1.0):
                await st.delivered.wait()
        finally:
            self._streams.pop(st.sid, None)
            st.dispose()

    async def _pull(self, req: Request, t0: int) -> bytes:
        st = self._streams.get(req.stream or b"")
        if st is None or not st.belongs_to(req):
            return self._reject(req, BadRequest("no such stream (it ended, expired, or is not yours)"), t0)
        if req.stream in self._streams:  # most recently pulled last: the last one max_streams would drop
            self._streams[req.stream] = self._streams.pop(req.stream)
        if req.cancel:
            st.stop(Status.OK, "stream cancelled by the caller")
            st.delivered.set()
            return self._stream_reply(st, StreamFrame(seq=req.seq, chunks=[], done=True), t0)
        # One pull of a stream at a time: a pull may wait (for the next chunk, up to the stream's deadline) holding
        # a receiver, so a second one is answered at once instead of queueing behind it. Only a running stream's
        # pull waits (a done stream answers at once) and each running stream holds a slot: waiting pulls are at
        # most max_concurrency in all, which the receivers' default leaves room for.
        try:
            st.lock.acquire_nowait()
        except anyio.WouldBlock:
            return self._reject(req, BadRequest("a pull of this stream is already waiting for its frame; pull one "
                                                "frame at a time"), t0)
        try:
            return await self._frame(st, req.seq, t0)
        finally:
            st.lock.release()

    async def _frame(self, st: OutStream, seq: int, t0: int, *, opening: bool = False) -> bytes:
        try:
            frame = await st.next_frame(seq, self.config.max_response_size)
        except ProtocolError as e:
            return self._reject(st.req, e, t0)
        return self._stream_reply(st, frame, t0, opening=opening)

    def _stream_reply(self, st: OutStream, frame: StreamFrame, t0: int, *, opening: bool = False) -> bytes:
        body = frame.encode()
        status, message = (st.status, st.message) if frame.done else (Status.OK, "Streaming")
        if frame.done:
            st.delivered.set()
        return self._reply(st.req, status, message, body, t0, stream=st.sid if opening else None)


_SHARES: Final = MAX_CONNECTIONS // MAX_CONNECTIONS_PER_ADDRESS  # 8: an address's default share is an eighth
_ADDRESS_FLOOR: Final = 4
"""Under a memory budget an address keeps at least 1/_ADDRESS_FLOOR of the connections that fit: a localnet dials
every axon from 127.0.0.1, one connection per validator, so an eighth (31 at the defaults) was too few for one."""


def _connection_budget(cfg: AxonConfig, recv_max: int) -> tuple[int, int, int]:
    """(in all, per address, per network): the configured connection bounds, lowered so that connections holding a
    message of ``recv_max`` bytes each fit ``max_pending_mb``: the total to what fits, the shares in proportion but
    not below a quarter and a half of it nor above what was set; ValueError if not one fits."""
    total = cfg.max_connections
    per_address = min(cfg.max_connections_per_address, total)
    per_network = cfg.max_connections_per_network or NETWORK_SHARES * cfg.max_connections_per_address
    per_network = min(max(per_network, per_address), total)
    fit = (cfg.max_pending_mb << 20) // recv_max
    if fit < 1:
        raise ValueError(f"max_pending_mb={cfg.max_pending_mb} cannot hold one request of {recv_max} bytes (the "
                         f"largest this axon accepts, + headers): raise it to {-(-recv_max >> 20)} or more")
    if fit < total:  # the shares in proportion, but never above what was set nor below their default part of fit
        per_address = min(per_address, max(1, per_address * fit // total, fit // _ADDRESS_FLOOR))
        per_network = min(fit, max(per_address, min(per_network, max(per_network * fit // total,
                                                                    fit * NETWORK_SHARES // _SHARES))))
        total = fit
    return total, per_address, per_network


def _budget(timeout_s: float, t0: int) -> float:
    """Seconds left of the caller's timeout, less a small margin so a 408 reply reaches the caller in time."""
    elapsed = (time.perf_counter_ns() - t0) / 1e9
    return max(0.0, timeout_s - min(0.05, 0.02 * timeout_s) - elapsed)


def _blacklist_result(value: Any) -> tuple[bool, str, float | None]:
    """(refused, reason, retry_after) from what a blacklist returned: a bool, ``(bool, reason)`` or ``(bool, reason,
    seconds before the caller may try again)``; a retry_after that is not a finite number >= 0 is dropped."""
    if isinstance(value, tuple):
        refused = bool(value[0]) if value else False
        reason = str(value[1]) if len(value) > 1 else ""
        wait = value[2] if len(value) > 2 else None
        ok = isinstance(wait, int | float) and not isinstance(wait, bool) and math.isfinite(wait) and wait >= 0
        return refused, reason, float(wait) if ok else None
    return bool(value), "", None

