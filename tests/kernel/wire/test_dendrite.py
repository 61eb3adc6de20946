"""The dendrite: one in one out, list in list out, in time; replies are verified; a bad axon costs only its slot."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import cbor2
import pynng
import pytest

from taonet.kernel import Axon, AxonInfo, Dendrite, DendriteConfig, Synapse
from taonet.kernel.wire._format import Request, body_hash, decode_frame, encode_reply, reply_signed_bytes
from taonet.kernel.wire._nng import NngContext

from .wire_helpers import ALICE, BOB, CAROL, EVE, Dummy, double

pytestmark = pytest.mark.anyio


async def fake_axon(make_reply: Callable[[Request], bytes], *, task_status: anyio.abc.TaskStatus[str]) -> None:
    """A Rep0 server that answers every request with ``make_reply(request)``."""
    with pynng.Rep0() as sock:
        listener = sock.listen("tcp://127.0.0.1:0")
        task_status.started(f"tcp://{listener.local_address}")
        ctx = NngContext(sock)
        try:
            while True:
                raw, _ = await ctx.recv()
                ctx.send(make_reply(decode_frame(raw, max_size=1 << 20)))
        finally:
            ctx.close()


def signed_reply(req: Request, *, signer=BOB, hotkey=BOB, status: int = 200, body: bytes | None = None,
                 nonce: int | None = None) -> bytes:
    body = cbor2.dumps({"output": 42}, canonical=True) if body is None else body
    h = body_hash(body)
    n = req.nonce if nonce is None else nonce
    sig = signer.sign(reply_signed_bytes(n, req.hotkey, hotkey.public_key, req.uuid, h, status))
    return encode_reply(req.name, hotkey=hotkey.public_key, status=status, message="Success", version=1,
                        body_hash=h, signature=sig, process_time_ns=1000, body=body)


def info_at(address: str, hotkey=BOB) -> AxonInfo:
    host, _, port = address[len("tcp://") :].rpartition(":")
    return AxonInfo(ip=host, port=int(port), hotkey=hotkey.ss58_address)


async def test_one_axon_in_one_synapse_out_with_terminal_info(axon: Axon, dendrite: Dendrite) -> None:
    """A single target gives a single synapse, with both ends' terminal info filled in."""
    r = await dendrite(axon.info(), Dummy(input=4), timeout=5)
    assert isinstance(r, Dummy)
    assert (r.input, r.output) == (4, 8)
    assert r.is_success and not r.is_failure
    assert r.dendrite.hotkey == ALICE.ss58_address
    assert r.dendrite.uuid == dendrite.uuid
    assert r.dendrite.nonce == r.axon.nonce
    assert r.axon.hotkey == BOB.ss58_address
    assert r.axon.status_code == 200
    assert r.axon.ip == "127.0.0.1" and r.axon.port == axon.info().port
    assert r.timeout == 5
    assert r.dendrite.process_time is not None and r.dendrite.process_time < 5
    assert len(r.axon.signature or b"") == 64


async def test_a_dead_axon_costs_only_its_own_slot(axon: Axon, dendrite: Dendrite) -> None:
    """Among live axons, one that nobody listens for is reported 503 (its connection refused) long before the
    timeout; others are 200."""
    with pynng.Rep0() as probe:
        dead = info_at(f"tcp://{probe.listen('tcp://127.0.0.1:0').local_address}", CAROL)
    t = anyio.current_time()
    results = await dendrite([axon, dead, axon], Dummy(input=1), timeout=10)
    assert anyio.current_time() - t < 5  # not the timeout: a refused connection fails the call at once
    assert [r.dendrite.status_code for r in results] == [200, 503, 200]
    assert "connection refused" in (results[1].dendrite.status_message or "")


async def test_a_slow_axon_costs_only_its_own_slot(dendrite: Dendrite) -> None:
    """A slow axon's answer is a 408 at the timeout; the fast one's answer is unaffected."""

    async def slow(synapse: Dummy) -> Dummy:
        await anyio.sleep(5)
        return synapse

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as fast, Axon(CAROL, "tcp://127.0.0.1:0").attach(
        slow
    ) as sluggish:
        t = anyio.current_time()
        a, b = await dendrite([fast, sluggish], Dummy(input=3), timeout=0.4)
        assert anyio.current_time() - t < 0.9
    assert (a.dendrite.status_code, a.output) == (200, 6)
    assert b.is_timeout


