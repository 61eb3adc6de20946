"""A network spread over machines (a QA pass), through the installed `taonet`: the file the launcher writes for
another machine (`machines/NAME.toml`) holds nothing of this machine's, so copied with its wallets into another tree
it runs there unedited (`taonet neurons run FILE`, with `--wallet-path`, `$TAONET_WALLET_PATH` or `~/.taonet/wallets`,
and `--endpoint` for a replica near it); a node address only this machine reaches is said at the start; `ready:` and
`taonet launch status` name the neurons that wait on other machines; `taonet localnet --rpc/--feed`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .processes import TAONET_EXE, read_until, taonet

pytestmark = pytest.mark.slow

NETWORK = """
name = "spread"
[node]
block_time = 0.2
rpc = "tcp://127.0.0.1:{rpc}"
feed = "tcp://127.0.0.1:0"
{public}
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
hotkey = "far{{i}}"
count = 2
machine = "far"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TAONET_WALLET_PATH", "TAONET_ENDPOINT")}
    return {**env, "COLUMNS": "250", **extra}


def _pids_under(net: Path) -> list[int]:
    st = json.loads((net / "launch.json").read_text())
    return [p["pid"] for p in st["processes"] if p["pid"] is not None]


def _neurons_up(proc: subprocess.Popen[str], n: int, then: Callable[[], None] = lambda: None) -> list[str]:
    """`taonet neurons run`'s lines until it says all ``n`` run; ``then()``; then SIGTERM and its clean exit."""
    try:
        lines = read_until(proc, lambda ls: any(line.startswith("neurons: ") for line in ls), 60)
        assert f"neurons: {n} running, 0 restarting, 0 failed" in lines, lines
        then()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        proc.stdout.close()  # type: ignore[union-attr]
    return lines


def _copy_wallet(src: Path, dst: Path, hotkeys: list[str]) -> None:
    """What a machine's neurons need of a wallet, as an operator copies it: the coldkey's public file and the hotkeys
    (no coldkey)."""
    (dst / "hotkeys").mkdir(parents=True)
    shutil.copy(src / "coldkeypub.txt", dst / "coldkeypub.txt")
    for h in hotkeys:
        shutil.copy(src / "hotkeys" / h, dst / "hotkeys" / h)


