"""Every way an axon refuses a request gives its status code, the reply is signed, and the axon keeps serving."""

from __future__ import annotations

import time

import anyio
import cbor2
import pytest

from taonet.kernel import Axon, AxonConfig, Dendrite, Synapse
from taonet.kernel.wire._format import body_hash, reply_signed_bytes

from .wire_helpers import ALICE, BOB, CAROL, EVE, Dummy, RawClient, double, request

pytestmark = pytest.mark.anyio


async def still_serves(axon: Axon) -> None:
    """A good request right after a rejection is answered 200 (the axon did not die or jam)."""
    async with Dendrite(ALICE) as d:
        r = await d(axon, Dummy(input=5), timeout=5)
    assert r.is_success, r.dendrite
    assert r.output == 10


async def still_pings(axon: Axon) -> None:
    """The axon still answers the built-in ping (for axons whose only forward misbehaves)."""
    async with Dendrite(ALICE) as d:
        assert (await d(axon, Synapse(), timeout=5)).is_success


async def status_of(axon: Axon, frame: bytes) -> int:
    async with RawClient(axon.address) as c:
        reply = await c.reply(frame)
    return reply.status


async def test_good_request_is_answered_200_and_signed_by_the_axon(axon: Axon) -> None:
    """A well-formed request gets 200, its output, and a reply signature by the axon's hotkey."""
    async with RawClient(axon.address) as c:
        frame = request(Dummy(input=21), nonce=(nonce := time.time_ns()), uuid="u-1")
        reply = await c.reply(frame)
    assert reply.status == 200
    assert reply.hotkey == BOB.public_key
    signed = reply_signed_bytes(nonce, ALICE.public_key, BOB.public_key, "u-1", body_hash(reply.body), 200)
    assert BOB.verify(signed, reply.signature)


async def test_forged_signature_gets_401(axon: Axon) -> None:
    """Random signature bytes are refused with 401."""
    forged = request(Dummy(input=1), signature=bytes(range(64)))
    assert await status_of(axon, forged) == 401
    await still_serves(axon)


async def test_signature_by_another_key_gets_401(axon: Axon) -> None:
    """A request claiming Alice's hotkey but signed by Eve's is refused with 401."""
    assert await status_of(axon, request(Dummy(input=1), signer=EVE)) == 401
    await still_serves(axon)


async def test_request_aimed_at_another_axon_gets_401(axon: Axon) -> None:
    """A request signed for Carol's axon, delivered to Bob's, is refused with 401."""
    assert await status_of(axon, request(Dummy(input=1), axon=CAROL)) == 401
    await still_serves(axon)


async def test_replayed_nonce_gets_401(axon: Axon) -> None:
    """The same signed request sent twice is answered once; the copy gets 401."""
    frame = request(Dummy(input=1))
    assert await status_of(axon, frame) == 200
    assert await status_of(axon, frame) == 401
    await still_serves(axon)


async def test_stale_nonce_gets_401(axon: Axon) -> None:
    """A nonce older than 10 s plus the request's timeout is refused with 401."""
    old = time.time_ns() - 16 * 10**9  # timeout 5 s: the window is 15 s
    assert await status_of(axon, request(Dummy(input=1), nonce=old, timeout_ms=5000)) == 401
    await still_serves(axon)


async def test_nonce_from_the_future_gets_401(axon: Axon) -> None:
    """A nonce more than 2 s ahead of the axon's clock is refused with 401."""
    assert await status_of(axon, request(Dummy(input=1), nonce=time.time_ns() + 3 * 10**9)) == 401
    await still_serves(axon)


async def test_inflated_timeout_does_not_widen_the_nonce_window_past_the_axon_cap() -> None:
    """An unsigned timeout header cannot stretch the window past max_timeout (so replays stay remembered)."""
    async with Axon(BOB, "tcp://127.0.0.1:0", config=AxonConfig(max_timeout=5.0)).attach(double) as ax:
        old = time.time_ns() - 20 * 10**9
        assert await status_of(ax, request(Dummy(input=1), nonce=old, timeout_ms=3_600_000)) == 401


