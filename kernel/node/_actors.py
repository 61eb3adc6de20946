"""The system actors of the block pipeline: tempo scheduler, consensus and registrar.

Each actor follows the chain (a stream of ``(block, state after it)``), reacts to every block with the system calls
it decides (an explicit empty answer when it has nothing to say), and sends them to the node signed with its own
key; the node signs them into the next block with the authority key, which actors never hold. The scheduler tells
the consensus actor which epochs are due through the node (an actor message), then answers ``TempoElapsed``.

The same actor code runs in the node's process or in another one: only the follower and the channel differ. In the
node, actors read the node's own per-block states (immutable, copy-on-write) instead of folding every block a second
time, and call the node's actor methods directly (the same handlers, signatures checked the same way). Out of
process they fold the block feed, catch up over RPC when they fall behind, and talk to the node on its actors' RPC
server (``info()["actors"]``), never on the public one: no client can crowd them out.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, aclosing
from typing import Any, Protocol

import anyio
import anyio.abc

from taonet.ledger import (
    Keypair,
    SignedBlock,
    State,
    SystemCall,
    apply,
    consensus_answers,
    dumps,
    encode,
    registrar_answer,
    scheduler_answers,
    state_from_genesis_block,
)
from taonet.ledger.errors import CodecError, InvalidBlock

from .._address import dialable
from ..client import RpcClient
from ..errors import (
    BlockNotFound,
    KernelError,
    NotAnActor,
    RpcBadRequest,
    RpcTimeout,
    UnknownMethod,
    Unreachable,
)
from ..wire import get_logger
from ._chain_host import ChainHost
from ._config import ACTOR_MAX_REQUEST, ACTORS
from ._follow import BlockFollower
from ._replica import (
    LEADER_CALL_TIMEOUT,
    LEADER_GONE,
    LEADER_HEAD_TIMEOUT,
    LEADER_REPORT_EVERY,
    LEADER_RETRY_INITIAL,
    LEADER_RETRY_MAX,
)

__all__ = [
    "ActorChannel", "DirectCaller", "actor_answer_payload", "react", "remote_follow", "run_actor", "run_local_actor",
    "run_remote_actor",
]

log = get_logger(__name__)


def actor_answer_payload(genesis: bytes, actor: str, block: int, calls: list[bytes]) -> bytes:
    """The bytes an actor signs when it answers ``block``."""
    return dumps(["taonet.actor_answer", genesis, actor, block, calls])


class Caller(Protocol):
    """Anything with an RPC client's ``call``: an :class:`RpcClient` or a :class:`DirectCaller`."""

    async def call(self, method: str, timeout: float | None = None, **params: Any) -> Any:
        """Call ``method`` with ``params``."""


class DirectCaller:
    """Calls a handler table in this process (the in-node actors' channel: no socket, nothing shared)."""

    def __init__(self, handlers: Mapping[str, Callable[[dict[str, Any]], Awaitable[Any]]]) -> None:
        self.handlers = dict(handlers)

    async def call(self, method: str, timeout: float | None = None, **params: Any) -> Any:
        """Run ``method``'s handler on ``params`` (``timeout`` bounds it, as over a socket)."""
        handler = self.handlers.get(method)
        if handler is None:
            raise UnknownMethod(method=method)
        with anyio.fail_after(timeout if timeout is not None else 120.0):
            return await handler(params)


class ActorChannel:
    """How an actor talks to the node: signed answers, actor messages, and its inbox."""

    def __init__(self, name: str, rpc: Caller, key: Keypair, genesis: bytes,
                 check: Callable[[], Awaitable[None]] | None = None) -> None:
        self.name, self.rpc, self.key, self.genesis = name, rpc, key, genesis
        self.check = check
        """Run when an inbox wait ends empty (a remote actor asks whether its node still holds its chain)."""

    async def answer(self, block: int, calls: list[SystemCall]) -> None:
        """Send this actor's answer to ``block`` (possibly empty)."""
        raws = [encode(c) for c in calls]
        sig = self.key.sign(actor_answer_payload(self.genesis, self.name, block, raws))
        await self.rpc.call("actor_answer", actor=self.name, block=block, calls=raws, signer=self.key.public_key,
                            signature=sig)

    async def post(self, to: str, block: int, body: dict[str, Any]) -> None:
        """Send an actor message to actor ``to`` about ``block``."""
        sig = self.key.sign(actor_answer_payload(self.genesis, self.name, block, [dumps([to, body])]))
        await self.rpc.call("actor_post", actor=self.name, to=to, block=block, body=body,
                            signer=self.key.public_key, signature=sig)

    async def inbox(self, block: int, timeout: float = 30.0) -> dict[str, Any] | None:
        """The actor message for this actor about ``block`` (waits up to ``timeout``)."""
        return await self.rpc.call("actor_inbox", timeout=timeout + 30, actor=self.name, block=block, wait=timeout)


