"""A neuron's axon takes its connection bounds from the neuron options (``--set``, a network file's ``options``):
a miner run with ``max_connections_per_address=2`` answers two callers from 127.0.0.1 and not a third, while a
caller from 127.0.0.2 is answered. Real parts: an in-process dev node, the miner on its event loop, dendrites.

nng dials from a chosen local address with ``tcp://LOCAL;HOST:PORT``."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import attrs
import pytest

from taonet.kernel import Dendrite
from taonet.ledger import Keypair
from taonet.plugins import NeuronConfig, load_plugin, run_miner

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio


async def test_a_miner_with_a_per_address_option_answers_that_many_callers_from_one_address(tmp_path: Path) -> None:
    """Three dendrites from 127.0.0.1 (each keeps its connection): the first two are answered (403: strangers), the
    third is not (its connection is closed as it comes: a timeout); a dendrite from 127.0.0.2 is answered."""
    async with running_node(tmp_path / "node") as (_node, sub):
        owner = dev_wallet(tmp_path, "owner", "//Alice")
        miner = dev_wallet(tmp_path, "miner", "//Bob")
        with anyio.fail_after(60):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.burned_register(miner, 1)).uid == 1
        config = NeuronConfig(wallet=miner, state_dir=tmp_path / "state", netuid=1, endpoint=sub.endpoint,
                              plugin="template", port=0, options={"max_connections_per_address": "2"})
        double = load_plugin("template").protocol.synapses[0]
        with anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                info = await tg.start(run_miner, config)
                async with AsyncExitStack() as stack:
                    answers = []
                    for n in range(3):
                        d = await stack.enter_async_context(Dendrite(Keypair.from_uri(f"//Stranger{n}")))
                        answers.append(await d(info, double(number=n), timeout=3.0 if n < 2 else 1.5))
                    other = await stack.enter_async_context(Dendrite(Keypair.from_uri("//Elsewhere")))
                    elsewhere = attrs.evolve(info, url=f"tcp://127.0.0.2;127.0.0.1:{info.port}")
                    there = await other(elsewhere, double(number=9), timeout=3.0)
                tg.cancel_scope.cancel()
    assert [a.is_blacklist for a in answers] == [True, True, False], [a.dendrite for a in answers]
    assert not answers[2].is_success and answers[2].dendrite.status_code in (408, 503), answers[2].dendrite
    assert there.is_blacklist, there.dendrite


async def test_max_pending_mb_sets_the_axons_memory_budget_and_its_bounds_follow() -> None:
    """``--set max_pending_mb=64`` reaches the neuron's AxonConfig, and the axon's connection bounds follow it (64 MiB
    over 4 MiB + 64 KiB requests: 15 connections); the default leaves 252, 63 from one address."""
    from taonet.kernel import Axon
    from taonet.plugins._neuron import axon_config

    plugin = load_plugin("template")
    double = plugin.protocol.synapses[0]

    async def forward(synapse: double) -> double:  # type: ignore[valid-type]
        return synapse

    small = axon_config(plugin.options({"max_pending_mb": "64"}))
    assert small.max_pending_mb == 64
    for config, bounds in ((small, (15, 3, 7)), (axon_config(plugin.options({})), (252, 63, 126))):
        axon = Axon(Keypair.from_uri("//Bob"), "tcp://127.0.0.1:0", config=config).attach(forward, synapse=double)
        async with axon as ax:
            assert ax.connection_bounds == bounds