async def test_reply_signed_by_another_key_is_refused_as_401(dendrite: Dendrite) -> None:
    """A reply claiming the axon's hotkey but signed by Eve's is dropped: 401 and no output."""
    async with anyio.create_task_group() as tg:
        address = await tg.start(fake_axon, lambda req: signed_reply(req, signer=EVE))
        r = await dendrite(info_at(address), Dummy(input=1), timeout=2)
        tg.cancel_scope.cancel()
    assert r.failed_verification
    assert r.output is None


async def test_reply_from_another_hotkey_is_refused_as_401(dendrite: Dendrite) -> None:
    """A correctly signed reply from a different hotkey than the one addressed is dropped as 401."""
    async with anyio.create_task_group() as tg:
        address = await tg.start(fake_axon, lambda req: signed_reply(req, signer=EVE, hotkey=EVE))
        r = await dendrite(info_at(address), Dummy(input=1), timeout=2)
        tg.cancel_scope.cancel()
    assert r.dendrite.status_code == 401
    assert r.output is None


async def test_reply_to_another_request_is_refused_as_401(dendrite: Dendrite) -> None:
    """A validly signed reply for another nonce (a replayed old reply) is dropped as 401."""
    async with anyio.create_task_group() as tg:
        address = await tg.start(fake_axon, lambda req: signed_reply(req, nonce=req.nonce - 1))
        r = await dendrite(info_at(address), Dummy(input=1), timeout=2)
        tg.cancel_scope.cancel()
    assert r.failed_verification


async def test_garbage_reply_is_a_500_for_that_axon_only(dendrite: Dendrite) -> None:
    """A reply that is not a frame is reported as 500 (malformed reply)."""
    async with anyio.create_task_group() as tg:
        address = await tg.start(fake_axon, lambda req: b"\x00garbage")
        r = await dendrite(info_at(address), Dummy(input=1), timeout=2)
        tg.cancel_scope.cancel()
    assert r.dendrite.status_code == 500
    assert "malformed reply" in (r.dendrite.status_message or "")


async def test_reply_with_a_wrongly_typed_field_is_a_500(dendrite: Dendrite) -> None:
    """A signed reply whose output has the wrong type is refused (500), not handed to the validator."""
    body = cbor2.dumps({"output": "forty-two"}, canonical=True)
    async with anyio.create_task_group() as tg:
        address = await tg.start(fake_axon, lambda req: signed_reply(req, body=body))
        r = await dendrite(info_at(address), Dummy(input=1), timeout=2)
        tg.cancel_scope.cancel()
    assert r.dendrite.status_code == 500
    assert r.output is None


async def test_output_fields_protect_the_validators_inputs(dendrite: Dendrite) -> None:
    """With OUTPUT_FIELDS declared, a reply that rewrites an input is refused."""

    class Question(Synapse):
        OUTPUT_FIELDS = ("answer",)
        question: str
        answer: str | None = None

    body = cbor2.dumps({"answer": "4", "question": "2+2 (easy one)"}, canonical=True)
    async with anyio.create_task_group() as tg:
        address = await tg.start(fake_axon, lambda req: signed_reply(req, body=body))
        r = await dendrite(info_at(address), Question(question="2+2"), timeout=2)
        tg.cancel_scope.cancel()
    assert r.dendrite.status_code == 500
    assert r.question == "2+2"


async def test_deserialize_returns_what_the_synapse_deserializes_to(axon: Axon, dendrite: Dendrite) -> None:
    """deserialize=True gives each answer's deserialize() instead of the synapse."""

    class Doubled(Dummy):
        NAME = "Dummy"

        def deserialize(self) -> int | None:
            return self.output

    assert await dendrite([axon, axon], Doubled(input=5), timeout=5, deserialize=True) == [10, 10]


async def test_oversized_request_is_refused_locally_with_413(axon: Axon) -> None:
    """A request above the dendrite's limit is not sent; it comes back 413 at once."""
    async with Dendrite(ALICE, config=DendriteConfig(max_request_size=2048)) as d:
        r = await d(axon, Dummy(input=1 << 60), timeout=5)
        assert r.is_success
        big = await d(axon, _Blob(data=b"x" * 4096), timeout=5)
    assert big.dendrite.status_code == 413
    assert axon.counts[413] == 0


class _Blob(Synapse):
    data: bytes