async def react(name: str, state: State, channel: ActorChannel, *,
                limiter: anyio.CapacityLimiter | None = None) -> list[SystemCall]:
    """What actor ``name`` answers to the block ``state`` ends with (Yuma in a worker thread under ``limiter``:
    the actor's own, so that the seal awaiting this answer never waits behind other users of anyio's threads)."""
    number = state.height
    if name == "scheduler":
        due = scheduler_answers(state)
        await channel.post("consensus", number, {"due": [c.netuid for c in due]})
        return list(due)
    if name == "consensus":
        msg = None
        while msg is None:
            msg = await channel.inbox(number)
            if msg is None and channel.check is not None:
                await channel.check()
        due = [int(n) for n in msg.get("due", [])]
        if not due:
            return []
        return list(await anyio.to_thread.run_sync(consensus_answers, state, due, limiter=limiter))
    if name == "registrar":
        answer = registrar_answer(state)
        return [] if answer.is_empty else [answer]
    raise ValueError(f"unknown actor {name!r}; the actors are {', '.join(ACTORS)}")


async def run_actor(name: str, follow: AsyncIterator[tuple[SignedBlock, State]], channel: ActorChannel, *,
                    delay: float = 0.0) -> None:
    """Answer every block ``follow`` yields, until it ends or the task is cancelled; :class:`NotAnActor` (the key is
    not one the genesis names) ends it at the node's first refusal."""
    alog = log.bind(actor=name)
    limiter = anyio.CapacityLimiter(1)  # this actor's own worker thread (it reacts to one block at a time)
    async with aclosing(follow):  # type: ignore[type-var]
        async for block, state in follow:
            calls = await react(name, state, channel, limiter=limiter)
            if delay:
                await anyio.sleep(delay)  # a test knob: lockstep must make the log independent of it
            for attempt in range(1_000_000):
                try:
                    await channel.answer(block.number, calls)
                    break
                except (NotAnActor, Unreachable, RpcTimeout):  # the key is not the genesis's: no retry can help,
                    raise  # the actor stops; the node gone: a remote actor waits for it and answers its head again
                except KernelError as e:  # the node restarting or overloaded: keep the answer, try again
                    alog.warning("actor.answer_failed", block=block.number, error=str(e), attempt=attempt)
                    await anyio.sleep(min(5.0, 0.1 * 2**attempt))
            if calls:
                alog.info("actor.answered", block=block.number, calls=len(calls))


