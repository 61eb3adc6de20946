"""`taonet.testing.LocalNet` with a plugin author's mistakes, as real processes: a neuron_start that never returns
fails the test with the neuron's own hook-timeout error (LocalNet's start deadline was the default hook_timeout, so
its own "no 'axon' line" came first), and an async hook that blocks the event loop of a `taonet miner run` process is
logged as a neuron host logs it (`host.loop_blocked` naming the neuron and the plugin's line; only a host had a
watchdog)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .dists import install

PLUGIN = '''
import time

import anyio
from taonet.plugins import Option, SubnetProtocol, hookimpl
from taonet.subnets.template import Double, miner_forward, reward, validator_task


@hookimpl
def subnet_protocol():
    return SubnetProtocol(name={name!r}, description="a start that hangs or blocks", synapses=(Double,),
                          options={{"start": Option(default="", choices=("", "hang", "block")),
                                   "langs": Option(default=["en"]), "seed": Option(default=None, type=int)}})


@hookimpl
async def neuron_start(context):
    if context.options["start"] == "hang":
        await anyio.sleep_forever()
    if context.options["start"] == "block":
        time.sleep(1.5)  # heavy work, synchronously, in an async def: the loop stands still
'''

TIMEOUT = 4.0
"""LocalNet's timeout: its start deadline was twice this (8 s), before the hook_timeout below could pass."""
HOOK_TIMEOUT = 8.0


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A LocalNet of the plugin `startdeadline` (installed in a folder its processes and this one import from)."""
    from taonet.testing import LocalNet

    root = tmp_path_factory.mktemp("deadlines")
    site = root / "site"
    install(site, "startdeadline-subnet", "startdeadline", PLUGIN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        mp.syspath_prepend(str(site))
        with LocalNet(root / "net", plugin="startdeadline", timeout=TIMEOUT) as net:
            yield net


@pytest.mark.slow
def test_a_neuron_start_past_its_hook_timeout_fails_with_the_neurons_own_error(net: object) -> None:
    """The neuron stops past hook_timeout (8 s) with its HookFailed; LocalNet waits that long and more (twice its
    timeout beyond it), and its RuntimeError is the neuron's error line, with the fix; nothing is left behind."""
    with pytest.raises(RuntimeError) as info:
        net.add_miner(options={"start": "hang", "hook_timeout": HOOK_TIMEOUT})  # type: ignore[attr-defined]
    said = str(info.value)
    assert said.startswith("miner-0 did not start: error: the neuron_start hook of subnet plugin 'startdeadline' "
                           f"failed: it did not return within {HOOK_TIMEOUT:g} s (the hook_timeout option), so the "
                           "neuron did not start;"), said
    assert "--set hook_timeout=SECONDS" in said, said
    assert net.neurons == []  # type: ignore[attr-defined]


def _events(log: Path, event: str) -> list[dict]:
    lines = (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))
    return [e for e in lines if e.get("event") == event]


@pytest.mark.slow
def test_an_async_hook_blocking_the_loop_is_logged_as_a_hosts_watchdog_logs_it(net: object) -> None:
    """A time.sleep(1.5) in an async neuron_start: the neuron's log has `host.loop_blocked` naming it (its role and
    hotkey), the plugin's line and the hint, then `host.loop_unblocked`; the neuron starts and serves as usual."""
    miner = net.add_miner(options={"start": "block"})  # type: ignore[attr-defined]
    blocked = _events(miner.log, "host.loop_blocked")
    assert len(blocked) == 1, blocked
    assert blocked[0]["blocked_by"] == f"miner {miner.hotkey}" and blocked[0]["seconds"] >= 0.5, blocked
    assert blocked[0]["where"].endswith("(neuron_start)") and "startdeadline" in blocked[0]["where"], blocked
    assert blocked[0]["hint"].startswith("an async hook doing heavy work synchronously"), blocked
    deadline = time.monotonic() + 10  # said at the watchdog's next look, a moment after the hook returned
    while not _events(miner.log, "host.loop_unblocked"):
        assert time.monotonic() < deadline, miner.log.read_text()[-2000:]
        time.sleep(0.05)
    assert miner.proc is not None and miner.proc.poll() is None


@pytest.mark.slow
def test_list_and_none_options_reach_the_neuron_as_the_values_given(net: object) -> None:
    """add_miner's options are passed as `--set` takes them: a list as JSON (its repr, ['de', 'fr'], was refused as
    not a list), None as not given (the option's default), a bool as true/false."""
    miner = net.add_miner(options={"langs": ["de", "fr"], "seed": None, "start": ""})  # type: ignore[attr-defined]
    [started] = _events(miner.log, "miner.started")
    assert started["options"]["langs"] == ["de", "fr"] and started["options"]["seed"] is None, started["options"]