async def test_tampered_body_gets_401(axon: Axon) -> None:
    """A body changed after signing (the signed hash is of the original) is refused with 401."""
    frame = request(Dummy(input=1), body=cbor2.dumps({"input": 999, "output": None}, canonical=True))
    assert await status_of(axon, frame) == 401
    await still_serves(axon)


async def test_oversized_request_gets_413() -> None:
    """A request above max_request_size is refused with 413 before it is parsed."""
    async with Axon(BOB, "tcp://127.0.0.1:0", config=AxonConfig(max_request_size=2048)).attach(double) as ax:
        frame = request(Dummy(input=1), body=b"\xa1\x65input\x01" + b"\x00" * 4096)
        assert await status_of(ax, frame) == 413
        await still_serves(ax)


async def test_malformed_cbor_gets_400(axon: Axon) -> None:
    """Bytes that are not CBOR are refused with 400."""
    assert await status_of(axon, b"\xff\xfe not cbor at all") == 400
    await still_serves(axon)


async def test_wrong_field_type_gets_400(axon: Axon) -> None:
    """A body whose field has the wrong type (a str for an int) is refused with 400."""
    body = cbor2.dumps({"input": "seven"}, canonical=True)
    assert await status_of(axon, request(Dummy(input=1), body=body, signed_body=body)) == 400
    await still_serves(axon)


async def test_unknown_synapse_gets_404(axon: Axon) -> None:
    """A synapse name nothing is attached for is refused with 404."""
    assert await status_of(axon, request(Dummy(input=1), name="NoSuchSynapse")) == 404
    await still_serves(axon)


async def test_blacklisted_caller_gets_403() -> None:
    """A caller the blacklist refuses gets 403 with the blacklist's reason; others are served."""

    def blacklist(synapse: Dummy) -> tuple[bool, str]:
        return synapse.dendrite.hotkey == EVE.ss58_address, "not registered"

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double, blacklist=blacklist) as ax:
        async with Dendrite(EVE) as d:
            r = await d(ax, Dummy(input=1), timeout=5)
        assert r.dendrite.status_code == 403
        assert r.is_blacklist
        assert "not registered" in (r.dendrite.status_message or "")
        await still_serves(ax)


async def test_forward_that_raises_gets_500() -> None:
    """A forward raising an exception gives 500 (its text stays in the axon's log)."""

    async def broken(synapse: Dummy) -> Dummy:
        raise ValueError("secret detail")

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(broken) as ax, Dendrite(ALICE) as d:
        r = await d(ax, Dummy(input=1), timeout=5)
        assert r.dendrite.status_code == 500
        assert "ValueError" in (r.dendrite.status_message or "")
        assert "secret detail" not in (r.dendrite.status_message or "")
        assert r.output is None
        await still_pings(ax)


async def test_forward_returning_the_wrong_type_gets_500() -> None:
    """A forward that returns something other than its synapse gives 500."""

    def lazy(synapse: Dummy) -> Dummy:
        return None  # type: ignore[return-value]

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(lazy) as ax, Dendrite(ALICE) as d:
        r = await d(ax, Dummy(input=1), timeout=5)
        assert r.dendrite.status_code == 500
        assert "return synapse.replace" in (r.dendrite.status_message or "")
        await still_pings(ax)


async def test_forward_slower_than_the_timeout_gets_408() -> None:
    """A forward outlasting the caller's timeout gives 408, no later than the timeout."""

    async def slow(synapse: Dummy) -> Dummy:
        if synapse.input == 1:
            await anyio.sleep(10)
        return synapse.replace(output=synapse.input * 2)

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(slow) as ax, Dendrite(ALICE) as d:
        t = anyio.current_time()
        r = await d(ax, Dummy(input=1), timeout=0.5)
        assert anyio.current_time() - t < 2.0  # the timeout plus a generous margin for a loaded machine
        assert r.is_timeout
        with anyio.fail_after(5):  # the axon answers 408 itself (its reply may trail the caller's own deadline)
            while ax.counts[408] != 1:
                await anyio.sleep(0.01)
        await still_serves(ax)


