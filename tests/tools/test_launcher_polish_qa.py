"""What the launcher tells a subnet author (docs/launcher.md), through the installed `taonet`: the commands it prints
reach its network even when another holds 9944 (`--endpoint`), a localnet in use names localnet's own option
(`--keep`), counts of one are singular, a resumed network prints no first_emission (it would be the earlier run's
weights), Ctrl-C before `ready:` is exit 130, and `launch status` of a stopped or killed network says it is not running
and how to start it again."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from taonet.tools.launcher import Network, View, localnet_spec

from .default_port import default_port_held
from .processes import TAONET_EXE, read_until, taonet
from .test_launcher import _end, _pids_under

DEFAULT_RPC = "tcp://127.0.0.1:9944"  # where taonet commands look with no --endpoint nor $TAONET_ENDPOINT

SLOW_FILE = """
[node]
block_time = 1.0
rpc = "tcp://127.0.0.1:0"

[[subnets]]
netuid = 1
plugin = "template"
owner = "owner"

[[neurons]]
role = "miner"
plugin = "template"
netuid = 1
wallet = "miners"
hotkey = "m{i}"
"""


def _env(home: Path) -> dict[str, str]:
    """A user's shell: no $TAONET_ENDPOINT, so a command with no --endpoint dials 127.0.0.1:9944."""
    return {**{k: v for k, v in os.environ.items() if k != "TAONET_ENDPOINT"}, "HOME": str(home), "COLUMNS": "200"}


def _said(lines: list[str], what: str) -> list[str]:
    return [x.split(": ", 1)[1] for x in lines if x.startswith(f"{what}: ")]


