"""Fuzzing a live axon with random bytes and mutated requests: it never dies and never says 200 to garbage."""

from __future__ import annotations

import random

import pytest

from taonet.kernel import Axon
from taonet.kernel.errors import BadRequest
from taonet.kernel.wire._format import decode_frame
from taonet.ledger.errors import MessageTooLarge

from .test_axon_rejections import still_serves
from .wire_helpers import Dummy, RawClient, request

pytestmark = pytest.mark.anyio

RANDOM_FRAMES = 2000
MUTATED_FRAMES = 2000


def _signed_content(frame: bytes) -> tuple | None:
    """What the signature and body hash pin down, or None if the frame does not decode."""
    try:
        r = decode_frame(frame, max_size=1 << 22)
    except (BadRequest, MessageTooLarge):
        return None
    return (r.name, r.nonce, r.hotkey, r.axon, r.uuid, r.body_hash, r.signature, r.body)


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        i = rng.randrange(len(data)) if data else 0
        if op == 0 and data:
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            data.insert(i, rng.randrange(256))
        elif op == 2 and data:
            del data[i]
        elif op == 3:
            del data[rng.randrange(len(data) + 1) :]
        else:
            j = rng.randrange(len(data) + 1)
            data[i:i] = data[j : j + rng.randint(1, 16)]
    return bytes(data)


async def test_random_bytes_never_get_200_and_the_axon_survives(axon: Axon) -> None:
    """Seeded random byte strings all get an error status, and a good request still succeeds after them."""
    rng = random.Random(20261121)
    async with RawClient(axon.address) as c:
        for _ in range(RANDOM_FRAMES):
            frame = rng.randbytes(rng.choice([0, 1, 2, 8, 40, 200, 700]))
            reply = await c.reply(frame)
            assert reply.status in (400, 404, 413), (frame, reply)
    await still_serves(axon)


async def test_mutated_requests_never_get_200_unless_the_signed_content_is_intact(axon: Axon) -> None:
    """Mutations of fresh valid requests are refused, except those that leave every signed byte as it was."""
    rng = random.Random(1121)
    accepted_intact = 0
    async with RawClient(axon.address) as c:
        for i in range(MUTATED_FRAMES):
            original = request(Dummy(input=i))
            mutated = _mutate(rng, original)
            reply = await c.reply(mutated)
            if reply.status == 200:
                # only an unsigned header (timeout, version) may have changed
                assert _signed_content(mutated) == _signed_content(original), mutated
                accepted_intact += 1
    assert accepted_intact < MUTATED_FRAMES // 10
    assert axon.counts[200] == accepted_intact
    await still_serves(axon)
