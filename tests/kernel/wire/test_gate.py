"""The priority gate: bounded slots, a bounded queue served by priority, clean cancellation."""

from __future__ import annotations

import anyio
import pytest

from taonet.kernel.errors import Overloaded
from taonet.kernel.wire._gate import PriorityGate

pytestmark = pytest.mark.anyio


async def test_gate_admits_waiters_by_priority_then_arrival() -> None:
    """Queued holders get the slot highest priority first, ties first come first served."""
    gate = PriorityGate(1, 8)
    await gate.acquire()
    order: list[str] = []

    async def wait(name: str, prio: float) -> None:
        await gate.acquire(prio)
        order.append(name)
        gate.release()

    async with anyio.create_task_group() as tg:
        for name, prio in [("low", 1), ("high", 9), ("mid-a", 5), ("mid-b", 5)]:
            tg.start_soon(wait, name, prio)
            await anyio.sleep(0.01)
        assert gate.waiting == 4
        gate.release()
    assert order == ["high", "mid-a", "mid-b", "low"]
    assert gate.free == 1


async def test_full_queue_raises_overloaded_at_once() -> None:
    """With the slot taken and the queue full, acquire raises Overloaded without waiting."""
    gate = PriorityGate(1, 1)
    await gate.acquire()
    async with anyio.create_task_group() as tg:
        tg.start_soon(gate.acquire)
        await anyio.sleep(0.01)
        with pytest.raises(Overloaded, match="queue of 1 is full"):
            await gate.acquire()
        tg.cancel_scope.cancel()
    assert gate.waiting == 0


async def test_cancelled_waiter_leaves_the_queue_and_the_slot_goes_on() -> None:
    """A waiter cancelled in the queue is skipped; the next release goes to the one behind it."""
    gate = PriorityGate(1, 4)
    await gate.acquire()
    got = []

    async def wait(name: str) -> None:
        await gate.acquire()
        got.append(name)

    scope = anyio.CancelScope()

    async def doomed() -> None:
        with scope:
            await gate.acquire()
        got.append("doomed gave up")

    async with anyio.create_task_group() as tg:
        tg.start_soon(doomed)
        await anyio.sleep(0.01)
        tg.start_soon(wait, "second")
        await anyio.sleep(0.01)
        scope.cancel()
        await anyio.sleep(0.01)
        assert gate.waiting == 1
        gate.release()
    assert got == ["doomed gave up", "second"]
    assert gate.free == 0


async def test_a_crowd_of_waiters_giving_up_leaves_the_queue_s_memory_bounded() -> None:
    """10,000 waiters that give up at once (a caller's ~0 s timeouts while every slot is busy), behind a live waiter
    of higher priority, no release reaching them: the gate holds O(queue) entries, not one per waiter who left (it
    held all 10,000, ~1 KB each, until the queue filled), and still serves by priority after."""
    gate = PriorityGate(1, 8)
    await gate.acquire()
    order: list[str] = []

    async def wait(name: str, prio: float) -> None:
        await gate.acquire(prio)
        order.append(name)
        gate.release()

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait, "high", 9)
        await anyio.sleep(0.01)
        for _ in range(10_000):
            with anyio.move_on_after(0):
                await gate.acquire(1)
        assert gate.waiting == 1
        assert len(gate._heap) <= 8 + 16 + 1, len(gate._heap)
        tg.start_soon(wait, "low", 1)
        await anyio.sleep(0.01)
        gate.release()
    assert order == ["high", "low"] and gate.free == 1 and gate.waiting == 0
