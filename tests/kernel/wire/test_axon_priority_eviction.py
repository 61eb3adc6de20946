"""A full queue makes room for a higher-priority request: its lowest-priority waiter (the last come among equals) is
evicted with 503 at once, as Bittensor's priority pool serves validators ahead of low-stake callers; a newcomer of
no higher priority than every waiter is refused (a tie refuses the newcomer)."""

from __future__ import annotations

import anyio
import pytest

from taonet.kernel import Axon, AxonConfig, Dendrite, Synapse
from taonet.kernel.errors import Overloaded
from taonet.kernel.wire._gate import PriorityGate

from .wire_helpers import ALICE, BOB, EVE, wait_until

pytestmark = pytest.mark.anyio


class Work(Synapse):
    """Waits for the test's go, then doubles x."""

    x: int
    y: int | None = None


async def test_a_high_priority_request_takes_a_full_queues_lowest_place() -> None:
    """One slot, a queue of 2, all three held by Eve's priority-0 requests (1 running, 2 and 3 waiting): Eve's 4th is
    refused at once (a tie), Alice's priority-1000 request evicts 3 (the last come of the lowest), which gets 503
    while the forward still holds the slot; then Alice is served before 2 (before: Alice got 503 'queue is full')."""
    go = anyio.Event()
    served: list[int] = []

    async def forward(s: Work) -> Work:
        await go.wait()
        served.append(s.x)
        return s.replace(y=2 * s.x)

    async def priority(s: Work) -> float:
        return 1000.0 if s.dendrite.hotkey == ALICE.ss58_address else 0.0

    config = AxonConfig(max_concurrency=1, max_queue=2)
    axon = Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(forward, priority=priority)
    results: dict[int, tuple[int, str, float]] = {}
    async with axon, Dendrite(EVE) as low, Dendrite(ALICE) as high:

        async def call(d: Dendrite, x: int) -> None:
            r = await d(axon, Work(x=x), timeout=10)
            results[x] = (r.dendrite.status_code, r.dendrite.status_message or "", anyio.current_time())

        with anyio.fail_after(15):
            async with anyio.create_task_group() as tg:
                for x in (1, 2, 3):
                    tg.start_soon(call, low, x)
                    await wait_until(lambda x=x: axon._gate is not None and axon._gate.waiting == x - 1
                                     and axon._gate.free == 0)
                await call(low, 4)
                assert results[4][0] == 503 and "queue of 2 is full" in results[4][1], results[4]
                tg.start_soon(call, high, 100)
                await wait_until(lambda: 3 in results)
                assert results[3][0] == 503 and "higher priority" in results[3][1], results[3]
                assert not go.is_set() and served == []  # evicted at once, not once a slot came free
                go.set()
        assert {x: results[x][0] for x in (1, 2, 100)} == {1: 200, 2: 200, 100: 200}, results
        assert served == [1, 100, 2]


async def test_gate_evicts_the_last_come_of_the_lowest_priority_and_refuses_ties() -> None:
    """The gate alone: a full queue of priorities 5, 1, 1 (in that order) given a 3 evicts the second 1; given a 1 it
    refuses the newcomer; the evicted waiter raises Overloaded and the queue stays at its size."""
    gate = PriorityGate(1, 3)
    await gate.acquire()
    outcome: dict[str, str] = {}

    async def wait(name: str, prio: float) -> None:
        try:
            await gate.acquire(prio)
        except Overloaded:
            outcome[name] = "evicted"
            return
        outcome[name] = "granted"
        gate.release()

    async with anyio.create_task_group() as tg:
        for name, prio in (("five", 5), ("one-a", 1), ("one-b", 1)):
            tg.start_soon(wait, name, prio)
            await anyio.sleep(0.01)
        with pytest.raises(Overloaded, match="queue of 3 is full"):
            await gate.acquire(1)
        tg.start_soon(wait, "three", 3)
        await anyio.sleep(0.01)
        assert outcome == {"one-b": "evicted"} and gate.waiting == 3
        gate.release()
    assert outcome == {"one-b": "evicted", "five": "granted", "three": "granted", "one-a": "granted"}
    assert gate.waiting == 0 and gate.free == 1
