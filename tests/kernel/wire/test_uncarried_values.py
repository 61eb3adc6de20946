"""Values the wire cannot carry (CBOR's tags: ints over 64 bits, sets) are refused where they are made, as an
``object()`` is: by the dendrite before sending (TypeError naming the field; the axon answered 400 "CBOR semantic
tags are not allowed"), and by the axon's answer check (500 naming the field; the caller got "malformed reply
body"). Real axons and dendrites on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import anyio
import numpy as np
import pytest

from taonet.kernel import Axon, Dendrite, Synapse

from .wire_helpers import ALICE, BOB

pytestmark = pytest.mark.anyio


class Anything(Synapse):
    """Sends ``x``; the miner answers ``y``."""

    x: Any = None
    y: Any = None


def answer(value: Any) -> Any:
    async def forward(synapse: Anything) -> Anything:
        return synapse.replace(y=value)

    return forward


@pytest.mark.parametrize(("value", "why"), [
    (2**200, "x holds an int of 201 bits"), (-(2**64) - 1, "x holds an int of 65 bits"),
    ({1, 2}, "x holds a set"), ([1, {"k": frozenset()}], "x holds a frozenset"),
])
async def test_the_dendrite_refuses_a_value_the_wire_cannot_carry_before_sending(value: Any, why: str) -> None:
    """A bignum or a set anywhere in a field: TypeError naming the field and what to send, and nothing reaches the
    axon."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(answer(1)) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(10), pytest.raises(TypeError, match=f"{why}.*a synapse carries plain values"):
            await d(ax, Anything(x=value), timeout=5)
        assert not ax.counts


@pytest.mark.parametrize(("value", "why"), [
    (2**70, "holding an int of 71 bits"), ({3}, "holding a set"), ({"k": [2**64]}, "holding an int of 65 bits"),
    ({"sorted": [1, 2], "checksum": np.int64(3)}, "holding a numpy.int64 (send a plain value: .item()"),
    ([np.arange(2)], "holding a numpy.ndarray (send a plain value: .item() for a numpy number, .tolist()"),
])
async def test_the_axon_answers_500_naming_the_field_for_an_answer_the_wire_cannot_carry(value: Any,
                                                                                         why: str) -> None:
    """A forward answering y=2**70 (or a set): the caller gets 500 saying which field holds what (it got 500
    "malformed reply body"), and the largest ints that fit still travel."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(answer(value)) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(10):
            got = await d(ax, Anything(x=1), timeout=5)
    assert got.dendrite.status_code == 500, got.dendrite
    assert f"Anything.y {why}" in (got.dendrite.status_message or ""), got.dendrite
    assert got.y is None


async def test_ints_of_64_bits_travel_both_ways() -> None:
    """-2**64 and 2**64-1 (CBOR's own range) are sent and answered."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(answer([-(2**64), 2**64 - 1])) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(10):
            got = await d(ax, Anything(x=[-(2**64), 2**64 - 1]), timeout=5)
    assert got.dendrite.status_code == 200, got.dendrite
    assert got.y == [-(2**64), 2**64 - 1]