async def test_sync_forward_slower_than_the_timeout_gets_408() -> None:
    """A blocking forward (run in a worker thread) that overruns also gives 408 in time."""

    def slow(synapse: Dummy) -> Dummy:
        if synapse.input == 1:
            time.sleep(1.0)
        return synapse.replace(output=synapse.input * 2)

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(slow) as ax, Dendrite(ALICE) as d:
        t = anyio.current_time()
        r = await d(ax, Dummy(input=1), timeout=0.3)
        assert anyio.current_time() - t < 0.8
        assert r.is_timeout
        await still_serves(ax)


async def test_full_queue_gets_503() -> None:
    """With every slot busy and the queue full, the next request is refused at once with 503."""
    release = anyio.Event()

    async def held(synapse: Dummy) -> Dummy:
        if synapse.input < 5:
            await release.wait()
        return synapse.replace(output=synapse.input * 2)

    config = AxonConfig(max_concurrency=1, max_queue=1)
    async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(held) as ax, Dendrite(ALICE) as d:
        results: dict[int, Dummy] = {}

        async def call(i: int) -> None:
            results[i] = await d(ax, Dummy(input=i), timeout=5)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call, 1)
            with anyio.fail_after(5):
                while ax._gate.free:  # the first request holds the slot
                    await anyio.sleep(0.005)
            tg.start_soon(call, 2)
            with anyio.fail_after(5):
                while not ax._gate.waiting:  # the second waits in the queue
                    await anyio.sleep(0.005)
            t = anyio.current_time()
            third = await d(ax, Dummy(input=3), timeout=5)
            assert anyio.current_time() - t < 1.0
            release.set()
        assert third.dendrite.status_code == 503
        assert (results[1].output, results[2].output) == (2, 4)
        await still_serves(ax)


async def test_verify_hook_refusal_gets_401() -> None:
    """An axon's own verify hook raising refuses the request with 401."""

    async def verify(synapse: Dummy) -> None:
        if synapse.input < 0:
            raise PermissionError("negative inputs are not verified")

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double, verify=verify) as ax, Dendrite(ALICE) as d:
        r = await d(ax, Dummy(input=-1), timeout=5)
        assert r.failed_verification
        assert (await d(ax, Dummy(input=2), timeout=5)).output == 4


async def test_ping_synapse_is_attached_by_default(axon: Axon) -> None:
    """The base Synapse is answered 200 without attaching anything (a liveness check)."""
    async with Dendrite(ALICE) as d:
        r = await d(axon, Synapse(), timeout=5)
    assert r.is_success


async def test_narrowed_body_hash_protects_only_the_declared_fields() -> None:
    """With HASH_FIELDS, changing a hashed field after signing is 401; an unhashed one is let through."""

    class Narrow(Synapse):
        HASH_FIELDS = ("question",)
        question: str
        hint: str = ""
        answer: str | None = None

    async def answer(synapse: Narrow) -> Narrow:
        return synapse.replace(answer=synapse.question + synapse.hint)

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(answer, synapse=Narrow) as ax:
        signed = cbor2.dumps({"question": "q"}, canonical=True)
        hint_changed = cbor2.dumps({"question": "q", "hint": "!", "answer": None}, canonical=True)
        question_changed = cbor2.dumps({"question": "Q", "hint": "", "answer": None}, canonical=True)
        original = Narrow(question="q")
        assert await status_of(ax, request(original, body=hint_changed, signed_body=signed)) == 200
        assert await status_of(ax, request(original, body=question_changed, signed_body=signed)) == 401
