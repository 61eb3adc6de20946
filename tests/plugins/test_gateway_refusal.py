"""An organic query refused by a gateway, on a real node: the client takes the wait from the refusal's typed
``retry_after`` (so the gateway's words may change), and still from the text of a gateway older than that field."""

from __future__ import annotations

from pathlib import Path

import pytest

from taonet.kernel import Axon
from taonet.plugins import GATEWAY_PROTOCOL, OrganicQuery, aquery
from taonet.plugins.errors import QueryRefused

from ..kernel.node.nodes import Wallet, running_node

pytestmark = pytest.mark.anyio


async def _never(q: OrganicQuery) -> OrganicQuery:
    raise AssertionError("a refused query never reaches the forward")


async def test_a_refusal_s_wait_is_read_from_its_typed_field_whatever_its_words(tmp_path: Path) -> None:
    """A gateway (published on the chain) whose blacklist refuses with new words and a typed 2.5 s: QueryRefused
    says those words and retry_after 2.5 (the client parsed "retry_after=" out of the text, and found none here);
    one refusing the old way, the wait only in its text, still gives 0.75."""
    owner = Wallet("Alice")
    refusals = [(True, "too many questions today", 2.5), (True, "over this caller's rate; retry_after=0.750"),
                (True, "over this caller's rate; retry_after=9.000", 1.25)]

    def refuse(q: OrganicQuery) -> tuple[bool, str] | tuple[bool, str, float]:
        return refusals.pop(0)

    async with running_node(tmp_path) as (_node, sub):
        assert (await sub.create_subnet(owner)).success
        async with Axon(owner.hotkey, "tcp://127.0.0.1:0").attach(_never, refuse, synapse=OrganicQuery) as gateway:
            port = int(gateway.address.rpartition(":")[2])
            served = await sub.serve_axon(owner, 1, ip="127.0.0.1", port=port, protocol=GATEWAY_PROTOCOL)
            assert served.success, served.message
            with pytest.raises(QueryRefused) as typed:
                await aquery(1, 21, endpoint=sub.endpoint, timeout=5.0)
            with pytest.raises(QueryRefused) as old:
                await aquery(1, 21, endpoint=sub.endpoint, timeout=5.0)
            with pytest.raises(QueryRefused) as both:  # today's gateways: the typed field, and the text for old clients
                await aquery(1, 21, endpoint=sub.endpoint, timeout=5.0)
    assert typed.value.reason == "too many questions today" and typed.value.retry_after == 2.5
    assert "try again in 2.5 s" in str(typed.value)
    assert old.value.reason == "over this caller's rate" and old.value.retry_after == 0.75
    assert both.value.reason == "over this caller's rate" and both.value.retry_after == 1.25  # the typed field wins


@pytest.mark.parametrize(("text", "wait"), [
    ("over the rate; retry_after=0.750", 0.75), ("retry_after=3", 3.0), ("no wait said", 0.0),
    ("retry_after=", 0.0), ("retry_after=  ", 0.0), ("retry_after=soon", 0.0), ("retry_after=nan", 0.0),
    ("retry_after=inf", 0.0), ("retry_after=-2", 0.0),
])
def test_an_old_gateway_s_wait_in_text_is_a_finite_count_of_seconds_or_nothing(text: str, wait: float) -> None:
    """The text of a gateway older than the typed field gives a wait only when it holds one (finite, not negative):
    anything else is 0 (no advice), never nan, inf, a negative wait, or an error of the client's own."""
    from taonet.plugins._gateway import _retry_after

    assert _retry_after(text) == wait
