"""A validator asks miners, never another validator's gateway: the chain announces a gateway with the protocol number
``GATEWAY_PROTOCOL`` (10), which tells it from a miner's axon (a real node, a miner and two validators, one opening a
gateway; asyncio and trio)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.plugins import GATEWAY_PROTOCOL, NeuronConfig, NeuronHost, StateDir, read_journal

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio


async def test_a_validator_never_queries_another_validator_s_gateway(tmp_path: Path) -> None:
    """Validator "gw" opens a gateway (its axon on the chain: protocol 10); validator "plain" beside it takes 4 steps
    after its metagraph shows that gateway: its journal holds the miner's answers and no entry for gw's UID (before,
    each step sent the task to the gateway, which answered 404, scored 0, and took one of sample_size's places)."""
    async with running_node(tmp_path / "node") as (_node, sub):
        owner = dev_wallet(tmp_path, "owner", "//Alice")
        miner = dev_wallet(tmp_path, "miner", "//Bob")
        gw, plain = dev_wallet(tmp_path, "gw", "//Charlie"), dev_wallet(tmp_path, "plain", "//Dave")
        with anyio.fail_after(30):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.set_subnet_identity(owner, 1, "template")).success
            for w in (miner, gw, plain):
                assert (await sub.burned_register(w, 1)).success
            for w in (gw, plain):
                assert (await sub.add_stake(w, w.hotkey.ss58_address, 100.0)).success
        common = {"netuid": 1, "endpoint": sub.endpoint, "port": 0, "plugin": "template"}
        host = NeuronHost()
        host.add(NeuronConfig(wallet=miner, state_dir=tmp_path / "s" / "m", **common), "miner", name="miner")
        host.add(NeuronConfig(wallet=gw, state_dir=tmp_path / "s" / "gw", gateway="127.0.0.1:0", **common),
                 "validator", name="gw")
        state = StateDir(tmp_path / "s" / "plain")
        host.add(NeuronConfig(wallet=plain, state_dir=state.path, options={"metagraph_interval": "1"}, **common),
                 "validator", name="plain")
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                await tg.start(host.run)
                gw_uid = None
                while gw_uid is None:
                    mg = await sub.metagraph(1)
                    gw_uid = next((u for u in range(mg.n) if mg.hotkeys[u] == gw.hotkey.ss58_address
                                   and mg.axons[u].protocol == GATEWAY_PROTOCOL and mg.axons[u].is_serving), None)
                    await sub.wait_for_block()
                seen = mg.block
                while ((status := state.read_status() or {}).get("metagraph_block") or 0) < seen:
                    await sub.wait_for_block()
                first = status["step"]
                while (state.read_status() or {}).get("step", 0) < first + 4:
                    await sub.wait_for_block()
                tg.cancel_scope.cancel()
    steps = list(read_journal(state.path / "journal"))
    asked = {r["uid"] for s in steps for r in s["responses"]}
    miner_uid = mg.hotkeys.index(miner.hotkey.ss58_address)
    assert len(steps) >= 4 and miner_uid in asked
    assert gw_uid not in asked, [(r["uid"], r["status"]) for s in steps for r in s["responses"]]
