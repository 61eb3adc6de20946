"""An axon's tables and threads stay bounded under a crowd, and honest callers keep being served."""

from __future__ import annotations

import threading

import anyio
import pytest

from taonet.kernel import Axon, Dendrite, Synapse
from taonet.kernel.wire._late import MAX_LATE_THREADS

from .wire_helpers import ALICE, BOB, Dummy

pytestmark = pytest.mark.anyio


async def test_a_hanging_sync_forward_costs_at_most_its_bound_of_threads_and_the_axon_serves_on() -> None:
    """A crowd of requests with short timeouts against a plain-def forward that hangs: each overrun leaves its
    thread running (a thread cannot be stopped), but after MAX_LATE_THREADS of them the axon refuses with 503 at once
    instead of starting more (trio: its thread limiter, which abandoned threads keep, bounds them first); pings are
    still answered, and once the threads end the forward is served again."""
    release = threading.Event()
    lock = threading.Lock()
    started = [0]

    def hangs(synapse: Dummy) -> Dummy:
        if synapse.input == 1:
            with lock:
                started[0] += 1
            release.wait(20.0)
        return synapse.replace(output=synapse.input * 2)

    crowd = 3 * MAX_LATE_THREADS
    codes: list[int] = []
    try:
        async with Axon(BOB, "tcp://127.0.0.1:0").attach(hangs) as ax, Dendrite(ALICE) as d:
            slots = ax.config.max_concurrency
            calls = iter(range(crowd))

            async def caller() -> None:
                for _ in calls:
                    r = await d(ax, Dummy(input=1), timeout=0.1)
                    codes.append(r.dendrite.status_code)

            with anyio.fail_after(20):
                async with anyio.create_task_group() as tg:
                    for _ in range(slots):
                        tg.start_soon(caller)
            assert len(codes) == crowd
            assert started[0] <= MAX_LATE_THREADS + slots, f"{started[0]} threads started for the crowd"
            assert ax._threads.late <= MAX_LATE_THREADS + slots  # those in flight when the bound was reached
            # 503 once the bound is reached (asyncio: an abandoned thread gives its limiter token back); under trio an
            # abandoned thread keeps its token, so trio's own 40 threads are the bound there and the rest time out
            assert set(codes) <= {408, 503}, sorted(set(codes))
            assert (await d(ax, Synapse(), timeout=5)).is_success  # the built-in ping is async: still served
            release.set()
            with anyio.fail_after(10):
                while ax._threads.late:
                    await anyio.sleep(0.02)
            r = await d(ax, Dummy(input=2), timeout=5)
            assert r.is_success and r.output == 4
    finally:
        release.set()
