"""``axon.serve(netuid, subtensor)``, the Bittensor SDK's way to publish an axon, publishes it through the client's
``serve_axon(netuid, axon)`` (it was a TypeError: ``serve`` only listened): an async client's result is awaited, a
blocking client's returned. ``await task_group.start(axon.serve)`` still listens. A real dev node."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel import Axon, Dendrite, Subtensor
from taonet.kernel.client import blocking

from ..node.nodes import Wallet, running_node
from .wire_helpers import ALICE, BOB, Dummy, double

pytestmark = pytest.mark.anyio


async def test_serve_with_a_netuid_and_a_subtensor_publishes_the_axon(tmp_path: Path) -> None:
    """On a new subnet, ``await axon.serve(1, sub)`` (async client) and ``axon.serve(netuid=1, subtensor=sync)``
    (blocking client, in a thread) each put the axon's address in the metagraph; wrong arguments say what to give."""
    owner = Wallet("Alice")
    async with running_node(tmp_path) as (node, sub):
        assert (await sub.create_subnet(owner, wait_for_finalization=True)).success
        axon = Axon(owner.hotkey, "tcp://127.0.0.1:0", external_ip="203.0.113.7", external_port=8091)
        assert (await axon.serve(1, sub)).success
        assert (await sub.metagraph(1)).axons[0].port == 8091

        def publish_blocking() -> bool:
            with blocking(Subtensor(node.addresses["rpc"])) as sync_sub:
                moved = Axon(owner.hotkey, "tcp://127.0.0.1:0", external_ip="203.0.113.7", external_port=8092)
                result = moved.serve(netuid=1, subtensor=sync_sub)
                return result.success and sync_sub.metagraph(1).axons[0].port == 8092

        assert await anyio.to_thread.run_sync(publish_blocking)
        with pytest.raises(TypeError, match="give both"):
            axon.serve(1)
        with pytest.raises(TypeError, match="has no serve_axon"):
            axon.serve(1, object())


async def test_serve_without_arguments_still_listens() -> None:
    """``task_group.start(axon.serve)`` returns once the axon listens, and it answers."""
    axon = Axon(BOB, "tcp://127.0.0.1:0").attach(double)
    async with anyio.create_task_group() as tg:
        info = await tg.start(axon.serve)
        async with Dendrite(ALICE) as d:
            assert (await d(info, Dummy(input=3), timeout=5)).output == 6
        tg.cancel_scope.cancel()
