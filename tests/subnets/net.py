"""A dev node (a process) with one subnet running a built-in plugin, and its neurons in this process on one event
loop (run_miner / run_validator in one task group): the end-to-end check that honest miners out-earn exploits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from taonet.kernel import Subtensor, Wallet
from taonet.plugins import NeuronConfig, run_miner, run_validator
from taonet.testing import answered_steps

from ..kernel.node.nodes import dev_wallet, node_process


@asynccontextmanager
async def dev_subnet(tmp_path: Path, plugin: str, miners: list[str], validators: int = 2, *, tempo: int = 20,
                     block_time: float = 0.1) -> AsyncIterator[tuple[Subtensor, dict[str, Wallet]]]:
    """A dev node with subnet 1 running ``plugin``, the named miners registered and ``validators`` validators
    (``validator0``...) registered with stake; yields a client and the wallets by name."""
    with node_process(tmp_path / "node", "--no-fsync", block_time=block_time) as (_proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
            owner = dev_wallet(tmp_path, "owner", "//Alice")
            with anyio.fail_after(60):
                assert (await sub.create_subnet(owner)).success
                assert (await sub.set_hyperparameter(owner, 1, "tempo", tempo)).success
                assert (await sub.set_subnet_identity(owner, 1, plugin)).success
                wallets = {name: dev_wallet(tmp_path, name, "//Bob") for name in miners}
                for i in range(validators):
                    wallets[f"validator{i}"] = dev_wallet(tmp_path, f"validator{i}", "//Charlie")
                for w in wallets.values():
                    assert (await sub.burned_register(w, 1)).uid is not None
                for name, w in wallets.items():
                    if name.startswith("validator"):
                        assert (await sub.add_stake(w, w.hotkey.ss58_address, 1000.0)).success
            yield sub, wallets


MIN_STEPS = 3
"""Steps in which a miner answered that each validator has journaled before the tempos of :func:`incentives_after`
are counted: the first steps, taken before the miners' metagraph knows the validator, are refused (403) and tell no
exploit from an honest miner (seen on a loaded machine: 7 such steps, one a block, passed a count of all steps)."""


def config(tmp_path: Path, sub: Subtensor, plugin: str, wallet: Wallet, options: Mapping[str, Any]) -> NeuronConfig:
    """The neuron's configuration: state under ``tmp_path/state/<wallet name>``, any free port."""
    return NeuronConfig(wallet=wallet, options=dict(options), state_dir=tmp_path / "state" / wallet.name, netuid=1,
                        endpoint=sub.endpoint, plugin=plugin, port=0)


async def incentives_after(tmp_path: Path, plugin: str, miners: Mapping[str, Mapping[str, Any]], *,
                           validator_options: Mapping[str, Any], tempos: int = 3, tempo: int = 20,
                           block_time: float = 0.1, deadline: float = 100.0) -> dict[str, float]:
    """Run 2 validators and the named miners (name -> ``--set`` options) of ``plugin`` for ``tempos`` epochs; each
    miner's incentive, by name."""
    async with dev_subnet(tmp_path, plugin, list(miners), tempo=tempo, block_time=block_time) as (sub, wallets):
        with anyio.fail_after(deadline):
            async with anyio.create_task_group() as tg:
                for name, opts in miners.items():
                    await tg.start(run_miner, config(tmp_path, sub, plugin, wallets[name], opts))
                for name, w in wallets.items():
                    if name.startswith("validator"):
                        await tg.start(run_validator, config(tmp_path, sub, plugin, w, validator_options))
                # The tempos count from when each validator has scored a few steps, not from its start: on a loaded
                # machine a validator's first steps come late, and weights from one step cannot tell an exploit that
                # answers honestly once (prompting's replay) from an honest miner.
                journals = [tmp_path / "state" / name / "journal" for name in wallets if name.startswith("validator")]
                while any(answered_steps(j) < MIN_STEPS for j in journals):
                    await sub.wait_for_block()
                start = await sub.get_current_block()
                await sub.wait_for_block(start + tempos * (tempo + 1), timeout=deadline)
                mg = await sub.metagraph(1)
                tg.cancel_scope.cancel()
        uid = {hk: u for u, hk in enumerate(mg.hotkeys)}
        return {name: float(mg.I[uid[wallets[name].hotkey.ss58_address]]) for name in miners}
