"""The axon's lifetime: ready when started, sync work off the event loop, clean stop, bound log context."""

from __future__ import annotations

import time

import anyio
import pynng
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Axon, Dendrite

from .wire_helpers import ALICE, BOB, Dummy, RawClient, double, request

pytestmark = pytest.mark.anyio


async def test_starting_returns_only_once_the_socket_listens() -> None:
    """Right after `tg.start(axon.serve)`, a blocking dial succeeds (no 'connection refused' window)."""
    async with anyio.create_task_group() as tg:
        info = await tg.start(Axon(BOB, "tcp://127.0.0.1:0").attach(double).serve)
        with pynng.Req0() as probe:
            probe.dial(info.address, block=True)
        tg.cancel_scope.cancel()


async def test_a_blocking_forward_does_not_stall_other_requests() -> None:
    """A sync forward runs in a worker thread: while it sleeps, the axon answers other requests."""

    def blocking(synapse: Dummy) -> Dummy:
        if synapse.input == 0:
            time.sleep(0.5)
        return synapse.replace(output=synapse.input * 2)

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(blocking) as ax, Dendrite(ALICE) as d:
        async with anyio.create_task_group() as tg:
            tg.start_soon(d, ax, Dummy(input=0), 5.0)
            await anyio.sleep(0.05)
            t = anyio.current_time()
            fast = await d(ax, Dummy(input=3), timeout=5)
            assert anyio.current_time() - t < 0.45  # well before the blocked forward's 0.5 s
        assert fast.output == 6


async def test_inproc_axons_serve_in_process_callers() -> None:
    """An axon on inproc:// is reached through its Axon object (or its info's url)."""
    async with Axon(BOB, "inproc://taonet-test-inproc").attach(double) as ax, Dendrite(ALICE) as d:
        assert (await d(ax.info(), Dummy(input=5), timeout=5)).output == 10


async def test_stopping_an_axon_frees_its_address() -> None:
    """After `async with` ends the port is closed: another axon can listen on it at once."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as first:
        address = first.address
    async with Axon(BOB, address).attach(double) as second, Dendrite(ALICE) as d:
        assert (await d(second, Dummy(input=1), timeout=5)).output == 2


async def test_logs_carry_the_actor_and_hotkey() -> None:
    """axon.started / axon.stopped are logged with actor and hotkey bound; rejections at debug with their status."""
    with capture_logs() as logs:
        async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as ax, Dendrite(ALICE) as d:
            await d(ax, Dummy(input=1), timeout=5)
            async with RawClient(ax.address) as c:
                await c.reply(request(Dummy(input=1), name="Nope"))
    events = {e["event"]: e for e in logs}
    assert events["axon.started"]["actor"] == "axon"
    assert events["axon.started"]["hotkey"] == BOB.ss58_address
    assert events["axon.rejected"]["status"] == 404
    assert events["axon.rejected"]["log_level"] == "debug"
    assert events["axon.stopped"]["replies"] == {200: 1, 404: 1}


async def test_an_error_in_the_body_of_async_with_axon_comes_out_as_itself() -> None:
    """The axon's task group does not wrap what the body raised in an ExceptionGroup: `except ValueError` around
    `async with axon:` works, and the axon is stopped by then."""
    axon = Axon(BOB, "tcp://127.0.0.1:0").attach(double)

    async def serve_then_fail() -> None:
        async with axon:
            async with Dendrite(ALICE) as d:
                assert (await d(axon, Dummy(input=1), timeout=5)).output == 2
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom") as caught:
        await serve_then_fail()
    assert not isinstance(caught.value, BaseExceptionGroup)
    with pynng.Req0() as probe, pytest.raises(pynng.ConnectionRefused):
        probe.dial(axon.info().address, block=True)


async def test_an_axon_that_cannot_listen_says_where_and_why_without_a_group() -> None:
    """A port in use or a bad address comes out of `async with axon` as the pynng error itself (not wrapped in an
    ExceptionGroup), naming the address and what to do."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as holder:
        taken = holder.info().address
        with pytest.raises(pynng.AddressInUse, match=r"cannot listen on tcp://127\.0\.0\.1:\d+: .*pick another port"):
            await Axon(BOB, taken).__aenter__()
    with pytest.raises(pynng.NNGException, match=r"cannot listen on nonsense: .*tcp://host:port"):
        await Axon(BOB, "nonsense").__aenter__()


async def test_the_sdks_axon_keywords_port_ip_and_forward_fn() -> None:
    """Axon(wallet, port=..., ip=...) and attach(forward_fn=..., blacklist_fn=...) as the subnet template writes
    them; an address and a port together, or a hook twice, is a TypeError."""
    axon = Axon(BOB, port=0, ip="127.0.0.1").attach(forward_fn=double, blacklist_fn=lambda s: (False, ""))
    async with axon, Dendrite(ALICE) as d:
        assert (await d(axon, Dummy(input=4), timeout=5)).output == 8
    assert Axon(BOB).info().port == 8091
    with pytest.raises(TypeError, match="not both"):
        Axon(BOB, "tcp://127.0.0.1:0", port=1)
    with pytest.raises(TypeError, match="forward and forward_fn"):
        Axon(BOB).attach(double, forward_fn=double)
