"""A node over its connection bounds (`taonet node run --max-connections-per-address 1`, its one slot held) closes
each connection from the client's address in its pre-connect callback: the client sees each connection made and
closed ~1 ms later, again at each redial. The client says so (ConnectionsRefused: the node closes every connection
at once, and what to do), not "no node at ADDRESS" (a node IS running); nothing listening is still NoNode. Real
`taonet node run` processes on 127.0.0.1; asyncio and trio; and the installed `taonet` says it in one line, exit 4."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pynng
import pytest

from taonet.kernel import Subtensor
from taonet.kernel.client import RpcClient
from taonet.kernel.errors import ConnectionsRefused, NoNode, RefusedReply, RpcServerError, Unreachable
from taonet.ledger import Extrinsic, Keypair, Transfer

from ...tools.processes import TAONET_EXE, error_lines
from ..node.nodes import node_process
from .servers import free_address, server_process

pytestmark = pytest.mark.anyio

TURNED_AWAY = "closes every connection from this client at once"
ADVICE = "--max-connections-per-address (taonet node status, run from another address, shows its bounds)"
WAIT = 1.0  # the refused clients' connect_timeout


@pytest.fixture(scope="module")
def full_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `taonet node run --dev` allowing one RPC connection per address, that one held by a client of the test:
    its RPC address; the node stopped at the end."""
    with node_process(tmp_path_factory.mktemp("node"), "--max-connections-per-address", "1") as (_, addresses):
        address = addresses["rpc"]
        with pynng.Req0(dial=address, resend_time=-1) as holder:
            deadline = time.monotonic() + 10
            while not holder.pipes:  # the slot is ours before any test runs
                assert time.monotonic() < deadline, "the holder never connected"
                time.sleep(0.01)
            yield address


async def test_a_client_the_node_turns_away_is_told_so_not_that_no_node_runs(full_node: str) -> None:
    """The call raises ConnectionsRefused (a NoNode: nothing was sent) within the connect timeout, naming the bound
    and the fix; the "no node at" text is gone."""
    started = time.monotonic()
    async with RpcClient(full_node, connect_timeout=WAIT) as rpc:
        with pytest.raises(ConnectionsRefused) as caught:
            await rpc.call("head")
        assert rpc.refused >= 1 and not rpc.connected
    text = str(caught.value)
    assert isinstance(caught.value, NoNode)
    assert text.startswith(f"the node at {full_node} {TURNED_AWAY} ("), text
    assert text.endswith(ADVICE) and "no node at" not in text, text
    assert WAIT * 0.9 < time.monotonic() - started < WAIT + 5


async def test_many_turned_away_clients_all_say_so(full_node: str) -> None:
    """Forty fresh clients at once (some catch the ~1 ms a refused connection is open and send on it): every one
    gets ConnectionsRefused, none Unreachable or a plain NoNode."""
    seen: list[BaseException] = []

    async def one() -> None:
        async with RpcClient(full_node, connect_timeout=2.0) as rpc:  # room for 40 dials on a busy machine
            try:
                await rpc.call("head", timeout=5.0)
            except Exception as e:
                seen.append(e)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(one)
    assert len(seen) == 40, seen
    assert [e for e in seen if type(e) is not ConnectionsRefused] == []


async def test_a_turned_away_submit_is_rejected_and_counts_as_not_sent(full_node: str) -> None:
    """Subtensor.submit through a turned-away client: "rejected" with ConnectionsRefused, and ``submitted`` stays
    0 (the node read nothing of it)."""
    alice, bob = Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob")
    ext = Extrinsic.sign(Transfer(dest=bob.public_key, amount=1), alice, nonce=0, genesis=bytes(32))
    async with Subtensor(full_node, timeout=10.0) as sub:
        result = await sub.submit(ext)
        assert result.status == "rejected" and isinstance(result.error, ConnectionsRefused), result
        assert sub.submitted == 0


async def test_nothing_listening_is_still_no_node() -> None:
    """An address nothing listens on: NoNode "nothing answered", not ConnectionsRefused."""
    address = free_address()
    async with RpcClient(address, connect_timeout=0.5) as rpc:
        with pytest.raises(NoNode) as caught:
            await rpc.call("head")
        assert rpc.refused == 0
    assert type(caught.value) is NoNode
    assert str(caught.value).startswith(f"no node at {address} (nothing answered within 0.5 s)")


async def test_a_turned_away_client_gets_in_once_the_slot_is_free(tmp_path: Path) -> None:
    """The holder leaves while a turned-away client waits to connect: nng's next redial is admitted and the call is
    answered (the refusal is the bound's, not a broken node)."""
    with node_process(tmp_path / "node", "--max-connections-per-address", "1") as (_, addresses):
        address = addresses["rpc"]
        async with RpcClient(address) as holder:
            await holder.call("head")
            async with RpcClient(address, connect_timeout=6.0) as rpc:
                with anyio.fail_after(15):
                    async with anyio.create_task_group() as tg:
                        async def leave() -> None:
                            await anyio.sleep(1.0)
                            holder.close()

                        tg.start_soon(leave)
                        head = await rpc.call("head")
                assert head["number"] >= 0 and rpc.refused == 0


