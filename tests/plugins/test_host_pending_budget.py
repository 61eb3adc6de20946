"""A neuron host's axons share one budget for unfinished requests (``NeuronHost(max_pending_mb=...)``, 4,096 MiB by
default): two hosted miners against a real dev node hold at most the host's budget in all against a crowd dialing
both, each keeps its own bounds, and a caller connected before the crowd is still answered by both. The default
leaves a localnet of 64 miners and 8 validators in one host room for every validator at every miner."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pynng
import pytest
from structlog.testing import capture_logs

from taonet.kernel import AxonConfig, Dendrite, Synapse, Wallet
from taonet.kernel.wire import PENDING_NETWORK_PART, PendingBudget
from taonet.ledger import Keypair
from taonet.plugins import NeuronConfig, NeuronHost, load_plugin
from taonet.plugins._host import HOST_PENDING_MB, SharedChain
from taonet.plugins._neuron import axon_config

from ..kernel.node.nodes import running_node
from .test_host_in_process import _setup

pytestmark = pytest.mark.anyio

MIB = 1 << 20
HEADER_ROOM = 65536  # the axon's receive limit: its largest request + 64 KiB


async def test_a_hosts_miners_hold_at_most_the_hosts_budget_in_all_and_still_answer(tmp_path: Path) -> None:
    """Two template miners in a host with a 17 MiB budget (4 connections of 4 MiB + 64 KiB in all; each axon's own
    bounds are still 252, 63 from one address): a caller connects to both, then 12 networks dial each; 4 connections
    stay open in all (each axon with its own budget: all 26), the rest are refused by the host's budget, and the
    caller is answered by both."""
    async with running_node(tmp_path / "node") as (_node, sub):
        miners, _ = await _setup(sub, tmp_path, 2, 0)
        host = NeuronHost(max_pending_mb=17)
        for i, w in enumerate(miners):
            host.add(NeuronConfig(plugin="template", wallet=w, state_dir=tmp_path / "s" / f"m{i}", netuid=1,
                                  endpoint=sub.endpoint, port=0), "miner", name=f"m{i}")
        recv_max = 4 * MIB + HEADER_ROOM
        with capture_logs() as logs, anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                await tg.start(host.run)
                budget = host.pending_budget
                infos = [host.neurons[f"m{i}"].started for i in range(2)]
                assert all(info is not None for info in infos), host.counts()
                crowd: list[pynng.Socket] = []
                async with Dendrite(Keypair.from_uri("//Ferdie")) as d:
                    for info in infos:
                        assert (await d(info, Synapse(), timeout=5)).dendrite.status_code == 200
                    assert budget.connections == 2 and budget.held == 2 * recv_max
                    try:
                        for net in range(1, 13):
                            for info in infos:
                                sock = pynng.Req0(resend_time=-1)
                                crowd.append(sock)
                                sock.dial(f"tcp://127.0.{net}.2;127.0.0.1:{info.port}", block=False)
                        t0 = time.monotonic()
                        while budget.refused < 22 or time.monotonic() - t0 < 1.0:
                            await anyio.sleep(0.05)
                        assert budget.connections == 4 and budget.held == 4 * recv_max <= budget.total
                        for info in infos:
                            assert (await d(info, Synapse(), timeout=5)).dendrite.status_code == 200
                        assert budget.connections == 4
                    finally:
                        for sock in crowd:
                            sock.close()
                tg.cancel_scope.cancel()
        started = [e for e in logs if e["event"] == "axon.started"]
        assert len(started) == 2, started
        for e in started:
            assert e["shared_pending_mb"] == 17 and e["receive_limit"] == recv_max
            assert e["connections"] == {"max": 252, "per_address": 63, "per_network": 126}


async def test_a_hosts_budget_is_its_own_or_its_largest_neurons_and_reaches_every_axon_config(
        tmp_path: Path) -> None:
    """The host's budget: the one given, else 4,096 MiB or the largest ``max_pending_mb`` a neuron sets (a compute
    subnet's operator raising it for its 64 MiB requests raises the host's too). Once the host runs, its AxonConfig
    carries that one budget; a neuron's own option keeps its meaning within it, and an axon built on another base (a
    gateway's) gets it through the host's shared state."""
    assert NeuronHost().pending_mb() == HOST_PENDING_MB == 4096
    assert NeuronHost(max_pending_mb=64).pending_mb() == 64
    wallet = Wallet("w", "h", str(tmp_path))
    raised = NeuronHost()
    for mb in ("2048", "8192", None):
        raised.add(NeuronConfig(plugin="template", wallet=wallet, netuid=1,
                                options={} if mb is None else {"max_pending_mb": mb}), "miner")
    assert raised.pending_mb() == 8192
    host = NeuronHost(max_pending_mb=64)
    assert host.pending_budget is None
    async with anyio.create_task_group() as tg:  # no neurons: it starts at once
        await tg.start(host.run)
        budget = host.pending_budget
        assert isinstance(budget, PendingBudget) and budget.mb == 64
        tg.cancel_scope.cancel()
    assert host.shared.axon_config is not None and host.shared.axon_config.pending_budget is budget
    mine = axon_config({"max_pending_mb": 16}, host.shared.axon_config)
    assert mine.pending_budget is budget and mine.max_pending_mb == 16 and mine.max_concurrency == 4
    gateway = axon_config({}, shared=host.shared)
    assert gateway.pending_budget is budget and gateway.max_concurrency == AxonConfig().max_concurrency
    assert axon_config({}).pending_budget is None  # a neuron alone: its own budget only, as before
    given = PendingBudget(8)
    brought = NeuronHost(shared=SharedChain(axon_config=AxonConfig(pending_budget=given)), max_pending_mb=64)
    assert brought.pending_budget is given
    brought._share_budget()
    assert brought.pending_budget is given
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="max_pending_mb must be a whole number of MiB"):
            NeuronHost(max_pending_mb=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("plugin", ["template", "oracle", "prompting"])
def test_the_default_host_budget_holds_a_localnet_of_64_miners_and_8_validators(plugin: str) -> None:
    """Every one of 8 validators' connections (from 127.0.0.1) at each of 64 miners in one host fits the default
    host budget and 127.0.0.1's part of it, and each miner's own share for one address (a quarter of its own
    ``max_pending_mb`` over its receive limit)."""
    protocol = load_plugin(plugin).protocol
    recv_max = max(AxonConfig().max_request_size, *(c.MAX_SIZE or 0 for c in protocol.synapses)) + HEADER_ROOM
    budget = PendingBudget(HOST_PENDING_MB)
    need = 64 * 8 * recv_max
    assert need <= budget.per_network == int(budget.total * PENDING_NETWORK_PART), (plugin, need >> 20)
    own = int(protocol.defaults()["max_pending_mb"]) * MIB // recv_max
    assert own // 4 >= 8, (plugin, own)
