"""A timeout past the dendrite's bound is refused saying the bound (it said "must be a positive number of seconds,
got 1000000000.0", which it is); real axon and dendrite on 127.0.0.1."""

from __future__ import annotations

import pytest

from taonet.kernel import Axon, Dendrite

from .wire_helpers import ALICE, BOB, Dummy, double

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("timeout", [1e9, 1e6, float("inf")])
async def test_a_timeout_past_the_bound_is_refused_naming_the_bound(axon: Axon, dendrite: Dendrite,
                                                                    timeout: float) -> None:
    """1e9, 1e6 and inf seconds: ValueError saying timeouts are under 1e6 seconds, and which was given; the sync
    query says the same."""
    with pytest.raises(ValueError, match=r"under 1e6 \(about 11 days\), got "):
        await dendrite(axon, Dummy(input=1), timeout=timeout)


def test_the_blocking_query_says_the_bound_too() -> None:
    """Dendrite.query(..., timeout=1e9) from synchronous code: the same ValueError."""
    axon = Axon(BOB, port=0, ip="127.0.0.1").attach(double).start()
    try:
        with pytest.raises(ValueError, match=r"under 1e6 \(about 11 days\), got 1000000000.0"):
            Dendrite(ALICE).query(axon, Dummy(input=1), timeout=1e9)
    finally:
        axon.stop()
