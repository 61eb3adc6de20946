"""The connection bounds a user sets: `taonet node run --max-connections*` (the installed command) holds one address
and one network to the shares it was given while other addresses are served; a bad bound is one usage line (exit 2)
for `node run`, `node follow`, `localnet` and a neuron's `--set`, one line naming the table for a network file.

nng dials from a chosen local address with ``tcp://LOCAL;HOST:PORT`` (127.0.0.0/8 is all loopback)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pynng
import pytest

from taonet.kernel import subtensor
from taonet.tools.launcher import parse_network

from .processes import TAONET_EXE, error_lines, interrupt, taonet, taonet_node


def _from(local: str, address: str) -> str:
    return address.replace("tcp://", f"tcp://{local};", 1)


def _until(what: Callable[[], Any], seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := what()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


@pytest.mark.slow
def test_a_node_run_with_small_bounds_holds_an_address_and_a_network_to_them_and_serves_the_others(
        tmp_path: Path) -> None:
    """`--max-connections 32 --max-connections-per-address 2 --max-connections-per-network 6`: 10 dialers from
    127.0.0.1 hold 2 connections, the rest are refused for their address; a client from 127.0.0.2 is still served;
    4 dialers each from 127.0.0.3-5 fill 127.0.0.0/24 up to 6, the rest refused for the network; the metrics
    (read from 127.0.1.1, another /24) say so, and none was refused for the total."""
    flags = ("--max-connections", "32", "--max-connections-per-address", "2", "--max-connections-per-network", "6")
    with taonet_node(tmp_path / "node", *flags) as (_proc, _header, addresses):
        rpc = addresses["rpc"]
        crowd: list[pynng.Socket] = []
        try:
            with subtensor(_from("127.0.1.1", rpc), timeout=10) as watcher:
                watcher.wait_for_block(1, timeout=20)

                def rpc_metrics() -> dict[str, int]:
                    return watcher.call("metrics")["rpc"]

                for _ in range(10):
                    crowd.append(sock := pynng.Req0())
                    sock.dial(_from("127.0.0.1", rpc), block=False)  # refused dialers redial, as a crowd would
                m = _until(lambda: (s := rpc_metrics())["connections_refused_per_address"] >= 8 and s)
                assert m and m["connections"] == 3 and m["addresses"] == 2, m  # 2 from .1, the watcher

                with subtensor(_from("127.0.0.2", rpc), timeout=10) as other:
                    assert other.get_current_block() >= 1
                    for host in (3, 4, 5):
                        for _ in range(4):
                            crowd.append(sock := pynng.Req0())
                            sock.dial(_from(f"127.0.0.{host}", rpc), block=False)
                    m = _until(lambda: (s := rpc_metrics())["connections_refused_per_network"] >= 6 and s)
                    assert m, rpc_metrics()
                    assert m["connections"] == 7 and m["networks"] == 2, m  # 6 of 127.0.0.0/24, the watcher
                    assert other.get_current_block() >= 1  # still served: its connection was admitted before
                    assert m["connections_refused"] == (m["connections_refused_per_address"]
                                                        + m["connections_refused_per_network"]), m
        finally:
            for sock in crowd:
                sock.close()


@pytest.mark.parametrize(("args", "says"), [
    (("--max-connections", "0"), "Invalid value for '--max-connections': Input should be greater than or equal "
                                 "to 1"),
    (("--max-connections-per-address", "-5"), "Invalid value for '--max-connections-per-address'"),
    (("--max-connections", "100", "--max-connections-per-address", "200"),
     "--max-connections-per-address (200) is above --max-connections (100): raise --max-connections, or lower the "
     "share"),
    (("--max-connections-per-address", "64", "--max-connections-per-network", "32"),
     "--max-connections-per-network (32) is below --max-connections-per-address (64)"),
])
@pytest.mark.parametrize("command", [("node", "run", "--dev", "--data-dir"),
                                     ("node", "follow", "--from", "tcp://127.0.0.1:1", "--data-dir"),
                                     ("localnet", "--lines", "--keep")])
def test_a_bad_connection_bound_is_one_usage_line_and_exit_2(tmp_path: Path, command: tuple[str, ...],
                                                             args: tuple[str, ...], says: str) -> None:
    """0, a negative bound, a share above the total, a network's share below its address's: exit 2, one `error:`
    line naming the flag, before anything starts (no data or network directory made), for `node run`, `node follow`
    and `localnet` alike."""
    out, _ = taonet(*command, str(tmp_path / "d"), *args, timeout=60, env={"HOME": str(tmp_path)})
    lines = error_lines(out.stderr)
    assert out.returncode == 2, out
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines
    assert "Traceback" not in out.stderr + out.stdout
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(("sets", "says"), [
    (("max_connections=100", "max_connections_per_address=600"),
     "option 'max_connections_per_address': max_connections_per_address (600) is above max_connections (100)"),
    (("max_connections_per_network=0",), "option 'max_connections_per_network': '0' is outside 1..1,048,576"),
    (("max_connections_per_address=64", "max_connections_per_network=32"),
     "option 'max_connections_per_network': max_connections_per_network (32) is below max_connections_per_address"),
])
def test_a_neurons_bad_connection_option_is_one_usage_line_and_exit_2(sets: tuple[str, ...], says: str) -> None:
    """`taonet miner run --set max_connections...`: the axon's bounds are checked together before anything
    connects (exit 2, one line naming the option)."""
    out, _ = taonet("miner", "run", "--plugin", "template", "--netuid", "1", "--endpoint", "tcp://127.0.0.1:1",
                    *[a for s in sets for a in ("--set", s)], timeout=60)
    lines = error_lines(out.stderr)
    assert out.returncode == 2, out
    assert len(lines) == 1 and says in lines[0], lines


def test_a_network_files_node_bounds_become_the_nodes_flags_and_bad_ones_name_the_table() -> None:
    """``[node] max_connections_per_address = 16`` is passed to `taonet node run` as its flag (the others left to
    the node's defaults); a share above the total is refused naming ``[node]``."""
    spec = parse_network({"node": {"max_connections_per_address": 16}}, source="net.toml")
    assert spec.node.connection_flags() == ["--max-connections-per-address", "16"]
    assert parse_network({}, source="net.toml").node.connection_flags() == []
    with pytest.raises(ValueError, match=r"net.toml: \[node\].*max_connections_per_address \(200\) is above"):
        parse_network({"node": {"max_connections": 100, "max_connections_per_address": 200}}, source="net.toml")


def test_a_network_file_with_a_bad_node_bound_is_one_line(tmp_path: Path) -> None:
    """`taonet launch FILE` with ``[node] max_connections = 0``: one `error:` line naming the file, the table and the
    bound, before anything starts (the launcher's exit status for a bad network file, 7)."""
    path = tmp_path / "net.toml"
    path.write_text("[node]\nmax_connections = 0\n")
    out, _ = taonet("launch", str(path), "--dir", str(tmp_path / "run"), timeout=60)
    lines = error_lines(out.stderr)
    assert out.returncode == 7, out
    assert len(lines) == 1 and f"{path}: [node]: max_connections must be at least 1, not 0" in lines[0], lines


@pytest.mark.slow
def test_a_launched_node_takes_the_network_files_bounds(tmp_path: Path) -> None:
    """`taonet launch` of a node-only file with ``[node] max_connections_per_address = 3``: a crowd of 10 dialers
    from 127.0.0.1 is refused for its address by the launched node (its metrics, read from 127.0.0.2, say so)."""
    spec = tmp_path / "net.toml"
    spec.write_text('[node]\nblock_time = 0.1\nrpc = "tcp://127.0.0.1:0"\nfeed = "tcp://127.0.0.1:0"\n'
                    "max_connections_per_address = 3\n")
    proc = subprocess.Popen([TAONET_EXE, "launch", str(spec), "--dir", str(tmp_path / "net"), "--lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "HOME": str(tmp_path), "COLUMNS": "200"})
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    crowd: list[pynng.Socket] = []
    try:
        rpc = _until(lambda: next((x.partition(":")[2].strip() for x in lines if x.startswith("rpc:")), None), 60)
        assert rpc and _until(lambda: any(x.startswith("running:") for x in lines), 60), lines
        for _ in range(10):
            crowd.append(sock := pynng.Req0())
            sock.dial(_from("127.0.0.1", rpc), block=False)
        with subtensor(_from("127.0.0.2", rpc), timeout=10) as other:
            m = _until(lambda: (s := other.call("metrics")["rpc"])["connections_refused_per_address"] >= 7 and s)
            assert m, other.call("metrics")["rpc"]
            assert m["connections"] <= 4, m  # 3 from 127.0.0.1 (the launcher's own among them), this client
    finally:
        for sock in crowd:
            sock.close()
        interrupt(proc)
        reader.join(10)
        assert proc.stdout is not None
        proc.stdout.close()
    assert proc.returncode == 0, lines
