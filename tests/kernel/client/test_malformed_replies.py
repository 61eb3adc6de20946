"""A reply of the right container but the wrong contents (a replica anyone runs may send one) raises RefusedReply
(an RpcServerError) from the SDK's reads, never a raw KeyError or TypeError; a caller's own bad argument keeps its
own error; the CLI prints one ``error:`` line and exits 7 (asyncio and trio)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from taonet.kernel import Subtensor
from taonet.kernel.errors import RefusedReply, RpcServerError
from taonet.ledger import Keypair, dumps

from ...tools.processes import TAONET_EXE
from .servers import free_address, server_process

FIXED_SERVER = """
import sys, pynng
reply = bytes.fromhex(sys.argv[2])
with pynng.Rep0(listen=sys.argv[1]) as sock:
    print("up", flush=True)
    while True:
        sock.recv()
        sock.send(reply)
"""
"""A server answering every request with the reply given (hex) as its second argument."""

MALFORMED = {
    "not-an-int": {"ok": "notanint"},
    "wrong-map": {"ok": {"x": 1}},
    "a-list": {"ok": [1, 2]},
    "none": {"ok": None},
    "no-ok-nor-err": {"result": {"number": 7}},
    "unknown-error-code": {"err": {"code": "nope"}},
    "error-not-a-map": {"err": "boom"},
}
"""Replies that are maps (so not refused as "not a map") but not what any of READS returns."""

ADDRESS = Keypair.from_seed(bytes(32)).ss58_address

READS: dict[str, Callable[[Subtensor], Awaitable[Any]]] = {
    "get_current_block": lambda sub: sub.get_current_block(),
    "get_balance": lambda sub: sub.get_balance(ADDRESS),
    "neurons_lite": lambda sub: sub.neurons_lite(1),
    "metagraph": lambda sub: sub.metagraph(1),
    "get_subnet_info": lambda sub: sub.get_subnet_info(1),
    "get_subnet_hyperparameters": lambda sub: sub.get_subnet_hyperparameters(1),
}


@contextlib.contextmanager
def fixed_server(reply: Any) -> Iterator[str]:
    """A server answering ``reply`` (canonical CBOR) to every request, at the address it yields."""
    address = free_address()
    with server_process(FIXED_SERVER, address, dumps(reply).hex()):
        yield address


@pytest.fixture(scope="module", params=sorted(MALFORMED))
def malformed(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(the malformed reply's name, the address of a server answering it)."""
    with fixed_server(MALFORMED[request.param]) as address:
        yield request.param, address


@pytest.mark.anyio
@pytest.mark.parametrize("read", sorted(READS))
async def test_a_malformed_reply_raises_refused_reply(malformed: tuple[str, str], read: str) -> None:
    """Each read of the SDK, answered a malformed reply, raises RefusedReply naming the node's address."""
    _, address = malformed
    async with Subtensor(address, timeout=10) as sub:
        with pytest.raises(RefusedReply) as caught:
            await READS[read](sub)
    assert isinstance(caught.value, RpcServerError)
    assert caught.value.address == address and address in str(caught.value)


@pytest.mark.anyio
async def test_a_well_formed_reply_is_read_and_a_bad_argument_keeps_its_error() -> None:
    """The same server answering a well-formed head is read; a caller's bad argument (checked before the call) is
    still the caller's TypeError, even after a reply came."""
    with fixed_server({"ok": {"number": 7}}) as address:
        async with Subtensor(address, timeout=10) as sub:
            assert await sub.get_current_block() == 7
            with pytest.raises(TypeError) as caught:
                await sub.wait_for_block("7", timeout=5)  # type: ignore[arg-type]
            assert not isinstance(caught.value, RefusedReply)


def test_the_cli_prints_one_error_line_and_exits_7() -> None:
    """`taonet metagraph 1` against a node answering a map of the wrong shape: exit 7, one ``error:`` line, no
    traceback nor "internal error"."""
    with fixed_server({"ok": {"x": 1}}) as address:
        out = subprocess.run([TAONET_EXE, "metagraph", "1", "--endpoint", address], capture_output=True, text=True,
                             timeout=60, input="")
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 7, out.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert "refused" in lines[0] and "internal error" not in lines[0]
