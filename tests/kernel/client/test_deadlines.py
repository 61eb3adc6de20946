"""Every wait of the client has a deadline: a paused node (SIGSTOP) gives a typed RpcTimeout within the timeout,
with a message that says what to check (a block wait too: the node did not answer, not "the block did not come"),
and the client works again once the node resumes."""

from __future__ import annotations

import re
import signal
import threading
import time
from pathlib import Path

import anyio
import pynng
import pytest

from taonet.kernel import Subtensor, subtensor
from taonet.kernel.client import RpcClient
from taonet.kernel.errors import RpcTimeout
from taonet.ledger import Keypair

from ..node.nodes import node_process
from .servers import free_address

TIMEOUT = 1.5
SLACK = 3.0
"""Seconds a call may overrun its timeout on a loaded machine (it takes milliseconds)."""
NO_REPLY = r"^{} to tcp://\S+ got no reply within [1-4](\.\d+)? s; is the node running"
"""A wait's request that had no reply for the whole wait (the seconds it waited: when it was sent and when the wait's
deadline was seen move them on a loaded machine)."""


@pytest.mark.slow
def test_a_paused_node_gives_rpc_timeout_within_the_timeout(tmp_path: Path) -> None:
    """Reads, waits for a block and writes each end within the timeout; the message names the timeout roundly.
    wait_for_block's deadline is its head request's too (both 1.5 s): whichever passes first, it is an RpcTimeout
    (it was RpcTimeout or BlockWaitTimeout by the scheduling); and with a client whose requests may wait 30 s, a
    1.5 s wait whose head request had no reply is an RpcTimeout too (it was always BlockWaitTimeout)."""
    with (node_process(tmp_path / "node", block_time=0.1) as (proc, addresses),
          subtensor(addresses["rpc"], timeout=TIMEOUT) as sub, subtensor(addresses["rpc"], timeout=30) as patient):
        head = sub.get_current_block()
        assert patient.info()["feed"]  # known: its wait asks the node's head, where sub's asks its info first
        proc.send_signal(signal.SIGSTOP)
        try:
            for call in (sub.get_current_block, lambda: sub.get_balance(Keypair.from_uri("//Alice"))):
                started = time.monotonic()
                with pytest.raises(RpcTimeout, match=r"no reply within 1\.5 s; is the node running"):
                    call()
                assert time.monotonic() - started < TIMEOUT + SLACK
            for client in (sub, patient):
                started = time.monotonic()
                with pytest.raises(RpcTimeout, match=NO_REPLY.format("info" if client is sub else "head")):
                    client.wait_for_block(head + 5, timeout=TIMEOUT)
                assert time.monotonic() - started < TIMEOUT + SLACK
            started = time.monotonic()
            sent = sub.transfer(Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob").ss58_address, 1.0)
            assert not sent.success and isinstance(sent.error, RpcTimeout)
            assert time.monotonic() - started < TIMEOUT + SLACK
        finally:
            proc.send_signal(signal.SIGCONT)
        assert sub.wait_for_block(head + 1, timeout=10) > head
        assert patient.wait_for_block(head + 1, timeout=10) > head


@pytest.mark.slow
@pytest.mark.alone  # the twin's deadline is the reader's, about: with the workers beside it, it came first (CI)
@pytest.mark.anyio
async def test_waits_on_a_paused_node_whose_head_they_knew_say_the_node_did_not_answer(tmp_path: Path) -> None:
    """Two waits of one client (a 30 s RPC timeout) on a node paused after they learned its head share its block
    feed: the first (4 s) reads the feed, finds it quiet for 1 s and asks the node's head; two others started after it
    wait on that reader, one ending earlier (2.5 s), one at about the reader's deadline (the reader's request, cut
    off, still counts for it). No reply comes: each ends in time with an RpcTimeout naming `head` (they were
    BlockWaitTimeout, "the block did not come", though the node had not answered)."""
    errors: dict[str, tuple[BaseException, float]] = {}
    with node_process(tmp_path / "node", block_time=0.1) as (proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=30) as sub:
            head = await sub.wait_for_block(timeout=10)

            async def wait(name: str, timeout: float) -> None:
                started = time.monotonic()
                try:
                    await sub.wait_for_block(head + 5, timeout=timeout)
                except TimeoutError as e:
                    errors[name] = (e, time.monotonic() - started)

            proc.send_signal(signal.SIGSTOP)
            try:
                async with anyio.create_task_group() as tg:
                    t0 = time.monotonic()
                    tg.start_soon(wait, "reader", 4.0)
                    await anyio.sleep(0.2)
                    tg.start_soon(wait, "other", 2.5)
                    tg.start_soon(wait, "twin", 4.0 - (time.monotonic() - t0))  # the reader's deadline, about
            finally:
                proc.send_signal(signal.SIGCONT)
            assert await sub.wait_for_block(head + 1, timeout=10) > head
    assert set(errors) == {"reader", "other", "twin"}, errors
    for name, timeout in (("reader", 4.0), ("other", 2.5), ("twin", 4.0)):
        error, took = errors[name]
        assert isinstance(error, RpcTimeout) and re.match(NO_REPLY.format("head"), str(error)), errors
        assert took < timeout + SLACK


@pytest.mark.anyio
async def test_a_call_whose_server_came_late_ends_by_its_own_timeout_the_wait_for_a_connection_included() -> None:
    """A server that starts listening 2 s into a 4 s call, reads the request and never answers: the call raises
    RpcTimeout naming its 4 s about 4 s after it started (it waited its whole timeout again for the reply once
    connected: ~6 s)."""
    address = free_address()
    read_at: list[float] = []
    release = threading.Event()

    def late_server() -> None:
        time.sleep(2.0)
        with pynng.Rep0(listen=address, recv_timeout=8000) as rep:
            rep.recv()  # the request, read and never answered
            read_at.append(time.monotonic())
            release.wait(10)

    server = threading.Thread(target=late_server, daemon=True)
    async with RpcClient(address, connect_timeout=10.0) as rpc:
        started = time.monotonic()
        server.start()
        try:
            with pytest.raises(RpcTimeout, match=r"^head to tcp://\S+ got no reply within 4 s; is the node running"):
                await rpc.call("head", timeout=4.0)
            took = time.monotonic() - started
        finally:
            release.set()
            server.join(10)
    assert read_at and read_at[0] - started >= 2.0  # the request went out on the late connection
    assert 4.0 - 0.05 <= took < 4.0 + 1.5, took
