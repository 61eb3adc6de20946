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
from taonet.ledger.errors import InvalidBlock

from ..client import RpcClient
from ..errors import KernelError, NotAnActor, UnknownMethod
from ..wire import get_logger
from ._chain_host import ChainHost
from ._config import ACTOR_MAX_REQUEST, ACTORS
from ._follow import BlockFollower

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

    def __init__(self, name: str, rpc: Caller, key: Keypair, genesis: bytes) -> None:
        self.name, self.rpc, self.key, self.genesis = name, rpc, key, genesis

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
                except NotAnActor:  # the key is not the genesis's: no retry can help, the actor stops
                    raise
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


async def remote_follow(rpc: RpcClient) -> AsyncIterator[tuple[SignedBlock, State]]:
    """Follow a node from another process: fold its blocks (checking links and the authority's signatures),
    yield the head, then every new block, catching up over RPC whenever blocks were missed.

    A block that does not fold (a bad link or signature) is refused, not fatal: the head stays where it was, so the
    follower backs off and asks for it again, and the actor goes on once a good block comes.
    """
    info = await rpc.call("info")
    state: State | None = None
    last: SignedBlock | None = None
    refused: str | None = None  # the last refusal's reason, to log each distinct failure once

    def fold(block: SignedBlock) -> bool:
        nonlocal state, last, refused
        try:
            state, last = _fold_one(state, last, block), block
        except InvalidBlock as e:
            if str(e) != refused:
                refused = str(e)
                log.error("actor.block_refused", block=block.number, reason=refused)
            return False
        refused = None
        return True

    quiet = max(5.0, 3 * float(info.get("block_time", 1.0)))
    async with BlockFollower(rpc, info["feed"], lambda: -1 if last is None else last.number, quiet=quiet,
                             logger=log) as f:
        # catch up to the node's head; the follower backs off after a refused block before asking again
        while last is None or last.number < (await rpc.call("head"))["number"]:
            async with aclosing(f.catch_up()) as blocks:
                async for block, _ in blocks:
                    fold(block)
        yield last, state
        async with aclosing(f.follow()) as blocks:
            async for block, at_tip in blocks:
                if fold(block) and at_tip:
                    yield last, state  # type: ignore[misc]


def _fold_one(state: State | None, last: SignedBlock | None, block: SignedBlock) -> State:
    if not block.signature_ok():
        raise InvalidBlock(number=block.number, reason="the authority's signature does not verify")
    if state is None:
        return state_from_genesis_block(block, verify_signatures=False)
    new, _ = apply(state, block, parent=None if last is None else last.hash, verify_signatures=False)
    return new


async def run_remote_actor(name: str, node: str, key: Keypair, *, delay: float = 0.0) -> None:
    """Run actor ``name`` in this process against the node at ``node`` (its public RPC address or its actors'
    address), folding its feed; it talks to the node on the actors' RPC server the node announces."""
    async with AsyncExitStack() as stack:
        rpc = await stack.enter_async_context(RpcClient(node, timeout=120.0))
        info = await rpc.call("info")
        actors = info.get("actors")
        if actors and actors != node:
            rpc = await stack.enter_async_context(RpcClient(actors, timeout=120.0, max_request=ACTOR_MAX_REQUEST))
        genesis = info["genesis_hash"]
        channel = ActorChannel(name, rpc, key, genesis)
        log.info("actor.started", actor=name, node=node, key=key.ss58_address)
        await run_actor(name, remote_follow(rpc), channel, delay=delay)
