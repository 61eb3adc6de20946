"""Subtensor: the chain client, with the verbs subnet authors know, over the node's RPC.

Every method is async and has a timeout; for scripts and the REPL use ``subtensor(endpoint)`` (or
``blocking(Subtensor(...))``), which gives the same methods as plain blocking calls. Each write returns an
:class:`ExtrinsicResult` that says whether the extrinsic was included (with its block and events) or rejected and
why; a timeout is a result too, never a hang.

Waiting costs the node nothing: :meth:`Subtensor.wait_for_block` waits on the node's block feed (one subscriber
per node and event loop, shared by every Subtensor there), and a write waits for inclusion by asking a short
``receipt`` after each new block. A node that answers ``Busy`` (this client over its share) is asked again after a
short, growing pause, within the call's timeout.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import math
import numbers
import os
import random
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import anyio
import attrs

from taonet.ledger import (
    AddStake,
    BurnedRegister,
    Call,
    CommitWeights,
    CreateSubnet,
    Event,
    Extrinsic,
    Hyperparameters,
    Keypair,
    NeuronRegistered,
    NeuronReplaced,
    Nominate,
    PowRegister,
    RegistrationRefused,
    RemoveStake,
    RevealWeights,
    ServeAxon,
    SetCommitment,
    SetHyperparameter,
    SetSubnetIdentity,
    SetWeights,
    SignedBlock,
    Transfer,
    WeightsCommitted,
    decode,
    hotkey_binding_payload,
    solve_pow,
    ss58_decode,
    ss58_encode,
)
from taonet.ledger.errors import InvalidAddress, InvalidWeights, TaonetError, error_from_wire

from .._address import dialable as _dialable
from ..errors import (
    AlreadyQueued,
    BadAddress,
    BlockNotFound,
    BlockWaitTimeout,
    Busy,
    ExtrinsicDropped,
    LeaderAway,
    NoNode,
    NotAWallet,
    RefusedReply,
    RpcBadRequest,
    RpcTimeout,
    Unreachable,
)
from ._balance import Balance
from ._blocking import Blocking, awaitable_property
from ._feed import FeedWatcher
from ._neuron import DelegateInfo, NeuronInfo, NeuronReply, neuron_from_payload, neurons_from_payload
from ._rpc_client import RpcClient
from ._weight_commits import PendingReveal, WeightCommitInfo, u16_uids, u16_weights

if TYPE_CHECKING:
    import numpy as np


__all__ = ["AsyncSubtensor", "ExtrinsicResult", "Fields", "Subtensor", "resolve_endpoint", "subtensor"]

DEFAULT_ENDPOINT = "tcp://127.0.0.1:9944"
NONCE_RETRIED = ("already_queued", "stale_nonce", "extrinsic_dropped", "future_nonce")
"""The refusals a write that signs for you signs again for, at the new next nonce: nothing of it ran, and each comes
from another write of the same key (one that took the nonce, or one refused at sealing, which drops the later nonces
and, between the nonce read and the submit, leaves the nonce read ahead of the next)."""

NO_REPLY = 0.25
"""Seconds without a reply after which a wait's request, still out at the wait's deadline, says the node does not
answer (half the wait when that is shorter): a node that answers at all answers a head request in milliseconds."""
_BITTENSOR_NETWORKS = ("finney", "test", "archive", "latent-lite", "mainnet", "testnet")
_PORTED_SCHEMES = ("tcp", "tcp4", "tcp6", "tls+tcp", "tls+tcp4", "tls+tcp6", "ws", "ws4", "ws6", "wss", "wss4", "wss6")
"""nng's schemes whose address ends in a port."""
_NNG_SCHEMES = (*_PORTED_SCHEMES, "ipc", "inproc", "abstract", "zt", "socket")
"""Every scheme nng dials."""


def resolve_endpoint(endpoint: str | None) -> str:
    """An nng address for ``endpoint``: None -> $TAONET_ENDPOINT or local; "local"; "host:port"; or an nng URL.

    A Bittensor network name ("finney", "test", ...) raises BadAddress: a taonet node is not reached by name; so
    does a TCP or WebSocket port that is no number in 1..65535 (nng dials it, and nothing ever answers), and
    Bittensor's WebSocket form of a node's address (``ws://HOST:PORT``, any ``wss://``): taonet nodes speak nng over
    tcp (an nng ``ws://HOST:PORT/PATH`` is dialed as given)."""
    endpoint = endpoint or os.environ.get("TAONET_ENDPOINT") or "local"
    if endpoint == "local":
        return DEFAULT_ENDPOINT
    if endpoint in _BITTENSOR_NETWORKS:
        raise BadAddress(address=endpoint, reason="a Bittensor network name; taonet talks to taonet nodes only")
    if isinstance(endpoint, str) and not endpoint.isascii():
        try:
            endpoint.encode()
        except UnicodeEncodeError:  # bytes that were not UTF-8 (from the environment), as RpcClient names them
            raise BadAddress(address=repr(endpoint), reason="not UTF-8 text") from None
    url = endpoint if "://" in endpoint else f"tcp://{endpoint}"
    scheme, _, rest = url.partition("://")
    host, colon, port = rest.split("/", 1)[0].rpartition(":")
    if scheme not in _NNG_SCHEMES:
        where = f"tcp://{rest.split('/', 1)[0]}" if colon and host else "tcp://HOST:PORT"
        raise BadAddress(address=endpoint, reason=f"{scheme}:// is no scheme a taonet node speaks (nng over tcp, "
                                                  f"or ipc://): use {where}")
    if scheme in _PORTED_SCHEMES and not colon:
        raise BadAddress(address=endpoint, reason=f"{url} names no port: give HOST:PORT, e.g. "
                                                  f"{port or 'localhost'}:9944 (a dev node's RPC port)")
    if scheme in _PORTED_SCHEMES and colon and host and not (port.isascii() and port.isdigit()
                                                             and 1 <= int(port) <= 65535):
        raise BadAddress(address=endpoint, reason=f"port {port!r} is not a number from 1 to 65535")
    path = rest.partition("/")[2]
    if scheme.startswith("wss") or (scheme.startswith("ws") and path in ("", "/")):
        tcp = f"tcp://{host}:{port}" if colon and host and not scheme.startswith("wss") else "tcp://HOST:PORT"
        raise BadAddress(address=endpoint, reason=f"a WebSocket address, as Bittensor's nodes take; taonet nodes "
                                                  f"speak nng over tcp: use {tcp}")
    return url


@attrs.frozen
class ExtrinsicResult:
    """What happened to a submitted extrinsic: included (block, events), rejected (error), or timed out."""

    status: Literal["included", "rejected", "timeout", "submitted"]
    hash: bytes = b""
    block: int | None = None
    events: tuple[Event, ...] = ()
    error: TaonetError | None = None
    uid: int | None = None
    action: str = ""
    """For weights: "set" (set_weights), "committed" (a commit only: set_weights' reveal refused, or not made) or
    "revealed" (weights revealed); "" when the commit or reveal was refused (nothing happened). With status
    "submitted" (not waited for) it is what was sent, not yet applied: ``wait_for_outcome`` says whether it was."""
    reveal: PendingReveal | None = None
    """For a weight commit or reveal: what was committed (vectors, salt, window)."""
    sent: bool = attrs.field(default=attrs.Factory(lambda self: self.hash != b"", takes_self=True))
    """False when the client knows nothing went to the node (a write refused before signing, with no hash; no node
    answered; or, a "timeout", the nonce lookup before signing got no reply): nothing can be included, so sending it
    again is safe. True when it may have (by default, when the result has a hash: something was signed and sent)."""

    @property
    def success(self) -> bool:
        """True when the extrinsic was included (for a registration: and a UID was assigned)."""
        return self.status in ("included", "submitted") and self.error is None

    @property
    def message(self) -> str:
        """A sentence for people."""
        if self.success:
            return f"{self.status} in block {self.block}" if self.block is not None else self.status
        if not self.sent and self.status == "timeout":
            return f"nothing was sent, so sending it again is safe: {self.error or 'no reply from the node'}"
        return str(self.error) if self.error is not None else self.status

    def __iter__(self) -> Any:
        """Unpack as ``(success, message)``, like the Bittensor SDK's responses."""
        return iter((self.success, self.message))

    def __bool__(self) -> bool:
        return self.success


def _key(who: Any, which: str) -> Keypair:
    if isinstance(who, Keypair):
        return who
    key = getattr(who, which, None)
    if not isinstance(key, Keypair):
        raise NotAWallet(what=f"{who!r:.60}", which=which)
    return key


def _coldkey(who: Any) -> Keypair:
    return _key(who, "coldkey")


def _hotkey(who: Any) -> Keypair:
    return _key(who, "hotkey")


