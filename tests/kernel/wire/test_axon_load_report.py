"""A flood leaves a trace: once the refusals within ``load_report_interval`` reach ``load_report_threshold``, the
axon logs ``axon.under_load`` (a warning) with the counts by reason since the last check, at most once an
interval; below the threshold it says nothing."""

from __future__ import annotations

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Axon, AxonConfig

from .wire_helpers import BOB, EVE, Dummy, RawClient, double, request

pytestmark = pytest.mark.anyio


def _reports(logs: list[dict]) -> list[dict]:
    return [e for e in logs if e["event"] == "axon.under_load"]


async def test_a_flood_of_refusals_is_logged_once_an_interval() -> None:
    """30 requests for an unknown synapse and 5 with a forged signature, at an axon checking every 0.3 s with a
    threshold of 20: one warning counts them by reason (``refusals()`` keeps the totals); no refusals after it, no
    second warning."""
    config = AxonConfig(load_report_interval=0.3, load_report_threshold=20)
    with capture_logs() as logs:
        async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(double) as ax, RawClient(ax.address) as c:
            for i in range(30):
                assert (await c.reply(request(Dummy(input=i), name="Nope"))).status == 404
            for i in range(5):
                assert (await c.reply(request(Dummy(input=i), signer=EVE))).status == 401
            with anyio.fail_after(5):
                while not _reports(logs):
                    await anyio.sleep(0.05)
            await anyio.sleep(1.0)  # three more intervals, nothing refused
            assert ax.refusals() == {"not_found": 30, "unauthorized": 5}
    [report] = _reports(logs)  # one (the 35 may straddle two checks: then one of them holds 20 or more)
    assert report["log_level"] == "warning" and report["actor"] == "axon"
    refused = report["refused"]
    assert set(refused) <= {"not_found", "unauthorized"} and sum(refused.values()) >= 20, report


async def test_refusals_below_the_threshold_are_not_reported() -> None:
    """10 refusals within an interval, at a threshold of 20: no warning."""
    config = AxonConfig(load_report_interval=0.2, load_report_threshold=20)
    with capture_logs() as logs:
        async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(double) as ax, RawClient(ax.address) as c:
            for i in range(10):
                assert (await c.reply(request(Dummy(input=i), name="Nope"))).status == 404
            await anyio.sleep(0.7)
    assert _reports(logs) == []
