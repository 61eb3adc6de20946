"""A chunk that is not the stream's ``CHUNK`` ends the stream after every good chunk before it: a float stream whose
miner yielded 1.0, 2.0, then "x" gave the caller 500 "malformed chunk" with only [1.0] (the frame holding 2.0 and
"x" was dropped whole). Real axons and dendrites on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

from taonet.kernel import Axon, Dendrite, StreamingSynapse

from .wire_helpers import ALICE, BOB

pytestmark = pytest.mark.anyio


class Floats(StreamingSynapse):
    """The miner streams floats; the validator keeps their sum."""

    CHUNK = float
    n: int = 3
    total: float = 0.0

    def assemble(self, chunks: Any) -> Floats:  # type: ignore[override]
        return self.replace(total=sum(chunks))


async def async_then_bad(synapse: Floats) -> AsyncIterator[Any]:
    """n good floats, then a str, all at once (they share frames)."""
    for i in range(synapse.n):
        yield float(i + 1)
    yield "x"


def sync_then_bad(synapse: Floats) -> Iterator[Any]:
    """The same from a worker thread."""
    for i in range(synapse.n):
        yield float(i + 1)
    yield "x"
    yield 99.0  # after the bad chunk: never reaches the caller


@pytest.mark.parametrize("forward", [async_then_bad, sync_then_bad])
@pytest.mark.parametrize("n", [2, 3, 300])
async def test_every_good_chunk_before_a_bad_one_reaches_the_caller_then_500(forward: Any, n: int) -> None:
    """1.0 .. n arrive (iterated and assembled), then the stream ends with 500 naming the bad chunk's index; 300
    good chunks span more than one frame (at most 256 each)."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(forward) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(10):
            async with d.stream(ax, Floats(n=n), timeout=5) as stream:
                got = [c async for c in stream]
    want = [float(i + 1) for i in range(n)]
    assert got == want
    assert stream.chunks == want
    result = stream.result
    assert result.dendrite.status_code == 500, result.dendrite
    assert f"malformed chunk {n}: expected float, got str" in (result.dendrite.status_message or ""), result.dendrite
    assert result.total == sum(want)