def _address(who: Any) -> bytes:
    if isinstance(who, bytes) and len(who) == 32:
        return who
    if isinstance(who, str):
        return ss58_decode(who)
    if isinstance(who, Keypair):
        return who.public_key
    pub = getattr(who, "coldkeypub", None)
    if pub is not None:
        return _address(pub)
    what = f"{len(who)} bytes" if isinstance(who, bytes) else type(who).__name__
    raise InvalidAddress(f"{who!r:.60} ({what}) is not an address: give an SS58 string, a Keypair, a Wallet or a "
                         "32-byte public key")


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars (a UID from ``metagraph.uids``, a netuid) made the Python ints and floats the
    wire encodes; lists and tuples element by element."""
    if isinstance(value, bool | int | float | str | bytes) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _rao(amount: Balance | int | float) -> int:
    return Balance.to_send(amount).rao


_SDK_FINALITY_OPTIONS = ("wait_for_finalization", "period", "mev_protection", "wait_for_revealed_execution")
"""The SDK v10's keywords on every write that mean nothing here: an included extrinsic is final, and the mempool
has neither eras nor MEV shielding."""


_SHAPE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError)
"""What reading a result of the wrong shape raises (a missing key, a string where a map was, a short list...)."""

_replies: contextvars.ContextVar[list[tuple[str, str]] | None] = contextvars.ContextVar("taonet_replies",
                                                                                       default=None)
"""The (method, address) of the last reply the outermost Subtensor method running in this context has had."""


def _reads_replies(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``method`` raising :class:`RefusedReply` instead of a plain KeyError, TypeError, ValueError... raised after
    a reply came (reading a result of the wrong shape); what it raises before any reply (a bad argument) is kept."""

    at = _netuid_position(method)

    @functools.wraps(method)
    async def reading(self: Any, *args: Any, **kwargs: Any) -> Any:
        if at is not None:
            _check_netuid(method.__name__, args[at] if len(args) > at else kwargs.get("netuid"))
        if _replies.get() is not None:  # inside another method of a Subtensor: that one converts
            return await method(self, *args, **kwargs)
        replies: list[tuple[str, str]] = []
        token = _replies.set(replies)
        try:
            return await method(self, *args, **kwargs)
        except _SHAPE_ERRORS as e:
            if not replies or isinstance(e, TaonetError):  # the caller's own mistake, or a typed error already
                raise
            rpc, address = replies[-1]
            raise RefusedReply(method=rpc, address=address,
                               reason=f"its result does not have the shape {rpc} returns: {type(e).__name__}: "
                                      f"{e!s:.200}") from e
        finally:
            _replies.reset(token)

    return reading


def _netuid_position(method: Callable[..., Any]) -> int | None:
    """The index in ``*args`` (after ``self``) of ``method``'s ``netuid`` parameter, or None if it has none (or
    checks it itself: serve_axon takes the SDK's order too)."""
    if method.__name__ in ("serve_axon",):
        return None
    names = list(inspect.signature(method).parameters)[1:]
    return names.index("netuid") if "netuid" in names else None


def _check_netuid(method: str, netuid: Any) -> None:
    """TypeError unless ``netuid`` is an integer (or None): a netuid given as text fails here, before any I/O."""
    if netuid is not None and (isinstance(netuid, bool) or not isinstance(netuid, numbers.Integral)):
        hint = f"; int({netuid!r:.20}) if it was read as text" if isinstance(netuid, str) else ""
        raise TypeError(f"{method}: netuid must be an integer (a subnet's number), not {netuid!r:.40} "
                        f"({type(netuid).__name__}){hint}")


def _uid(method: str, uid: Any) -> int:
    """``uid`` as a plain int; TypeError, before any I/O, unless it is an integer (numpy's too)."""
    if isinstance(uid, bool) or not isinstance(uid, numbers.Integral):
        raise TypeError(f"{method}: uid must be an integer, not {uid!r:.40} ({type(uid).__name__})")
    return int(uid)


