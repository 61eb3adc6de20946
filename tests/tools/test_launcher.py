"""The launcher through the installed command: `taonet localnet` to paid miners and back (every child gone, the log
verifies), and `taonet launch` with the two-subnet example (--detach, status, logs, a SIGKILLed neuron restarted,
honest miners paid more than exploit miners, stop)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .processes import TAONET_EXE, read_until, taonet

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STOP_DEADLINE = 10.0  # taonet.tools.launcher.STOP_DEADLINE, as docs/launcher.md states it
DEFAULT_RPC = "tcp://127.0.0.1:9944"  # where taonet commands look with no --endpoint (docs/cli.md)


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(home), "COLUMNS": "200"}


def _pids_under(path: Path) -> list[int]:
    """Processes whose command line names ``path`` (the launcher's children all do)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if str(path) in cmd and state != "Z":
                out.append(int(d.name))
    return out


def _end(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` if it still runs, reap it and close its output pipe."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


def test_localnet_pays_miners_then_stops_every_child_on_sigint(tmp_path: Path) -> None:
    """taonet localnet: 2 epochs paying the miners, SIGINT stops every process before the deadline, the logs and
    the chain's log stay behind and the log verifies; run again with --keep (and the live screen), it resumes where it
    stopped."""
    net = tmp_path / "net"
    proc = subprocess.Popen([TAONET_EXE, "localnet", "--keep", str(net), "--lines"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_env(tmp_path))
    try:
        lines = read_until(proc, lambda ls: sum(1 for x in ls if x.startswith("epoch:") and " 0/" not in x
                                                 and "miners paid" in x) >= 2, 90)
        status = json.loads((net / "launch.json").read_text())
        children = [p["pid"] for p in status["processes"]]
        assert len(children) == 2 and all(children)  # the node and one neuron host
        assert "neurons: 6 in 1 process" in lines and "running: 2 processes; " in " ".join(lines)  # not "1 processes"
        assert any(x.startswith("epoch:") and "4/4 miners paid" in x for x in lines)
        kinds = [x.split(":", 1)[0] for x in lines]
        assert kinds.index("running") < kinds.index("ready") < kinds.index("first_emission")  # neurons ran first
        assert 0 < status["ready_s"] < status["uptime_s"]
        rpc = next(x for x in lines if x.startswith("rpc:")).split(": ", 1)[1]
        # 9944 (where commands look with no --endpoint) unless taken, and then the view says where instead
        assert (rpc == DEFAULT_RPC) == (not any(x.startswith("note:") for x in lines))
        assert any(x.startswith("wallets: owner, validator, miner in ") for x in lines)
        user = {k: v for k, v in _env(tmp_path).items() if k != "TAONET_ENDPOINT"}
        if rpc != DEFAULT_RPC:
            user["TAONET_ENDPOINT"] = rpc
        answer = subprocess.run([TAONET_EXE, "query", "--netuid", "1", "21"], capture_output=True, text=True,
                                timeout=30, env=user)  # the first validator's gateway, found on the chain
        assert (answer.returncode, answer.stdout.strip()) == (0, "42"), answer.stderr
        mg = subprocess.run([TAONET_EXE, "subnet", "metagraph", "--netuid", "1", "--json"], capture_output=True,
                            text=True, timeout=30, env=user)
        neurons = json.loads(mg.stdout)["neurons"]
        permits = [n["uid"] for n in neurons if n["vpermit"]]
        validators = {json.loads(p.read_text())["ss58Address"]
                      for p in (net / "wallets" / "validator" / "hotkeys").glob("*pub.txt")}
        # the owner (always) and the 2 validators, whatever UIDs they got (the validators' and the miners'
        # registration batches are sent at once, so their order is not fixed); no miner holds one
        assert len(validators) == 2
        assert permits == sorted([0] + [n["uid"] for n in neurons if n["hotkey"] in validators])
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        proc.wait(STOP_DEADLINE + 5)
        took = time.monotonic() - started
    finally:
        _end(proc)
    assert proc.returncode == 0
    assert took < STOP_DEADLINE
    assert _pids_under(net) == []
    assert all(not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
               for pid in children)
    assert (net / "logs" / "node.log").stat().st_size > 0
    assert "neuron" in (net / "logs" / "host-0.log").read_text()
    assert json.loads((net / "launch.json").read_text())["state"] == "stopped"
    out, _ = taonet("replay", str(net), "verify", env={"HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    head = json.loads((net / "launch.json").read_text())["head"]
    again, _ = taonet("localnet", "--keep", str(net), "--epochs", "1", "--live",
                      env={"HOME": str(tmp_path), "COLUMNS": "160"}, timeout=90)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "setup:" not in again.stdout  # the wallets, subnet, registrations and stake were kept
    # the live screen's last frame: processes, the metagraph with every neuron's emission, the events
    assert "processes" in again.stdout and "host-0" in again.stdout and "E τ" in again.stdout
    assert all(f"miner-1-{i}" in again.stdout for i in range(4))
    epoch = next(x for x in again.stdout.splitlines() if " epoch: " in x)
    block = int(epoch.split(", paid in ")[1].split(")")[0])  # "epoch 4 (block 42, paid in 43): 4/4 miners paid"
    assert block > head and "4/4 miners paid" in epoch


def _status(home: Path, net: Path) -> dict:
    out, _ = taonet("launch", "status", "--dir", str(net), "--json", env={"HOME": str(home)})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _wait_status(home: Path, net: Path, ok, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = _status(home, net)
        if ok(st):
            return st
        time.sleep(0.5)
    raise AssertionError(f"status not reached within {timeout} s: {st}")


def test_localnet_beside_another_node_on_the_default_port_listens_elsewhere_and_says_where(tmp_path: Path) -> None:
    """With 127.0.0.1:9944 taken (by us here; a `node run --dev` for a user), localnet's node listens on another port
    and a note says how commands reach it; the network still runs its epoch and exits 0."""
    from .default_port import default_port_held

    with default_port_held():
        out, _ = taonet("localnet", "--epochs", "1", "--lines", "--keep", str(tmp_path / "net"),
                        env={"HOME": str(tmp_path)}, timeout=90)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    assert lines["rpc"].startswith("tcp://127.0.0.1:") and lines["rpc"] != DEFAULT_RPC
    assert f"--endpoint {lines['rpc']}" in lines["note"] and f"TAONET_ENDPOINT={lines['rpc']}" in lines["note"]


def test_localnet_children_stop_cleanly_when_the_launcher_is_killed(tmp_path: Path) -> None:
    """A launcher killed with SIGKILL (it cannot stop anything itself) leaves nothing running: each child sees its
    parent gone and stops as on SIGTERM, so the node's log is left whole and verifies."""
    net = tmp_path / "net"
    proc = subprocess.Popen([TAONET_EXE, "localnet", "--keep", str(net), "--lines", "--miners", "2",
                             "--validators", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=_env(tmp_path))
    try:
        read_until(proc, lambda ls: any(x.startswith("ready:") for x in ls), 60)
        children = [p["pid"] for p in json.loads((net / "launch.json").read_text())["processes"]]
        assert len(children) == 2 and all(children) and _pids_under(net)
        proc.kill()
        proc.wait(5)
        deadline = time.monotonic() + STOP_DEADLINE + 5
        while _pids_under(net) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _pids_under(net)
    finally:
        _end(proc)
        for pid in _pids_under(net):  # only when the assertion below fails: leave nothing behind
            os.kill(pid, signal.SIGKILL)
    assert left == []
    assert "host.stopped" in (net / "logs" / "host-0.log").read_text()  # a clean stop, not a kill
    out, _ = taonet("replay", str(net), "verify", env={"HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr


def test_launch_two_subnets_detached_pays_honest_over_exploit_and_restarts_a_killed_neuron(tmp_path: Path) -> None:
    """taonet launch FILE --detach, status, logs, stop: both subnets pay honest miners more than exploit miners; a
    neuron process killed with SIGKILL is restarted and the view says so; after stop no child is left."""
    net = tmp_path / "net"
    home = {"HOME": str(tmp_path)}
    out, _ = taonet("launch", str(ROOT / "docs" / "network-two-subnets.toml"), "--dir", str(net), "--detach",
                    timeout=180, env=home)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    assert Path(lines["dir"]) == net.resolve()
    endpoint = lines["rpc"]
    try:
        st = _wait_status(tmp_path, net, lambda s: len(s["epochs"]) == 2 and min(s["epochs"].values()) >= 3, 90)
        procs = {p["name"]: p for p in st["processes"]}
        assert set(procs) == {"node", "subnet-1", "subnet-2", "exploit-1-0"}
        victim = procs["exploit-1-0"]["pid"]
        os.kill(victim, signal.SIGKILL)
        st = _wait_status(tmp_path, net, lambda s: next(p for p in s["processes"] if p["name"] == "exploit-1-0")
                          ["restarts"] == 1 and next(p for p in s["processes"] if p["name"] == "exploit-1-0")
                          ["state"] == "running", 30)
        log, _ = taonet("launch", "logs", "launcher", "--dir", str(net), "-n", "200", env=home)
        assert "crashed: exploit-1-0 (killed by SIGKILL" in log.stdout
        assert "restarted: exploit-1-0" in log.stdout
        for netuid in (1, 2):
            mg, _ = taonet("subnet", "metagraph", str(netuid), "--endpoint", endpoint, "--json", env=home)
            assert mg.returncode == 0, mg.stderr
            hosts = (net / "hosts").glob("*.toml")
            wrong = {line.split('"')[1] for f in hosts for line in f.read_text().splitlines()
                     if line.startswith("hotkey = ") and "wrong" in line}
            assert wrong
            wallets = net / "wallets" / "miners" / "hotkeys"
            ss58 = {name: json.loads((wallets / name).read_text())["ss58Address"] for name in os.listdir(wallets)
                    if not name.endswith("pub.txt")}
            by_hot = {n["hotkey"]: n for n in json.loads(mg.stdout)["neurons"]}
            honest = [by_hot[a]["incentive"] for k, a in ss58.items() if "honest" in k and a in by_hot]
            exploit = [by_hot[a]["incentive"] for k, a in ss58.items() if "wrong" in k and a in by_hot]
            assert len(honest) == 3 and len(exploit) == 1
            assert min(honest) > max(exploit)
    finally:
        stop, took = taonet("launch", "stop", "--dir", str(net), env=home, timeout=60)
    assert stop.returncode == 0, stop.stderr
    assert took < STOP_DEADLINE + 3
    assert _pids_under(net) == []
    assert _status(tmp_path, net)["state"] == "stopped"


def test_launch_against_an_existing_node_with_a_neuron_on_another_machine(tmp_path: Path) -> None:
    """[node] endpoint: no node of ours; a row with machine = "far" is registered but not started, its file written
    to machines/far.toml; run there with `taonet neurons run`, that miner is paid by the local validator."""
    from .processes import taonet_node

    home = {"HOME": str(tmp_path)}
    with taonet_node(tmp_path / "node", "--block-time", "0.25") as (_proc, _header, addresses):
        (tmp_path / "net.toml").write_text(f"""
name = "spread"
[node]
endpoint = "{addresses['rpc']}"
[[wallets]]
name = "owner"
uri = "//Alice"
[[subnets]]
netuid = 1
plugin = "template"
hyperparameters = {{ tempo = 10 }}
[[neurons]]
role = "validator"
plugin = "template"
netuid = 1
wallet = "v"
hotkey = "v0"
stake = 500
[[neurons]]
role = "miner"
plugin = "template"
netuid = 1
wallet = "m"
hotkey = "far0"
name = "far-miner"
machine = "far"
""")
        net = tmp_path / "net"
        out, _ = taonet("launch", str(tmp_path / "net.toml"), "--dir", str(net), "--detach", env=home, timeout=120)
        assert out.returncode == 0, out.stderr
        far = None
        try:
            st = _status(tmp_path, net)
            assert [p["name"] for p in st["processes"]] == ["host"]  # no node, and nothing for "far"
            assert f'endpoint = "{addresses["rpc"]}"' in (net / "machines" / "far.toml").read_text()
            far = subprocess.Popen([TAONET_EXE, "neurons", "run", str(net / "machines" / "far.toml"),
                                    "--wallet-path", str(net / "wallets")],  # the file names no folder of ours
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(tmp_path))
            hotkey = json.loads((net / "wallets" / "m" / "hotkeys" / "far0").read_text())["ss58Address"]
            deadline = time.monotonic() + 60
            paid = False
            while not paid and time.monotonic() < deadline:
                time.sleep(1)
                mg, _ = taonet("subnet", "metagraph", "1", "--endpoint", addresses["rpc"], "--json", env=home)
                paid = any(n["hotkey"] == hotkey and n["emission"] > 0 for n in json.loads(mg.stdout)["neurons"])
            assert paid, mg.stdout
        finally:
            if far is not None:
                far.send_signal(signal.SIGTERM)
                assert far.wait(15) == 0
            stop, _ = taonet("launch", "stop", "--dir", str(net), env=home, timeout=60)
        assert stop.returncode == 0 and _pids_under(net) == []
