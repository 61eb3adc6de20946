"""A client whose node goes away while a call waits learns it within the connect grace (3 s), not after the call's
own timeout: a killed node (SIGKILL) ends a call in flight and a block wait with Unreachable saying the connection
closed and nothing reconnected; a node back on the same address within the grace is redialed and the call answered;
the CLI says so in one line with exit status 4. A call sent after nng dropped the connection but before the client's
pipe callback noted it (made deterministic by holding the callback on nng's thread until the call was sent) gets
the same grace: Unreachable after it, or the reply of a server back within it."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import anyio
import pytest

import taonet.kernel.client._rpc_client as rpc_client_module
from taonet.kernel import Subtensor
from taonet.kernel.client import RpcClient
from taonet.kernel.client._rpc_client import REDIAL_GRACE
from taonet.kernel.errors import NoNode, Unreachable
from taonet.kernel.wire import NngContext

from ..node.nodes import TAONET, node_process
from .servers import free_address, server_process

pytestmark = pytest.mark.slow

CALL_TIMEOUT = 60.0
"""The calls' own timeout: long, so that an end within the grace cannot be the timeout."""
GONE = r"the node closed the connection and nothing reconnected within \d+(\.\d+)? s; is the node running"


async def _killed_after(proc: subprocess.Popen[str], delay: float) -> None:
    await anyio.sleep(delay)
    proc.send_signal(signal.SIGKILL)


async def _raised_while_killed(proc: subprocess.Popen[str], delay: float,
                               call: Callable[[], Awaitable[object]]) -> BaseException:
    """What ``call()`` raised, its server killed ``delay`` s after it started."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(_killed_after, proc, delay)
        try:
            await call()
        except Exception as e:
            return e
    raise AssertionError("the call was answered")


SILENT_SERVER = """
import sys, pynng
with pynng.Rep0(listen=sys.argv[1]) as sock:
    print("up", flush=True)
    while True:
        sock.recv()  # read every request, answer none: a node busy with each until it is killed
