"""The connection bounds a node enforces, seen and set where an operator works: `taonet node status` (table and
--json) shows each socket's bounds beside its live counts; `taonet localnet --max-connections*` and a network file's
``[node]`` keys reach the node they start (the installed command throughout, as docs/cli.md and docs/launcher.md show
it).

nng dials from a chosen local address with ``tcp://LOCAL;HOST:PORT`` (127.0.0.0/8 is all loopback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pynng
import pytest

from tests.kernel.node.nodes import read_addresses, stop

from .processes import TAONET_EXE, error_lines, interrupt, taonet, taonet_node

DOCS = Path(__file__).resolve().parents[2] / "docs"
BOUNDS = ("max_connections", "max_connections_per_address", "max_connections_per_network")


def _doc_block(page: str, first_line: str) -> str:
    """The fenced block of docs/PAGE whose first line starts with ``first_line`` (its text, fences left out)."""
    text = (DOCS / page).read_text()
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"docs/{page} has no example starting {first_line!r}")


def _status(rpc: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    out, _ = taonet("node", "status", "--endpoint", rpc, *args, timeout=30, env=env)
    assert out.returncode == 0, out.stderr
    return out


def _until(what: Callable[[], Any], seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := what()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


def test_node_status_shows_the_bounds_beside_the_connections_as_docs_cli_md_shows(tmp_path: Path) -> None:
    """docs/cli.md's example: a node run with `--max-connections 1000 --max-connections-per-address 16`; `taonet
    node status` prints the example's rows (the status command's own RPC connection, nothing on the feed), and
    --json gives each socket's bounds (the per-network one derived: 4 x 16) beside its live counts."""
    example = _doc_block("cli.md", "$ taonet node run --dev --max-connections 1000").splitlines()
    flags = example[0].split("--dev", 1)[1].split("&")[0].split()
    rows = [line.strip() for line in example if line.strip().startswith(("rpc ", "rpc/", "feed ", "feed/"))]
    assert flags == ["--max-connections", "1000", "--max-connections-per-address", "16"] and len(rows) == 6, example
    with taonet_node(tmp_path / "node", *flags) as (_proc, _header, addresses):
        st = json.loads(_status(addresses["rpc"], "--json").stdout)
        assert set(st["connections"]) == {"rpc", "feed"}, st
        for name in ("rpc", "feed"):
            assert tuple(st["connections"][name][k] for k in BOUNDS) == (1000, 16, 64), st["connections"]
        assert st["connections"]["rpc"]["connections"] == 1 and st["connections"]["rpc"]["addresses"] == 1, st
        assert st["connections"]["feed"]["connections"] == 0, st
        table = [" ".join(line.split()) for line in _status(addresses["rpc"], env={"COLUMNS": "100"}).stdout
                 .splitlines()]
        for row in rows:
            assert " ".join(row.split()) in table, (row, table)


def test_node_status_of_a_replica_shows_the_bounds_it_was_given(tmp_path: Path) -> None:
    """`taonet node follow --max-connections-per-network 24 --max-connections-per-address 6` beside a leader run
    with its defaults: `taonet node status --json` of each shows its own bounds (4,096 in all for both)."""
    with taonet_node(tmp_path / "node") as (_proc, _header, leader):
        replica = subprocess.Popen([TAONET_EXE, "node", "follow", "--from", leader["rpc"], "--data-dir",
                                    str(tmp_path / "replica"), "--rpc", "tcp://127.0.0.1:0", "--feed",
                                    "tcp://127.0.0.1:0", "--log-level", "warning", "--max-connections-per-network",
                                    "24", "--max-connections-per-address", "6"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        try:
            addresses = read_addresses(replica)
            st = json.loads(_status(addresses["rpc"], "--json").stdout)
            assert st["role"] == "replica", st
            for name in ("rpc", "feed"):
                assert tuple(st["connections"][name][k] for k in BOUNDS) == (4096, 6, 24), st["connections"]
            st = json.loads(_status(leader["rpc"], "--json").stdout)
            assert tuple(st["connections"]["rpc"][k] for k in BOUNDS) == (4096, 512, 2048), st["connections"]
        finally:
            stop(replica)


@pytest.mark.slow
def test_localnet_gives_its_node_the_connection_flags_and_the_node_holds_an_address_to_them(tmp_path: Path) -> None:
    """`taonet localnet --max-connections-per-address 2` (no neurons, to keep it short): `taonet node status --json`
    (from 127.0.0.2) says the node enforces 2 per address and 8 per network, and a crowd of 4 dialers from 127.0.0.1,
    where the launcher holds one connection already, is refused for its address; SIGINT stops it all, exit 0."""
    net = tmp_path / "net"
    proc = subprocess.Popen([TAONET_EXE, "localnet", "--validators", "0", "--miners", "0", "--lines", "--keep",
                             str(net), "--max-connections-per-address", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "HOME": str(tmp_path), "COLUMNS": "200"})
    crowd: list[pynng.Socket] = []
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)

        def ready() -> bool:
            while line := proc.stdout.readline():  # type: ignore[union-attr]
                lines.append(line.rstrip("\n"))
            return any(x.startswith("ready:") for x in lines) or proc.poll() is not None

        assert _until(ready, 60) and proc.poll() is None, lines
        rpc = next(x.split(": ", 1)[1] for x in lines if x.startswith("rpc: "))
        for _ in range(4):
            crowd.append(sock := pynng.Req0())
            sock.dial(rpc.replace("tcp://", "tcp://127.0.0.1;", 1), block=False)  # refused dialers redial

        def refused() -> dict[str, Any] | None:
            m = json.loads(_status(rpc.replace("tcp://", "tcp://127.0.0.2;", 1), "--json").stdout)["connections"]
            return m if m["rpc"]["connections_refused_per_address"] > 0 else None

        m = _until(refused)
        assert m, lines
        assert tuple(m["rpc"][k] for k in BOUNDS) == (4096, 2, 8), m
        assert tuple(m["feed"][k] for k in BOUNDS) == (4096, 2, 8), m
    finally:
        for sock in crowd:
            sock.close()
        interrupt(proc)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == 0, lines


@pytest.mark.parametrize(("args", "flag", "room"), [
    (("--per-host", "1", "--max-connections-per-address", "4"), "--max-connections-per-address", "4 connections"),
    (("--per-host", "1", "--max-connections", "3"), "--max-connections", "3 connections"),
    (("--max-connections-per-network", "1"), "--max-connections-per-network", "1 connection"),
])
def test_localnet_refuses_bounds_that_leave_its_own_processes_no_room(tmp_path: Path, args: tuple[str, ...],
                                                                     flag: str, room: str) -> None:
    """Everything of a localnet dials from 127.0.0.1: with 1 validator and 2 miners each in its own host (3 hosts
    and the launcher: 4 connections, 5 with a command beside them), a share of 4 (or 3 left by --max-connections
    alone) is one usage line naming the flag that set it, exit 2, before anything starts; so is a network's share
    of 1 for the default localnet (its launcher and 1 host: at least 3)."""
    out, _ = taonet("localnet", "--lines", "--validators", "1", "--miners", "2", "--keep", str(tmp_path / "net"),
                    *args, timeout=60, env={"HOME": str(tmp_path)})
    lines = error_lines(out.stderr)
    assert out.returncode == 2, out
    hosts, least = ("3 neuron hosts hold 4", 5) if "--per-host" in args else ("1 neuron host hold 2", 3)
    assert len(lines) == 1 and lines[0].startswith(f"error: Invalid value for {flag}: the node would take {room} "
                                                   f"from one address, but this localnet's launcher and {hosts} "
                                                   f"from 127.0.0.1 (and each taonet command one more): allow at "
                                                   f"least {least}"), lines
    assert "Traceback" not in out.stderr + out.stdout
    assert not (tmp_path / "net").exists()


def test_a_network_file_whose_node_bounds_leave_its_own_processes_no_room_is_one_line(tmp_path: Path) -> None:
    """A file with two "own" miners and ``[node] max_connections = 3`` (an address's share follows it): the launcher
    and the two miner processes hold 3 connections from 127.0.0.1, a command one more; one line naming the file and
    ``[node]``, exit 7, before anything starts. With ``endpoint`` (not our node) the same bounds are not checked."""
    rows = ('[[subnets]]\nnetuid = 1\nplugin = "template"\n\n[[neurons]]\nrole = "miner"\nplugin = "template"\n'
            'netuid = 1\nwallet = "m"\nhotkey = "m{i}"\ncount = 2\nprocess = "own"\n')
    path = tmp_path / "net.toml"
    path.write_text("[node]\nmax_connections = 3\n\n" + rows)
    out, _ = taonet("launch", str(path), "--dir", str(tmp_path / "run"), timeout=60, env={"HOME": str(tmp_path)})
    lines = error_lines(out.stderr)
    assert out.returncode == 7, out
    assert lines == [f"error: {path}: [node]: the node would take 3 connections from one address, but the launcher "
                     "and 2 neuron processes on this machine hold 3 from 127.0.0.1 (and each taonet command one "
                     "more): give max_connections_per_address (and max_connections, max_connections_per_network) at "
                     "least 4 (see docs/launcher.md)"], lines
    assert not (tmp_path / "run").exists()
    path.write_text('[node]\nendpoint = "tcp://127.0.0.1:1"\nmax_connections = 3\n\n' + rows)
    out, _ = taonet("launch", str(path), "--dir", str(tmp_path / "run"), timeout=60, env={"HOME": str(tmp_path)})
    assert "no node at tcp://127.0.0.1:1" in out.stderr and "from one address" not in out.stderr, out.stderr


@pytest.mark.parametrize(("page", "command"), [("cli.md", "$ taonet node run --dev --max-connections 100 "),
                                               ("launcher.md", "$ taonet localnet --max-connections-per-address 2")])
def test_the_docs_bad_bound_examples_are_what_the_command_says(tmp_path: Path, page: str, command: str) -> None:
    """The usage errors docs/cli.md and docs/launcher.md show for a bad bound are the command's line, exactly."""
    example = _doc_block(page, command).splitlines()
    out, _ = taonet(*example[0].split()[2:], timeout=60, env={"HOME": str(tmp_path), "COLUMNS": "200"})
    assert out.returncode == 2, out
    assert error_lines(out.stderr) == example[1:], out.stderr
    assert not (tmp_path / ".taonet").exists()


@pytest.mark.slow
def test_a_network_files_node_bounds_reach_node_status_as_docs_launcher_md_shows(tmp_path: Path) -> None:
    """docs/launcher.md's node-only example file, launched (--detach): `taonet node status --json` shows the three
    bounds the file's ``[node]`` table gives, on the RPC and the feed; `launch stop` ends it."""
    example = _doc_block("launcher.md", "# bounds.toml")
    file = tmp_path / "bounds.toml"
    file.write_text(example)
    home = {"HOME": str(tmp_path)}
    out, _ = taonet("launch", str(file), "--dir", str(tmp_path / "net"), "--detach", timeout=120, env=home)
    try:
        assert out.returncode == 0, out.stderr
        rpc = dict(line.split(": ", 1) for line in out.stdout.splitlines())["rpc"]
        st = json.loads(_status(rpc, "--json", env=home).stdout)
        for name in ("rpc", "feed"):
            assert tuple(st["connections"][name][k] for k in BOUNDS) == (1000, 16, 32), st["connections"]
    finally:
        stop, _ = taonet("launch", "stop", "--dir", str(tmp_path / "net"), timeout=60, env=home)
    assert stop.returncode == 0, stop.stderr
