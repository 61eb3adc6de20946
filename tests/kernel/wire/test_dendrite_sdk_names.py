"""The Bittensor SDK's dendrite, wallet and axon spellings that map onto taonet's: ``close_session`` and
``aclose_session`` close, ``call(target_axon=)``, ``forward(run_async=False)`` asks one axon after another,
``forward(streaming=True)`` and ``call_stream`` stream, ``wallet.unlock_coldkey()`` unlocks; an axon whose port is
taken raises the wire's own ``AddressInUse`` (a TaonetError, and still pynng's). Real axons on 127.0.0.1."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pynng
import pytest

from taonet.kernel import Axon, Dendrite, StreamingSynapse, UnlockCost, Wallet
from taonet.kernel.wire import AddressInUse
from taonet.ledger.errors import TaonetError

from .wire_helpers import ALICE, BOB, Dummy, double

pytestmark = pytest.mark.anyio


class Letters(StreamingSynapse):
    """Streams the letters of ``word``."""

    CHUNK = str
    word: str = ""
    spelled: str = ""

    def assemble(self, chunks: list[str]) -> Letters:
        return self.replace(spelled="".join(chunks))

    def deserialize(self) -> str:
        return self.spelled


async def spell(synapse: Letters):
    for letter in synapse.word:
        yield letter


async def test_sdk_dendrite_names_query_and_close() -> None:
    """call(target_axon=), forward(run_async=False), a ping by call() alone, close_session()/aclose_session()
    closing the sockets; call() with no axon or two says what to give."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as axon:
        d = Dendrite(ALICE)
        async with d:
            assert (await d.call(target_axon=axon, synapse=Dummy(input=2), timeout=5)).output == 4
            assert await d.call(target_axon=axon, synapse=Dummy(input=3), deserialize=True) == Dummy(input=3, output=6)
            assert (await d.call(axon)).is_success  # no synapse: a ping
            answers = await d.forward([axon, axon], Dummy(input=5), timeout=5, run_async=False)
            assert [a.output for a in answers] == [10, 10]
            assert d._endpoints
            d.close_session()
            assert not d._endpoints
            await d.call(axon, Dummy(input=1))
            await d.aclose_session()
            assert not d._endpoints
        with pytest.raises(TypeError, match="target_axon"):
            await d.call(synapse=Dummy(input=1))
        with pytest.raises(TypeError, match="target_axon"):
            await d.call(axon, Dummy(input=1), target_axon=axon)


async def test_sdk_streams_call_stream_and_forward_streaming() -> None:
    """call_stream yields the chunks then the deserialized result; forward(streaming=True) gives one such
    generator per axon."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(spell) as axon, Dendrite(ALICE) as d:
        got = [x async for x in d.call_stream(axon, Letters(word="tao"), timeout=5)]
        assert got == ["t", "a", "o", "tao"]
        streams = await d.forward([axon], Letters(word="ab"), timeout=5, streaming=True, deserialize=False)
        got = [x async for x in streams[0]]
        assert got[:2] == ["a", "b"] and got[2].spelled == "ab" and got[2].is_success


async def test_a_port_in_use_is_the_wires_typed_error() -> None:
    """A second axon on a taken port raises AddressInUse: a TaonetError, still a pynng.AddressInUse, same words."""
    async with Axon(BOB, "tcp://127.0.0.1:0") as first:
        with pytest.raises(AddressInUse, match=r"cannot listen on .*pick another port") as caught:
            async with Axon(BOB, first.address):
                pass
    assert isinstance(caught.value, TaonetError) and isinstance(caught.value, pynng.AddressInUse)


def test_wallet_unlock_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """unlock_coldkey/unlock_hotkey/unlock_coldkeypub/unlock_hotkeypub are get_coldkey/... by the SDK's names."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    for var in ("TAONET_WALLET_NAME", "TAONET_WALLET_HOTKEY", "TAONET_PASSWORD", "TAONET_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    w = Wallet("sdk", path=str(tmp_path))
    w.create(coldkey_password="pw", cost=UnlockCost.FAST)
    fresh = Wallet("sdk", path=str(tmp_path))
    assert fresh.unlock_coldkey("pw").ss58_address == w.coldkeypub.ss58_address
    assert fresh.unlock_coldkeypub().ss58_address == w.coldkeypub.ss58_address
    assert fresh.unlock_hotkey().ss58_address == fresh.unlock_hotkeypub().ss58_address == w.hotkey.ss58_address
