"""An Axon takes what the SDK's docs call a wallet: anything with coldkey and hotkey Keypairs (docs/sdk.md's
``Pair``), as Subtensor and Dendrite do; it raised AttributeError: no attribute 'coldkeypub' (real axon and dendrite
on 127.0.0.1)."""

from __future__ import annotations

import anyio
import pytest

from taonet.kernel import Axon, Dendrite
from taonet.ledger import Keypair

from .wire_helpers import ALICE, Dummy, double

pytestmark = pytest.mark.anyio


class Pair:
    """A coldkey and a hotkey, as in docs/sdk.md."""

    def __init__(self, cold: str, hot: str) -> None:
        self.coldkey, self.hotkey = Keypair.from_uri(cold), Keypair.from_uri(hot)


async def test_an_axon_of_a_pair_of_keypairs_serves_under_its_hotkey_and_names_its_coldkey() -> None:
    """Axon(pair, port=0, ip="127.0.0.1") serves: its info has the pair's hotkey and coldkey, and a dendrite's call
    is answered."""
    pair = Pair("//Charlie", "//Charlie//miner0")
    async with Axon(pair, port=0, ip="127.0.0.1").attach(double) as ax, Dendrite(ALICE) as d:
        info = ax.info()
        assert (info.hotkey, info.coldkey) == (pair.hotkey.ss58_address, pair.coldkey.ss58_address)
        with anyio.fail_after(10):
            got = await d(ax, Dummy(input=21), timeout=5)
    assert got.dendrite.status_code == 200 and got.output == 42, got.dendrite


def test_an_object_with_only_a_hotkey_serves_with_no_coldkey() -> None:
    """A hotkey Keypair alone (no coldkey, no coldkeypub) is enough to serve; the coldkey is unnamed."""

    class HotOnly:
        hotkey = Keypair.from_uri("//Dave")

    assert Axon(HotOnly(), port=0, ip="127.0.0.1").info().coldkey == ""
