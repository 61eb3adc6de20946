"""A NeuronHost in this process, on asyncio and trio: a neuron's plugin (named as a string, as `taonet neurons run
FILE` names it) is loaded once, in a worker thread while the loop serves the others, and its restarts reuse it (the
cap on a hook's calls left running past their deadline is per loaded plugin, so a reload reset it); a neuron whose
hotkey cannot be read is said (the watchdog cannot name it), not passed over in silence."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Wallet
from taonet.plugins import NeuronConfig, NeuronHost, Plugin, load_plugin, run_miner

from ..kernel.node.nodes import dev_wallet, running_node
from .dists import FULL_PLUGIN, install

pytestmark = pytest.mark.anyio

SLOW_COUNTED = '''
import time
LOADS = []
''' + FULL_PLUGIN.replace("    return SubnetProtocol(", "    LOADS.append(1)\n    time.sleep(1.0)  # a slow load\n"
                                                         "    return SubnetProtocol(")


async def test_a_restarted_neuron_reuses_its_plugin_loaded_once_off_the_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anyio_backend: str) -> None:
    """A miner crashing twice after starting is restarted twice: its plugin (1 s to load) was loaded once, and the
    loop never waited for the load (it was blocked 1 s by each load, of each restart)."""
    module, plugin = f"slowcounted_{anyio_backend}", f"slowcounted{anyio_backend}"
    install(tmp_path / "site", f"slowcounted-{anyio_backend}", plugin, SLOW_COUNTED, module=module)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    async with running_node(tmp_path / "node") as (_node, sub):
        owner = dev_wallet(tmp_path, "owner", "//Alice")
        miner = dev_wallet(tmp_path, "miner", "//Bob")
        with anyio.fail_after(60):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.burned_register(miner, 1)).success
        runs: list[Any] = []

        async def crash_twice(config: NeuronConfig, *, task_status: Any) -> None:
            runs.append(config.plugin)
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, config)
                task_status.started(None)
                if len(runs) <= 2:
                    await sub.wait_for_block()
                    raise RuntimeError(f"boom {len(runs)}")

        host = NeuronHost(backoff=(0.2, 0.4), block_warn=0.4)
        host.add(NeuronConfig(plugin=plugin, netuid=1, wallet=miner, endpoint=sub.endpoint, port=0,
                              state_dir=tmp_path / "s"), "miner", name="crasher", runner=crash_twice)
        gaps = [0.0]

        async def tick() -> None:  # what the loop's other work sees: the longest it waited for its turn
            while True:
                t0 = anyio.current_time()
                await anyio.sleep(0.05)
                gaps[0] = max(gaps[0], anyio.current_time() - t0 - 0.05)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(tick)
                await anyio.sleep(0.1)
                await tg.start(host.run)
                while host.neurons["crasher"].restarts < 2 or host.neurons["crasher"].state != "running":
                    await sub.wait_for_block()
                tg.cancel_scope.cancel()
        assert len(sys.modules[module].LOADS) == 1  # was 3: a load at each start
        assert len(runs) == 3 and all(p is runs[0] for p in runs) and isinstance(runs[0], Plugin)
        assert gaps[0] < 0.8, gaps  # was over 1 s: the load's worker.join() on the loop


async def test_a_neuron_whose_hotkey_cannot_be_read_is_said(tmp_path: Path) -> None:
    """The host names a neuron that blocks the loop by its hotkey: one it cannot read is logged
    (host.hotkey_unknown, with the wallet's error), not passed over."""
    template = load_plugin("template")

    async def runs(config: NeuronConfig, *, task_status: Any) -> None:
        task_status.started(None)
        await anyio.sleep_forever()

    host = NeuronHost()
    host.add(NeuronConfig(plugin=template, netuid=1, wallet=Wallet("nobody", "default", tmp_path / "wallets")),
             "miner", name="keyless", runner=runs)
    with capture_logs() as logs, anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            await tg.start(host.run)
            tg.cancel_scope.cancel()
    said = [e for e in logs if e["event"] == "host.hotkey_unknown"]
    assert [e["name"] for e in said] == ["keyless"] and "WalletNotFound" in said[0]["error"], said
    assert host.neurons["keyless"].hotkey is None
