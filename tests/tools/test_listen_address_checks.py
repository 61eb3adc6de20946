"""Addresses checked before anything starts: a network file's ([node] rpc, feed, endpoint, public; a row's endpoint
and gateway) with the parser the node and the clients use, one line naming the key, exit 7, no directory written;
`taonet node run`'s --rpc/--feed, one line naming the option and the address (in use: exit 4; not this machine's:
exit 2), no banner and no data dir; and a SIGTERM while `node run` starts, a clean stop (status 0) as later."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pynng
import pytest

from taonet.kernel.node import missing_dirs, remove_new_data_dir
from taonet.tools.launcher import parse_network
from taonet.tools.launcher.errors import AddressInUse

from .processes import TAONET_EXE, error_lines, held_port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAONET_")}
    return {**env, "HOME": str(tmp_path / "home"), **extra}  # `taonet launch` remembers its network under ~


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TAONET_EXE, *args], capture_output=True, text=True, timeout=30, env=_env(tmp_path))


MINER = '[[subnets]]\nnetuid = 1\nplugin = "template"\n[[neurons]]\nrole = "{role}"\nplugin = "template"\n' \
        'netuid = 1\nwallet = "w"\nhotkey = "h{{i}}"\n'


@pytest.mark.parametrize(("text", "needle"), [
    ('[node]\nrpc = "tcp://999.1.1.1:9944"\n', "[node]: rpc 'tcp://999.1.1.1:9944' is not an address this machine "
                                              "can listen on"),
    ('[node]\nendpoint = "nonsense"\n', "[node]: endpoint 'nonsense' is not an address a node can be reached at"),
    ('[node]\nfeed = "ipc:///no-such-folder-here/feed"\n', "[node]: feed 'ipc:///no-such-folder-here/feed' cannot be "
                                                          "listened on"),
    ('[node]\npublic = "10.0.0.5 x"\n', "[node]: public '10.0.0.5 x' is not a host"),
    ('[node]\nendpoint = "tcp://127.0.0.1:9944"\n' + MINER.format(role="miner") + 'endpoint = "finney"\n',
     "[[neurons]] row 1: endpoint 'finney' is not an address a node can be reached at"),
    (MINER.format(role="validator") + 'gateway = "999.1.1.1:0"\n',
     "[[neurons]] row 1: gateway '999.1.1.1:0' is not an address this machine can listen on"),
])
def test_a_bad_address_in_the_network_file_is_one_line_before_anything_starts(tmp_path: Path, text: str,
                                                                              needle: str) -> None:
    """Each was found only once the network started (a directory and launch.json written, a `stopped:` line, the
    node's exit status 2 as exit 4), or not at all."""
    path = tmp_path / "net.toml"
    path.write_text(text)
    net = tmp_path / "net"
    out = _run(tmp_path, "launch", str(path), "--dir", str(net), "--lines")
    errors = error_lines(out.stderr)
    assert out.returncode == 7, out.stdout + out.stderr
    assert len(errors) == 1 and errors[0].startswith("error: ") and needle in errors[0], errors
    assert out.stdout == "" and not net.exists()


def test_a_public_host_is_a_host_not_an_nng_address() -> None:
    """docs/launcher.md's `public = "10.0.0.5"` (the launcher writes tcp://PUBLIC:PORT for other machines) was refused
    as "not an nng address"."""
    assert parse_network({"node": {"public": "10.0.0.5"}}).node.public == "10.0.0.5"
    assert parse_network({"node": {"public": "[fd00::5]"}}).node.public == "[fd00::5]"


@pytest.mark.parametrize("option", ["--rpc", "--feed"])
def test_node_run_on_an_address_in_use_names_it_and_writes_nothing(tmp_path: Path, option: str) -> None:
    """It printed its banner, wrote LOCK and a genesis into the new data dir, then `an address this command listens
    on is already in use` without saying which."""
    data = tmp_path / "new" / "node"
    with held_port() as port:
        address = f"tcp://127.0.0.1:{port}"
        other = "--feed" if option == "--rpc" else "--rpc"
        out = _run(tmp_path, "node", "run", "--dev", "--data-dir", str(data), option, address, other,
                   "tcp://127.0.0.1:0", "--no-fsync")
    errors = error_lines(out.stderr)
    assert out.returncode == 4, out.stdout + out.stderr
    assert errors == [f"error: {option} {address} is already in use: another process listens there: stop it (ss "
                      f"-ltnp 'sport = :{port}' names it), or give {option} another address (port 0: any free one)"]
    assert out.stdout == "" and not (tmp_path / "new").exists()


def test_miner_run_on_a_port_in_use_names_it_before_loading_anything(tmp_path: Path) -> None:
    """`taonet miner run --port P` with P taken: exit 4, one line naming --port and P (it said "an address this
    command listens on is already in use", no port, after loading the plugin and unlocking the key: here there is
    not even a wallet)."""
    with held_port() as port:
        out = subprocess.run([TAONET_EXE, "miner", "run", "--plugin", "template", "--netuid", "1", "--wallet-name",
                              "nobody", "--hotkey", "h", "--port", str(port)], capture_output=True, text=True,
                             timeout=60, env={**os.environ, "TAONET_WALLET_PATH": str(tmp_path / "wallets")})
    assert out.returncode == 4, out.stderr
    assert error_lines(out.stderr) == [f"error: --port tcp://0.0.0.0:{port} is already in use: another process "
                                       f"listens on port {port}: stop it (ss -ltnp 'sport = :{port}' names it), or "
                                       "give --port another (0: any free one)"]


def test_node_run_on_an_address_not_of_this_machine_is_a_usage_line_before_anything(tmp_path: Path) -> None:
    data = tmp_path / "node"
    out = _run(tmp_path, "node", "run", "--dev", "--data-dir", str(data), "--rpc", "tcp://999.1.1.1:9944")
    errors = error_lines(out.stderr)
    assert out.returncode == 2, out.stdout + out.stderr
    assert len(errors) == 1 and "--rpc" in errors[0] and "tcp://999.1.1.1:9944 is not an address this machine can " \
                                                          "listen on" in errors[0], errors
    assert out.stdout == "" and not data.exists()


def test_a_new_data_dir_is_removed_when_the_node_cannot_listen_after_all(tmp_path: Path) -> None:
    """Another process takes the address between the check and the node's listen: what that first start wrote (LOCK,
    chain/) goes with the folders it made, the error names the address; nothing that was there before is touched."""
    from taonet.tools.cli._node import _failed_to_listen

    data = tmp_path / "a" / "b" / "node"
    created = missing_dirs(data)
    assert created == [data, data.parent, data.parent.parent]
    (data / "chain").mkdir(parents=True)
    (data / "LOCK").write_text("1\n")
    (data / "chain" / "blocks.log").write_bytes(b"genesis")
    with held_port() as port:
        address = f"tcp://127.0.0.1:{port}"
        with pytest.raises(AddressInUse) as caught:
            _failed_to_listen(pynng.AddressInUse("Address in use", 10), [("--rpc", "tcp://127.0.0.1:0"),
                                                                         ("--feed", address)], created)
    assert str(caught.value).startswith(f"--feed {address} is already in use")
    assert not (tmp_path / "a").exists() and tmp_path.exists()

    kept = tmp_path / "kept"  # existed before: never removed
    kept.mkdir()
    (kept / "LOCK").write_text("")
    assert missing_dirs(kept) == [] and not remove_new_data_dir(missing_dirs(kept)) and (kept / "LOCK").exists()
    other = tmp_path / "other"  # new, but something beside the node's files was put there: kept
    created = missing_dirs(other)
    other.mkdir()
    (other / "LOCK").write_text("")
    (other / "notes.txt").write_text("mine")
    assert not remove_new_data_dir(created) and (other / "notes.txt").exists()


def _sigterm_while_starting(tmp_path: Path, delay: float) -> tuple[int | None, str]:
    """`taonet node run` with SIGTERM ``delay`` s after its command began (its first import of the node's modules,
    seen in the import-time lines Python writes to stderr with PYTHONPROFILEIMPORTTIME); status and other stderr."""
    cmd = [TAONET_EXE, "node", "run", "--dev", "--data-dir", str(tmp_path / f"node-{delay}"), "--rpc",
           "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0", "--no-fsync", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=_env(tmp_path, PYTHONPROFILEIMPORTTIME="1"),
                            preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    assert proc.stderr is not None
    try:
        deadline = time.monotonic() + 20
        for line in proc.stderr:  # the command's own imports begin after its SIGTERM handler
            if line.rsplit("|", 1)[-1].strip().startswith(("anyio", "taonet.kernel", "taonet.ledger")):
                break
            assert time.monotonic() < deadline, "no import line of the command"
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "\n".join(x for x in err.splitlines() if not x.startswith("import time:"))


def test_sigterm_while_node_run_starts_is_a_clean_stop(tmp_path: Path) -> None:
    """SIGTERM during the second the command takes to import and open its chain killed it (status -15, no word);
    once the node ran it was a clean stop, status 0. Now it is one at every moment of the command."""
    for delay in (0.0, 0.05, 0.1, 0.2, 0.3):
        status, err = _sigterm_while_starting(tmp_path, delay)
        assert status == 0, (delay, status, err)
        assert "Traceback" not in err and "error:" not in err, (delay, err)
