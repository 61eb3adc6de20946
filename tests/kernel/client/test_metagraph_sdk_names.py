"""The metagraph names a Bittensor script reads besides S, I, W...: ``addresses``, ``neurons``, ``TS`` (and
``tao_stake``, ``total_stake``), and ``AS`` refused with the reason (there is no alpha). On a real node, with a real
axon on 127.0.0.1 published by the miner."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from taonet.kernel import Axon
from taonet.ledger import DEV_SUBNET_DEFAULTS

from ..node.nodes import Wallet, running_node
from ..wire.wire_helpers import double

pytestmark = pytest.mark.anyio


async def test_metagraph_has_the_sdks_addresses_neurons_and_tao_stake(tmp_path: Path) -> None:
    """``addresses`` are the axons' as the SDK writes them (``/ipv4/IP:PORT``; 0.0.0.0:0 for none served);
    ``neurons`` equal ``sub.neurons_lite`` (lite) or ``sub.neurons`` (``lite=False``, weights included) at the
    metagraph's block; ``TS``/``tao_stake``/``total_stake`` are S; ``AS`` is an AttributeError naming S; a metagraph
    loaded from a file has arrays, not neurons, and says so."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    quiet = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10_000)  # no epoch changes anything during the test
    async with running_node(tmp_path / "node", hyper=quiet) as (_node, sub):
        assert (await sub.create_subnet(owner)).success
        assert (await sub.burned_register(miner, 1)).uid == 1
        assert (await sub.add_stake(owner, owner.hotkey.ss58_address, 3.5)).success
        async with Axon(miner.hotkey, "tcp://127.0.0.1:0").attach(double) as axon:
            assert (await sub.serve_axon(miner, 1, axon)).success
            port = axon.info().port

        mg = await sub.metagraph(1)
        assert mg.addresses == ["/ipv4/0.0.0.0:0", f"/ipv4/127.0.0.1:{port}"]
        assert mg.addresses[1] == mg.axons[1].ip_str()
        assert mg.neurons == await sub.neurons_lite(1, block=mg.block)
        assert [n.axon_info for n in mg.neurons] == mg.axons and mg.neurons[1].hotkey == miner.hotkey.ss58_address
        assert mg.TS is mg.S and mg.tao_stake is mg.S and mg.total_stake is mg.S
        assert mg.neurons[0].stake.rao == round(mg.S[0] * 10**9) >= 3_500_000_000
        with pytest.raises(AttributeError, match=r"no alpha token.*S \(= TS, tao_stake\)"):
            _ = mg.AS
        with pytest.raises(AttributeError, match="no alpha token"):
            _ = mg.alpha_stake

        assert (await sub.set_weights(owner, 1, [1], [1.0])).success
        full = await sub.metagraph(1, lite=False)
        assert full.neurons == await sub.neurons(1, block=full.block)
        assert dict(full.neurons[0].weights) == {1: 0xFFFF}
        assert await mg.sync(block=full.block) is mg and mg.neurons == await sub.neurons_lite(1, block=full.block)

        loaded = type(mg)(1).load_from_path(mg.save(tmp_path / "saved"))
        assert loaded.addresses == mg.addresses and list(loaded.TS) == list(mg.S)
        with pytest.raises(ValueError, match="neurons come from a sync"):
            _ = loaded.neurons
        assert type(mg)(1).neurons == []  # never synced: no neurons yet
