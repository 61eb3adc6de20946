"""Issue 10: the blacklist runs before a nonce is recorded, and the nonce's check and record stay atomic.

Strangers (keys the blacklist refuses) cannot fill the axon's bounded nonce memory, and a copy of a signed request
is still answered at most once, even when the copies race a slow blacklist that lets other requests run.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import anyio
import pytest

from taonet.kernel import Axon, AxonConfig, Dendrite
from taonet.ledger import Keypair

from .wire_helpers import ALICE, BOB, Dummy, RawClient, double, request

pytestmark = pytest.mark.anyio

SMALL_MEMORY = AxonConfig(nonce_per_caller=8, nonce_max_entries=16)


def only_alice(synapse: Dummy) -> tuple[bool, str]:
    """The registered-hotkeys blacklist of these tests: everyone but Alice is refused."""
    return synapse.dendrite.hotkey != ALICE.ss58_address, "not registered"


async def statuses(address: str, frames: list[bytes], *, workers: int = 8) -> Counter[int]:
    """Send every frame (``workers`` at a time, each on its own socket); the count of each reply status."""
    got: Counter[int] = Counter()
    todo = iter(frames)

    async def worker() -> None:
        async with RawClient(address) as c:
            for frame in todo:
                got[(await c.reply(frame, timeout=10)).status] += 1

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
    return got


@pytest.mark.slow
async def test_blacklisted_strangers_do_not_consume_nonce_memory() -> None:
    """2,000 signed requests from 500 unregistered hotkeys all get 403, leave the nonce memory empty, and a
    registered caller is then answered 200 (before the fix the memory filled and every new caller got 503)."""
    strangers = [Keypair.generate() for _ in range(500)]
    frames = [request(Dummy(input=i), caller=strangers[i % len(strangers)], uuid=f"u{i % 7}") for i in range(2000)]
    async with Axon(BOB, "tcp://127.0.0.1:0", config=SMALL_MEMORY).attach(double, blacklist=only_alice) as ax:
        with anyio.fail_after(60):
            got = await statuses(ax.address, frames)
        assert got == Counter({403: 2000})
        assert ax._nonces is not None and len(ax._nonces) == 0
        async with Dendrite(ALICE) as d:
            for i in range(20):  # more than the memory holds: Alice's own nonces are capped per caller
                r = await d(ax, Dummy(input=i), timeout=5)
                assert r.dendrite.status_code == 200, r.dendrite
                assert r.output == 2 * i
        assert 0 < len(ax._nonces) <= SMALL_MEMORY.nonce_per_caller


async def test_blacklisted_caller_gets_403_every_time_and_records_nothing() -> None:
    """The same refused request sent twice is 403 both times (its nonce was never recorded), not 401."""
    async with Axon(BOB, "tcp://127.0.0.1:0", config=SMALL_MEMORY).attach(double, blacklist=only_alice) as ax:
        frame = request(Dummy(input=1), caller=Keypair.generate())
        assert await statuses(ax.address, [frame, frame], workers=1) == Counter({403: 2})
        assert ax._nonces is not None and len(ax._nonces) == 0


async def test_replay_through_a_blacklist_gets_401() -> None:
    """A registered caller's request replayed after its answer gets 401 (refused before the blacklist runs)."""
    calls = 0

    def counting(synapse: Dummy) -> tuple[bool, str]:
        nonlocal calls
        calls += 1
        return only_alice(synapse)

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double, blacklist=counting) as ax:
        frame = request(Dummy(input=1))
        assert await statuses(ax.address, [frame, frame, frame], workers=1) == Counter({200: 1, 401: 2})
    assert calls == 1  # the copies were refused before the blacklist ran


COPIES = 8


