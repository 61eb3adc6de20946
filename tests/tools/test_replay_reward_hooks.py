"""`taonet replay DIR what-if --reward PLUGIN` with a reward hook that never returns or calls sys.exit: bounded by the
``hook_timeout`` option, one line naming the plugin and the hook (HookFailed, exit 7), and Ctrl-C ends it at once
(docs/replay.md, "--reward PLUGIN"). The installed `taonet` is driven over a small log and a generated journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from taonet.ledger import FileStore
from taonet.tools.bench.replay_whatif import write_journal
from tests.ledger.chains import pruning_chain
from tests.plugins.dists import install
from tests.tools.processes import TAONET_EXE, error_lines, taonet

MISBEHAVES = """
import asyncio
import os
import sys
import time
from pathlib import Path

from taonet.plugins import SubnetProtocol, hookimpl
from taonet.subnets.template import Double, miner_forward, validator_task  # noqa: F401


@hookimpl
def subnet_protocol():
    return SubnetProtocol(name={name!r}, description="a reward model that misbehaves", synapses=(Double,))


def _started():
    if os.environ.get("REWARD_STARTED"):
        Path(os.environ["REWARD_STARTED"]).touch()


if {name!r}.endswith("async"):
    @hookimpl
    async def reward(task, responses):
        _started()
        if {name!r}.startswith("exits"):
            sys.exit(5)
        await asyncio.sleep(3600)
else:
    @hookimpl
    def reward(task, responses):
        _started()
        if {name!r}.startswith("exits"):
            sys.exit(5)
        while True:  # a blocking call that never returns
            time.sleep(1)
"""

PLUGINS = ("hangs", "hangs-async", "exits", "exits-async")


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A data directory with a 6-block log (subnet 1) and a validator journal of 3 template steps under
    state/v/journal, and the environment that installs the misbehaving plugins."""
    root = tmp_path_factory.mktemp("reward hooks")
    with FileStore(root / "chain", fsync=False) as store:
        pruning_chain(6, store)
    write_journal(root / "state" / "v" / "journal", steps=3, answers=2)
    site = root.parent / f"{root.name}-site"
    for name in PLUGINS:
        install(site, f"{name}-subnet", name, MISBEHAVES)
    env = {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return {"dir": root, "env": env}


def _what_if(net: dict[str, Any], plugin: str, *args: str) -> list[str]:
    return ["replay", str(net["dir"]), "what-if", "--netuid", "1", "--reward", plugin, *args]


@pytest.mark.parametrize("plugin", ["hangs", "hangs-async"])
def test_a_reward_hook_past_hook_timeout_is_one_line_exit_7(net: dict[str, Any], plugin: str) -> None:
    """A reward hook that never returns is cut at the hook_timeout option (--set hook_timeout=1): one line naming the
    plugin, the hook and the timeout, exit 7, and the command does not wait for the hook's thread at its end (it
    hung for ever: no deadline, and the process waited for anyio's worker thread)."""
    out, took = taonet(*_what_if(net, plugin, "--set", "hook_timeout=1"), timeout=20, env=net["env"])
    lines = error_lines(out.stderr)
    assert out.returncode == 7 and len(lines) == 1, out.stderr
    assert lines[0].startswith(f"error: the reward hook of subnet plugin '{plugin}' failed: it did not return "
                               "within 1 s (the hook_timeout option)"), lines
    assert "--set hook_timeout=SECONDS" in lines[0]
    assert took < 10, took


@pytest.mark.parametrize("plugin", ["exits", "exits-async"])
def test_a_reward_hook_calling_sys_exit_is_one_line_exit_7(net: dict[str, Any], plugin: str) -> None:
    """A reward hook that calls sys.exit(5) is the plugin's HookFailed, as the neurons say it (it was exit 5 with
    nothing said at all)."""
    out, _ = taonet(*_what_if(net, plugin), timeout=20, env=net["env"])
    lines = error_lines(out.stderr)
    assert out.returncode == 7 and len(lines) == 1, out.stderr
    assert lines[0] == (f"error: the reward hook of subnet plugin '{plugin}' failed: it called sys.exit(5); a hook "
                        "must not exit the process (raise an exception)"), lines
    out, _ = taonet(*_what_if(net, plugin, "--json"), timeout=20, env=net["env"])
    error = json.loads(out.stdout)["error"]
    assert out.returncode == 7 and error["exit_status"] == 7 and error["code"] == "plugin_hook_failed", out.stdout
    assert error["fields"]["plugin"] == plugin and error["fields"]["hook"] == "reward"


@pytest.mark.parametrize("plugin", ["hangs", "hangs-async"])
def test_ctrl_c_during_a_hung_reward_hook_ends_at_once(net: dict[str, Any], plugin: str, tmp_path: Path) -> None:
    """Ctrl-C while the reward hook hangs (its hook_timeout the default 60 s): `error: interrupted`, exit 130, at
    once (it printed the line, then waited for the hook's thread for ever)."""
    started = tmp_path / "started"
    proc = subprocess.Popen([TAONET_EXE, *_what_if(net, plugin)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **net["env"], "REWARD_STARTED": str(started)})
    try:
        deadline = time.monotonic() + 15
        while not started.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the reward hook was not called"
            time.sleep(0.02)
        time.sleep(0.2)  # in the hook's wait
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130 and error_lines(err) == ["error: interrupted"], (proc.returncode, err)
