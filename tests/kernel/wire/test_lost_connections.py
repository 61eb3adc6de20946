"""A connection lost before the reply is in (the miner died, or its peer closed mid-reply) is a 503 without
``dendrite.reply_limit``, even for a call given ``max_bytes``; a reply over the call's limit still is a 500 with it
(the validator counts only those as cut). Real axons and sockets on 127.0.0.1."""

from __future__ import annotations

import struct

import anyio
import anyio.abc
import pytest

from taonet.kernel import Axon, Dendrite

from .test_dendrite import info_at
from .test_dendrite_budget import KIB, Blob, big
from .wire_helpers import ALICE, BOB

pytestmark = pytest.mark.anyio

_SP_REP0 = b"\x00SP\x00\x00\x31\x00\x00"  # nng's handshake for a REP0 peer


async def test_a_miner_that_dies_mid_query_is_a_lost_connection_not_a_reply_over_the_limit() -> None:
    """The miner's axon stops while its forward runs: the call is a 503 saying the connection was lost, with no
    reply_limit."""
    dies = anyio.CancelScope()

    async def forward(synapse: Blob) -> Blob:
        dies.cancel()  # the miner's process ends while it works on the query
        await anyio.sleep(30)
        return synapse

    ax = Axon(BOB, "tcp://127.0.0.1:0").attach(forward)

    async def miner(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        with dies:
            await ax.serve(task_status=task_status)

    async with anyio.create_task_group() as tg, Dendrite(ALICE) as d:
        await tg.start(miner)
        with anyio.fail_after(10):
            got = await d.call(info_at(ax.address), Blob(size=1), timeout=8, max_bytes=256 * KIB)
    assert got.dendrite.status_code == 503, got.dendrite
    assert got.dendrite.reply_limit is None
    assert "connection lost" in (got.dendrite.status_message or "")
    assert "too large" not in (got.dendrite.status_message or "")


async def _closes_mid_reply(*, task_status: anyio.abc.TaskStatus[str]) -> None:
    """An nng REP0 peer that takes one request, sends the first 100 bytes of a 1,000-byte reply and closes."""
    async with await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0) as listener:
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        task_status.started(f"tcp://127.0.0.1:{port}")
        conn = await listener.listeners[0].accept()
        async with conn:
            got = b""
            while len(got) < 8:  # its handshake
                got += await conn.receive()
            await conn.send(_SP_REP0)
            while len(got) < 16:  # the request's length
                got += await conn.receive()
            need = 16 + struct.unpack(">Q", got[8:16])[0]
            while len(got) < need:
                got += await conn.receive()
            request_id = got[16:20]
            await conn.send(struct.pack(">Q", 1000) + request_id + b"\x00" * 96)
            await anyio.sleep(0.05)


async def test_a_peer_that_closes_mid_reply_within_the_limit_is_a_lost_connection() -> None:
    """A reply announced at 1,000 bytes (well within the call's 256 KiB), cut after 100 by the peer closing: 503,
    no reply_limit."""
    async with anyio.create_task_group() as tg, Dendrite(ALICE) as d:
        address = await tg.start(_closes_mid_reply)
        with anyio.fail_after(10):
            got = await d.call(info_at(address), Blob(size=1), timeout=8, max_bytes=256 * KIB)
        tg.cancel_scope.cancel()
    assert (got.dendrite.status_code, got.dendrite.reply_limit) == (503, None), got.dendrite
    assert "connection lost" in (got.dendrite.status_message or "")


async def test_a_reply_over_the_limit_still_carries_it_and_says_its_size() -> None:
    """A 512 KiB reply to a call whose limit is 256 KiB: 500, reply_limit 256 KiB, and the message says how large
    the reply was."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(big, synapse=Blob) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(10):
            got = await d.call(ax, Blob(size=1), timeout=8, max_bytes=256 * KIB)
    assert (got.dendrite.status_code, got.dendrite.reply_limit) == (500, 256 * KIB), got.dendrite
    message = got.dendrite.status_message or ""
    assert "reply too large" in message and "connection lost" not in message
    assert "over this call's limit of 262144 bytes" in message
    sent = int(message.split(" sent ")[1].split(" bytes")[0])
    assert 512 * KIB < sent < 513 * KIB