def _sdk_names(**renamed: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A read that also takes the SDK v10's keyword names of its arguments (``coldkey_ss58`` for ``coldkey``)."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def read(self: Subtensor, *args: Any, **kwargs: Any) -> Any:
            for sdk_name, ours in renamed.items():
                if sdk_name in kwargs:
                    if ours in kwargs:
                        raise TypeError(f"{method.__name__}: give {ours} or {sdk_name} (the SDK's name), not both")
                    kwargs[ours] = kwargs.pop(sdk_name)
            return await method(self, *args, **kwargs)

        return read

    return wrap


def _sdk_write(**renamed: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A write that also takes the SDK v10's keywords: the finality options (ignored), ``raise_error=True`` (raise
    the result's error instead of returning a rejected result) and the SDK's names of its arguments (``renamed``)."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def write(self: Subtensor, *args: Any, raise_error: bool = False, **kwargs: Any) -> ExtrinsicResult:
            for option in _SDK_FINALITY_OPTIONS:
                kwargs.pop(option, None)
            for sdk_name, ours in renamed.items():
                if sdk_name in kwargs:
                    kwargs[ours] = kwargs.pop(sdk_name)
            result = await method(self, *args, **kwargs)
            if raise_error and not result.success and result.error is not None:
                raise result.error
            return result

        return write

    return wrap


class Subtensor:
    """A client of a taonet node: ``async with Subtensor("local") as sub: await sub.get_balance(addr)``."""

    def __init__(self, endpoint: str | None = None, *, timeout: float = 30.0, nonce_retries: int = 5,
                 network: str | None = None) -> None:
        if network is not None and endpoint is not None:
            raise TypeError("give endpoint or network (the SDK's name for it), not both")
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 < timeout < 1e6:
            raise ValueError(f"timeout must be a positive number of seconds under 1e6 (about 11 days), "
                             f"got {timeout!r:.40}")
        self.endpoint = resolve_endpoint(endpoint if network is None else network)
        self.timeout = timeout
        self.nonce_retries = nonce_retries
        self.rpc = RpcClient(self.endpoint, timeout=timeout)
        self._genesis: bytes | None = None
        self._info: dict[str, Any] | None = None
        self._watch: FeedWatcher | None = None
        self._submitted = 0
        self._head_seen = -1  # the head the node last told this client (lower once another chain replaced it)

    @property
    def submitted(self) -> int:
        """How many extrinsics this client has handed to the node and the node did not refuse: counted from the
        moment a ``submit`` starts, so one cut off on its way (a timeout, a cancelled call) counts. 0 means nothing
        this client sent can change the chain; more means a write cut off may still be included."""
        return self._submitted

    async def __aenter__(self) -> Subtensor:
        self.rpc.open()
        return self

    async def initialize(self) -> Subtensor:
        """Connect, and return this client: the SDK's ``await AsyncSubtensor(...).initialize()`` (``close()`` ends
        it; ``async with`` does both)."""
        return await self.__aenter__()

    async def close(self) -> None:
        """Close the connection (what leaving ``async with`` does); the SDK's ``await subtensor.close()``."""
        await self.__aexit__(None, None, None)

    def __getattr__(self, name: str) -> Any:
        if name in _SDK_ELSEWHERE:
            raise AttributeError(f"Subtensor has no {name}: {_SDK_ELSEWHERE[name]} (docs/sdk.md, \"Coming from "
                                 "Bittensor\")")
        if name in attrs.fields_dict(Hyperparameters):  # the SDK reads some hyperparameters by name
            raise AttributeError(f"Subtensor has no {name}: it is a subnet hyperparameter, "
                                 f"sub.get_subnet_hyperparameters(netuid).{name}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    async def __aexit__(self, *exc: object) -> None:
        if self._watch is not None:
            self._watch.release()
            self._watch = None
        self.rpc.close()

    def __repr__(self) -> str:
        return f"Subtensor({self.endpoint})"

    async def call(self, method: str, *, timeout: float | None = None, **params: Any) -> Any:
        """Call a raw RPC method (see docs/node.md); ``Busy`` is retried with backoff within ``timeout``."""
        return await self._call(method, params, timeout)

    async def _call(self, method: str, params: dict[str, Any], timeout: float | None = None) -> Any:
        params = {k: _plain(v) for k, v in params.items()}
        limit = self.timeout if timeout is None else timeout
        deadline = anyio.current_time() + limit
        pause = 0.02
        while True:
            try:
                result = await self.rpc.call_raw(method, params, timeout=max(0.001, deadline - anyio.current_time()))
            except Busy as e:
                wait = max(e.retry_after, pause) * random.uniform(0.5, 1.5)  # jitter: refused callers spread out
                if anyio.current_time() + wait >= deadline:
                    raise
                await anyio.sleep(wait)
                pause = min(2 * pause, 2.0)
                continue
            replies = _replies.get()
            if replies is not None:  # the last one only: a long wait polls many times
                replies[:] = [(method, self.endpoint)]
            return result

    # --- the chain ---------------------------------------------------------------------------------------------
    async def info(self) -> dict[str, Any]:
        """Chain id, genesis hash, head, feed address and block time of the node."""
        info = await self.call("info")
        self._saw_instance(info.get("instance"))
        self._info = info
        return info

    def _saw_instance(self, run: object) -> None:
        """The node said it is run ``run`` (``info``, ``submit``, ``receipt``): another run than the last one seen
        may hold another chain (a restart on a fresh data dir), so the genesis is asked again and the next wait asks
        the head before trusting the one held."""
        if type(run) is not str:
            return
        if self._info is not None and self._info.get("instance") not in (None, run):
            self._genesis = None
            self._info = {**self._info, "instance": run}
        if self._watch is not None:
            self._watch.note_instance(run)

    async def get_existential_deposit(self) -> Balance:
        """The smallest free balance an account may keep (below it, a transfer or unstake is refused)."""
        return Balance(int((await self.info()).get("existential_deposit") or 0))

    async def _watcher(self) -> FeedWatcher | None:
        """This client's share of the process-wide watcher of the node's block feed (None if it has no feed)."""
        if self._watch is not None and not self._watch.on_this_loop():
            # made under an earlier anyio.run: its socket's wakeups go to that loop, so take this loop's watcher
            stale, self._watch = self._watch, None
            stale.drop()
        if self._watch is None:
            cached = self._info is not None
            info = self._info if self._info is not None else await self.info()
            feed = info.get("feed")
            if not feed:
                return None
            self._watch = FeedWatcher.acquire(_dialable(feed, self.endpoint),
                                              quiet=max(1.0, 3 * float(info.get("block_time", 1.0))))
            if not cached:  # a cached info may be an older run's
                self._watch.note_instance(info.get("instance"))
        return self._watch

    async def genesis_hash(self) -> bytes:
        """The chain's genesis hash (cached)."""
        if self._genesis is None:
            self._genesis = (await self.info())["genesis_hash"]
        return self._genesis

    @awaitable_property
    async def block(self) -> int:
        """The head block number (the SDK's property): ``await s.block`` here, ``sub.block`` on ``subtensor()``."""
        return await self.get_current_block()

    async def get_current_block(self) -> int:
        """The head block number."""
        return (await self._head())[0]

    async def _head(self) -> tuple[int, dict[str, Any]]:
        """The head block number, and the node's whole ``head`` answer (a replica's says whether its leader
        answers)."""
        answer = await self.call("head")
        number = answer["number"]
        if isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"the head's number is {number!r:.40}, not an integer")
        self._head_seen = number
        return number, answer

    async def _head_for_wait(self, grace: float, target: int | None) -> int:
        """The head, for a wait for block ``target`` (None: the next): :class:`LeaderAway` if it is below it and the
        node is a replica whose leader has not answered for ``grace`` seconds or more (no block comes)."""
        number, answer = await self._head()
        down = answer.get("leader_down_s")
        if ((target is None or number < target) and answer.get("leader_reachable") is False
                and type(down) in (int, float) and down >= grace):
            leader = (self._info or {}).get("leader")
            raise LeaderAway(method="wait_for_block", address=str(leader or "its leader's address"),
                             reason=f"the replica at {self.endpoint} has not heard from its leader for {down:.0f} s, "
                                    f"so no block comes (its head stays at {number})")
        return number

    async def wait_for_block(self, block: int | None = None, *, timeout: float = 60.0) -> int:
        """Wait until the head reaches ``block`` (the next block when None); returns the head.

        Waits on the node's block feed (asking the node's head only when the feed is quiet for a few block
        times). After ``timeout`` seconds raises :class:`RpcTimeout` if a request of this wait to the node has had
        no reply for NO_REPLY seconds, half of ``timeout`` if shorter (the node does not answer), else
        :class:`BlockWaitTimeout` (the node answers, the block did not come); both are ``TimeoutError``. A node that
        goes away meanwhile ends it sooner, with :class:`Unreachable` (see :class:`RpcClient`); a replica whose
        leader has not answered for three block times (at least 1 s) ends it with :class:`LeaderAway` (no block
        comes). The block is the chain's the node holds now: a node replaced by another chain at the same address (a
        lower head) is waited on from its own head.
        """
        if block is not None:
            if isinstance(block, bool) or not isinstance(block, numbers.Integral):
                raise TypeError(f"wait_for_block: block must be a block number (an integer), got {block!r:.40}")
            block = int(block)
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 <= timeout < math.inf:
            raise ValueError(f"wait_for_block: timeout must be a number of seconds >= 0, got {timeout!r:.40}")
        head = -1
        asked: list[tuple[str, float]] = []  # the request of this wait that has no reply yet: (method, sent at)

        async def ask(method: str, call: Callable[[], Awaitable[Any]]) -> Any:
            asked[:] = [(method, anyio.current_time())]
            out = await call()
            asked.clear()
            return out

        def poll() -> Awaitable[int]:
            block_time = float((self._info or {}).get("block_time", 1.0))
            return ask("head", functools.partial(self._head_for_wait, max(1.0, 3 * block_time), block))

        watch, started = self._watch, anyio.current_time()
        try:
            with anyio.fail_after(timeout):
                watch = await ask("info", self._watcher)
                if block is None:
                    block = (await poll()) + 1
                if watch is None:  # a node without a feed: ask its head every half block time
                    pause = max(0.05, float((self._info or {}).get("block_time", 1.0)) / 2)
                    while (head := await poll()) < block:
                        await anyio.sleep(pause)
                    return head
                return await watch.wait_for(block, poll)
        except TimeoutError as e:
            if type(e) is not TimeoutError:  # RpcTimeout and the like say what happened already
                raise
            if not self.rpc.connected:  # nothing ever answered (or the node turned us away): nothing to wait on
                raise await self.rpc.never_reached("wait_for_block", timeout) from None
            now = anyio.current_time()
            silent = now - asked[0][1] if asked else 0.0
            if not asked and watch is not None and watch.asked is not None:  # the feed's reader asked for us all
                sent, cut = watch.asked
                if cut is None or cut >= started:  # still waited on, or cut off during this wait
                    asked[:] = [("head", sent)]
                    silent = (now if cut is None else cut) - sent
            if asked and silent >= min(NO_REPLY, timeout / 2):
                raise RpcTimeout(method=asked[0][0], address=self.endpoint, timeout=silent) from None
            if self._watch is not None:
                head = max(head, self._watch.head)
            what = "the next block" if block is None else f"block {block}"
            raise BlockWaitTimeout(block=-1 if block is None else block, timeout=timeout, head=head,
                                   what=what) from None

    async def get_block(self, number: int) -> SignedBlock:
        """Block ``number``."""
        return SignedBlock.from_bytes(await self.call("block", number=number))

    async def get_events(self, start: int, stop: int | None = None, *, types: Sequence[str] = (),
                         netuid: int | None = None, account: Any = None) -> list[tuple[int, int, Event]]:
        """Events of blocks ``start..stop-1`` as (block, phase, event), filtered by type tags, netuid, account.

        A ``start`` beyond the head raises :class:`BlockNotFound` naming the head, as :meth:`get_block` does (the
        node answers no events for blocks it does not have); a range reaching past the head ends at the head."""
        stop = start + 1 if stop is None else stop
        known = max(self._head_seen, -1 if self._watch is None else self._watch.head)
        if isinstance(start, numbers.Integral) and start > known:  # the chain may not have it: ask its head first
            head = await self.get_current_block()
            if start > head:
                raise BlockNotFound(number=int(start), head=head)
        params: dict[str, Any] = {"start": start, "stop": stop, "types": list(types)}
        if netuid is not None:
            params["netuid"] = netuid
        if account is not None:
            params["account"] = _address(account)
        rows = await self._call("events", params)
        return [(b, ph, decode(raw, Event)) for b, ph, raw in rows]

    # --- accounts and stake ------------------------------------------------------------------------------------
    async def get_balance(self, address: Any, block: int | None = None) -> Balance:
        """Free balance of an address (SS58, key, or wallet's coldkey)."""
        return Balance((await self.call("account", address=_address(address), block=block))["free"])

    async def get_nonce(self, address: Any) -> int:
        """The nonce the address's next extrinsic must carry (counting what waits in the node's mempool)."""
        return await self.call("next_nonce", address=_address(address))

    @_sdk_names(coldkey_ss58="coldkey", hotkey_ss58="hotkey")
    async def get_stake(self, coldkey: Any, hotkey: Any, netuid: int | None = None, block: int | None = None
                        ) -> Balance:
        """Stake of ``coldkey`` on ``hotkey``, in the SDK v10 order ``(coldkey_ss58, hotkey_ss58, netuid, block)``.
        Stake is per hotkey here, so ``netuid`` is accepted and changes nothing; give ``block`` by keyword."""
        del netuid
        return Balance(await self.call("stake", coldkey=_address(coldkey), hotkey=_address(hotkey), block=block))

    async def get_stakes(self, coldkey: Any) -> dict[bytes, Balance]:
        """Every stake a coldkey holds, by hotkey."""
        return {hot: Balance(amount) for hot, amount in await self.call("stakes", coldkey=_address(coldkey))}

    async def get_total_stake_for_hotkey(self, hotkey: Any) -> Balance:
        """Total stake on a hotkey."""
        return Balance((await self.call("hotkey", hotkey=_address(hotkey)))["stake"])

    async def get_delegates(self) -> list[DelegateInfo]:
        """Every delegate: hotkey, owner, take (a fraction), the stake on it and its nominators' count."""
        return [DelegateInfo(hotkey_ss58=ss58_encode(d["hotkey"]), owner_ss58=ss58_encode(d["owner"]),
                             take=d["take"] / 0xFFFF, total_stake=Balance(d["stake"]), nominators=d["nominators"])
                for d in await self.call("delegates")]

    async def get_transfer_fee(self, wallet: Any, destination_ss58: Any, amount: Balance | int | float,
                               keep_alive: bool = True) -> Balance:
        """The fee a transfer pays: the chain's flat per-extrinsic fee (burned), whatever the amount."""
        del wallet, destination_ss58, amount, keep_alive  # the fee is flat: the SDK's arguments are accepted
        return Balance(int((await self.info()).get("extrinsic_fee") or 0))

    async def get_subnet_burn_cost(self, block: int | None = None) -> Balance:
        """The lock creating a subnet costs now (it doubles after each creation and decays over time)."""
        del block  # the node answers at its head
        return Balance(await self.call("lock_cost"))

    # --- subnets and neurons ---------------------------------------------------------------------------------
    async def get_total_subnets(self) -> int:
        """How many subnets exist (the SDK's name)."""
        return len(await self.get_all_subnets_netuid())

    async def get_all_subnets_netuid(self) -> list[int]:
        """Every netuid."""
        return [s["netuid"] for s in await self.call("subnets")]

    async def subnet_exists(self, netuid: int) -> bool:
        """True if subnet ``netuid`` exists."""
        return netuid in await self.get_all_subnets_netuid()

    async def get_subnet_info(self, netuid: int, block: int | None = None) -> dict[str, Any]:
        """Owner, sizes, burn, difficulty, tempo, pending emission and hyperparameters of a subnet."""
        info = await self.call("subnet", netuid=netuid, block=block)
        if type(info) is not dict or type(info.get("hyperparameters")) is not dict:
            raise TypeError(f"a subnet's info is a map holding a map of hyperparameters, not {info!r:.80}")
        return info

    async def get_subnet_hyperparameters(self, netuid: int, block: int | None = None) -> Fields:
        """Every hyperparameter of a subnet, by name: a dict whose keys also read as attributes
        (``hp["tempo"]``, ``hp.commit_reveal_weights_enabled``)."""
        return Fields((await self.get_subnet_info(netuid, block))["hyperparameters"])

    async def commit_reveal_enabled(self, netuid: int, block: int | None = None) -> bool:
        """Whether ``netuid`` takes weights by commit-reveal (its ``commit_reveal_weights_enabled``)."""
        return bool((await self.get_subnet_hyperparameters(netuid, block))["commit_reveal_weights_enabled"])

    async def immunity_period(self, netuid: int, block: int | None = None) -> int:
        """Blocks a new registration is safe from being replaced."""
        return int((await self.get_subnet_hyperparameters(netuid, block))["immunity_period"])

    async def get_subnet_owner_hotkey(self, netuid: int, block: int | None = None) -> str:
        """The SS58 address of the hotkey the subnet's owner registered it with (UID 0 at creation)."""
        return ss58_encode((await self.get_subnet_info(netuid, block))["owner_hotkey"])

    async def get_all_subnets_info(self, block: int | None = None) -> list[Fields]:
        """Every subnet's info (as :meth:`get_subnet_info`, keys also read as attributes), at the head."""
        _at_head_only("get_all_subnets_info", block)
        return [Fields(s) for s in await self.call("subnets")]

    async def get_hotkey_owner(self, hotkey_ss58: Any, block: int | None = None) -> str | None:
        """The SS58 address of the coldkey owning ``hotkey_ss58`` (None if the chain does not know the hotkey)."""
        _at_head_only("get_hotkey_owner", block)
        owner = (await self.call("hotkey", hotkey=_address(hotkey_ss58)))["owner"]
        return None if owner is None else ss58_encode(owner)

    async def does_hotkey_exist(self, hotkey_ss58: Any, block: int | None = None) -> bool:
        """True if the chain knows ``hotkey_ss58`` (a coldkey registered it)."""
        return await self.get_hotkey_owner(hotkey_ss58, block) is not None

    async def get_netuids_for_hotkey(self, hotkey_ss58: Any, block: int | None = None) -> list[int]:
        """The netuids where ``hotkey_ss58`` holds a UID."""
        _at_head_only("get_netuids_for_hotkey", block)
        return list((await self.call("hotkey", hotkey=_address(hotkey_ss58)))["netuids"])

    async def weights(self, netuid: int, mechid: int = 0, block: int | None = None
                      ) -> list[tuple[int, list[tuple[int, int]]]]:
        """Every weight row set on ``netuid``, as the SDK gives them: ``[(uid, [(to_uid, u16), ...]), ...]``."""
        _check_mechid(mechid)
        return [(n.uid, list(n.weights)) for n in await self.neurons(netuid, block) if n.weights]

    async def bonds(self, netuid: int, mechid: int = 0, block: int | None = None
                    ) -> list[tuple[int, list[tuple[int, int]]]]:
        """Every bond row on ``netuid``, as the SDK gives them: ``[(uid, [(to_uid, u16), ...]), ...]``."""
        _check_mechid(mechid)
        return [(n.uid, list(n.bonds)) for n in await self.neurons(netuid, block) if n.bonds]

    async def tempo(self, netuid: int) -> int:
        """The subnet's tempo in blocks."""
        return (await self.get_subnet_hyperparameters(netuid))["tempo"]

    async def weights_rate_limit(self, netuid: int) -> int:
        """Blocks between two set_weights of one validator."""
        return (await self.get_subnet_hyperparameters(netuid))["weights_rate_limit"]

    async def min_allowed_weights(self, netuid: int) -> int:
        """The fewest weights a validator may set."""
        return (await self.get_subnet_hyperparameters(netuid))["min_allowed_weights"]

    async def max_weight_limit(self, netuid: int) -> float:
        """The largest normalised weight allowed, in [0, 1]."""
        return (await self.get_subnet_hyperparameters(netuid))["max_weights_limit"] / 0xFFFF

    async def difficulty(self, netuid: int) -> int:
        """The proof-of-work registration difficulty."""
        return (await self.get_subnet_info(netuid))["difficulty"]

    async def recycle(self, netuid: int) -> Balance:
        """The burn a registration pays now."""
        return Balance((await self.get_subnet_info(netuid))["burn"])

    async def get_uid_for_hotkey_on_subnet(self, hotkey_ss58: Any, netuid: int, block: int | None = None
                                           ) -> int | None:
        """The hotkey's UID on ``netuid``, or None."""
        n = await self.call("neuron", netuid=netuid, hotkey=_address(hotkey_ss58), block=block)
        return None if n is None else n["uid"]

    async def is_hotkey_registered(self, hotkey_ss58: Any, netuid: int | None = None, block: int | None = None
                                   ) -> bool:
        """True if the hotkey holds a UID on ``netuid`` (on any subnet when None)."""
        if netuid is None:
            return bool((await self.call("hotkey", hotkey=_address(hotkey_ss58)))["netuids"])
        return await self.get_uid_for_hotkey_on_subnet(hotkey_ss58, netuid, block) is not None

    async def is_hotkey_registered_on_subnet(self, hotkey_ss58: Any, netuid: int, block: int | None = None) -> bool:
        """True if the hotkey holds a UID on ``netuid``."""
        return await self.get_uid_for_hotkey_on_subnet(hotkey_ss58, netuid, block) is not None

    async def neurons(self, netuid: int, block: int | None = None) -> list[NeuronInfo]:
        """Every neuron of ``netuid`` at ``block`` (the head when None), with its weights and bonds."""
        return neurons_from_payload(await self.call("metagraph", netuid=netuid, block=block, weights=True))

    async def neurons_lite(self, netuid: int, block: int | None = None) -> list[NeuronInfo]:
        """Every neuron of ``netuid`` without weights and bonds (one short read)."""
        return neurons_from_payload(await self.call("metagraph", netuid=netuid, block=block))

    async def get_neuron_for_pubkey_and_subnet(self, hotkey_ss58: Any, netuid: int, block: int | None = None
                                               ) -> NeuronInfo | None:
        """The neuron the hotkey holds on ``netuid`` (None if it holds none; the SDK's "null neuron")."""
        uid = await self.get_uid_for_hotkey_on_subnet(hotkey_ss58, netuid, block)
        if uid is None:
            return None
        return (await self.neurons(netuid, block))[uid]

    async def blocks_since_last_update(self, netuid: int, uid: int) -> int | None:
        """Blocks since UID ``uid`` of ``netuid`` last set weights (or registered); None if there is no such UID."""
        # the node's one-neuron read, not neuron() (a whole metagraph with weights): the template calls this each step
        n = await self.call("neuron", netuid=netuid, uid=_uid("blocks_since_last_update", uid), block=None)
        if n is None:
            return None
        return await self.get_current_block() - n["last_update"]

    async def neuron(self, netuid: int, uid: int | None = None, *, hotkey: Any = None,
                     block: int | None = None) -> NeuronReply | None:
        """One neuron by UID or hotkey, as a :class:`NeuronInfo` with its weights and bonds (None if absent).

        ``n["weights"]``, ``n.get("axon")``... still read the node's map this returned before (see NeuronReply)."""
        if uid is None:
            if block is None:  # the UID and the neuron read at one block: a UID replaced between them is another's
                block = await self.get_current_block()
            uid = await self.get_uid_for_hotkey_on_subnet(hotkey, netuid, block)
            if uid is None:
                return None
        uid = _uid("neuron", uid)
        payload = await self.call("metagraph", netuid=netuid, block=block, weights=True)
        return neuron_from_payload(payload, uid) if 0 <= uid < payload["n"] else None

    async def neuron_for_uid(self, uid: int, netuid: int, block: int | None = None) -> NeuronReply | None:
        """The SDK's name (and order) for :meth:`neuron`: UID ``uid`` of ``netuid`` (None where the SDK gives a null
        neuron)."""
        return await self.neuron(netuid, uid, block=block)

    async def metagraph(self, netuid: int, block: int | None = None, *, lite: bool = True, mechid: int = 0) -> Any:
        """The :class:`Metagraph` of ``netuid`` at ``block`` (the head when None); W and B when ``lite`` is False.
        ``mechid`` is the SDK v10's: a taonet subnet has one mechanism, 0."""
        from ._metagraph import Metagraph

        if isinstance(block, bool):  # the SDK v9's metagraph(netuid, lite)
            raise TypeError(f"metagraph(netuid, block): block={block!r}; pass lite={block!r} by keyword")
        _check_mechid(mechid)

        mg = Metagraph(netuid, subtensor=self, lite=lite)
        await mg.sync(block=block)
        return mg

    async def get_commitment(self, netuid: int, uid: int, block: int | None = None) -> str:
        """What the hotkey at ``uid`` of ``netuid`` committed (``""`` if nothing), at ``block`` or the head."""
        c = await self.call("commitment", netuid=netuid, uid=uid, block=block)
        return "" if c is None else c["data"]

    # --- writes ------------------------------------------------------------------------------------------------
    async def sign(self, keypair: Keypair, call: Call) -> Extrinsic:
        """Sign ``call`` with ``keypair`` at its next nonce."""
        nonce = await self.get_nonce(keypair.public_key)
        return Extrinsic.sign(call, keypair, nonce=nonce, genesis=await self.genesis_hash())

    async def submit(self, ext: Extrinsic, *, wait_for_inclusion: bool = True, timeout: float = 60.0
                     ) -> ExtrinsicResult:
        """Submit a signed extrinsic; with ``wait_for_inclusion`` wait until it is in a block or rejected.

        Submitting is a short request (the node admits the extrinsic or says why not); the outcome is then read
        from the node's receipts after each new block, up to ``timeout`` seconds ("timeout" after that).
        Submitting the same bytes again waits on the same outcome. A ``submit`` with no reply (the node went quiet
        or away after taking the request) is status "timeout" with that error: the node may hold the extrinsic.
        """
        return await self._submit(ext, wait_for_inclusion=wait_for_inclusion, timeout=timeout)

    async def _submit(self, ext: Extrinsic, *, wait_for_inclusion: bool = True, timeout: float = 60.0,
                      fresh: bool = False) -> ExtrinsicResult:
        """:meth:`submit`; with ``fresh`` (``ext`` was signed just now, for this one submission) the node's word that
        the same bytes were there already means another client signed the very same call at the same nonce at once
        (two identical commands run together): rejected with AlreadyQueued, so that the caller signs again at the
        next nonce rather than report the other's inclusion as its own."""
        self._submitted += 1  # from here on the node may hold it (see `submitted`)
        try:
            r = await self.call("submit", extrinsic=ext.to_bytes())
        except NoNode as e:  # never connected: nothing went out
            self._submitted -= 1
            return ExtrinsicResult(status="rejected", hash=ext.hash, error=e)
        except (RpcTimeout, Unreachable) as e:  # the request went out and no answer came: the outcome is unknown
            return ExtrinsicResult(status="timeout", hash=ext.hash, error=e)
        except TaonetError as e:  # the node answered: refused, so it does not hold it
            self._submitted -= 1
            return ExtrinsicResult(status="rejected", hash=ext.hash, error=e)
        if fresh and r.get("joined"):
            self._submitted -= 1
            return ExtrinsicResult(status="rejected", hash=ext.hash, error=AlreadyQueued(nonce=ext.nonce))
        if not wait_for_inclusion:
            return ExtrinsicResult(status="submitted", hash=r["hash"])
        head = int(r.get("head", -1))
        # admitted now (not joined: then it may be in a block already), so in no block up to `head`, and waiting in
        # the mempool of this run of the node
        run = r.get("instance")
        self._saw_instance(run)
        waited = (run, head, ext.nonce) if type(run) is str and not r.get("joined") else None
        return await self._wait_outcome(r["hash"], head, timeout, waited)

    async def wait_for_outcome(self, h: bytes, *, after: int = -1, timeout: float = 60.0) -> ExtrinsicResult:
        """The outcome of the submitted extrinsic with hash ``h`` (sealed in a block after ``after``), read from
        the node's receipts as blocks come; status "timeout" if it is still pending after ``timeout`` s.
        Status "rejected" with :class:`ExtrinsicDropped` as soon as the node, seen holding it pending, has restarted
        without it (a restart empties the mempool; nothing was applied).
        ``h`` is the 32-byte hash (or its hex); anything else is an RpcBadRequest at once."""
        if isinstance(h, str):
            with contextlib.suppress(ValueError):
                h = bytes.fromhex(h[2:] if h.startswith("0x") else h)
        if not isinstance(h, bytes) or len(h) != 32:
            raise RpcBadRequest(method="wait_for_outcome", reason=f"the hash must be the 32-byte hash a write "
                                f"returned (result.hash, or its hex), got {h!r:.80}")
        return await self._wait_outcome(h, after, timeout, None)

    async def _wait_outcome(self, h: bytes, after: int, timeout: float,
                            waited: tuple[str, int, int] | None) -> ExtrinsicResult:
        """:meth:`wait_for_outcome`; ``waited`` (instance, head, nonce): the extrinsic was known to wait, in no block
        up to that head, in the mempool of that run of the node (the submit's reply, then each ``pending``)."""
        deadline = anyio.current_time() + timeout
        seen = after
        try:
            while True:
                left = deadline - anyio.current_time()
                if left <= 0:
                    return self._timed_out(h)
                if seen >= 0:
                    await self.wait_for_block(seen + 1, timeout=left)
                r = await self.call("receipt", timeout=max(0.001, min(self.timeout,
                                                                      deadline - anyio.current_time())), hash=h)
                if r["status"] == "included":
                    return ExtrinsicResult(status="included", hash=h, block=r["block"],
                                           events=tuple(decode(x, Event) for x in r.get("events", [])))
                if r["status"] == "rejected":
                    return ExtrinsicResult(status="rejected", hash=h, error=error_from_wire(r["error"]))
                run, covered, nonce = r.get("instance"), r.get("receipts_from"), r.get("nonce")
                self._saw_instance(run)
                if r["status"] == "pending" and type(run) is str and type(nonce) is int:
                    waited = (run, int(r["head"]), nonce)
                elif (r["status"] == "unknown" and waited is not None and type(run) is str and run != waited[0]
                      and type(covered) is int and covered <= waited[1] + 1):
                    # another run of the node, which knows every inclusion since before the last block we saw it
                    # waiting, has none of it, and its mempool started empty: no block took it, none will
                    return ExtrinsicResult(status="rejected", hash=h, error=ExtrinsicDropped(
                        nonce=waited[2], reason=f"the node at {self.endpoint} restarted before any block included "
                                                "it (a restart empties its mempool), so nothing was applied"))
                seen = max(seen + 1, int(r["head"]))
        except TimeoutError:
            return self._timed_out(h)
        except TaonetError as e:  # the node went away while we waited: the outcome is unknown
            return ExtrinsicResult(status="timeout", hash=h, error=e)

    def _timed_out(self, h: bytes) -> ExtrinsicResult:
        """The outcome of a wait for ``h`` that reached its timeout: with :class:`Unreachable` as its error when the
        node's connection was closed then and nothing reconnected (a read that broke with it waits for the redial
        grace, which the timeout may cut: the node went away, not merely slow)."""
        if self.rpc.connected and not self.rpc.connection_open:
            return ExtrinsicResult(status="timeout", hash=h, error=Unreachable(
                method="receipt", address=self.endpoint, reason="the node closed the connection and nothing "
                "reconnected before the wait's timeout; is the node running (taonet node status)?"))
        return ExtrinsicResult(status="timeout", hash=h)

    async def submit_batch(self, exts: Sequence[Extrinsic]) -> list[ExtrinsicResult]:
        """Submit many extrinsics (no waiting for inclusion), in order: one round trip per batch the node takes in
        one request (at most 10,000 extrinsics and the client's ``rpc.max_request`` bytes), usually one."""
        results: list[ExtrinsicResult] = []
        for batch in _batches(list(exts), self.rpc.max_request - 1024):
            self._submitted += len(batch)  # refused ones are taken off once the node says so
            try:
                replies = await self.call("submit_batch", extrinsics=[raw for _, raw in batch])
            except NoNode:  # never connected: nothing of this batch went out
                self._submitted -= len(batch)
                raise
            self._submitted -= sum(1 for r in replies if "hash" not in r)
            results += [ExtrinsicResult(status="submitted", hash=r["hash"]) if "hash" in r else
                        ExtrinsicResult(status="rejected", hash=x.hash, error=error_from_wire(r["error"]))
                        for (x, _), r in zip(batch, replies, strict=True)]
        return results

    async def _do(self, keypair: Keypair, call: Call, wait_for_inclusion: bool = True) -> ExtrinsicResult:
        """Sign at the next nonce and submit; if another client of the same key took that nonce first (the node
        says so at once), the node dropped it unapplied because an earlier extrinsic of the key was refused when
        sealing (a task of the same program writing beside this one), or that refusal came between the nonce read
        and the submit (the nonce counted the refused one: ahead of the next), sign again at the new next nonce, up
        to ``nonce_retries`` times: none of these ran."""
        for attempt in range(self.nonce_retries + 1):
            try:
                ext = await self.sign(keypair, call)
            except (RpcTimeout, Unreachable) as e:  # the nonce (or genesis) lookup got no reply: nothing was sent
                if isinstance(e, NoNode):  # never connected: "rejected", as a submit to no node is
                    return ExtrinsicResult(status="rejected", error=e, sent=False)
                return ExtrinsicResult(status="timeout", error=e, sent=False)
            except TaonetError as e:
                return ExtrinsicResult(status="rejected", error=e)
            result = await self._submit(ext, wait_for_inclusion=wait_for_inclusion, fresh=True)
            code = getattr(result.error, "CODE", None)
            if code not in NONCE_RETRIED or attempt == self.nonce_retries:
                return result
            await anyio.sleep(0.01 * (attempt + 1) * random.uniform(0.5, 1.5))  # jitter: rivals spread out
        raise AssertionError("unreachable")

    @_sdk_write(destination_ss58="dest")
    async def transfer(self, wallet: Any, dest: Any, amount: Balance | int | float, *,
                       wait_for_inclusion: bool = True) -> ExtrinsicResult:
        """Send ``amount`` (Balance, RAO int, or TAO float) from the wallet's coldkey to ``dest``."""
        return await self._do(_coldkey(wallet), Transfer(dest=_address(dest), amount=_rao(amount)),
                              wait_for_inclusion)

    @_sdk_write()
    async def add_stake(self, wallet: Any, *args: Any, **kwargs: Any) -> ExtrinsicResult:
        """Stake an amount of the wallet's coldkey on a hotkey: ``add_stake(wallet, netuid, hotkey_ss58, amount)``
        as the SDK v10 (the netuid is checked: the hotkey must hold a UID there; stake stays per hotkey), or
        ``add_stake(wallet, hotkey, amount)``. Amounts: Balance, RAO int, or TAO float."""
        netuid, hotkey, amount, wait = _stake_args("add_stake", args, kwargs)
        if netuid is not None and (refused := await self._check_stake_netuid(hotkey, netuid)) is not None:
            return refused
        return await self._do(_coldkey(wallet), AddStake(hotkey=_address(hotkey), amount=_rao(amount)), wait)

    @_sdk_write()
    async def unstake(self, wallet: Any, netuid: int, hotkey_ss58: Any, amount: Balance | int | float, *,
                      wait_for_inclusion: bool = True, **_sdk_options: Any) -> ExtrinsicResult:
        """Unstake ``amount`` from ``hotkey_ss58`` back to the wallet's coldkey (the SDK v10 order; the netuid is
        checked, stake stays per hotkey). The SDK's slippage options are accepted and have nothing to do here."""
        return await self.remove_stake(wallet, netuid, hotkey_ss58, amount, wait_for_inclusion=wait_for_inclusion)

    @_sdk_write()
    async def remove_stake(self, wallet: Any, *args: Any, **kwargs: Any) -> ExtrinsicResult:
        """Unstake: ``remove_stake(wallet, hotkey, amount)``, or with a netuid first as :meth:`unstake`."""
        netuid, hotkey, amount, wait = _stake_args("remove_stake", args, kwargs)
        if netuid is not None and (refused := await self._check_stake_netuid(hotkey, netuid)) is not None:
            return refused
        return await self._do(_coldkey(wallet), RemoveStake(hotkey=_address(hotkey), amount=_rao(amount)), wait)

    async def _check_stake_netuid(self, hotkey: Any, netuid: int) -> ExtrinsicResult | None:
        """A refusal if ``netuid`` does not exist or the hotkey holds no UID there, else None."""
        from taonet.ledger.errors import HotkeyNotRegistered, SubnetNotFound

        if not await self.subnet_exists(netuid):
            return ExtrinsicResult(status="rejected", error=SubnetNotFound(netuid=netuid))
        if not await self.is_hotkey_registered_on_subnet(hotkey, netuid):
            return ExtrinsicResult(status="rejected",
                                   error=HotkeyNotRegistered(hotkey=ss58_encode(_address(hotkey)), netuid=netuid))
        return None

    @_sdk_write()
    async def nominate(self, wallet: Any, take: float = 0.18, *, wait_for_inclusion: bool = True) -> ExtrinsicResult:
        """Make the wallet's hotkey a delegate keeping ``take`` (a fraction in [0, 1]: 0.18 is 18%) of what it earns;
        a take outside [0, 1] is a rejected result (InvalidCall), before signing."""
        if isinstance(take, bool) or not isinstance(take, numbers.Real) or not 0 <= take <= 1:
            from taonet.ledger.errors import InvalidCall

            return ExtrinsicResult(status="rejected", error=InvalidCall(reason=(
                f"nominate: take={take!r:.40} is not a fraction in [0, 1] (the share of what the delegate earns "
                "that it keeps: 0.18 is 18%)")))
        return await self._do(_coldkey(wallet), Nominate(hotkey=_hotkey(wallet).public_key,
                                                         take=round(float(take) * 0xFFFF)), wait_for_inclusion)

    @_sdk_write()
    async def create_subnet(self, wallet: Any, *, max_lock: Balance | int | None = None,
                            wait_for_inclusion: bool = True) -> ExtrinsicResult:
        """Create a subnet owned by the wallet's coldkey; its hotkey takes UID 0. ``uid`` of the result is 0."""
        cold, hot = _coldkey(wallet), _hotkey(wallet)
        sig = hot.sign(hotkey_binding_payload(await self.genesis_hash(), cold.public_key))
        call = CreateSubnet(hotkey=hot.public_key, hotkey_signature=sig,
                            max_lock=(1 << 64) - 1 if max_lock is None else _rao(max_lock))
        result = await self._do(cold, call, wait_for_inclusion)
        if result.status != "included" or not result.success:
            return result
        return attrs.evolve(result, uid=0)

    register_subnet = create_subnet

    @_sdk_write()
    async def set_hyperparameter(self, wallet: Any, netuid: int, name: str, value: int | bool, *,
                                 wait_for_inclusion: bool = True) -> ExtrinsicResult:
        """Set a hyperparameter of a subnet the wallet's coldkey owns: an int (True/False for a flag such as
        ``commit_reveal_weights_enabled``); anything else is InvalidHyperparameter, refused before signing."""
        from taonet.ledger import HYPERPARAMETER_BOUNDS, Hyperparameters
        from taonet.ledger.errors import InvalidHyperparameter

        flag = isinstance(getattr(Hyperparameters(), name, None), bool) if isinstance(name, str) else False
        if (isinstance(value, bool) and not flag) or not isinstance(value, numbers.Integral):
            lo, hi = HYPERPARAMETER_BOUNDS.get(name, (None, None)) if isinstance(name, str) else (None, None)
            takes = ("True, False or " if flag else "") + "an integer" + (f" in [{lo:,}, {hi:,}]" if lo is not None
                                                                          else "")
            return ExtrinsicResult(status="rejected", error=InvalidHyperparameter(
                name=f"{name!s:.64}", reason=f"it takes {takes}, not {value!r:.40} ({type(value).__name__})"))
        return await self._do(_coldkey(wallet), SetHyperparameter(netuid=_plain(netuid), name=name, value=int(value)),
                              wait_for_inclusion)

    @_sdk_write()
    async def burned_register(self, wallet: Any, netuid: int, *, max_burn: Balance | int | None = None,
                              wait_for_inclusion: bool = True) -> ExtrinsicResult:
        """Register the wallet's hotkey on ``netuid`` by burning the current price; waits for the UID."""
        cold, hot = _coldkey(wallet), _hotkey(wallet)
        sig = hot.sign(hotkey_binding_payload(await self.genesis_hash(), cold.public_key))
        call = BurnedRegister(netuid=_plain(netuid), hotkey=hot.public_key, hotkey_signature=sig,
                              max_burn=(1 << 64) - 1 if max_burn is None else _rao(max_burn))
        return await self._await_uid(await self._do(cold, call, wait_for_inclusion), netuid, hot.public_key)

    @_sdk_write()
    async def register(self, wallet: Any, netuid: int, *, progress: Callable[[int], None] | None = None,
                       max_tries: int | None = None, processes: int = 1, wait_for_inclusion: bool = True
                       ) -> ExtrinsicResult:
        """Register the wallet's hotkey on ``netuid`` by proof of work, solved in a worker thread (or in
        ``processes`` processes), ``progress(tries)`` called as it goes."""
        cold, hot = _coldkey(wallet), _hotkey(wallet)
        head = await self.call("head")
        difficulty = (await self.get_subnet_info(netuid))["difficulty"]
        stop = threading.Event()  # set when this call is cancelled: the abandoned solver stops soon after

        def tick(tries: int) -> None:
            if stop.is_set():
                raise _Stopped
            if progress is not None:
                progress(tries)

        def solve() -> int | None:
            try:
                if processes > 1:
                    from ._pow import solve_pow_parallel

                    return solve_pow_parallel(head["hash"], hot.public_key, difficulty, processes, progress=tick,
                                              max_tries=max_tries, stop=stop)
                return solve_pow(head["hash"], hot.public_key, difficulty, progress=tick, max_tries=max_tries)
            except _Stopped:
                return None

        try:
            nonce = await anyio.to_thread.run_sync(solve, abandon_on_cancel=True)
        finally:
            stop.set()
        if nonce is None:
            return ExtrinsicResult(status="rejected", error=TaonetError("no proof of work found within max_tries"))
        sig = hot.sign(hotkey_binding_payload(await self.genesis_hash(), cold.public_key))
        call = PowRegister(netuid=_plain(netuid), hotkey=hot.public_key, hotkey_signature=sig,
                           block_number=head["number"], nonce=nonce)
        return await self._await_uid(await self._do(cold, call, wait_for_inclusion), netuid, hot.public_key)

    async def _await_uid(self, result: ExtrinsicResult, netuid: int, hotkey: bytes) -> ExtrinsicResult:
        """After a registration request is included, wait for the registrar's answer in the next block."""
        if not result.success or result.block is None:
            return result
        answer_block = result.block + 1
        await self.wait_for_block(answer_block)
        for _, _, e in await self.get_events(answer_block, answer_block + 1, netuid=netuid):
            if isinstance(e, NeuronRegistered | NeuronReplaced) and e.hotkey == hotkey:
                return attrs.evolve(result, uid=e.uid, block=answer_block,
                                    events=(*result.events, e))
            if isinstance(e, RegistrationRefused) and e.hotkey == hotkey:
                from taonet.ledger.errors import RegistrationClosed

                return attrs.evolve(result, status="rejected", block=answer_block,
                                    error=RegistrationClosed(netuid=netuid, reason=f"refused: {e.reason}"))
        return result

    @_sdk_write()
    async def set_weights(self, wallet: Any, netuid: int, uids: Sequence[int] | np.ndarray,
                          weights: Sequence[float] | np.ndarray, *, version_key: int = 0,
                          wait_for_inclusion: bool = True, wait_for_reveal: bool = True,
                          reveal_timeout: float | None = None, salt: bytes | None = None,
                          commit_reveal: bool | None = None) -> ExtrinsicResult:
        """Set the wallet hotkey's weights on ``netuid`` (floats are max-upscaled to u16, as the chain stores them).

        On a subnet with commit-reveal this commits the weights, waits for the reveal window (``reveal_timeout``
        seconds at most; by default long enough for the window at the node's block time) and reveals them; the
        result's ``action`` says which happened ("set" or "revealed"; "committed" when the reveal was refused, its
        window did not open in time or ``wait_for_reveal`` is False, with ``reveal`` holding what :meth:`reveal` needs
        later; "" when the commit itself was refused). ``salt`` (8-64 bytes)
        is the commit's salt, a fresh random one when None: make it yourself and keep it when the call may be cut
        off after the commit went out (a timeout, a cancelled task), or that commit cannot be revealed. A subnet
        without commit-reveal ignores it. ``commit_reveal`` says whether the subnet uses commit-reveal when the caller
        has just read it (None: read the subnet's hyperparameters first); a wrong answer is refused by the chain.
        """
        if commit_reveal is None:
            hyper = await self._hyperparameters_or_none(netuid)
            commit_reveal = hyper is not None and bool(hyper.get("commit_reveal_weights_enabled"))
        if commit_reveal:
            return await self._commit_then_reveal(wallet, netuid, uids, weights, version_key=version_key, salt=salt,
                                                  wait_for_reveal=wait_for_reveal, reveal_timeout=reveal_timeout)
        from taonet.ledger import check_weight_shape

        try:  # the vectors' shape as the chain checks it (lengths, duplicates): refused here, before signing
            u16 = u16_uids(uids), u16_weights(weights)
            check_weight_shape(*u16, None)
            call = SetWeights(netuid=_plain(netuid), uids=u16[0], weights=u16[1], version_key=_plain(version_key))
        except InvalidWeights as e:
            return ExtrinsicResult(status="rejected", error=e, action="set")
        except (TypeError, ValueError) as e:
            return ExtrinsicResult(status="rejected", error=InvalidWeights(reason=str(e)), action="set")
        return attrs.evolve(await self._do(_hotkey(wallet), call, wait_for_inclusion), action="set")

    @_sdk_write()
    async def set_commitment(self, wallet: Any, netuid: int, data: str, *, wait_for_inclusion: bool = True
                             ) -> ExtrinsicResult:
        """Commit ``data`` (up to 1,024 characters) for the wallet's hotkey on ``netuid``, where it holds a UID;
        :meth:`get_commitment` reads the latest one back; data too long (or not text) is a rejected result, as
        every write's bad input is."""
        try:
            call = SetCommitment(netuid=_plain(netuid), data=data)
        except (TypeError, ValueError) as e:
            from taonet.ledger.errors import InvalidCall

            return ExtrinsicResult(status="rejected", error=InvalidCall(reason=f"set_commitment: {e}"))
        return await self._do(_hotkey(wallet), call, wait_for_inclusion)

    @_sdk_write()
    async def serve_axon(self, wallet: Any, netuid: int, axon: Any = None, *, ip: str | None = None,
                         port: int | None = None, protocol: int = 4, version: int = 0,
                         wait_for_inclusion: bool = True) -> ExtrinsicResult:
        """Publish the wallet hotkey's axon (an Axon, an AxonInfo, or ip/port) on ``netuid``; the SDK's
        ``serve_axon(netuid, axon)`` works too, signed by the axon's own hotkey."""
        if isinstance(wallet, numbers.Integral) and not isinstance(wallet, bool) and hasattr(netuid, "hotkey"):
            wallet, netuid, axon = netuid, wallet, netuid  # the SDK order: the axon carries the hotkey
        _check_netuid("serve_axon", netuid)
        if axon is not None:
            info = axon.info() if callable(getattr(axon, "info", None)) else axon
            ip, port = info.ip, info.port
            protocol, version = getattr(info, "protocol", protocol), getattr(info, "version", version)
            if ip in ("0.0.0.0", "::"):  # every interface: no address to dial
                from taonet.ledger.errors import InvalidCall

                return ExtrinsicResult(status="rejected", error=InvalidCall(reason=(
                    f"serve_axon: the axon's address is {ip} (it listens on every interface and names no external "
                    "address), which no dendrite can dial; give Axon(..., external_ip=...): 127.0.0.1 on one "
                    "machine, else this machine's address the validators reach (the Bittensor SDK looks the public "
                    "one up; taonet does not)")))
        if ip is None or port is None:
            return ExtrinsicResult(status="rejected", error=TaonetError("serve_axon needs an axon or ip and port"))
        return await self._do(_hotkey(wallet), ServeAxon(netuid=_plain(netuid), ip=ip, port=port, protocol=protocol,
                                                         version=version), wait_for_inclusion)

    # --- subnet identity (which plugin a subnet runs) ------------------------------------------------------------
    @_sdk_write()
    async def set_subnet_identity(self, wallet: Any, netuid: int, plugin: str, *, description: str = "",
                                  url: str = "", wait_for_inclusion: bool = True) -> ExtrinsicResult:
        """Record which plugin ``netuid`` runs, with a description and a URL (owner's coldkey; "" clears it)."""
        try:
            call = SetSubnetIdentity(netuid=_plain(netuid), plugin=plugin, description=description, url=url)
        except (TypeError, ValueError) as e:
            from taonet.ledger.errors import InvalidCall

            return ExtrinsicResult(status="rejected", error=InvalidCall(reason=f"subnet identity: {e}"))
        return await self._do(_coldkey(wallet), call, wait_for_inclusion)

    async def get_subnet_identity(self, netuid: int, block: int | None = None) -> dict[str, Any] | None:
        """The identity of ``netuid`` (plugin, description, url, block), or None if its owner recorded none."""
        return await self.call("subnet_identity", netuid=netuid, block=block)

    # --- commit-reveal weights (docs/consensus.md "Commit-reveal") -----------------------------------------------
    @_sdk_write()
    async def commit_weights(self, wallet: Any, netuid: int, uids: Sequence[int] | Any, weights: Sequence[float] | Any,
                             *, salt: bytes | None = None, version_key: int = 0, wait_for_inclusion: bool = True
                             ) -> ExtrinsicResult:
        """Commit the wallet hotkey's weights on ``netuid`` by their hash (a fresh random salt unless given).

        The result's ``reveal`` holds what the reveal needs (u16 vectors, salt, version key) and, once included,
        the commit's block and reveal window: keep it, and pass it to :meth:`reveal` inside the window.
        """
        from taonet.ledger import check_weight_shape
        from taonet.ledger.errors import InvalidCall

        hotkey = _hotkey(wallet)
        try:  # the vectors as set_weights checks them (InvalidWeights), then the rest (InvalidCall); nothing signed
            u16 = u16_uids(uids), u16_weights(weights)
            check_weight_shape(*u16, None)
        except InvalidWeights as e:
            return ExtrinsicResult(status="rejected", error=e)
        except (TypeError, ValueError) as e:
            return ExtrinsicResult(status="rejected", error=InvalidWeights(reason=str(e)))
        try:  # PendingReveal.new refuses a salt no reveal takes
            pending = PendingReveal.new(netuid, hotkey.ss58_address, *u16, salt=salt, version_key=version_key)
            call = CommitWeights(netuid=_plain(netuid), commit_hash=pending.commit_hash)
        except (TypeError, ValueError) as e:
            return ExtrinsicResult(status="rejected", error=InvalidCall(reason=f"commit_weights: {e}"))
        if (refused := await self._weights_refusal(pending)) is not None:
            return refused
        result = await self._do(hotkey, call, wait_for_inclusion)
        for ev in result.events:
            if isinstance(ev, WeightsCommitted) and ev.commit_hash == pending.commit_hash:
                pending = attrs.evolve(pending, block=result.block, reveal_from=ev.reveal_from,
                                       reveal_until=ev.reveal_until)
        # a commit the chain refused (or never sent) did not happen; one that timed out may have (keep its salt)
        done = result.status != "rejected" and result.sent
        return attrs.evolve(result, action="committed" if done else "", reveal=pending)

    @_sdk_write()
    async def reveal_weights(self, wallet: Any, netuid: int, uids: Sequence[int] | Any,
                             weights: Sequence[float] | Any, salt: bytes, *, version_key: int = 0,
                             wait_for_inclusion: bool = True) -> ExtrinsicResult:
        """Reveal weights committed earlier: the same uids, weights (upscaled to u16 as the commit did), salt and
        version key; accepted only in the commit's window (see :meth:`get_weight_commits`)."""
        try:
            pending = PendingReveal.new(netuid, _hotkey(wallet).ss58_address, uids, weights, salt=salt,
                                        version_key=version_key)
        except (TypeError, ValueError) as e:
            from taonet.ledger.errors import InvalidCall

            return ExtrinsicResult(status="rejected", error=InvalidCall(reason=f"reveal_weights: {e}"))
        return await self.reveal(wallet, pending, wait_for_inclusion=wait_for_inclusion)

    @_sdk_write()
    async def reveal(self, wallet: Any, pending: PendingReveal, *, wait_for_inclusion: bool = True
                     ) -> ExtrinsicResult:
        """Reveal what :meth:`commit_weights` committed (its result's ``reveal``), exactly as hashed; a refused reveal
        (here or by the chain) has action "": nothing was revealed."""
        try:
            call = RevealWeights(netuid=pending.netuid, uids=pending.uids, values=pending.values, salt=pending.salt,
                                 version_key=pending.version_key)
        except (TypeError, ValueError) as e:
            from taonet.ledger.errors import InvalidCall

            return ExtrinsicResult(status="rejected", error=InvalidCall(reason=f"reveal_weights: {e}"),
                                   reveal=pending)
        result = await self._do(_hotkey(wallet), call, wait_for_inclusion)
        # one that timed out may have been revealed (as a commit that timed out may have been committed)
        done = result.status != "rejected" and result.sent
        return attrs.evolve(result, action="revealed" if done else "", reveal=pending)

    async def get_weight_commits(self, netuid: int, hotkey: Any = None, block: int | None = None
                                 ) -> dict[str, tuple[WeightCommitInfo, ...]]:
        """The weight commits pending on ``netuid`` (at ``block`` or the head), by hotkey SS58 address, oldest
        first; only ``hotkey``'s when given. Not :meth:`get_commitment` (a hotkey's published data)."""
        rows = await self.call("weight_commits", netuid=netuid, block=block,
                               hotkey=None if hotkey is None else _address(hotkey))
        out: dict[str, list[WeightCommitInfo]] = {}
        for row in rows:
            info = WeightCommitInfo.from_payload(row)
            out.setdefault(info.hotkey, []).append(info)
        return {k: tuple(v) for k, v in out.items()}

    get_commitments = get_weight_commits
    """The issue's spelling of :meth:`get_weight_commits` (pending weight commits by hotkey; docs/sdk.md)."""

    async def _weights_refusal(self, pending: PendingReveal) -> ExtrinsicResult | None:
        """InvalidWeights (the chain's reason) if the subnet's set_weights rules would refuse ``pending``'s reveal
        (too many, unknown UIDs, too few, above the max weight), else None; None too when the subnet cannot be read
        (the commit itself will say what is wrong)."""
        from taonet.ledger import check_weight_counts, check_weight_shape

        try:
            info = await self.get_subnet_info(pending.netuid)
            hyper, n = info["hyperparameters"], int(info["n"])
            least = int(hyper["min_allowed_weights"])
            own = (await self.get_uid_for_hotkey_on_subnet(pending.hotkey, pending.netuid)
                   if len(pending.uids) < min(least, n) else None)
        except TaonetError:
            return None
        try:  # the chain's own checks of a set_weights (its validator permit aside)
            check_weight_shape(pending.uids, pending.values, n)
            check_weight_counts(pending.uids, pending.values, n=n, self_only=list(pending.uids) == [own],
                                min_allowed_weights=least, max_weights_limit=int(hyper["max_weights_limit"]))
        except InvalidWeights as e:
            return ExtrinsicResult(status="rejected", error=e)
        return None

    async def _hyperparameters_or_none(self, netuid: int) -> dict[str, Any] | None:
        try:
            return await self.get_subnet_hyperparameters(netuid)
        except TaonetError:
            return None  # the write itself will say what is wrong (no such subnet, node away)

    async def _commit_then_reveal(self, wallet: Any, netuid: int, uids: Any, weights: Any, *, version_key: int,
                                  salt: bytes | None, wait_for_reveal: bool, reveal_timeout: float | None
                                  ) -> ExtrinsicResult:
        committed = await self.commit_weights(wallet, netuid, uids, weights, salt=salt, version_key=version_key)
        pending = committed.reveal
        if not committed.success or not wait_for_reveal or pending is None or pending.reveal_from is None:
            return committed
        if reveal_timeout is None:
            info = self._info if self._info is not None else await self.info()
            blocks = pending.reveal_from - int(info.get("head", 0)) + 2
            reveal_timeout = 30.0 + 2.0 * max(1, blocks) * float(info.get("block_time", 12.0))
        try:
            await self.wait_for_block(pending.reveal_from, timeout=reveal_timeout)
        except TimeoutError:
            return committed
        revealed = await self.reveal(wallet, pending)
        # a refused reveal revealed nothing, but the commit stands: "committed", with the reveal's error and `reveal`
        # (the salt) for a later try, as when the window did not open in time
        return revealed if revealed.action else attrs.evolve(revealed, action="committed")


for _name, _method in list(vars(Subtensor).items()):
    if not _name.startswith("_") and inspect.iscoroutinefunction(_method):
        setattr(Subtensor, _name, _reads_replies(_method))
del _name, _method


class _Stopped(Exception):
    """Raised in a proof-of-work solver's progress callback to stop it (its caller was cancelled)."""


def _batches(exts: list[Extrinsic], max_bytes: int) -> Iterator[list[tuple[Extrinsic, bytes]]]:
    """``exts`` with their encodings, cut into runs of at most 10,000 (the node's bound) whose encodings take at most
    ``max_bytes`` (a run holds at least one, so one extrinsic larger than that is sent alone and refused as such)."""
    batch: list[tuple[Extrinsic, bytes]] = []
    size = 0
    for x in exts:
        raw = x.to_bytes()
        if batch and (len(batch) == 10_000 or size + len(raw) + 9 > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append((x, raw))
        size += len(raw) + 9  # a CBOR byte string's head is at most 9 bytes
    if batch:
        yield batch


def _stake_args(what: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int | None, Any, Any, bool]:
    """(netuid or None, hotkey, amount, wait_for_inclusion) from the SDK v10 order (netuid, hotkey_ss58, amount)
    or ours (hotkey, amount); keywords ``netuid``, ``hotkey_ss58`` (or ``hotkey``) and ``amount`` work in both."""
    kwargs = dict(kwargs)
    wait = bool(kwargs.pop("wait_for_inclusion", True))
    for option in ("safe_staking", "allow_partial_stake", "rate_tolerance", "safe_unstaking",
                   "wait_for_finalization", "period", "raise_error", "mev_protection"):
        kwargs.pop(option, None)  # the SDK's options: accepted; slippage and finality mean nothing here
    if len(args) == 3 or (args and isinstance(args[0], numbers.Integral) and not isinstance(args[0], bool)):
        # the SDK's netuid (three positionals are the SDK's order whatever the first is: checked below)
        netuid, rest = args[0], list(args[1:])
    else:
        netuid, rest = kwargs.pop("netuid", None), list(args)
    hotkey = rest.pop(0) if rest else kwargs.pop("hotkey_ss58", kwargs.pop("hotkey", None))
    amount = rest.pop(0) if rest else kwargs.pop("amount", None)
    if hotkey is None or amount is None or rest or kwargs:
        raise TypeError(f"{what}(wallet, netuid, hotkey_ss58, amount) or {what}(wallet, hotkey, amount)")
    _check_netuid(what, netuid)
    return netuid, hotkey, amount, wait


AsyncSubtensor = Subtensor
"""The SDK's name for its async client, which :class:`Subtensor` is (``subtensor()`` is the blocking one)."""


class Fields(dict[str, Any]):
    """A dict whose keys also read as attributes (``hp.tempo`` as ``hp["tempo"]``), as the SDK's dataclasses do."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no {name!r} here; the keys are {', '.join(self)}") from None


def _at_head_only(method: str, block: int | None) -> None:
    if block is not None:
        raise ValueError(f"{method}: the node answers this at its head only; call it without block")


def _check_mechid(mechid: int) -> None:
    if mechid != 0:
        from taonet.ledger.errors import InvalidCall

        raise InvalidCall(reason=f"mechid={mechid!r}: a taonet subnet has one mechanism, 0")


_SDK_ELSEWHERE = {
    "get_metagraph_info": "use sub.metagraph(netuid) (arrays) or sub.get_subnet_info(netuid)",
    "get_all_metagraphs_info": "use sub.metagraph(netuid) for each of sub.get_all_subnets_netuid()",
    "root_register": "there is no root network here; register on a subnet with burned_register(wallet, netuid)",
    "start_call": "a new subnet runs from its creation here; there is no start call",
    "unstake_all": "use unstake(wallet, netuid, hotkey_ss58, sub.get_stake(coldkey, hotkey))",
    "unstake_multiple": "call unstake(wallet, netuid, hotkey_ss58, amount) for each",
    "add_stake_multiple": "call add_stake(wallet, netuid, hotkey_ss58, amount) for each",
    "move_stake": "stake is per hotkey here: unstake, then add_stake on the other hotkey",
    "swap_stake": "stake is per hotkey, not per subnet, here: there is nothing to swap",
    "get_delegate_by_hotkey": "use [d for d in sub.get_delegates() if d.hotkey_ss58 == hotkey]",
    "get_balances": "use sub.get_balance(address) for each",
    "get_children": "taonet has no child hotkeys",
    "set_children": "taonet has no child hotkeys",
    "query_subtensor": "read the node's RPC with sub.call(method, **params) (docs/node.md, \"RPC\")",
    "query_map_subtensor": "read the node's RPC with sub.call(method, **params) (docs/node.md, \"RPC\")",
    "substrate": "there is no substrate interface; sub.call(method, **params) reads the node's RPC",
    "get_stake_for_coldkey_and_hotkey": "use sub.get_stake(coldkey_ss58, hotkey_ss58)",
    "get_stake_for_coldkey": "use sub.get_stakes(coldkey)",
    "get_stake_for_hotkey": "use sub.get_total_stake_for_hotkey(hotkey)",
    "get_subnet_info_all": "use sub.get_all_subnets_info()",
    "all_subnets": "use sub.get_all_subnets_info()",
    "subnet": "use sub.get_subnet_info(netuid)",
    "get_neuron_certificate": "taonet axons have no TLS certificates",
    "get_subnet_reveal_period_epochs": "use sub.get_subnet_hyperparameters(netuid)[\"commit_reveal_period\"]",
    "get_timestamp": "use sub.get_block(n) (its header has the time)",
    "get_block_hash": "use sub.get_block(n).hash",
    "get_subnets": "use sub.get_all_subnets_netuid()",
    "get_hyperparameter": "use sub.get_subnet_hyperparameters(netuid)[name]",
    "is_hotkey_registered_any": "use sub.is_hotkey_registered(hotkey_ss58)",
    "is_subnet_active": "use sub.subnet_exists(netuid) (a subnet runs from its creation)",
    "get_all_commitments": "use sub.get_commitment(netuid, uid) for each UID",
    "query_identity": "taonet keeps no on-chain identity of coldkeys; a subnet's is sub.get_subnet_identity(netuid)",
    "network": "use sub.endpoint (a taonet node's address)",
    "chain_endpoint": "use sub.endpoint",
    "tx_rate_limit": "taonet has no chain-wide transaction rate limit (each account's writes are ordered by its "
                     "nonce); a subnet's weights_rate_limit and serving_rate_limit are in "
                     "sub.get_subnet_hyperparameters(netuid)",
}
"""SDK names taonet does not have, and what to use instead (the AttributeError says it)."""


def subtensor(endpoint: str | None = None, *, timeout: float = 30.0, network: str | None = None
              ) -> Blocking[Subtensor]:
    """A blocking Subtensor for scripts and the REPL: ``with subtensor("local") as sub: sub.get_current_block()``.

    ``timeout`` bounds each call (with no node at ``endpoint`` the first call fails sooner, with NoNode); an
    undialable endpoint raises BadAddress here. Close it (or use ``with``); one left open is closed at exit.
    ``network=`` is the SDK's name for ``endpoint``."""
    return Blocking(Subtensor(endpoint, timeout=timeout, network=network))
