"""A plugin package whose plain-def neuron_start never returns, run by the installed `taonet launch`: its host
restarts that neuron (each restart loads the plugin again and its neuron_start overruns again, one more thread held),
then stops it for good (``neuron.failed``), and the launcher says it once as a `problem:` line naming the hook and
the option (before: restarted for ever with the host's growing pause, a thread held at each restart)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ..plugins.dists import FULL_PLUGIN, install
from .processes import TAONET_EXE

pytestmark = pytest.mark.slow

STUCK_START = FULL_PLUGIN + '''

@hookimpl
def neuron_start():
    import time
    time.sleep(3600)  # a start that never returns (a download that hangs)
'''

NETWORK = """
[node]
block_time = 0.1
rpc = "tcp://127.0.0.1:0"

[[wallets]]
name = "owner"
uri = "//Alice"

[[subnets]]
netuid = 1
plugin = "stuck"
owner = "owner"
hyperparameters = { tempo = 10 }

[[neurons]]
role = "miner"
plugin = "stuck"
netuid = 1
wallet = "miners"
hotkey = "m{i}"
options = { hook_timeout = HOOK_TIMEOUT }
"""


def _launch(tmp_path: Path, hook_timeout: float, **env_extra: str) -> tuple[subprocess.Popen[str], Path]:
    """`taonet launch` of the network above (the stuck plugin installed for it), its output in lines."""
    site = tmp_path / "site"
    install(site, "taonet-stuck", "stuck", STUCK_START)
    spec = tmp_path / "net.toml"
    spec.write_text(NETWORK.replace("HOOK_TIMEOUT", str(hook_timeout)))
    net = tmp_path / "net"
    env = {**os.environ, "HOME": str(tmp_path), "COLUMNS": "200", **env_extra,
           "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([TAONET_EXE, "launch", str(spec), "--dir", str(net), "--lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    return proc, net


def _lines_until(proc: subprocess.Popen[str], done: Callable[[list[str]], bool], within: float, linger: float
                 ) -> list[str]:
    """The launcher's lines until ``done`` holds (within ``within`` s), then ``linger`` s more, Ctrl-C and the rest;
    the launcher is killed if it is still there."""
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + within
        while not done(lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            line = proc.stdout.readline()
            if line:
                lines.append(line.rstrip("\n"))
        time.sleep(linger)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        lines += rest.splitlines()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return lines


def test_a_neuron_whose_start_never_returns_is_failed_by_its_host_and_said_once_by_the_launcher(
        tmp_path: Path) -> None:
    """One miner whose neuron_start sleeps for an hour (hook_timeout 0.3 s): within a few restarts its host stops
    it for good, the launcher prints one `problem: NAME: failed, not restarted: ...` line naming neuron_start and
    hook_timeout (launch.json's `failed` names it), and only then `ready: 0 of 1 neuron runs, 1 failed` (each failed
    start writes the neuron's status file, "stopped": that is not a running neuron), the host logged 3 crashes and one
    failure, and Ctrl-C stops everything (exit 0)."""
    proc, net = _launch(tmp_path, 0.3)
    lines = _lines_until(proc, lambda lines: any(line.startswith("problem:") and ": failed, not restarted: " in line
                                                 for line in lines)
                         and any(line.startswith("ready:") for line in lines),
                         within=90, linger=1)  # a neuron restarted again after it failed would crash again: none does
    assert proc.returncode == 0, lines
    problems = [line for line in lines if line.startswith("problem:") and ": failed, not restarted: " in line]
    assert len(problems) == 1 and ": failed, not restarted: the neuron_start hook of subnet plugin 'stuck'" in \
        problems[0], lines
    assert "at its start and at 3 restarts in a row" in problems[0] and "--set hook_timeout=SECONDS" in problems[0]
    ready = [i for i, line in enumerate(lines) if line.startswith("ready:")]
    assert len(ready) == 1 and ready[0] > lines.index(problems[0]), lines  # counted once its host gave up on it
    assert lines[ready[0]].startswith("ready: 0 of 1 neuron runs, 1 failed (the problem lines say why)"), lines
    status = json.loads((net / "launch.json").read_text())
    assert list(status["failed"]) == [problems[0].split(":")[1].strip()], status
    host_log = "".join(p.read_text() for p in (net / "logs").glob("*.log") if p.name != "node.log")
    assert host_log.count('"neuron.crashed"') == 3 and host_log.count('"neuron.failed"') == 1


def test_a_neuron_still_starting_after_the_waiting_time_is_named_once_and_ready_is_not_said(tmp_path: Path) -> None:
    """The same neuron_start with a hook_timeout of an hour: it neither runs nor fails, so `ready:` cannot be said;
    after the waiting time (3 s here, TAONET_LAUNCH_WAITING_S; 60 s by default) one `waiting:` line names it and says
    where to look, and Ctrl-C still stops everything (exit 130: stopped before it was ready, docs/launcher.md)."""
    proc, net = _launch(tmp_path, 3600, TAONET_LAUNCH_WAITING_S="3")
    lines = _lines_until(proc, lambda lines: any(line.startswith("waiting:") and "not running yet" in line
                                                 for line in lines),
                         within=60, linger=2)  # said once, not at every look
    assert proc.returncode == 130, lines
    assert lines[-1].startswith("error: interrupted: the network was stopped while its neurons started"), lines
    waiting = [line for line in lines if line.startswith("waiting:") and "not running yet" in line]
    assert len(waiting) == 1 and waiting[0].startswith("waiting: 1 of 1 neuron not running yet"), lines
    assert "logs" in waiting[0] and f"taonet launch logs --dir {net.resolve()}" in waiting[0], waiting
    assert not [line for line in lines if line.startswith("ready:")], lines
