"""The signal group of the long-running commands, in this process: the first SIGINT or SIGTERM cancels it, more are
dropped while it stops, and the handlers from before it are back when it ends (both event loops)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from types import FrameType

import anyio
import pytest

from taonet.tools.signals import STOP_SIGNALS, signal_stopped_group

pytestmark = pytest.mark.anyio


@pytest.fixture
def noted() -> Iterator[list[int]]:
    """SIGINT and SIGTERM noted in a list (not KeyboardInterrupt, not the end of the test run) for the test's length."""
    seen: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        seen.append(signum)

    before = {sig: signal.signal(sig, note) for sig in STOP_SIGNALS}
    try:
        yield seen
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


@pytest.mark.parametrize("sig", STOP_SIGNALS)
async def test_the_first_stop_signal_cancels_the_group_and_calls_on_signal(noted: list[int], sig: int) -> None:
    calls: list[str] = []
    with anyio.fail_after(10):
        async with signal_stopped_group(lambda: calls.append("stopping")) as tg:
            os.kill(os.getpid(), sig)
            await anyio.sleep_forever()
    assert tg.cancel_scope.cancel_called
    assert calls == ["stopping"]
    assert noted == []  # the group took it, not the handler from before


async def test_signals_while_the_group_stops_are_dropped_and_the_handlers_from_before_are_back(
        noted: list[int]) -> None:
    calls: list[str] = []
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    with anyio.fail_after(10):
        async with signal_stopped_group(lambda: calls.append("stopping")):
            os.kill(os.getpid(), signal.SIGINT)
            try:
                await anyio.sleep_forever()
            finally:
                with anyio.CancelScope(shield=True):  # the clean stop: more Ctrl-C must not end it
                    for _ in range(5):
                        os.kill(os.getpid(), signal.SIGINT)
                        os.kill(os.getpid(), signal.SIGTERM)
                        await anyio.sleep(0.01)
    assert calls == ["stopping"]
    assert noted == []
    assert {sig: signal.getsignal(sig) for sig in STOP_SIGNALS} == previous
    os.kill(os.getpid(), signal.SIGTERM)  # after the group: the handler from before has it
    with anyio.fail_after(5):
        while noted != [signal.SIGTERM]:
            await anyio.sleep(0.01)


async def test_a_group_its_command_ends_leaves_the_handlers_as_they_were(noted: list[int]) -> None:
    calls: list[str] = []
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    with anyio.fail_after(10):
        async with signal_stopped_group(lambda: calls.append("stopping")) as tg:
            await anyio.sleep(0.01)
            tg.cancel_scope.cancel()  # as the remote actor's command does when its work ends
    assert calls == []
    assert {sig: signal.getsignal(sig) for sig in STOP_SIGNALS} == previous
