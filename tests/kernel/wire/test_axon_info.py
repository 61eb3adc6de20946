"""AxonInfo: what the chain records for an axon, and the address a dendrite dials."""

from __future__ import annotations

import pytest

from taonet.kernel import Axon, AxonInfo
from taonet.ledger import AxonEndpoint, Neuron

from .wire_helpers import ALICE, BOB

pytestmark = pytest.mark.anyio


def test_axon_info_from_a_chain_neuron_carries_its_endpoint_and_keys() -> None:
    """A neuron's served endpoint and keys become an AxonInfo with SS58 addresses."""
    n = Neuron(uid=3, hotkey=BOB.public_key, coldkey=ALICE.public_key, registered_at=1, last_update=1,
               axon=AxonEndpoint(ip="10.0.0.7", port=8091, protocol=4, version=7, block=5))
    info = AxonInfo.from_neuron(n)
    assert (info.ip, info.port, info.protocol, info.version) == ("10.0.0.7", 8091, 4, 7)
    assert (info.hotkey, info.coldkey) == (BOB.ss58_address, ALICE.ss58_address)
    assert info.is_serving
    assert info.address == "tcp://10.0.0.7:8091"


def test_a_neuron_without_an_axon_is_not_serving() -> None:
    """A neuron that never served an axon has 0.0.0.0:0 and is_serving False."""
    n = Neuron(uid=0, hotkey=BOB.public_key, coldkey=ALICE.public_key, registered_at=1, last_update=1)
    assert not AxonInfo.from_neuron(n).is_serving


def test_ipv6_addresses_are_bracketed() -> None:
    """An IPv6 axon is dialed at tcp://[ip]:port."""
    assert AxonInfo(ip="::1", port=9, hotkey=BOB.ss58_address).address == "tcp://[::1]:9"


async def test_axon_info_reports_the_bound_port_and_the_external_ip() -> None:
    """Listening on port 0 reports the real port; external_ip/port override what the chain should record."""
    async with Axon(BOB, "tcp://127.0.0.1:0") as ax:
        assert ax.info().port > 0
        assert ax.address.endswith(f":{ax.info().port}")
    outside = Axon(BOB, "tcp://0.0.0.0:8091", external_ip="203.0.113.9", external_port=9000).info()
    assert (outside.ip, outside.port, outside.hotkey) == ("203.0.113.9", 9000, BOB.ss58_address)