TURNING_SERVER = """
import sys, time, pynng
turning = []
sock = pynng.Rep0(listen=sys.argv[1])
sock.add_pre_pipe_connect_cb(lambda pipe: pipe.close() if turning else None)  # as a node over its bounds does
print("up", flush=True)
msg = sock.recv_msg()
sock.send(b"\\xa1\\x62ok\\x01")  # {"ok": 1}
time.sleep(0.5)
turning.append(1)
msg.pipe.close()  # the connection is lost, and every new one is turned away
time.sleep(60)
"""


async def test_a_client_that_lost_its_connection_and_is_turned_away_is_told_so() -> None:
    """A server answers one call, closes that connection and turns every new one away in its pre-connect callback:
    the client's next call is Unreachable (not NoNode: it had a connection, a request may have been read) saying
    the node closes every new connection at once and what to do, not "nothing reconnected"."""
    address = free_address()
    with server_process(TURNING_SERVER, address):
        async with RpcClient(address, timeout=20.0) as rpc:
            assert await rpc.call("head") == 1
            with anyio.fail_after(10):
                while rpc.connection_open:
                    await anyio.sleep(0.02)
                with pytest.raises(Unreachable) as caught:
                    await rpc.call("head")
    text = str(caught.value)
    assert not isinstance(caught.value, NoNode)
    assert text.startswith(f"head to {address} failed: the node closed the connection, and every new one from this "
                           "client at once ("), text
    assert text.endswith(ADVICE) and "nothing reconnected" not in text, text


def _shape(line: str) -> str:
    """A line with its counts and seconds as N."""
    return re.sub(r"\d+(\.\d+)? (connections?|s)\b", r"N \2", line)


DOCS_CLI = {_shape(line) for line in (Path(__file__).resolve().parents[3] / "docs" / "cli.md").read_text().splitlines()}
"""docs/cli.md's lines, shaped."""


def test_the_cli_says_in_one_line_that_the_node_turns_it_away(full_node: str) -> None:
    """`taonet node status` (the installed command) against the full node: one line naming what happened and what
    to do, exit 4, no traceback, no "no node at"; with --timeout 1 too (the wait cut to 1 s)."""
    for extra in ((), ("--timeout", "1")):
        out = subprocess.run([TAONET_EXE, "node", "status", "-e", full_node, *extra], capture_output=True, text=True,
                             timeout=60)
        lines = error_lines(out.stderr)
        assert out.returncode == 4, (extra, out)
        assert len(lines) == 1 and lines[0].startswith(f"error: the node at {full_node} {TURNED_AWAY} ("), lines
        assert lines[0].endswith(ADVICE) and "no node at" not in lines[0] and "Traceback" not in out.stderr, lines
        assert _shape(lines[0].replace(full_node, "tcp://127.0.0.1:9944")) in DOCS_CLI  # the line docs/cli.md shows



NOT_A_MAP_SERVER = """
import sys, pynng
with pynng.Rep0(listen=sys.argv[1]) as sock:
    print("up", flush=True)
    while True:
        sock.recv()
        sock.send(b"\\x81\\x01")  # [1]: CBOR, not a reply map
"""


@pytest.fixture
def not_a_map_server() -> Iterator[str]:
    """A process answering every request with a CBOR list (no taonet node): its address; killed at the end."""
    address = free_address()
    with server_process(NOT_A_MAP_SERVER, address):
        yield address


async def test_a_reply_that_is_not_a_map_is_refused_by_the_client(not_a_map_server: str) -> None:
    """RefusedReply (an RpcServerError, so `except RpcServerError` still catches it): the client refused the reply,
    the server did not fail."""
    async with RpcClient(not_a_map_server) as rpc:
        with pytest.raises(RpcServerError) as caught:
            await rpc.call("head")
    assert type(caught.value) is RefusedReply
    assert str(caught.value) == (f"the reply of the node at {not_a_map_server} to head was refused: reply is not a "
                                 f"map; is {not_a_map_server} a taonet node you trust?")


def test_the_cli_says_in_one_line_that_it_refused_a_reply(not_a_map_server: str) -> None:
    """`taonet node status` against it: one line, exit 7 (refused data), not an internal error."""
    out = subprocess.run([TAONET_EXE, "node", "status", "-e", not_a_map_server], capture_output=True, text=True,
                         timeout=60)
    lines = error_lines(out.stderr)
    assert out.returncode == 7, out
    assert lines == [f"error: the reply of the node at {not_a_map_server} to info was refused: reply is not a map; "
                     f"is {not_a_map_server} a taonet node you trust?"], lines
