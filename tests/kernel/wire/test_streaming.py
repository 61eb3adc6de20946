"""Streaming: chunks arrive in order as the miner yields them, and the stream ends with a status."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from taonet.kernel import Axon, AxonConfig, Dendrite, StreamingSynapse

from .wire_helpers import ALICE, BOB, EVE, wait_until

pytestmark = pytest.mark.anyio


class Prompt(StreamingSynapse):
    """Text prompting: the miner streams tokens; the validator keeps the completion."""

    CHUNK = str
    prompt: str
    completion: str = ""

    def assemble(self, chunks: list[str]) -> Prompt:  # type: ignore[override]
        return self.replace(completion="".join(chunks))


async def tokens(synapse: Prompt) -> AsyncIterator[str]:
    """Yield the prompt's words one by one (async generator)."""
    for word in synapse.prompt.split():
        await anyio.sleep(0.001)
        yield word + " "


def counting(synapse: Prompt) -> Iterator[str]:
    """Yield many small chunks from a worker thread (sync generator)."""
    for i in range(int(synapse.prompt)):
        yield str(i)


async def test_stream_delivers_chunks_in_order_and_ends_with_200() -> None:
    """An async generator's tokens arrive one by one, in order; the result is assembled with status 200."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(tokens) as ax, Dendrite(ALICE) as d:
        seen = []
        async with d.stream(ax, Prompt(prompt="the quick brown fox jumps"), timeout=5) as stream:
            async for chunk in stream:
                seen.append(chunk)
        assert seen == ["the ", "quick ", "brown ", "fox ", "jumps "]
        assert stream.result.is_success
        assert stream.result.completion == "the quick brown fox jumps "
        assert stream.result.axon.hotkey == BOB.ss58_address
        await wait_until(lambda: not ax._streams)


async def test_sync_generator_streams_many_chunks_in_order() -> None:
    """A sync generator runs in a worker thread; 2,000 chunks arrive complete and in order."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(counting) as ax, Dendrite(ALICE) as d:
        async with d.stream(ax, Prompt(prompt="2000"), timeout=10) as stream:
            got = [c async for c in stream]
        assert got == [str(i) for i in range(2000)]
        assert stream.result.dendrite.status_code == 200


async def test_stream_that_outlasts_its_timeout_ends_with_408() -> None:
    """A generator still yielding at the caller's deadline is stopped; the chunks so far arrive, then 408."""

    async def endless(synapse: Prompt) -> AsyncIterator[str]:
        i = 0
        while True:
            yield str(i)
            i += 1
            await anyio.sleep(0.02)

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(endless) as ax, Dendrite(ALICE) as d:
        t = anyio.current_time()
        async with d.stream(ax, Prompt(prompt=""), timeout=0.5) as stream:
            got = [c async for c in stream]
        assert anyio.current_time() - t < 1.0
        assert 3 < len(got) < 40
        assert got == [str(i) for i in range(len(got))]
        assert stream.result.is_timeout
        await wait_until(lambda: not ax._streams)


async def test_stream_whose_forward_raises_ends_with_500_after_its_chunks() -> None:
    """Chunks yielded before an exception arrive; the stream then ends with 500."""

    async def broken(synapse: Prompt) -> AsyncIterator[str]:
        yield "a"
        yield "b"
        raise RuntimeError("model crashed")

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(broken) as ax, Dendrite(ALICE) as d:
        async with d.stream(ax, Prompt(prompt=""), timeout=5) as stream:
            got = [c async for c in stream]
        assert stream.result.dendrite.status_code == 500
        assert got == ["a", "b"]


async def test_stream_is_checked_like_any_request() -> None:
    """A blacklisted caller's stream is refused with 403 and yields nothing."""

    def blacklist(synapse: Prompt) -> bool:
        return synapse.dendrite.hotkey == EVE.ss58_address

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(tokens, blacklist=blacklist) as ax, Dendrite(EVE) as d:
        async with d.stream(ax, Prompt(prompt="a b"), timeout=5) as stream:
            got = [c async for c in stream]
        assert got == []
        assert stream.result.is_blacklist


async def test_chunks_of_the_wrong_type_end_the_stream_with_500() -> None:
    """A chunk that is not a CHUNK (an int for str) is refused by the validator's side."""

    async def ints(synapse: Prompt) -> AsyncIterator[int]:
        yield 1

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(ints) as ax, Dendrite(ALICE) as d:
        async with d.stream(ax, Prompt(prompt=""), timeout=5) as stream:
            got = [c async for c in stream]
        assert got == []
        assert stream.result.dendrite.status_code == 500
        assert "malformed chunk" in (stream.result.dendrite.status_message or "")


async def test_leaving_a_stream_early_frees_it_on_the_axon() -> None:
    """A caller that stops reading cancels the stream; the axon drops it and frees its slot."""

    async def endless(synapse: Prompt) -> AsyncIterator[str]:
        while True:
            yield "x"
            await anyio.sleep(0.001)

    config = AxonConfig(max_concurrency=1)
    async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(endless) as ax, Dendrite(ALICE) as d:
        async with d.stream(ax, Prompt(prompt=""), timeout=30) as stream:
            async for _ in stream:
                break
        await wait_until(lambda: not ax._streams and ax._gate.free == 1)
        assert stream.result.dendrite.status_code == 200
        t = time.monotonic()
        async with d.stream(ax, Prompt(prompt=""), timeout=30) as again:
            async for _ in again:
                break
        assert time.monotonic() - t < 10  # at once, not after the 30 s timeout; a wide margin for a loaded machine


async def test_a_forward_whose_clean_up_hangs_frees_its_slot_after_the_grace() -> None:
    """A stream generator whose ``finally`` never ends (a clean-up awaiting a gone service) holds its slot at most
    CLOSE_GRACE past the stream's end: a later stream is served (the clean-up ran shielded with no bound, so with
    one slot the axon served nobody again)."""
    from taonet.kernel.wire._stream import CLOSE_GRACE

    cleaned: list[str] = []

    async def stuck_clean_up(synapse: Prompt) -> AsyncIterator[str]:
        try:
            while True:
                yield "x"  # as fast as the buffer takes them: it waits here once the caller stops pulling
        finally:
            cleaned.append("started")
            await anyio.sleep_forever()

    config = AxonConfig(max_concurrency=1)
    async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(stuck_clean_up) as ax, Dendrite(ALICE) as d:
        async with d.stream(ax, Prompt(prompt=""), timeout=30) as stream:
            async for _ in stream:
                break  # the caller leaves: the stream is cut while its generator waits at a yield
        await wait_until(lambda: ax._gate.free == 1, timeout=CLOSE_GRACE + 10)
        assert cleaned == ["started"]
        async with d.stream(ax, Prompt(prompt=""), timeout=30) as again:
            async for chunk in again:
                assert chunk == "x"
                break
