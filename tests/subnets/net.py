"""A dev node (a process) with one subnet running a built-in plugin, and its neurons in this process on one event
loop (run_miner / run_validator in one task group): the end-to-end check that honest miners out-earn exploits."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from taonet.kernel import Subtensor, Wallet
from taonet.plugins import NeuronConfig, run_miner, run_validator

from ..kernel.node.nodes import node_process


def _wallet(root: Path, name: str, cold: str) -> Wallet:
    w = Wallet(name, "default", root / "wallets")
    w.create_coldkey_from_uri(cold, encrypt=False)
    w.create_hotkey_from_uri(f"{cold}//{name}")
    return w


async def incentives_after(tmp_path: Path, plugin: str, miners: Mapping[str, Mapping[str, Any]], *,
                           validator_options: Mapping[str, Any], tempos: int = 3, tempo: int = 20,
                           block_time: float = 0.1, deadline: float = 100.0) -> dict[str, float]:
    """Run 2 validators and the named miners (name -> ``--set`` options) of ``plugin`` for ``tempos`` epochs after
    the validators got their permits; each miner's incentive, by name."""
    with node_process(tmp_path / "node", "--no-fsync", block_time=block_time) as (_proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
            owner = _wallet(tmp_path, "owner", "//Alice")
            with anyio.fail_after(60):
                assert (await sub.create_subnet(owner)).success
                assert (await sub.set_hyperparameter(owner, 1, "tempo", tempo)).success
                assert (await sub.set_subnet_identity(owner, 1, plugin)).success
                wallets: dict[str, tuple[Wallet, str]] = {}
                for name in miners:
                    wallets[name] = (_wallet(tmp_path, name, "//Bob"), "miner")
                for i in range(2):
                    w = _wallet(tmp_path, f"validator{i}", "//Charlie")
                    wallets[w.name] = (w, "validator")
                for w, _role in wallets.values():
                    assert (await sub.burned_register(w, 1)).uid is not None
                for w, role in wallets.values():
                    if role == "validator":
                        assert (await sub.add_stake(w, w.hotkey.ss58_address, 1000.0)).success
            common = {"netuid": 1, "endpoint": addresses["rpc"], "plugin": plugin, "port": 0}
            with anyio.fail_after(deadline):
                async with anyio.create_task_group() as tg:
                    for name, opts in miners.items():
                        await tg.start(run_miner, NeuronConfig(wallet=wallets[name][0], options=dict(opts),
                                                               state_dir=tmp_path / "state" / name, **common))
                    for name, (w, role) in wallets.items():
                        if role == "validator":
                            await tg.start(run_validator, NeuronConfig(wallet=w, options=dict(validator_options),
                                                                       state_dir=tmp_path / "state" / name, **common))
                    start = await sub.get_current_block()
                    await sub.wait_for_block(start + tempos * (tempo + 1), timeout=deadline)
                    mg = await sub.metagraph(1)
                    tg.cancel_scope.cancel()
            uid = {hk: u for u, hk in enumerate(mg.hotkeys)}
            return {name: float(mg.I[uid[wallets[name][0].hotkey.ss58_address]]) for name in miners}