"""


@contextlib.contextmanager
def silent_server(address: str) -> Iterator[subprocess.Popen[str]]:
    """A process that takes requests at ``address`` and never answers; killed at the end."""
    with server_process(SILENT_SERVER, address) as proc:
        yield proc


@pytest.mark.anyio
async def test_a_write_in_flight_ends_unreachable_at_once_when_its_server_is_killed() -> None:
    """The server read a write and is killed before it answers: nng sees the connection reset and the call ends
    with Unreachable (not NoNode: the request reached it) saying the connection broke, at once (it is not sent
    again: the node may have taken it), far below its 60 s timeout and below the redial grace."""
    address = free_address()
    with silent_server(address) as proc:
        async with RpcClient(address, timeout=CALL_TIMEOUT, connect_timeout=20.0) as rpc:
            started = time.monotonic()
            err = await _raised_while_killed(proc, 1.0, lambda: rpc.call("submit", extrinsic=b"x"))
            assert isinstance(err, Unreachable) and re.search(r"\(the connection broke\); is the node running",
                                                               str(err)), err
            assert not isinstance(err, NoNode)
            assert time.monotonic() - started < 1.0 + 10, time.monotonic() - started


def test_the_reads_sent_again_are_the_node_s_reads_and_no_write() -> None:
    """RESENT_READS names every read a chain host serves (a read added there is sent again too) and no write."""
    from taonet.kernel.client._rpc_client import RESENT_READS
    from taonet.kernel.node._queries import read_handlers

    assert set(read_handlers(None)) <= RESENT_READS  # type: ignore[arg-type]  # the handlers are only built
    assert RESENT_READS - set(read_handlers(None)) == {"receipt", "next_nonce", "metrics"}  # type: ignore[arg-type]
    assert not RESENT_READS & {"submit", "submit_batch", "submit_wait", "actor_answer", "actor_post", "actor_inbox"}


@pytest.mark.anyio
async def test_a_read_in_flight_when_its_server_is_killed_is_answered_by_a_node_back_within_the_grace(
        tmp_path: Path) -> None:
    """The server read a `head` and is killed before it answers, and a node starts on the same address: the read is
    sent again on the new connection and answered (it ended with "Connection reset" at once, so a CLI write waiting
    for its outcome gave up on a node restarted under it); with no node back it ends as a call made while the
    connection is gone does, after the grace."""
    address = free_address()
    with silent_server(address) as proc, contextlib.ExitStack() as again:
        async with RpcClient(address, timeout=CALL_TIMEOUT, connect_timeout=20.0) as rpc:
            async with anyio.create_task_group() as tg:
                async def kill_and_restart() -> None:
                    await anyio.sleep(0.5)  # the request is out and read by then
                    proc.kill()
                    await anyio.to_thread.run_sync(proc.wait)
                    await anyio.to_thread.run_sync(again.enter_context, node_process(
                        tmp_path / "node", "--rpc", address, block_time=0.1))

                tg.start_soon(kill_and_restart)
                started = time.monotonic()
                head = await rpc.call("head")
            assert head["number"] >= 0
            assert time.monotonic() - started < CALL_TIMEOUT / 2
    with silent_server(address) as proc:
        async with RpcClient(address, timeout=CALL_TIMEOUT) as rpc:
            started = time.monotonic()
            err = await _raised_while_killed(proc, 0.5, lambda: rpc.call("head"))
            assert isinstance(err, Unreachable) and re.search(GONE, str(err)), err
            assert rpc.connect_timeout * 0.9 <= time.monotonic() - started - 0.5 < CALL_TIMEOUT / 4


@pytest.mark.anyio
async def test_a_call_made_after_its_node_was_killed_ends_unreachable_within_the_grace(tmp_path: Path) -> None:
    """A client connected to a node that is then killed: its next call (queued in nng, redialing) ends with Unreachable
    saying the connection closed and nothing reconnected, once the grace (3 s from the loss) passed, not at its
    60 s timeout; a call made later still gets the short redial grace, then the same error."""
    with node_process(tmp_path / "node", block_time=0.1) as (proc, addresses):
        async with RpcClient(addresses["rpc"], timeout=CALL_TIMEOUT) as rpc:
            await rpc.call("head")
            proc.kill()
            await anyio.to_thread.run_sync(proc.wait)
            killed = time.monotonic()
            with anyio.fail_after(5):  # until the client saw the connection close (a call before it gets the reset)
                while rpc.connection_open:
                    await anyio.sleep(0.02)
            with pytest.raises(Unreachable, match=GONE) as err:
                await rpc.call("head")
            elapsed = time.monotonic() - killed
            assert not isinstance(err, NoNode)
            assert rpc.connect_timeout * 0.9 <= elapsed < CALL_TIMEOUT / 4, elapsed
            started = time.monotonic()
            with pytest.raises(Unreachable, match=GONE):
                await rpc.call("head")
            assert 0.9 * REDIAL_GRACE <= time.monotonic() - started < CALL_TIMEOUT / 4


@pytest.mark.anyio
async def test_a_call_to_a_paused_node_ends_unreachable_when_the_node_is_killed(tmp_path: Path) -> None:
    """A paused node (the request unread) killed: the connection is reset, the read is sent again while nng redials,
    and with no node back the call says so within the grace, with what to check."""
    with node_process(tmp_path / "node", block_time=0.1) as (proc, addresses):
        async with RpcClient(addresses["rpc"], timeout=CALL_TIMEOUT) as rpc:
            await rpc.call("head")
            proc.send_signal(signal.SIGSTOP)
            started = time.monotonic()
            err = await _raised_while_killed(proc, 0.5, lambda: rpc.call("head"))
            assert isinstance(err, Unreachable) and re.search("is the node running", str(err)), err
            assert not isinstance(err, NoNode)
            assert time.monotonic() - started < CALL_TIMEOUT / 4


@pytest.mark.anyio
async def test_a_block_wait_ends_unreachable_soon_after_its_node_is_killed(tmp_path: Path) -> None:
    """A long wait_for_block on the feed (blocks every 0.1 s) ends with Unreachable when the node is killed."""
    with node_process(tmp_path / "node", block_time=0.1) as (proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=CALL_TIMEOUT) as sub:
            head = await sub.get_current_block()
            started = time.monotonic()
            err = await _raised_while_killed(proc, 0.5,
                                             lambda: sub.wait_for_block(head + 100_000, timeout=CALL_TIMEOUT))
            assert isinstance(err, Unreachable) and re.search(GONE, str(err)), err
            assert time.monotonic() - started < CALL_TIMEOUT / 4


@pytest.mark.anyio
async def test_a_block_wait_between_two_blocks_of_a_slow_chain_ends_soon_after_its_node_is_killed(
        tmp_path: Path) -> None:
    """Blocks every 4 s, the wait started right after one and the node killed 2 s later (no block heard on the feed
    yet): Unreachable within the redial grace, not after the feed's quiet time (three block times: 12 s; a QA pass
    saw 25 s on an 8 s chain)."""
    with node_process(tmp_path / "node", block_time=4) as (proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=CALL_TIMEOUT) as sub:
            head = await sub.get_current_block()
            with anyio.fail_after(20):  # right after a block (read by asking, not on the feed): the next is 4 s away
                while await sub.get_current_block() == head:
                    await anyio.sleep(0.05)
            started = time.monotonic()
            err = await _raised_while_killed(proc, 2.0, lambda: sub.wait_for_block(head + 100, timeout=CALL_TIMEOUT))
            assert isinstance(err, Unreachable) and re.search(GONE, str(err)), err
            assert time.monotonic() - started < 2.0 + REDIAL_GRACE + 3, time.monotonic() - started


@pytest.mark.anyio
async def test_a_write_s_wait_cut_by_its_timeout_while_the_node_is_gone_says_it_went_away(tmp_path: Path) -> None:
    """The node killed and a wait for an outcome whose timeout (1 s) ends inside the redial grace (3 s): the result is
    "timeout" with Unreachable saying the connection closed and nothing reconnected (it had no error, so the CLI said
    "not in a block yet" for a write whose node had died, when its read was sent again rather than reset); a node
    that is there gives a plain timeout."""
    with node_process(tmp_path / "node", block_time=0.1) as (proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=CALL_TIMEOUT) as sub:
            head = await sub.get_current_block()
            alive = await sub.wait_for_outcome(bytes(32), after=head, timeout=0.5)
            assert alive.status == "timeout" and alive.error is None, alive
            proc.kill()
            await anyio.to_thread.run_sync(proc.wait)
            with anyio.fail_after(5):  # until the client saw the connection close
                while sub.rpc.connection_open:
                    await anyio.sleep(0.02)
            started = time.monotonic()
            gone = await sub.wait_for_outcome(bytes(32), after=head, timeout=1.0)
            assert time.monotonic() - started < sub.rpc.connect_timeout, time.monotonic() - started
    assert gone.status == "timeout" and isinstance(gone.error, Unreachable), gone
    assert "nothing reconnected before the wait's timeout; is the node running" in str(gone.error), gone.error


@pytest.mark.anyio
async def test_a_node_back_on_the_same_address_within_the_grace_answers_the_call(tmp_path: Path) -> None:
    """The server is killed, a call is made (queued while nng redials) and a node starts on the same address: the
    request goes to it and is answered (the client's grace is 20 s here, so a slow start on a shared machine fits)."""
    address = free_address()
    with silent_server(address) as proc, contextlib.ExitStack() as again:
        async with RpcClient(address, timeout=CALL_TIMEOUT, connect_timeout=20.0) as rpc:
            with anyio.move_on_after(0.5) as scope:  # it reached the server, which never answers
                await rpc.call("head")
            assert scope.cancelled_caught and rpc.connected
            proc.kill()
            await anyio.to_thread.run_sync(proc.wait)
            with anyio.fail_after(5):  # until the client saw the connection close (a call before it gets the reset)
                while rpc.connection_open:
                    await anyio.sleep(0.02)
            async with anyio.create_task_group() as tg:
                async def restart() -> None:
                    await anyio.sleep(0.5)
                    await anyio.to_thread.run_sync(again.enter_context, node_process(
                        tmp_path / "node", "--rpc", address, block_time=0.1))

                tg.start_soon(restart)
                started = time.monotonic()
                head = await rpc.call("head")
            assert head["number"] >= 0
            assert time.monotonic() - started < CALL_TIMEOUT / 2


class _LateCallbackClient(RpcClient):
    """An RpcClient whose pipe-removal callback (on nng's thread) first lets the test send a call, then notes the loss:
    the call goes out after nng dropped the connection and before the client knew (a window of microseconds
    otherwise), deterministically."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.dropped = threading.Event()  # set by the callback: nng dropped the connection
        self.sent = threading.Event()  # set once the test's call was handed to nng
        self.held_for = -1.0  # how long the callback waited for the call (-1: it did not)

    def _pipe_gone(self, pipe: object, opened: bool) -> None:  # an nng thread
        if not self.dropped.is_set():
            self.dropped.set()
            started = time.monotonic()
            self.sent.wait(10)  # bounded: the test sends within milliseconds
            self.held_for = time.monotonic() - started
        super()._pipe_gone(pipe, opened)  # type: ignore[arg-type]


def _spied_sends(monkeypatch: pytest.MonkeyPatch) -> list[_LateCallbackClient]:
    """The client's nng contexts made to tell a held callback when the test's request was handed to nng: append the
    _LateCallbackClient to the list returned."""
    client: list[_LateCallbackClient] = []

    class SpiedContext(NngContext):
        def send(self, data: bytes) -> None:
            super().send(data)
            if client and client[0].dropped.is_set():
                client[0].sent.set()

    monkeypatch.setattr(rpc_client_module, "NngContext", SpiedContext)
    return client


@pytest.mark.anyio
async def test_a_call_sent_before_the_client_noted_the_loss_ends_unreachable_within_the_grace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node is killed; nng drops the connection and calls the client's pipe-removal callback, which is held (on
    nng's thread) until a call was sent: that call, queued while nng redials and unseen by the connection check at
    its start, ends with Unreachable once the grace (3 s from the loss) passed, not at its 60 s timeout; the next
    call too."""
    client = _spied_sends(monkeypatch)
    with node_process(tmp_path / "node", block_time=0.1) as (proc, addresses):
        async with _LateCallbackClient(addresses["rpc"], timeout=CALL_TIMEOUT) as rpc:
            client.append(rpc)
            await rpc.call("head")
            proc.kill()
            await anyio.to_thread.run_sync(proc.wait)
            killed = time.monotonic()
            assert await anyio.to_thread.run_sync(rpc.dropped.wait, 10), "nng never dropped the connection"
            with anyio.fail_after(CALL_TIMEOUT / 4), pytest.raises(Unreachable, match=GONE):
                await rpc.call("head")
            assert 0 <= rpc.held_for < 5, rpc.held_for  # the call went out while the callback was held
            assert rpc.connect_timeout * 0.9 <= time.monotonic() - killed < CALL_TIMEOUT / 4
            started = time.monotonic()
            with anyio.fail_after(CALL_TIMEOUT / 4), pytest.raises(Unreachable, match=GONE):
                await rpc.call("head")
            assert time.monotonic() - started < rpc.connect_timeout + 2


SLOW_SERVER = """
import sys, time, pynng
with pynng.Rep0(listen=sys.argv[1]) as sock:
    print("up", flush=True)
    while True:
        sock.recv()
        time.sleep(float(sys.argv[2]))  # a node slow to answer: its reply comes after the client's grace
        sock.send(bytes.fromhex("a1626f6ba1666e756d62657201"))  # {"ok": {"number": 1}}
"""


@pytest.mark.anyio
async def test_a_call_sent_before_the_client_noted_the_loss_is_answered_by_a_server_back_within_the_grace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As above, but a server comes back on the address 0.5 s after the loss (the grace is 2 s) and answers the
    queued request 3 s later: the reconnection lifted the call's grace deadline, so it gets the reply (at ~3.5 s)."""
    address = free_address()
    client = _spied_sends(monkeypatch)
    with silent_server(address) as proc, contextlib.ExitStack() as again:
        async with _LateCallbackClient(address, timeout=CALL_TIMEOUT, connect_timeout=2.0) as rpc:
            client.append(rpc)
            with anyio.move_on_after(0.5) as scope:  # it reached the server, which never answers
                await rpc.call("head")
            assert scope.cancelled_caught and rpc.connected
            proc.kill()
            await anyio.to_thread.run_sync(proc.wait)
            assert await anyio.to_thread.run_sync(rpc.dropped.wait, 10), "nng never dropped the connection"

            async with anyio.create_task_group() as tg:
                async def restart() -> None:
                    await anyio.sleep(0.5)
                    await anyio.to_thread.run_sync(again.enter_context, server_process(SLOW_SERVER, address, "3"))

                tg.start_soon(restart)
                started = time.monotonic()
                with anyio.fail_after(CALL_TIMEOUT / 4):
                    assert await rpc.call("head") == {"number": 1}
            assert 0 <= rpc.held_for < 5, rpc.held_for
            assert time.monotonic() - started > rpc.connect_timeout


def test_the_cli_says_in_one_line_that_its_node_went_away(tmp_path: Path) -> None:
    """`taonet node wait` through the installed executable, its node killed while it waits: exit 4 in seconds (not
    at its 60 s --timeout), one line on stderr saying the connection closed and what to check."""
    taonet = str(Path(TAONET[0]).with_name("taonet"))
    with node_process(tmp_path / "node", block_time=0.1) as (proc, addresses):
        started = time.monotonic()
        waiting = subprocess.Popen([taonet, "node", "wait", "--blocks", "100000", "--timeout", str(CALL_TIMEOUT),
                                    "-e", addresses["rpc"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        try:
            # it started and waits: its connection to the node is open (a start takes about a second, more on a
            # loaded machine: a fixed pause killed the node before the first answer, 'no node at')
            _wait_for_connection_to(addresses["rpc"], within=30.0)
            time.sleep(1.0)  # and its first request answered
            assert waiting.poll() is None
            proc.send_signal(signal.SIGKILL)
            _, err = waiting.communicate(timeout=CALL_TIMEOUT / 2)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.wait()
    assert waiting.returncode == 4, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and re.search(GONE, lines[0]), err
    assert time.monotonic() - started < CALL_TIMEOUT / 2


def _wait_for_connection_to(address: str, *, within: float) -> None:
    """Return once some socket on this machine holds an established TCP connection to ``address``'s port."""
    port = int(address.rsplit(":", 1)[1])
    ends = time.monotonic() + within
    while time.monotonic() < ends:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # remote port, ESTABLISHED
                        return
        time.sleep(0.05)
    raise AssertionError(f"nothing connected to {address} within {within} s")