async def run_local_actor(host: ChainHost, name: str, key: Keypair, delay: float, *,
                          task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Run actor ``name`` inside ``host``'s process, following its own states and calling its actor methods."""
    assert host.store is not None and host.state is not None
    head_block, head_state = host.store.get(host.state.height), host.state
    rpc = DirectCaller(host.actor_handlers())  # type: ignore[attr-defined]
    async with host.subscribe() as stream:

        async def follow() -> AsyncIterator[tuple[SignedBlock, State]]:
            yield head_block, head_state
            async for item in stream:
                yield item

        channel = ActorChannel(name, rpc, key, host.genesis_hash)
        task_status.started()
        await run_actor(name, follow(), channel, delay=delay)


class _NodeBehind(Exception):
    """The node's head is below what the actor folded, on the same genesis: follow it again (it lost blocks)."""


class _NodeRestarted(Exception):
    """The node answers as another run of itself (another ``instance``) than the one this session followed: it
    restarted, perhaps too fast for its absence to be noticed, and waits for answers to its head again."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(f"the node restarted (instance {old} is now {new})")
        self.old, self.new = old, new


class _FoldedChain:
    """What an out-of-process actor has folded of the node's chain (its last block and the state after it), kept
    across its reconnections to the node, so that a node back after a restart is not folded again from genesis."""

    def __init__(self, genesis: bytes | None = None) -> None:
        self.genesis = genesis
        """The genesis hash of the chain folded (a node that answers with another is not followed)."""
        self.state: State | None = None
        self.last: SignedBlock | None = None
        self.refused: str | None = None  # the last refusal's reason, to log each distinct failure once
        self.instance: str | None = None
        """The run of the node this session follows (its ``info()["instance"]``; None: not checked)."""

    @property
    def height(self) -> int:
        """The last block folded (-1 before genesis)."""
        return -1 if self.last is None else self.last.number

    def fold(self, block: SignedBlock) -> bool:
        """Fold ``block`` onto the head; False (logged once per reason) when it does not fold."""
        try:
            self.state, self.last = _fold_one(self.state, self.last, block), block
        except InvalidBlock as e:
            if str(e) != self.refused:
                self.refused = str(e)
                log.error("actor.block_refused", block=block.number, reason=self.refused)
            return False
        self.refused = None
        return True

    async def resume(self, rpc: RpcClient, info: dict[str, Any]) -> None:
        """After a reconnection: keep what is folded if the node still holds its last block, else fold again from
        genesis (the node lost blocks, or sealed others in their place)."""
        if self.last is None:
            return
        head = info.get("head")
        try:
            same = type(head) is int and head >= self.last.number and SignedBlock.from_bytes(
                await rpc.call("block", number=self.last.number, timeout=LEADER_CALL_TIMEOUT)).hash == self.last.hash
        except (BlockNotFound, CodecError):
            same = False
        if not same:
            log.warning("actor.refold", block=self.last.number, node_head=head,
                        reason="the node no longer holds this actor's last block: folding its chain again")
            self.state = self.last = None

    async def follow(self, rpc: RpcClient, info: dict[str, Any]) -> AsyncIterator[tuple[SignedBlock, State]]:
        """Yield the head, then every new block, catching up over RPC whenever blocks were missed."""
        block_time = float(info.get("block_time", 1.0))
        quiet = max(5.0, 3 * block_time)
        feed = dialable(str(info["feed"]), rpc.address)  # a node listening on 0.0.0.0: the host it was reached at
        async def behind(_node_head: int) -> None:  # the node lost blocks, or is another chain: not followed as is
            await self.check_node(rpc)
            raise _NodeBehind

        async with BlockFollower(rpc, feed, lambda: self.height, quiet=quiet, logger=log, on_behind=behind,
                                 on_quiet=functools.partial(self.check_node, rpc),
                                 head_timeout=max(LEADER_HEAD_TIMEOUT, block_time)) as f:
            # catch up to the node's head; the follower backs off after a refused block before asking again
            while self.last is None or self.last.number < (await rpc.call("head",
                                                                          timeout=LEADER_HEAD_TIMEOUT))["number"]:
                async with aclosing(f.catch_up()) as blocks:
                    async for block, _ in blocks:
                        if not self.fold(block):
                            await self.check_node(rpc)
            yield self.last, self.state  # type: ignore[misc]
            async with aclosing(f.follow()) as blocks:
                async for block, at_tip in blocks:
                    if not self.fold(block):
                        await self.check_node(rpc)
                    elif at_tip:
                        yield self.last, self.state  # type: ignore[misc]

    async def check_node(self, rpc: RpcClient) -> None:
        """Raise :class:`InvalidBlock` if the node now holds another genesis than the chain folded (it was replaced
        at its address, too fast for its absence to be noticed), :class:`_NodeRestarted` if it is another run than
        :attr:`instance`: asked when a block does not fold, when the feed is quiet, and when an inbox wait ends empty.
        """
        if self.genesis is None and self.instance is None:
            return
        info = await rpc.call("info", timeout=LEADER_CALL_TIMEOUT)
        theirs = info.get("genesis_hash")
        if self.genesis is not None and theirs != self.genesis:
            raise _other_chain(rpc.address, theirs, self.genesis)
        if self.instance is not None and info.get("instance") != self.instance:
            raise _NodeRestarted(self.instance, str(info.get("instance")))


async def remote_follow(rpc: RpcClient) -> AsyncIterator[tuple[SignedBlock, State]]:
    """Follow a node from another process: fold its blocks (checking links and the authority's signatures),
    yield the head, then every new block, catching up over RPC whenever blocks were missed.

    A block that does not fold (a bad link or signature) is refused, not fatal: the head stays where it was, so the
    follower backs off and asks for it again, and the actor goes on once a good block comes.
    """
    info = await rpc.call("info")
    async with aclosing(_FoldedChain(info.get("genesis_hash")).follow(rpc, info)) as items:
        async for item in items:
            yield item


def _fold_one(state: State | None, last: SignedBlock | None, block: SignedBlock) -> State:
    if not block.signature_ok():
        raise InvalidBlock(number=block.number, reason="the authority's signature does not verify")
    if state is None:
        return state_from_genesis_block(block, verify_signatures=False)
    new, _ = apply(state, block, parent=None if last is None else last.hash, verify_signatures=False)
    return new


async def run_remote_actor(name: str, node: str, key: Keypair, *, delay: float = 0.0) -> None:
    """Run actor ``name`` in this process against the node at ``node`` (its public RPC address or its actors'
    address), folding its feed; it talks to the node on the actors' RPC server the node announces.

    It rides out the node's absence once it has reached it (a restart, a crash, a frozen process): it logs
    ``actor.leader_gone``, asks again after a backoff (:data:`LEADER_RETRY_INITIAL` doubling to
    :data:`LEADER_RETRY_MAX`, with jitter), logs ``actor.leader_back`` and answers again. A node restarted so fast
    that no call saw it gone (the client redials within its grace) is noticed by its new ``instance`` at the next
    quiet spell of the feed (no block for ``max(5, 3 * block_time)`` s: the restarted node waits for this actor's
    answer to its head): it logs ``actor.leader_restarted`` and answers the node's head again. A node that never
    answered raises at once (:class:`NoNode`); one back with another chain (another genesis) raises
    :class:`InvalidBlock`.
    """
    chain = _FoldedChain()
    genesis: bytes | None = None
    down_since: float | None = None
    attempts, pause, report_at = 0, LEADER_RETRY_INITIAL, 0.0
    while True:
        try:
            async with AsyncExitStack() as stack:
                rpc = await stack.enter_async_context(RpcClient(node, timeout=120.0))
                info = await rpc.call("info", timeout=None if genesis is None else LEADER_CALL_TIMEOUT)
                actors = info.get("actors")
                if actors:
                    actors = dialable(str(actors), node)  # a node listening on 0.0.0.0: the host it was reached at
                    if actors != node:
                        rpc = await stack.enter_async_context(RpcClient(actors, timeout=120.0,
                                                                        max_request=ACTOR_MAX_REQUEST))
                if genesis is None:
                    genesis = chain.genesis = info["genesis_hash"]
                    log.info("actor.started", actor=name, node=node, key=key.ss58_address, actors=rpc.address,
                             feed=dialable(str(info["feed"]), node))
                else:
                    if info.get("genesis_hash") != genesis:
                        raise _other_chain(node, info.get("genesis_hash"), genesis)
                    await chain.resume(rpc, info)
                    if down_since is None and info.get("instance") != chain.instance:
                        log.warning("actor.leader_restarted", actor=name, node=node, instance=info.get("instance"),
                                    previous=chain.instance, head=chain.height, leader_head=info.get("head"),
                                    note="the node restarted without this actor seeing it gone: answering its head "
                                         "again")
                    if down_since is not None:
                        log.info("actor.leader_back", actor=name, node=node, attempts=attempts,
                                 down_s=round(time.monotonic() - down_since, 1), leader_head=info.get("head"))
                        down_since = None
                assert genesis is not None
                chain.instance = info.get("instance")
                channel = ActorChannel(name, rpc, key, genesis, check=functools.partial(chain.check_node, rpc))
                await run_actor(name, chain.follow(rpc, info), channel, delay=delay)
            return
        except LEADER_GONE as e:
            if genesis is None:  # never reached: a mistake at start, said at once
                raise
            now = time.monotonic()
            if down_since is None:
                down_since, attempts, pause, report_at = now, 0, LEADER_RETRY_INITIAL, now + LEADER_REPORT_EVERY
                log.warning("actor.leader_gone", actor=name, node=node, reason=str(e), head=chain.height,
                            retry_in=pause, note="waiting for the node to answer again")
            elif now >= report_at:
                report_at = now + LEADER_REPORT_EVERY
                log.warning("actor.leader_still_gone", actor=name, node=node, reason=str(e), attempts=attempts,
                            down_s=round(now - down_since, 1))
            await anyio.sleep(pause * random.uniform(0.5, 1.0))  # jitter: a node's actors and replicas spread out
            attempts += 1
            pause = min(LEADER_RETRY_MAX, 2 * pause)
        except (_NodeBehind, _NodeRestarted):
            continue  # a new session: resume() folds the node's chain again if it lost blocks, the head is answered
        except (NotAnActor, RpcBadRequest) as e:  # refused: by a node of another chain (it signs another genesis)?
            if genesis is not None:
                await _same_genesis(node, genesis, e)
            raise


async def _same_genesis(node: str, genesis: bytes, error: Exception) -> None:
    """Raise the other-chain :class:`InvalidBlock` (from ``error``) if the node at ``node`` now holds another
    genesis than ``genesis``; nothing if it holds the same, or does not answer."""
    try:
        async with RpcClient(node, timeout=LEADER_CALL_TIMEOUT) as rpc:
            theirs = (await rpc.call("info")).get("genesis_hash")
    except LEADER_GONE:
        return
    if theirs != genesis:
        raise _other_chain(node, theirs, genesis) from error


def _other_chain(node: str, theirs: Any, ours: bytes) -> InvalidBlock:
    """The error of a node back with another genesis than the one this actor followed."""
    held = theirs.hex()[:16] if isinstance(theirs, bytes) else repr(theirs)[:40]
    return InvalidBlock(number=0, reason=f"the node at {node} came back with another chain (genesis {held}) than this "
                                         f"actor followed (genesis {ours.hex()[:16]}): the actor stops rather than "
                                         "answer for it; start it again against that node for its new chain")
