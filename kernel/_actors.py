"""The system actors of the block pipeline: tempo scheduler, consensus and registrar.

Each actor follows the chain (a stream of ``(block, state after it)``), reacts to every block with the system calls
it decides (an explicit empty answer when it has nothing to say), and sends them to the node signed with its own
key; the node signs them into the next block with the authority key, which actors never hold. The scheduler tells
the consensus actor which epochs are due through the node (an actor message), then answers ``TempoElapsed``.

The same actor code runs in the node's process or in another one: only the follower differs. In the node, actors
read the node's own per-block states (immutable, copy-on-write) instead of folding every block a second time; out
of process they fold the block feed and catch up over RPC when they fall behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import pynng
import structlog

from taonet.ledger import Keypair, SignedBlock, State, apply
from taonet.ledger._calls import SystemCall
from taonet.ledger._codec import dumps, encode
from taonet.ledger._consensus import consensus_answers, scheduler_answers
from taonet.ledger._genesis import state_from_genesis_block
from taonet.ledger._runtime import registrar_answer
from taonet.ledger.errors import CodecError, InvalidBlock

from ._nng import NngContext
from ._node import ACTORS, actor_answer_payload
from ._rpc import RpcClient
from .errors import KernelError

if TYPE_CHECKING:
    from ._node import Node

__all__ = ["ActorChannel", "react", "remote_follow", "run_actor", "run_local_actor", "run_remote_actor"]

log = structlog.get_logger(__name__)


class ActorChannel:
    """How an actor talks to the node: signed answers, actor messages, and its inbox (all over the node's RPC)."""

    def __init__(self, name: str, rpc: RpcClient, key: Keypair, genesis: bytes) -> None:
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

    async def inbox(self, block: int, timeout: float = 60.0) -> dict[str, Any] | None:
        """The actor message for this actor about ``block`` (waits up to ``timeout``)."""
        return await self.rpc.call("actor_inbox", timeout=timeout + 30, actor=self.name, block=block, wait=timeout)


async def react(name: str, state: State, channel: ActorChannel) -> list[SystemCall]:
    """What actor ``name`` answers to the block ``state`` ends with."""
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
        return list(await anyio.to_thread.run_sync(consensus_answers, state, due))
    if name == "registrar":
        answer = registrar_answer(state)
        return [] if answer.is_empty else [answer]
    raise ValueError(f"unknown actor {name!r}; the actors are {', '.join(ACTORS)}")


async def run_actor(name: str, follow: AsyncIterator[tuple[SignedBlock, State]], channel: ActorChannel, *,
                    delay: float = 0.0) -> None:
    """Answer every block ``follow`` yields, until it ends or the task is cancelled."""
    alog = log.bind(actor=name)
    async with aclosing(follow):  # type: ignore[type-var]
        async for block, state in follow:
            calls = await react(name, state, channel)
            if delay:
                await anyio.sleep(delay)  # a test knob: lockstep must make the log independent of it
            for attempt in range(1_000_000):
                try:
                    await channel.answer(block.number, calls)
                    break
                except KernelError as e:  # the node restarting or overloaded: keep the answer, try again
                    alog.warning("actor.answer_failed", block=block.number, error=str(e), attempt=attempt)
                    await anyio.sleep(min(5.0, 0.1 * 2**attempt))
            if calls:
                alog.info("actor.answered", block=block.number, calls=len(calls))


async def run_local_actor(node: Node, name: str, key: Keypair, delay: float, *,
                          task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    """Run actor ``name`` inside ``node``'s process, following the node's own states."""
    assert node.store is not None and node.state is not None
    head_block, head_state = node.store.get(node.state.height), node.state
    async with node.subscribe() as stream, RpcClient(node.addresses["rpc"], timeout=120.0) as rpc:

        async def follow() -> AsyncIterator[tuple[SignedBlock, State]]:
            yield head_block, head_state
            async for item in stream:
                yield item

        channel = ActorChannel(name, rpc, key, node.genesis_hash)
        task_status.started()
        await run_actor(name, follow(), channel, delay=delay)


async def remote_follow(rpc: RpcClient, *, batch: int = 500) -> AsyncIterator[tuple[SignedBlock, State]]:
    """Follow a node from another process: fold its blocks (checking links and the authority's signatures),
    yield the head, then every new block from the feed, catching up over RPC whenever blocks were missed."""
    info = await rpc.call("info")
    with pynng.Sub0(recv_max_size=256 << 20) as sub:
        sub.dial(info["feed"], block=False)
        feed = NngContext(sub)
        feed.subscribe()
        state: State | None = None
        last: SignedBlock | None = None

        async def catch_up(upto: int) -> None:
            nonlocal state, last
            nxt = 0 if last is None else last.number + 1
            while nxt <= upto:
                raws = await rpc.call("blocks", start=nxt, stop=min(upto + 1, nxt + batch))
                for raw in raws:
                    block = SignedBlock.from_bytes(raw)
                    state, last = _fold_one(state, last, block), block
                nxt = last.number + 1 if last is not None else 0

        try:
            await catch_up((await rpc.call("head"))["number"])
            assert last is not None and state is not None
            yield last, state
            quiet_ms = int(1000 * max(5.0, 3 * float(info.get("block_time", 1.0))))
            while True:
                try:
                    raw, _ = await feed.recv(quiet_ms)
                except pynng.Timeout:  # a quiet feed: did we miss blocks?
                    head = (await rpc.call("head"))["number"]
                    if head > last.number:
                        await catch_up(head)
                        yield last, state
                    continue
                try:
                    block = SignedBlock.from_bytes(raw)
                except CodecError:
                    continue
                if block.number <= last.number:
                    continue
                if block.number > last.number + 1:
                    await catch_up(block.number - 1)
                state, last = _fold_one(state, last, block), block
                yield last, state
        finally:
            feed.close()


def _fold_one(state: State | None, last: SignedBlock | None, block: SignedBlock) -> State:
    if not block.signature_ok():
        raise InvalidBlock(number=block.number, reason="the authority's signature does not verify")
    if state is None:
        return state_from_genesis_block(block, verify_signatures=False)
    new, _ = apply(state, block, parent=None if last is None else last.hash, verify_signatures=False)
    return new


async def run_remote_actor(name: str, node: str, key: Keypair, *, delay: float = 0.0) -> None:
    """Run actor ``name`` in this process against the node at ``node`` (its RPC address), folding its feed."""
    async with RpcClient(node, timeout=120.0) as rpc:
        genesis = (await rpc.call("info"))["genesis_hash"]
        channel = ActorChannel(name, rpc, key, genesis)
        log.info("actor.started", actor=name, node=node, key=key.ss58_address)
        await run_actor(name, remote_follow(rpc), channel, delay=delay)