def _async_slow_blacklist() -> tuple[Any, list[int]]:
    """An async blacklist that lets Alice in only once every copy is inside it (bounded by 5 s)."""
    inside = [0]
    all_in = anyio.Event()

    async def blacklist(synapse: Dummy) -> tuple[bool, str]:
        inside[0] += 1
        if inside[0] == COPIES:
            all_in.set()
        with anyio.move_on_after(5):
            await all_in.wait()
        return only_alice(synapse)

    return blacklist, inside


def _sync_slow_blacklist() -> tuple[Any, list[int]]:
    """The same in worker threads: every copy waits at a barrier until all are inside (bounded by 5 s)."""
    inside = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(COPIES, timeout=5)

    def blacklist(synapse: Dummy) -> tuple[bool, str]:
        with lock:
            inside[0] += 1
        barrier.wait()
        return only_alice(synapse)

    return blacklist, inside


@pytest.mark.parametrize("make_blacklist", [_async_slow_blacklist, _sync_slow_blacklist], ids=["async", "thread"])
async def test_concurrent_copies_racing_a_slow_blacklist_are_answered_once(make_blacklist: Any) -> None:
    """Eight copies of one signed request all pass the first nonce check while the blacklist waits; exactly one is
    answered 200, the other seven get 401, and verify and the forward run once."""
    blacklist, inside = make_blacklist()
    verified = forwarded = 0

    def verify(synapse: Dummy) -> None:
        nonlocal verified
        verified += 1

    async def counting_double(synapse: Dummy) -> Dummy:
        nonlocal forwarded
        forwarded += 1
        return await double(synapse)

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(counting_double, blacklist=blacklist, verify=verify) as ax:
        frame = request(Dummy(input=21), nonce=time.time_ns(), timeout_ms=10_000)
        with anyio.fail_after(30):
            got = await statuses(ax.address, [frame] * COPIES, workers=COPIES)
    assert inside[0] == COPIES  # every copy really reached the blacklist at the same time
    assert got == Counter({200: 1, 401: COPIES - 1})
    assert (verified, forwarded) == (1, 1)


async def test_verify_does_not_run_for_blacklisted_callers() -> None:
    """A caller the blacklist refuses never reaches the verify hook (the blacklist runs first)."""
    verified: list[str] = []

    def verify(synapse: Dummy) -> None:
        verified.append(synapse.dendrite.hotkey or "")

    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double, blacklist=only_alice, verify=verify) as ax:
        stranger = request(Dummy(input=1), caller=Keypair.generate())
        assert await statuses(ax.address, [stranger, request(Dummy(input=2))], workers=1) == Counter({403: 1, 200: 1})
    assert verified == [ALICE.ss58_address]


@pytest.mark.parametrize("hook", ["blacklist", "priority"])
async def test_a_blacklist_or_priority_that_raises_is_logged_under_its_own_name(hook: str) -> None:
    """A blacklist (or priority) function that raises: the caller gets 500 naming the exception's type and a log
    reference, and the axon logs `axon.hook_failed` with the hook's name and the traceback (it logged
    `axon.forward_failed`, which read as the forward failing); the forward never runs."""
    from structlog.testing import capture_logs

    ran: list[int] = []

    def raises(_synapse: Dummy) -> Any:
        raise RuntimeError("the allow-list file is missing")

    def forward(synapse: Dummy) -> Dummy:
        ran.append(synapse.input)
        return double(synapse)

    hooks = {hook: raises}
    with capture_logs() as logs:
        async with Axon(BOB, "tcp://127.0.0.1:0").attach(forward, **hooks) as ax, Dendrite(ALICE) as d:
            r = await d(ax, Dummy(input=3), timeout=5)
    assert r.dendrite.status_code == 500 and "RuntimeError" in (r.dendrite.status_message or ""), r.dendrite
    failed = [e for e in logs if e["event"] == "axon.hook_failed"]
    assert len(failed) == 1 and failed[0]["hook"] == hook and failed[0]["exc_info"] is not None
    assert not any(e["event"] == "axon.forward_failed" for e in logs) and ran == []
