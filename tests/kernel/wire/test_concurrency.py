"""Concurrency: many callers at once each get their own answers; a saturated axon serves by priority."""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from pathlib import Path

import anyio
import pytest

from taonet.kernel import Axon, AxonConfig, Dendrite
from taonet.ledger import Keypair

from .wire_helpers import BOB, CAROL, Dummy, double

pytestmark = pytest.mark.anyio


async def test_many_callers_at_once_each_get_their_own_answers(axon: Axon) -> None:
    """Four dendrites with 48 requests in flight each get exactly the doubles of their own inputs."""
    callers = [Keypair.from_uri(f"//caller{k}") for k in range(4)]
    got: dict[tuple[int, int], int | None] = {}

    async def one(d: Dendrite, k: int, j: int) -> None:
        r = await d(axon, Dummy(input=k * 1000 + j), timeout=10)
        assert r.is_success, r.dendrite
        assert r.dendrite.hotkey == callers[k].ss58_address
        got[(k, j)] = r.output

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for k, kp in enumerate(callers):
                d = await tg.start(_dendrite, kp)
                for j in range(48):
                    tg.start_soon(one, d, k, j)
            await _all_done(got, 4 * 48)
            tg.cancel_scope.cancel()
    assert got == {(k, j): 2 * (k * 1000 + j) for k in range(4) for j in range(48)}


async def _dendrite(kp: Keypair, *, task_status: anyio.abc.TaskStatus[Dendrite]) -> None:
    async with Dendrite(kp) as d:
        task_status.started(d)
        await anyio.sleep_forever()


async def _all_done(got: dict, n: int) -> None:
    while len(got) < n:
        await anyio.sleep(0.01)


async def test_one_dendrite_fans_out_to_many_axons_in_order(tmp_path: Path) -> None:
    """A list of axons gives a list of answers in the same order, each from its own axon."""

    async def triple(synapse: Dummy) -> Dummy:
        return synapse.replace(output=synapse.input * 3)

    carol = Axon(CAROL, f"ipc://{tmp_path}/carol.ipc").attach(triple)
    bob = Axon(BOB, "tcp://127.0.0.1:0").attach(double)
    async with bob as a, carol as b, Dendrite(Keypair.from_uri("//Dave")) as d:
        results = await d([a, b, a.info(), b], Dummy(input=7), timeout=5)
        assert [r.output for r in results] == [14, 21, 14, 21]
        assert [r.axon.hotkey for r in results] == [BOB.ss58_address, CAROL.ss58_address] * 2
        single = await d(b, Dummy(input=1), timeout=5)
        assert single.output == 3


async def test_priority_orders_a_saturated_axon() -> None:
    """With one slot busy, queued requests are served highest priority first."""
    gate_open = anyio.Event()
    order: list[int] = []

    async def forward(synapse: Dummy) -> Dummy:
        if synapse.input == 0:
            await gate_open.wait()
        order.append(synapse.input)
        return synapse.replace(output=synapse.input)

    def priority(synapse: Dummy) -> float:
        return float(synapse.input % 10)

    config = AxonConfig(max_concurrency=1, max_queue=16)
    async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(forward, priority=priority) as ax, Dendrite(
        Keypair.from_uri("//Dave")
    ) as d:
        inputs = [13, 11, 17, 12, 19, 14, 16, 15]
        with anyio.fail_after(15):
            async with anyio.create_task_group() as tg:
                tg.start_soon(d, ax, Dummy(input=0), 10.0)
                while ax._gate.free:
                    await anyio.sleep(0.005)
                for i in inputs:
                    tg.start_soon(d, ax, Dummy(input=i), 10.0)
                while ax._gate.waiting < len(inputs):
                    await anyio.sleep(0.005)
                gate_open.set()
    assert order == [0, *sorted(inputs, key=lambda i: -(i % 10))]


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="thread priorities are set through Linux's /proc")
async def test_nng_threads_yield_to_the_event_loop(axon: Axon) -> None:
    """After round trips for at most a few seconds (a thread the first scans missed is caught by the next one, at most
    a second later) every nng thread runs 8 nice levels below the loop's thread; Python's keep theirs."""
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def nng_nice() -> set[int]:
        nice = set()
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().startswith("nng:"):
                    nice.add(os.getpriority(os.PRIO_PROCESS, int(tid)))
        return nice

    async with Dendrite(Keypair.from_uri("//Dave")) as d:
        deadline = time.monotonic() + 5.0
        for i in range(1000):
            assert (await d(axon, Dummy(input=i), timeout=5)).output == 2 * i
            if i >= 2 and (nng_nice() == {min(19, main + 8)} or time.monotonic() > deadline):
                break
            await anyio.sleep(0.05)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main
    assert nng_nice() == {min(19, main + 8)}


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="thread priorities are set through Linux's /proc")
async def test_an_nng_thread_named_after_the_first_scans_is_lowered_by_a_later_one(axon: Axon) -> None:
    """A thread that takes an ``nng:`` name after the first scans settled (nng names a thread as it starts, and
    one that started or was named late kept the loop's priority for good: a CI run saw {0, 8}) is lowered by a
    later completed receive, within a few seconds of round trips."""
    async with Dendrite(Keypair.from_uri("//Dave")) as d:
        for i in range(3):  # the first burst of scans happens (in this process, perhaps long ago)
            assert (await d(axon, Dummy(input=i), timeout=5)).output == 2 * i
        named, done = threading.Event(), threading.Event()
        tid: list[int] = []

        def late() -> None:
            tid.append(threading.get_native_id())
            ctypes.CDLL(None).prctl(15, b"nng:late", 0, 0, 0)  # PR_SET_NAME: this thread's comm
            named.set()
            done.wait(30)

        thread = threading.Thread(target=late, daemon=True)
        thread.start()
        try:
            assert named.wait(5)
            before = os.getpriority(os.PRIO_PROCESS, tid[0])
            deadline = time.monotonic() + 5.0
            while os.getpriority(os.PRIO_PROCESS, tid[0]) == before and time.monotonic() < deadline:
                assert (await d(axon, Dummy(input=1), timeout=5)).output == 2
                await anyio.sleep(0.05)
            assert os.getpriority(os.PRIO_PROCESS, tid[0]) == min(19, before + 8)
        finally:
            done.set()
            thread.join(5)
