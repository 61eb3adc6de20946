"""A synapse's ``status_code`` (dendrite and axon side) is a plain ``int``, as the Bittensor SDK keeps it, whether the
axon answered (200, a refusal) or the dendrite itself failed the call (503 unreachable, 413 too large, a stream's
408): never the wire's ``Status`` enum in one case and an int in the other."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import pytest

from taonet.kernel import Axon, AxonInfo, Dendrite, DendriteConfig, Status, StreamingSynapse, Synapse, TerminalInfo

from .wire_helpers import ALICE, BOB, Dummy

pytestmark = pytest.mark.anyio


class _Blob(Synapse):
    data: bytes


class _Words(StreamingSynapse):
    CHUNK = str
    prompt: str = ""


async def _endless(synapse: _Words) -> AsyncIterator[str]:
    while True:
        yield "x"
        await anyio.sleep(0.02)


def _plain(info: TerminalInfo) -> int | None:
    """The status code, once it is known to be exactly an int (or None)."""
    code = info.status_code
    assert code is None or type(code) is int, (type(code), code)
    return code


async def test_status_codes_are_plain_ints_on_every_path(axon: Axon, dendrite: Dendrite) -> None:
    """200 from the axon, 503 for an axon not serving, 413 for a request too large: each an int on both ends, so
    ``json.dumps`` and ``repr`` show the number; Status members still compare equal to it."""
    ok = await dendrite(axon, Dummy(input=2), timeout=5)
    unreachable = await dendrite(AxonInfo(ip="0.0.0.0", port=0, hotkey=BOB.ss58_address), Dummy(input=1), timeout=5)
    async with Dendrite(ALICE, config=DendriteConfig(max_request_size=2048)) as small:
        big = await small(axon, _Blob(data=b"x" * 4096), timeout=5)
    codes = [(_plain(r.dendrite), _plain(r.axon)) for r in (ok, unreachable, big)]
    assert codes == [(200, 200), (503, None), (413, None)]
    assert repr(unreachable.dendrite.status_code) == "503" and json.dumps(big.dendrite.status_code) == "413"
    assert unreachable.dendrite.status_code == Status.OVERLOADED and ok.is_success and big.is_failure


async def test_a_streams_status_code_is_a_plain_int() -> None:
    """A stream stopped at its deadline ends 408, an int, on the dendrite's side."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(_endless) as ax, Dendrite(ALICE) as d:
        async with d.stream(ax, _Words(), timeout=0.3) as stream:
            assert [c async for c in stream]
        assert _plain(stream.result.dendrite) == 408 and stream.result.is_timeout


def test_terminal_info_keeps_an_int_whatever_it_is_given() -> None:
    """TerminalInfo turns a Status member into its int (and leaves None alone), also through attrs.evolve."""
    import attrs

    info = TerminalInfo(status_code=Status.TIMEOUT)
    assert type(info.status_code) is int and info.status_code == 408
    assert type(attrs.evolve(info, status_code=Status.OK).status_code) is int
    assert TerminalInfo().status_code is None
