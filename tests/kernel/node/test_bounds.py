"""The node's worker threads are its own: a crowd holding every one of anyio's shared default worker threads (a
flood of reads did, on main: block/blocks/events and the seal took their threads from the same pool of 40) neither
stops sealing nor the reads, which run under the node's bounded read threads."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pynng
import pytest

from taonet.kernel.client import RpcClient
from taonet.kernel.errors import RpcBadRequest
from taonet.kernel.node import actor_answer_payload, run_remote_actor
from taonet.ledger import DEV_ACTOR_URI, Keypair, dumps

from .nodes import running_node

pytestmark = pytest.mark.anyio


async def test_blocks_and_reads_go_on_while_every_default_worker_thread_is_held(tmp_path: Path) -> None:
    """All of anyio's default worker threads blocked (as a crowd of slow reads held them): the node still seals
    blocks with its actors' answers, and answers block, blocks and events reads from another connection."""
    async with running_node(tmp_path, block_time=0.1) as (node, sub):
        await sub.wait_for_block(3)
        shared = anyio.to_thread.current_default_thread_limiter()
        release = threading.Event()
        async with anyio.create_task_group() as hold:
            try:
                for _ in range(int(shared.total_tokens)):
                    hold.start_soon(lambda: anyio.to_thread.run_sync(release.wait, 10.0))
                with anyio.fail_after(5):
                    while shared.available_tokens > 0:
                        await anyio.sleep(0.01)
                head = node.state.height  # type: ignore[union-attr]
                client = RpcClient(sub.endpoint, timeout=5.0)
                try:
                    with anyio.fail_after(5):
                        while node.state.height < head + 5:  # type: ignore[union-attr]
                            await anyio.sleep(0.05)
                        raw = await client.call("block", number=1)
                        many = await client.call("blocks", start=0, stop=head)
                        events = await client.call("events", start=0, stop=head)
                finally:
                    client.close()
                assert shared.available_tokens == 0, "the held threads were released before the node was tried"
                assert type(raw) is bytes and len(many) == head and isinstance(events, list)
            finally:
                release.set()


async def test_a_crowd_of_connections_is_held_to_max_connections_and_sealing_and_connected_clients_go_on(
        tmp_path: Path) -> None:
    """60 connections dialed at the RPC and 60 at the feed of a node that accepts 16 each: each socket keeps at most
    16 (the others are closed as they come, and keep redialing), blocks keep being sealed, and the client connected
    before the crowd is still answered; once the crowd leaves, a new client connects."""
    async with running_node(tmp_path, block_time=0.1, max_connections=16) as (node, sub):
        await sub.wait_for_block(2)
        rpc_server = node._rpc_server
        assert rpc_server is not None
        crowd: list[pynng.Socket] = []
        try:
            for _ in range(60):
                for sock, address in ((pynng.Req0(), sub.endpoint), (pynng.Sub0(), node.addresses["feed"])):
                    crowd.append(sock)
                    sock.dial(address, block=False)
            head = node.state.height  # type: ignore[union-attr]
            peaks = [0, 0]
            with anyio.fail_after(5):
                while node.state.height < head + 10:  # type: ignore[union-attr]
                    peaks[0] = max(peaks[0], rpc_server.stats()["connections"])
                    peaks[1] = max(peaks[1], len(node._feed.pipes))  # type: ignore[union-attr]
                    await anyio.sleep(0.02)
                assert (await sub.get_current_block()) >= head + 10
            # the test's client is one of the 16; pynng lists a connection being refused for an instant (+1)
            assert 16 <= peaks[0] <= 17 and 16 <= peaks[1] <= 17, peaks
        finally:
            for sock in crowd:
                sock.close()
        with anyio.fail_after(5):
            while rpc_server.stats()["connections"] > 1:
                await anyio.sleep(0.02)
        client = RpcClient(sub.endpoint, timeout=5.0)
        try:
            with anyio.fail_after(5):
                assert (await client.call("head"))["number"] >= head + 10
        finally:
            client.close()


async def test_actor_words_about_blocks_past_the_head_are_refused_and_leave_no_entry(tmp_path: Path) -> None:
    """Signed actor answers and posts about 200 blocks past the head, and posts to an actor that does not exist, are
    refused with RpcBadRequest: the node's answers and inbox tables (dropped block by block as blocks are sealed)
    gain no entry that no seal would ever drop, and the chain goes on with its real consensus actor."""
    async with running_node(tmp_path, local_actors=("scheduler", "registrar")) as (node, sub):
        key = Keypair.from_uri(DEV_ACTOR_URI)
        actors = RpcClient((await sub.info())["actors"], timeout=5.0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_remote_actor, "consensus", sub.endpoint, key)
            try:
                head = await sub.wait_for_block(3, timeout=10)
                refused = 0
                for block in range(head + 100, head + 300):
                    sig = key.sign(actor_answer_payload(node.genesis_hash, "consensus", block, []))
                    with pytest.raises(RpcBadRequest):
                        await actors.call("actor_answer", actor="consensus", block=block, calls=[],
                                          signer=key.public_key, signature=sig)
                    refused += 1
                for to, block in (("consensus", head + 100), ("nobody", head)):
                    body = {"due": []}
                    sig = key.sign(actor_answer_payload(node.genesis_hash, "scheduler", block, [dumps([to, body])]))
                    with pytest.raises(RpcBadRequest):
                        await actors.call("actor_post", actor="scheduler", to=to, block=block, body=body,
                                          signer=key.public_key, signature=sig)
                assert refused == 200
                assert max(node._answers, default=0) <= node.state.height  # type: ignore[union-attr]
                assert all(b <= node.state.height and to != "nobody" for to, b in node._inbox)  # type: ignore
                assert await sub.wait_for_block(head + 5, timeout=10) >= head + 5
            finally:
                actors.close()
                tg.cancel_scope.cancel()
