"""A dict whose keys are not text (or a complex number anywhere) is refused by the sender, naming the field and the
key or value: the dendrite sent ``meta={1: "a"}`` and the axon answered 400 "body: not well-formed CBOR: ... map key
must be a text string"; a forward's such answer reached the caller as "expected dict[str, int] | None, got dict"; a
complex travelled (cbor2's tag 43000, which every peer now refuses). Real axons and dendrites on 127.0.0.1."""

from __future__ import annotations

import enum
from typing import Any

import anyio
import pytest

from taonet.kernel import Axon, Dendrite, Synapse

from .wire_helpers import ALICE, BOB

pytestmark = pytest.mark.anyio


class Meta(Synapse):
    """Sends ``meta``; the miner answers ``out``."""

    meta: dict[str, Any] = {}
    out: dict[str, int] | None = None


class Colour(enum.StrEnum):
    """A text key of the caller's own type (a str subclass travels as text)."""

    RED = "red"


def answer(value: Any) -> Any:
    async def forward(synapse: Meta) -> Meta:
        return synapse.replace(out=value)

    return forward


BAD = [
    ({1: "a"}, "meta holds a map key 1 of type int (map keys must be text"),
    ({"ok": {(1, 2): 3}}, "meta holds a map key (1, 2) of type tuple (map keys must be text"),
    ({"ok": [{2.5: 1}]}, "meta holds a map key 2.5 of type float (map keys must be text"),
    ({"z": 1j}, "meta holds a complex (CBOR tags it"),
    ({"z": [1, 2, complex(0, 3)]}, "meta holds a complex (CBOR tags it"),
]


@pytest.mark.parametrize(("value", "why"), BAD)
async def test_the_dendrite_refuses_a_non_text_key_or_a_complex_before_sending(value: Any, why: str) -> None:
    """TypeError naming the field and the key (or the complex), and nothing reaches the axon."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(answer(None)) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(10), pytest.raises(TypeError) as caught:
            await d(ax, Meta(meta=value), timeout=5)
        assert why in str(caught.value)
        assert Meta(meta=value).unsendable() is not None
        assert not ax.counts


@pytest.mark.parametrize(("value", "why"), [
    ({1: 2}, "Meta.out holding a map key 1 of type int (map keys must be text"),
    ({"a": 1j}, "Meta.out holding a complex"),
])
async def test_the_axon_answers_500_naming_the_field_and_the_key(value: Any, why: str) -> None:
    """A forward answering ``out={1: 2}``: the caller gets 500 saying which field holds which key (it got a 500
    "expected dict[str, int] | None, got dict" that named neither)."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(answer(value)) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(10):
            got = await d(ax, Meta(meta={"x": 1}), timeout=5)
    assert got.dendrite.status_code == 500, got.dendrite
    assert why in (got.dendrite.status_message or ""), got.dendrite
    assert got.out is None


async def test_text_and_bytes_keys_still_travel_both_ways() -> None:
    """str keys (a StrEnum's too) and bytes keys are sent and answered as before."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(answer({"red": 1, "b": 2})) as ax, Dendrite(ALICE) as d:
        with anyio.fail_after(10):
            got = await d(ax, Meta(meta={"a": {b"k": [1.5]}, Colour.RED: None}), timeout=5)
    assert got.dendrite.status_code == 200, got.dendrite
    assert got.out == {"red": 1, "b": 2}
