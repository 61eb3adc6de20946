"""A refusal's typed details on the wire: a blacklist's ``retry_after`` travels in the signed body of the 403 reply
(milliseconds, canonical CBOR), reaches the caller as ``synapse.dendrite.retry_after`` whatever the refusal's words,
and is None (unknown) when the axon said nothing, as an axon older than the field does."""

from __future__ import annotations

import math

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.kernel import Axon, Dendrite
from taonet.kernel.wire._format import (
    EMPTY_BODY,
    body_hash,
    encode_error_details,
    error_retry_after,
    reply_signed_bytes,
)
from taonet.ledger import verify

from .wire_helpers import ALICE, BOB, Dummy, RawClient, double, request

pytestmark = pytest.mark.anyio


async def test_a_blacklist_s_retry_after_reaches_the_caller_typed() -> None:
    """(True, words, 1.5) from the blacklist: the caller's 403 carries retry_after 1.5 (on both terminals) while the
    message holds only the words; (True, words) carries None."""
    waits: list[float | None] = [1.5, None]

    def refuse(synapse: Dummy) -> tuple[bool, str] | tuple[bool, str, float]:
        wait = waits.pop(0)
        return (True, "come back later") if wait is None else (True, "come back later", wait)

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double, blacklist=refuse) as ax, Dendrite(ALICE) as d:
        said = await d(ax, Dummy(input=1), timeout=5)
        silent = await d(ax, Dummy(input=2), timeout=5)
    assert said.dendrite.status_code == 403 and said.dendrite.status_message == "blacklisted: come back later"
    assert said.dendrite.retry_after == 1.5 and said.axon.retry_after == 1.5
    assert silent.dendrite.status_code == 403 and silent.dendrite.retry_after is None


async def test_the_retry_after_rides_in_the_signed_body_of_the_reply() -> None:
    """On the wire: the 403's body is the canonical map {"retry_after": ms}, its hash is the reply's body_hash and the
    axon's signature covers it (so nobody between can change the wait); the headers are the usual ones."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double, blacklist=lambda s: (True, "no", 0.25)) as ax:
        frame = request(Dummy(input=1))
        async with RawClient(ax.address) as c:
            reply = await c.reply(frame)
    assert reply.status == 403 and reply.body == cbor2.dumps({"retry_after": 250}, canonical=True)
    assert reply.body_hash == body_hash(reply.body)
    headers = cbor2.loads(frame)["headers"]
    signed = reply_signed_bytes(headers["nonce"], ALICE.public_key, BOB.public_key, headers["uuid"], reply.body_hash,
                                403)
    assert verify(BOB.public_key, signed, reply.signature)


@pytest.mark.parametrize("body", [EMPTY_BODY, b"\xff", cbor2.dumps([1]), cbor2.dumps({"retry_after": -1}),
                                  cbor2.dumps({"retry_after": "soon"}), cbor2.dumps({"later": 5})])
def test_an_error_body_without_a_usable_retry_after_means_unknown(body: bytes) -> None:
    """An older axon's empty body, a damaged one, or one whose field is absent or not a count of ms: None."""
    assert error_retry_after(body) is None


@given(st.floats(min_value=0, max_value=4e6, allow_nan=False))
def test_retry_after_round_trips_to_the_next_millisecond(seconds: float) -> None:
    """Property: a wait encoded and decoded comes back as whole milliseconds, never sooner and less than 1 ms later."""
    got = error_retry_after(encode_error_details(retry_after=seconds))
    assert got is not None and got == math.ceil(seconds * 1000) / 1000
    assert seconds <= got + 1e-9 and got - seconds < 0.001 + 1e-9
