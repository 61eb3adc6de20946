"""A message that would decode to far more memory than its size is refused before it is decoded, on both ends of
the wire: a miner's 1 MiB reply of empty lists (~64 MiB as Python objects) reaches a real Dendrite as a 500 with the
reason, and the caller's traced memory stays small; a caller's dense request gets 400 from a real axon, which keeps
serving (asyncio and trio)."""

from __future__ import annotations

import gc
import re
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import anyio
import pytest

from taonet.kernel import Axon, Dendrite, StreamingSynapse, Synapse
from taonet.ledger import Keypair

from .wire_helpers import ALICE

pytestmark = pytest.mark.anyio

MIB = 1 << 20
# one shared list: 8 MiB here, 1 MiB of 0x80 bytes on the wire (empty lists: as dense as empty maps, within 12%, and
# ~4 times cheaper for the sender to encode while tracemalloc traces every allocation of the process)
EMPTY_LISTS: list[Any] = [[]] * MIB
FLOATS: list[float] = [i / 3 for i in range(MIB // 8)]  # honest: 1.1 MiB of floats


class Items(Synapse):
    """A reply carrying a list of anything (dense: empty lists; the miner's own type check of a list[Any] copies only
    the list, so the test's traced memory is the caller's) or of floats (honest)."""

    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("empties", "floats")
    dense: bool = True
    empties: list[Any] | None = None
    floats: list[float] | None = None


def answer(synapse: Items) -> Items:
    if synapse.dense:
        return synapse.replace(empties=EMPTY_LISTS)
    return synapse.replace(floats=FLOATS)


class Upload(Synapse):
    """A request carrying a list of anything."""

    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("count",)
    empties: list[Any]
    count: int | None = None


def count(synapse: Upload) -> Upload:
    return synapse.replace(count=len(synapse.empties))


async def _traced(call: Any) -> tuple[Any, int]:
    """``await call()`` and the peak of memory allocated meanwhile (every thread of the process)."""
    gc.collect()
    tracemalloc.start()
    try:
        out = await call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, peak


async def test_a_dense_reply_is_a_failed_reply_and_costs_the_caller_little_memory() -> None:
    """A miner answers 1 MiB of empty lists: the dendrite refuses it before decoding (500, the status message names
    the refusal), its traced peak stays far under the ~64 MiB the decoded list would take; an honest 1 MiB reply
    of floats from the same axon is answered whole."""
    async with Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(answer) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(30):
            out, peak = await _traced(lambda: d(ax, Items(), timeout=20))
            assert out.dendrite.status_code == 500, out.dendrite
            message = out.dendrite.status_message or ""
            assert re.search(r"malformed reply body: message of \d{7} bytes refused", message), message
            assert out.empties is None
            assert peak < 24 * MIB, peak
            honest = await d(ax, Items(dense=False), timeout=20)
            assert honest.dendrite.status_code == 200, honest.dendrite
            assert honest.floats == FLOATS


async def test_an_axon_refuses_a_dense_request_with_400_and_keeps_serving() -> None:
    """A caller sends 1 MiB of empty lists in a request: the axon answers 400 (the body is refused before it is
    decoded, so the forward never runs) without building the list, then answers a small request of the same type."""
    async with Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(count) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(30):
            out, peak = await _traced(lambda: d(ax, Upload(empties=EMPTY_LISTS), timeout=20))
            assert out.dendrite.status_code == 400, out.dendrite
            assert "refused" in (out.dendrite.status_message or ""), out.dendrite
            assert "if Upload honestly carries that many small items (lists of pairs or records), raise its " \
                   "MAX_DENSITY above 16" in (out.dendrite.status_message or ""), out.dendrite
            assert out.count is None
            assert peak < 24 * MIB, peak
            small = await d(ax, Upload(empties=[{"a": 1}] * 100), timeout=20)
            assert small.dendrite.status_code == 200 and small.count == 100, small.dendrite


HALF_PAIRS: list[list[float]] = [[0.25, 0.75]] * (MIB // 16)  # honest, dense: ~21 bytes of objects per byte


class Pairs(Synapse):
    """A reply of compact pairs, with the type's density at the default or raised."""

    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("pairs",)
    pairs: list[list[float]] | None = None


class RoomyPairs(Pairs):
    """The same, declared dense: MAX_DENSITY 64."""

    MAX_DENSITY: ClassVar[int | None] = 64


def pairs(synapse: Pairs) -> Pairs:
    return synapse.replace(pairs=HALF_PAIRS)


def roomy_pairs(synapse: RoomyPairs) -> RoomyPairs:
    return synapse.replace(pairs=HALF_PAIRS)


async def test_a_synapse_type_may_allow_denser_messages_with_max_density_and_the_refusal_says_so() -> None:
    """448 KiB of [0.25, 0.75] pairs (half floats: ~21 bytes of Python objects per byte) are refused for a type at
    the default density and answered for one that declares MAX_DENSITY = 64 (which also lets the check take
    twice the steps a byte: three items in 7 bytes)."""
    async with Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(pairs).attach(roomy_pairs) as ax, \
            Dendrite(ALICE) as d:
        with anyio.fail_after(30):
            refused = await d(ax, Pairs(), timeout=20)
            assert refused.dendrite.status_code == 500 and "refused" in (refused.dendrite.status_message or "")
            # the refusal names the way out for such an honest type
            assert (refused.dendrite.status_message or "").endswith(
                "; if Pairs honestly carries that many small items (lists of pairs or records), raise its "
                "MAX_DENSITY above 16"), refused.dendrite
            roomy = await d(ax, RoomyPairs(), timeout=20)
            assert roomy.dendrite.status_code == 200, roomy.dendrite
            assert roomy.pairs == HALF_PAIRS


class PairStream(StreamingSynapse):
    """Streamed pairs: one chunk is a list of them."""

    CHUNK = list[list[float]]
    pairs: list[list[float]] | None = None

    def assemble(self, chunks: list[list[list[float]]]) -> PairStream:  # type: ignore[override]
        return self.replace(pairs=[p for chunk in chunks for p in chunk])


async def pair_stream(synapse: PairStream) -> AsyncIterator[list[list[float]]]:
    yield HALF_PAIRS


async def test_a_dense_stream_frame_fails_the_stream_and_names_max_density() -> None:
    """A stream whose frame holds 448 KiB of pairs (at the default density) ends as a failed reply (500) before any
    chunk is taken from it, and its message names the type's way out, as a plain reply's does."""
    async with Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(pair_stream) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(30):
            async with d.stream(ax, PairStream(), timeout=20) as stream:
                got = [chunk async for chunk in stream]
    assert got == []
    message = stream.result.dendrite.status_message or ""
    assert stream.result.dendrite.status_code == 500, stream.result.dendrite
    assert message.startswith("malformed stream frame: message of "), message
    assert message.endswith("; if PairStream honestly carries that many small items (lists of pairs or records), "
                            "raise its MAX_DENSITY above 16"), message