def test_a_machine_file_copied_with_its_wallets_runs_in_another_tree_unedited(tmp_path: Path) -> None:
    """machines/far.toml held the leader's absolute wallet_path and state_dir: copied with the wallets to
    ~/.taonet/wallets on the other machine, every neuron failed (WalletNotFound, exit 5) and `neurons run` had no
    --wallet-path. Now the copy runs as is: from ~/.taonet/wallets, from $TAONET_WALLET_PATH, from --wallet-path
    (relative to where it runs), and with --endpoint against a replica instead of the file's node."""
    leader, other = tmp_path / "leader", tmp_path / "other"
    leader.mkdir()
    rpc = _free_port()
    (leader / "net.toml").write_text(NETWORK.format(rpc=rpc, public='public = "127.0.0.1"'))
    net = leader / "net"
    out, _ = taonet("launch", str(leader / "net.toml"), "--dir", str(net), "--detach", env=_env(HOME=str(leader)),
                    timeout=120)
    assert out.returncode == 0, out.stderr
    replica = None
    try:
        written = (net / "machines" / "far.toml").read_text()
        values = [line for line in written.splitlines() if not line.startswith("#")]  # a comment says whence
        assert not [v for v in values if str(tmp_path) in v], written  # nothing of the leader's tree
        assert f'endpoint = "tcp://127.0.0.1:{rpc}"' in written
        # the other machine: the file, and the miner wallet's public part in ~/.taonet/wallets; the leader's gone
        (other / "run").mkdir(parents=True)
        shutil.copy(net / "machines" / "far.toml", other / "run" / "far.toml")
        _copy_wallet(net / "wallets" / "m", other / "home" / ".taonet" / "wallets" / "m", ["far0", "far1"])
        (net / "wallets" / "m").rename(tmp_path / "m-elsewhere")

        state = other / "home" / ".taonet" / "wallets" / "m" / "neurons" / "far0" / "miner-template-1"

        def ride_out_a_node_restart() -> None:
            """The leader's node killed and restarted by its launcher: the machine's neurons go on (docs)."""
            node = next(p for p in json.loads((net / "launch.json").read_text())["processes"] if p["name"] == "node")
            os.kill(node["pid"], signal.SIGKILL)
            deadline = time.monotonic() + 60
            while True:
                assert time.monotonic() < deadline and far.poll() is None, "the neurons did not ride it out"
                st = json.loads((net / "launch.json").read_text())
                node = next(p for p in st["processes"] if p["name"] == "node")
                if node["restarts"] >= 1 and node["state"] == "running":
                    break
                time.sleep(0.2)
            def block() -> int:  # the miner's status file is first written after its first sync: -1 till then
                path = state / "status.json"
                return int(json.loads(path.read_text()).get("block", 0)) if path.exists() else -1

            while (back := block()) < 0:
                assert time.monotonic() < deadline and far.poll() is None, "the miner never wrote its status"
                time.sleep(0.2)
            while block() < back + 5:
                assert time.monotonic() < deadline and far.poll() is None, "the neurons did not ride it out"
                time.sleep(0.2)

        far = subprocess.Popen([TAONET_EXE, "neurons", "run", "far.toml"], cwd=other / "run", text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(HOME=str(other / "home")))
        _neurons_up(far, 2, ride_out_a_node_restart)
        assert json.loads((state / "status.json").read_text())["state"] == "stopped"  # beside its hotkey, there

        (other / "home" / ".taonet" / "wallets").rename(other / "keys")  # another folder: the variable
        far = subprocess.Popen([TAONET_EXE, "neurons", "run", "far.toml"], cwd=other / "run", text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=_env(HOME=str(other / "home"), TAONET_WALLET_PATH=str(other / "keys")))
        _neurons_up(far, 2)

        # a replica near the machine: --endpoint over the file's; the wallets by --wallet-path, from the cwd
        rep_rpc, rep_feed = _free_port(), _free_port()
        replica = subprocess.Popen([TAONET_EXE, "node", "follow", "--from", f"tcp://127.0.0.1:{rpc}", "--data-dir",
                                    str(other / "replica"), "--rpc", f"tcp://127.0.0.1:{rep_rpc}", "--feed",
                                    f"tcp://127.0.0.1:{rep_feed}", "--log-level", "warning"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        deadline = time.monotonic() + 30
        while taonet("node", "status", "--endpoint", f"tcp://127.0.0.1:{rep_rpc}", env=_env())[0].returncode:
            assert time.monotonic() < deadline and replica.poll() is None, "the replica did not answer"
            time.sleep(0.3)
        far = subprocess.Popen([TAONET_EXE, "neurons", "run", "far.toml", "--wallet-path", "../keys", "--endpoint",
                                f"tcp://127.0.0.1:{rep_rpc}"], cwd=other / "run", text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(HOME=str(other / "home")))

        def on_the_replica() -> None:
            status, _ = taonet("node", "status", "--endpoint", f"tcp://127.0.0.1:{rep_rpc}", "--json", env=_env())
            held = json.loads(status.stdout)["connections"]["rpc"]
            assert held["connections"] >= 2, held  # the host's client, and this status command

        _neurons_up(far, 2, on_the_replica)
    finally:
        if replica is not None:
            replica.send_signal(signal.SIGTERM)
            replica.wait(15)
        stop, _ = taonet("launch", "stop", "--dir", str(net), env=_env(HOME=str(leader)), timeout=60)
    assert stop.returncode == 0 and _pids_under(net) == []


def test_a_loopback_node_address_for_another_machine_is_said_and_ready_names_the_machines_neurons(
        tmp_path: Path) -> None:
    """`[node] rpc` on 127.0.0.1, no `public`, a `machine = "far"` row: gpu-box.toml silently got the loopback address
    and `ready:` said every neuron runs. Now a `warning:` line at the start names `[node] public`; `ready:` says the
    machine's 2 neurons wait there and the command to start them; `taonet launch status` lists the machine."""
    rpc = _free_port()
    (tmp_path / "net.toml").write_text(NETWORK.format(rpc=rpc, public=""))
    net = tmp_path / "net"
    proc = subprocess.Popen([TAONET_EXE, "launch", str(tmp_path / "net.toml"), "--dir", str(net), "--lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(HOME=str(tmp_path)))
    try:
        lines = read_until(proc, lambda ls: any(line.startswith("ready:") for line in ls), 90)
        warnings = [line for line in lines if line.startswith("warning:")]
        assert len(warnings) == 1, lines
        assert f"tcp://127.0.0.1:{rpc}" in warnings[0] and "[node] public" in warnings[0], warnings
        assert lines.index(warnings[0]) < min(i for i, line in enumerate(lines) if line.startswith("setup:"))
        ready = next(line for line in lines if line.startswith("ready:"))
        assert "every neuron runs" not in ready, ready
        assert ready.startswith("ready: the 1 neuron of this machine runs"), ready
        assert "2 neurons on machine far: start them there with taonet neurons run far.toml" in ready, ready
        status, _ = taonet("launch", "status", "--dir", str(net), env=_env(HOME=str(tmp_path)))
        assert status.returncode == 0, status.stderr
        machine = [line for line in status.stdout.splitlines() if line.startswith("machine:")]
        assert machine == [f"machine: far 2 neurons, not run by this launcher: start them there with taonet neurons "
                           f"run far.toml (copy {net / 'machines' / 'far.toml'} and the wallets it names there)"], \
            status.stdout
        as_json, _ = taonet("launch", "status", "--dir", str(net), "--json", env=_env(HOME=str(tmp_path)))
        assert json.loads(as_json.stdout)["machines"] == [
            {"name": "far", "file": str(net / "machines" / "far.toml"), "neurons": 2}]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        proc.stdout.close()  # type: ignore[union-attr]
    assert _pids_under(net) == []


def test_localnet_listens_where_rpc_and_feed_say(tmp_path: Path) -> None:
    """`taonet localnet` had no way to choose its node's ports ($TAONET_LAUNCH_PORTS forces picked ports only, for
    tests: 9944, free, is not picked). `--rpc`/`--feed` set them; the commands it prints carry --endpoint."""
    rpc, feed = _free_port(), _free_port()
    net = tmp_path / "net"
    proc = subprocess.Popen([TAONET_EXE, "localnet", "--validators", "1", "--miners", "1", "--keep", str(net),
                             "--rpc", f"tcp://127.0.0.1:{rpc}", "--feed", f"tcp://127.0.0.1:{feed}", "--lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(HOME=str(tmp_path)))
    try:
        lines = read_until(proc, lambda ls: any(line.startswith("ready:") for line in ls), 90)
        assert f"rpc: tcp://127.0.0.1:{rpc}" in lines, lines
        assert not any(line.startswith("note:") for line in lines), lines
        wallets = next(line for line in lines if line.startswith("wallets:"))
        assert f"--endpoint tcp://127.0.0.1:{rpc}" in wallets, wallets
        status, _ = taonet("node", "status", "--endpoint", f"tcp://127.0.0.1:{rpc}", "--json", env=_env())
        assert json.loads(status.stdout)["feed"] == f"tcp://127.0.0.1:{feed}", status.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        proc.stdout.close()  # type: ignore[union-attr]
    st = json.loads((net / "launch.json").read_text())
    assert f"--rpc tcp://127.0.0.1:{rpc} --feed tcp://127.0.0.1:{feed}" in st["command"], st["command"]
    assert _pids_under(net) == []


def test_localnet_refuses_an_rpc_address_it_cannot_listen_on(tmp_path: Path) -> None:
    """A bad --rpc is one usage line naming it (exit 2), before anything starts."""
    out, _ = taonet("localnet", "--rpc", "nonsense", "--keep", str(tmp_path / "net"), env=_env(HOME=str(tmp_path)))
    assert out.returncode == 2, out.stderr
    assert "--rpc" in out.stderr and "'nonsense' is not an nng address" in out.stderr, out.stderr
    assert not (tmp_path / "net").exists()


def test_an_existing_loopback_node_for_another_machine_is_said_too(tmp_path: Path) -> None:
    """`[node] endpoint` on loopback with a machine row: the `warning:` line names the endpoint to change; with no
    neuron on this machine, `ready:` says so and names the one waiting on the other machine."""
    from .processes import taonet_node

    with taonet_node(tmp_path / "node", "--block-time", "0.2") as (_proc, _header, addresses):
        (tmp_path / "net.toml").write_text(f"""
[node]
endpoint = "{addresses['rpc']}"
[[subnets]]
netuid = 1
plugin = "template"
[[neurons]]
role = "miner"
plugin = "template"
netuid = 1
wallet = "m"
hotkey = "m0"
machine = "gpu-box"
""")
        net = tmp_path / "net"
        proc = subprocess.Popen([TAONET_EXE, "launch", str(tmp_path / "net.toml"), "--dir", str(net), "--lines"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=_env(HOME=str(tmp_path)))
        try:
            lines = read_until(proc, lambda ls: any(line.startswith("ready:") for line in ls), 90)
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0
            proc.stdout.close()  # type: ignore[union-attr]
    assert [line for line in lines if line.startswith("warning:")] == [
        f"warning: the neurons of machine gpu-box get [node] endpoint {addresses['rpc']}, which only this machine "
        "reaches: give an address gpu-box can reach the node at (e.g. tcp://10.0.0.5:9944)"], lines
    ready = next(line for line in lines if line.startswith("ready:"))
    assert ready.startswith("ready: no neuron runs on this machine ("), ready
    assert ready.endswith("; 1 neuron on machine gpu-box: start it there with taonet neurons run gpu-box.toml (copy "
                          f"{net / 'machines' / 'gpu-box.toml'} and the wallets it names there)"), ready


def test_localnet_rpc_held_by_another_process_names_the_flag(tmp_path: Path) -> None:
    """An --rpc port another process holds: one line naming --rpc (not a network file's [node] rpc) and the process
    that holds it (this test's: a node left running, or stopped with SIGSTOP, would be named so), exit 4."""
    import os

    from .processes import error_lines, held_port

    with held_port() as port:
        out, _ = taonet("localnet", "--rpc", f"tcp://127.0.0.1:{port}", "--keep", str(tmp_path / "net"), "--lines",
                        env=_env(HOME=str(tmp_path)), timeout=90)
    assert out.returncode == 4, out.stdout + out.stderr
    [line] = error_lines(out.stderr)
    assert line.startswith(f"error: the node did not start: its rpc address tcp://127.0.0.1:{port} (from --rpc) is in "
                           f"use by another process (pid {os.getpid()} ("), line
    assert line.endswith("): stop that process, or give --rpc another port (0: any free one); see "
                         f"{tmp_path / 'net' / 'logs' / 'node.log'}"), line


def test_neurons_run_options_serve_the_rows_that_set_none_over_the_files_defaults(tmp_path: Path) -> None:
    """What `taonet neurons run --wallet-path/--endpoint` pass (`load_neurons(overrides=...)`): a row's own value
    first, then the option, then the file's top-level default (read from the file's folder), as docs/launcher.md
    says."""
    from taonet.plugins import load_neurons

    path = tmp_path / "far.toml"
    path.write_text('endpoint = "tcp://127.0.0.1:1"\nwallet_path = "file-wallets"\n'
                    '[[neurons]]\nrole = "miner"\nplugin = "template"\nnetuid = 1\nhotkey = "a"\n'
                    '[[neurons]]\nrole = "miner"\nplugin = "template"\nnetuid = 1\nhotkey = "b"\n'
                    'wallet_path = "row-wallets"\nendpoint = "tcp://127.0.0.1:3"\n')
    plain, own = load_neurons(path)
    assert (plain.wallet_path, plain.endpoint) == (str(tmp_path / "file-wallets"), "tcp://127.0.0.1:1")
    plain, own = load_neurons(path, overrides={"wallet_path": "/keys", "endpoint": "tcp://127.0.0.1:2"})
    assert (plain.wallet_path, plain.endpoint) == ("/keys", "tcp://127.0.0.1:2")
    assert (own.wallet_path, own.endpoint) == (str(tmp_path / "row-wallets"), "tcp://127.0.0.1:3")
    plain, _ = load_neurons(path, overrides={"wallet_path": None, "endpoint": None})  # options not given
    assert (plain.wallet_path, plain.endpoint) == (str(tmp_path / "file-wallets"), "tcp://127.0.0.1:1")