def _run_as_printed(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command)
    assert args[0] == "taonet", command
    return subprocess.run([TAONET_EXE, *args[1:]], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.slow
def test_localnet_beside_another_node_prints_commands_that_reach_it_then_resumes_after_a_kill(tmp_path: Path) -> None:
    """With 127.0.0.1:9944 held by another process: the `wallets:` hint carries `--endpoint` and, run as printed, shows
    this network's miner; a second localnet in the directory is refused naming --keep; the setup says `1 validator`.
    The launcher killed (SIGKILL), `launch status` says the network is not running and prints the command that starts
    it again, which resumes it (no setup, the same neurons) without a first_emission line, though its miner is paid."""
    net = tmp_path / "net"
    env = _env(tmp_path)
    proc = None
    hold = default_port_held()
    hold.__enter__()
    try:
        proc = subprocess.Popen([TAONET_EXE, "localnet", "--keep", str(net), "--lines", "--validators", "1",
                                 "--miners", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        lines = read_until(proc, lambda ls: any("1/1 miners paid" in x for x in _said(ls, "epoch")), 90)
        rpc = _said(lines, "rpc")[0]
        assert rpc != DEFAULT_RPC, lines
        assert "staked on 1 validator" in _said(lines, "setup") and "registered 2 hotkeys" in _said(lines, "setup")
        overview = _said(lines, "wallets")[0].split(" (", 1)[1].removesuffix(")")
        assert overview.endswith(f" --endpoint {rpc}"), overview
        shown = _run_as_printed(overview, env)
        assert shown.returncode == 0 and "m1-0" in shown.stdout, shown.stdout + shown.stderr
        busy, _ = taonet("localnet", "--keep", str(net), env=env)
        assert busy.returncode == 7 and busy.stderr.rstrip().endswith("or choose another directory (--keep DIR)"), \
            busy.stderr
        proc.kill()  # SIGKILL: the launcher stops nothing; its children see it gone and stop themselves
        proc.wait(5)
        deadline = time.monotonic() + 20
        while _pids_under(net) and time.monotonic() < deadline:
            time.sleep(0.2)
        status, _ = taonet("launch", "status", "--dir", str(net), env=env)
        assert status.returncode == 0, status.stderr
        first, *_, last = status.stdout.splitlines()
        assert first.startswith("network: localnet not running: its launcher"), status.stdout
        assert "stop it" not in status.stdout and "left running" not in status.stdout, status.stdout
        assert last == f"start it again with: taonet localnet --validators 1 --miners 1 --keep {net}", status.stdout
        again = subprocess.run([*shlex.split(last.split(": ", 1)[1].replace("taonet", TAONET_EXE, 1)), "--lines",
                                "--epochs", "2"], capture_output=True, text=True, timeout=90, env=env)
        lines = again.stdout.splitlines()
        assert again.returncode == 0, again.stdout + again.stderr
        assert not _said(lines, "setup"), lines  # the same network: nothing to set up
        assert any("1/1 miners paid" in x for x in _said(lines, "epoch")), lines
        assert not _said(lines, "first_emission"), lines  # paid from the weights of the run before
        assert _said(lines, "wallets")[0].endswith(f" --endpoint {_said(lines, 'rpc')[0]})"), lines
    finally:
        hold.__exit__(None, None, None)
        if proc is not None:
            _end(proc)
        for pid in _pids_under(net):  # only when an assertion above failed: leave nothing behind
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_ctrl_c_during_the_setup_exits_130_and_status_says_the_network_stopped_before_it_was_ready(
        tmp_path: Path) -> None:
    """Ctrl-C while the launcher sets the network up (1 s blocks: several seconds of it): every process stopped, one
    error line, exit 130 (interrupted), naming the command that starts it again; `launch status` then says it stopped
    before it was ready, shows the head the node had (not -1), and the same command."""
    spec, net = tmp_path / "slow.toml", tmp_path / "net"
    spec.write_text(SLOW_FILE)
    proc = subprocess.Popen([TAONET_EXE, "launch", str(spec), "--dir", str(net), "--lines"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env(tmp_path))
    try:
        read_until(proc, lambda ls: bool(_said(ls, "rpc")), 60)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        _end(proc)
    assert proc.returncode == 130, rest
    again = f"taonet launch {spec} --dir {net}"
    errors = [x for x in rest.splitlines() if x.startswith("error: ")]
    assert errors == [f"error: interrupted: the network was stopped during its setup, before it was ready; every "
                      f"process is stopped and what was set up is kept in {net}; start it again with `{again}`"], rest
    assert not _said(rest.splitlines(), "ready") and _pids_under(net) == []
    status, _ = taonet("launch", "status", "--dir", str(net), env=_env(tmp_path))
    out = status.stdout.splitlines()
    assert status.returncode == 0 and out[0].startswith("network: "), status.stdout + status.stderr
    assert " stopped before it was ready " in out[0] and "head: -1" not in status.stdout, status.stdout
    assert out[-1] == f"start it again with: {again}", status.stdout
    assert json.loads((net / "launch.json").read_text())["command"] == again


def test_printed_commands_carry_the_endpoint_unless_a_bare_command_reaches_the_network(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--endpoint ADDR` is added to a command the launcher prints whenever a `taonet` command run here without it
    would dial another node: the network is not on 127.0.0.1:9944, or $TAONET_ENDPOINT names another node."""
    from rich.console import Console

    net = Network(spec=localnet_spec(), dir=tmp_path, view=View(Console(), live=False), endpoint=DEFAULT_RPC)
    monkeypatch.delenv("TAONET_ENDPOINT", raising=False)
    assert net.cli("subnet", "list") == "taonet subnet list"
    for elsewhere in ("tcp://10.0.0.5:9944", "10.0.0.5:9944"):
        monkeypatch.setenv("TAONET_ENDPOINT", elsewhere)
        assert net.cli("subnet", "list") == f"taonet subnet list --endpoint {DEFAULT_RPC}"
    for same in ("local", "127.0.0.1:9944", DEFAULT_RPC):
        monkeypatch.setenv("TAONET_ENDPOINT", same)
        assert net.cli("subnet", "list") == "taonet subnet list"
    net.endpoint = "tcp://127.0.0.1:40001"
    assert net.cli("wallet", "overview", "-p", "/a b") == "taonet wallet overview -p '/a b' --endpoint " + net.endpoint
