"""The built-in ping (the base ``Synapse``, no blacklist) answers anyone but spends no place in the nonce memory: a
ping is idempotent, so a replayed one is harmless, and strangers' pings cannot fill the memory (then every new
caller would get 503). Its signature and freshness are still checked."""

from __future__ import annotations

import time

import pytest

from taonet.kernel import Axon, Dendrite, Synapse

from .wire_helpers import ALICE, BOB, EVE, Dummy, RawClient, double, request

pytestmark = pytest.mark.anyio


async def test_pings_do_not_grow_the_nonce_memory() -> None:
    """200 pings from a dendrite and 50 raw ones from a stranger all get 200 and leave the nonce memory empty
    (before: 250 entries); one forward request still takes its place."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as ax, Dendrite(ALICE) as d:
        for _ in range(200):
            assert (await d(ax, Synapse(), timeout=5)).is_success
        async with RawClient(ax.address) as c:
            for _ in range(50):
                assert (await c.reply(request(Synapse(), caller=EVE))).status == 200
        assert ax._nonces is not None and len(ax._nonces) == 0
        assert (await d(ax, Dummy(input=2), timeout=5)).output == 4
        assert len(ax._nonces) == 1


async def test_a_ping_keeps_its_signature_and_freshness_checks() -> None:
    """A replayed ping is answered again (harmless); a ping with a bad signature gets 401, a stale one 401."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as ax, RawClient(ax.address) as c:
        frame = request(Synapse(), caller=EVE)
        assert (await c.reply(frame)).status == 200
        assert (await c.reply(frame)).status == 200
        forged = await c.reply(request(Synapse(), caller=EVE, signer=ALICE))
        assert forged.status == 401 and "signature" in forged.message.lower()
        stale = await c.reply(request(Synapse(), caller=EVE, nonce=time.time_ns() - 3600 * 10**9))
        assert stale.status == 401
