"""A miner streaming a chunk the wire cannot carry (an int over 64 bits, a set: CBOR's tags, which every dendrite
refuses) gets the same clear refusal as a non-streamed answer: the stream ends with 500 naming the chunk and what it
holds (the caller got "malformed stream frame: CBOR semantic tags are not allowed"), the chunks before it arrive, and
the largest ints that fit still travel. Real axons and dendrites on 127.0.0.1, async and sync generators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from taonet.kernel import Axon, Dendrite, StreamingSynapse
from taonet.ledger import Keypair

pytestmark = pytest.mark.anyio

ALICE = Keypair.from_uri("//Alice")  # the validator
BOB = Keypair.from_uri("//Bob")  # the miner


class Tokens(StreamingSynapse):
    """A streamed answer: anything as chunks."""

    prompt: str = ""


def forward(chunks: list[Any], kind: str) -> Callable[..., Any]:
    """A streaming forward yielding ``chunks``: an async generator, or a sync one (pumped from a worker thread)."""
    if kind == "async":
        async def agen(synapse: Tokens) -> Any:
            for c in chunks:
                yield c
        return agen

    def gen(synapse: Tokens) -> Any:
        yield from chunks
    return gen


async def stream(chunks: list[Any], kind: str) -> tuple[list[Any], int | None, str]:
    """Stream ``chunks`` from Bob's axon to Alice: the chunks received, the final status and message."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(forward(chunks, kind), synapse=Tokens) as ax, \
            Dendrite(ALICE) as d:
        with anyio.fail_after(15):
            async with d.stream(ax, Tokens(prompt="go"), timeout=5) as s:
                got = [c async for c in s]
            return got, s.result.dendrite.status_code, s.result.dendrite.status_message or ""


@pytest.mark.parametrize("kind", ["async", "sync"])
@pytest.mark.parametrize(("bad", "why"), [
    (2**70, "holds an int of 71 bits (at most 64: -2**64 .. 2**64-1)"),
    ({1, 2}, "holds a set (send a list: sorted(...) if its order matters)"),
    ({"ids": [1, -(2**64) - 1]}, "holds an int of 65 bits"),
    (["a", frozenset()], "holds a frozenset"),
])
async def test_a_chunk_the_wire_cannot_carry_ends_the_stream_with_500_naming_it(bad: Any, why: str,
                                                                                kind: str) -> None:
    """Chunks 0 and 1 arrive; chunk 2 holds a bignum or a set: 500 "the forward's chunk 2 of Tokens holds ...,
    which the wire cannot carry", and nothing after it is sent."""
    got, status, message = await stream(["a", "b", bad, "never"], kind)
    assert status == 500, message
    assert message.startswith(f"the forward's chunk 2 of Tokens {why}"), message
    assert message.endswith("which the wire cannot carry"), message
    assert got == ["a", "b"]


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_chunks_of_64_bit_ints_still_stream(kind: str) -> None:
    """-2**64 and 2**64-1 (CBOR's own range) are streamed as they are."""
    got, status, message = await stream(["a", [-(2**64), 2**64 - 1], {"k": 2**64 - 1}], kind)
    assert status == 200, message
    assert got == ["a", [-(2**64), 2**64 - 1], {"k": 2**64 - 1}]
