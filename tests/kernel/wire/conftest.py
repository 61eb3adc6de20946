"""Fixtures for the wire tests: a running axon that doubles integers, and a dendrite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from taonet.kernel import Axon, Dendrite

from .wire_helpers import ALICE, BOB, double


@pytest.fixture
async def axon() -> AsyncIterator[Axon]:
    """Bob's axon on an ephemeral loopback port, doubling integers."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as ax:
        yield ax


@pytest.fixture
async def dendrite() -> AsyncIterator[Dendrite]:
    """Alice's dendrite."""
    async with Dendrite(ALICE) as d:
        yield d
