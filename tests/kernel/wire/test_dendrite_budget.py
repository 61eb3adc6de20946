"""A dendrite call given ``max_bytes`` holds at most that many reply bytes, however many axons answer and however
large: each reply over its share is refused where it arrives (500, ``dendrite.reply_limit``), the others are
answered, and the limit of one call lowers no other call's (real axons on 127.0.0.1, asyncio and trio)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import anyio
import cbor2
import pytest

from taonet.kernel import Axon, Dendrite, StreamingSynapse, Synapse
from taonet.kernel.wire._format import Request
from taonet.ledger import Keypair

from .test_dendrite import fake_axon, info_at, signed_reply
from .wire_helpers import ALICE

pytestmark = pytest.mark.anyio

KIB = 1024


class Blob(Synapse):
    """Ask for ``size`` bytes back."""

    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("data",)
    size: int
    data: bytes | None = None


def blob(synapse: Blob) -> Blob:
    return synapse.replace(data=b"\x07" * synapse.size)


def big(synapse: Blob) -> Blob:
    return synapse.replace(data=b"\x07" * (512 * KIB))


class Chars(StreamingSynapse):
    """Stream text chunks."""

    CHUNK: ClassVar[type] = str
    text: str = ""


async def test_a_call_with_max_bytes_refuses_each_reply_over_its_share_and_answers_the_rest() -> None:
    """Three axons, two answering 512 KiB, one 1 KiB, asked with max_bytes 768 KiB (256 KiB each): the two large
    replies are 500 with reply_limit 256 KiB and no data, the small one is answered; the same dendrite without
    max_bytes then gets a large reply whole (its sockets with a lower limit are its own)."""
    keys = [Keypair.generate() for _ in range(3)]
    async with Axon(keys[0], "tcp://127.0.0.1:0").attach(big, synapse=Blob) as a0, \
            Axon(keys[1], "tcp://127.0.0.1:0").attach(big, synapse=Blob) as a1, \
            Axon(keys[2], "tcp://127.0.0.1:0").attach(blob) as a2, Dendrite(ALICE) as d:
        with anyio.fail_after(20):
            out = await d([a0, a1, a2], Blob(size=KIB), timeout=10, max_bytes=768 * KIB)
            assert [r.dendrite.status_code for r in out] == [500, 500, 200], [r.dendrite for r in out]
            assert [r.dendrite.reply_limit for r in out] == [256 * KIB, 256 * KIB, None]
            assert out[0].data is None and out[1].data is None and out[2].data == b"\x07" * KIB
            assert "262144 bytes" in (out[0].dendrite.status_message or "")
            whole = await d(a0, Blob(size=KIB), timeout=10)
            assert whole.dendrite.status_code == 200 and len(whole.data or b"") == 512 * KIB
            again = await d.call(a1, Blob(size=KIB), timeout=10, max_bytes=256 * KIB)
            assert again.dendrite.status_code == 500 and again.dendrite.reply_limit == 256 * KIB


async def test_a_share_is_a_power_of_two_within_it_unless_the_synapse_bound_fits() -> None:
    """max_bytes 1,000,000 over two axons: each reply may hold 2^18 bytes (the largest power of two within 500,000):
    a 300,000-byte reply is refused, a 200,000-byte one answered; a bad max_bytes is a ValueError."""
    key = Keypair.generate()
    async with Axon(key, "tcp://127.0.0.1:0").attach(blob) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(20):
            out = await d([ax, ax], Blob(size=300_000), timeout=10, max_bytes=1_000_000)
            assert [r.dendrite.reply_limit for r in out] == [1 << 18, 1 << 18]
            out = await d([ax, ax], Blob(size=200_000), timeout=10, max_bytes=1_000_000)
            assert [r.dendrite.status_code for r in out] == [200, 200]
        for bad in (0, -1, 1.5, True):
            with pytest.raises(ValueError, match="max_bytes must be a positive number of bytes"):
                await d(ax, Blob(size=1), timeout=1, max_bytes=bad)  # type: ignore[arg-type]


async def test_a_stream_with_max_bytes_ends_with_500_holding_no_more_than_it() -> None:
    """An axon streaming 16 KiB chunks without end, read with max_bytes 256 KiB: the stream ends with 500 and
    reply_limit long before its timeout, its chunks holding at most half of it (a frame may be in before it is
    refused: the two fit in max_bytes)."""

    async def endless(synapse: Chars) -> AsyncIterator[str]:
        while True:
            yield "x" * (16 * KIB)
            await anyio.sleep(0)

    async with Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(endless) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(10):
            async with d.stream(ax, Chars(), timeout=30, max_bytes=256 * KIB) as stream:
                async for _ in stream:
                    pass
        result = stream.result.dendrite
        assert result.status_code == 500, result
        assert result.reply_limit == 128 * KIB
        assert 0 < sum(map(len, stream.chunks)) <= 128 * KIB


async def test_a_reply_of_exactly_its_share_is_taken_and_one_byte_more_is_refused() -> None:
    """An axon whose reply frames are exactly 256 KiB, then one byte more, asked with max_bytes 256 KiB: the first
    is answered, the second refused with reply_limit 256 KiB (nng's receive limit counts the request id it puts
    before every reply; the share is of the reply's own bytes)."""
    cap = 256 * KIB
    probe = Request("Blob", b"", "u", 1, ALICE.public_key, 1, 0, b"", b"", b"")
    overhead = len(signed_reply(probe, body=cbor2.dumps({"data": b"\x07" * 70_000}))) - 70_000
    sizes = iter([cap - overhead, cap - overhead + 1])

    def reply(req: Request) -> bytes:
        frame = signed_reply(req, body=cbor2.dumps({"data": b"\x07" * next(sizes)}))
        lengths.append(len(frame))
        return frame

    lengths: list[int] = []
    async with anyio.create_task_group() as tg, Dendrite(ALICE) as d:
        address = await tg.start(fake_axon, reply)
        with anyio.fail_after(20):
            first = await d.call(info_at(address), Blob(size=1), timeout=10, max_bytes=cap)
            second = await d.call(info_at(address), Blob(size=1), timeout=10, max_bytes=cap)
        tg.cancel_scope.cancel()
    assert lengths == [cap, cap + 1]
    assert first.dendrite.status_code == 200 and len(first.data or b"") == cap - overhead, first.dendrite
    assert (second.dendrite.status_code, second.dendrite.reply_limit) == (500, cap)