async def test_an_axon_that_is_not_serving_is_503_at_once(dendrite: Dendrite) -> None:
    """An AxonInfo with no address (0.0.0.0) is not dialed: 503 immediately."""
    t = anyio.current_time()
    r = await dendrite(AxonInfo(ip="0.0.0.0", port=0, hotkey=BOB.ss58_address), Dummy(input=1), timeout=5)
    assert anyio.current_time() - t < 0.5
    assert r.dendrite.status_code == 503


async def test_a_stream_needs_a_dendrite_inside_async_with(axon: Axon) -> None:
    """A stream outlives the call that opens it, so a bare dendrite says how to open one."""
    with pytest.raises(RuntimeError, match="async with Dendrite"):
        Dendrite(ALICE).stream(axon, Dummy(input=1))


async def test_closing_a_dendrite_closes_its_sockets(axon: Axon) -> None:
    """After the async with, the pooled endpoint sockets are closed and the pool is empty."""
    async with Dendrite(ALICE) as d:
        await d(axon, Dummy(input=1), timeout=5)
        socks = [ep.sock for ep in d._endpoints.values()]
        assert len(socks) == 1
    assert not d._endpoints
    with pytest.raises(pynng.Closed):
        socks[0].send(b"x")


async def test_cancelling_a_call_from_outside_leaves_the_dendrite_usable(dendrite: Dendrite) -> None:
    """An enclosing cancel scope stops a pending call at once; the next call on the same dendrite works."""
    release = anyio.Event()

    async def held(synapse: Dummy) -> Dummy:
        if synapse.input == 0:
            await release.wait()
        return synapse.replace(output=synapse.input * 2)

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(held) as ax:
        t = anyio.current_time()
        with anyio.move_on_after(0.2) as scope:
            await dendrite(ax, Dummy(input=0), timeout=10)
        assert scope.cancelled_caught
        assert anyio.current_time() - t < 1.0
        release.set()
        assert (await dendrite(ax, Dummy(input=4), timeout=5)).output == 8


async def test_an_axon_stopping_mid_request_gives_the_caller_a_status_not_a_crash(dendrite: Dendrite) -> None:
    """A request in flight when its axon stops ends with an error status for that slot, within its timeout."""
    started = anyio.Event()

    async def slow(synapse: Dummy) -> Dummy:
        started.set()
        await anyio.sleep(10)
        return synapse

    results: list[Dummy] = []

    async def call(info: AxonInfo) -> None:
        results.append(await dendrite(info, Dummy(input=1), timeout=1.0))

    t = anyio.current_time()
    async with anyio.create_task_group() as outer, anyio.create_task_group() as axon_group:
        info = await axon_group.start(Axon(BOB, "tcp://127.0.0.1:0").attach(slow).serve)
        outer.start_soon(call, info)
        await started.wait()
        axon_group.cancel_scope.cancel()
    assert anyio.current_time() - t < 2.0
    assert results[0].dendrite.status_code in (408, 503)
    assert results[0].output is None


async def test_a_bare_dendrite_answers_like_the_sdks_and_keeps_no_socket(axon: Axon) -> None:
    """Without ``async with`` (as Bittensor code is written) calls, fan-outs and concurrent calls work; each call's
    sockets close when the last call in flight ends, so nothing is left open."""
    d = Dendrite(ALICE)
    one = await d(axon.info(), Dummy(input=2), timeout=5)
    assert one.is_success and one.output == 4
    assert await d([axon.info(), axon], Dummy(input=3), timeout=5, deserialize=True) == [
        r.deserialize() for r in await d.forward([axon, axon], Dummy(input=3), timeout=5)]
    assert not d._endpoints  # closed after each call
    results: list[int | None] = []

    async def ask(i: int) -> None:
        results.append((await d.call(axon, Dummy(input=i), timeout=5)).output)

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(ask, i)
    assert sorted(x for x in results if x is not None) == [2 * i for i in range(8)]
    assert not d._endpoints


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), None, "soon"])
async def test_a_timeout_that_is_no_duration_is_a_value_error_saying_so(axon: Axon, dendrite: Dendrite,
                                                                      timeout: object) -> None:
    """Zero, negative, nan, None or a word: one ValueError naming the timeout (None was a TypeError from float())."""
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        await dendrite(axon, Dummy(input=1), timeout=timeout)  # type: ignore[arg-type]
