"""The ways a user stops a command, through the installed `taonet`: a confirmation answered on a terminal (a real
pseudo-terminal), Ctrl-C during a write, two quick Ctrl-Cs on a node, and a reader of the output that goes away
(`| head`). Each ends with its documented status and one line (or none), never a traceback."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import Keypair

from ..kernel.node.nodes import read_addresses, stop
from .cli import Cli
from .processes import TAONET_EXE, error_lines, taonet_node

pytestmark = pytest.mark.slow

BOB = Keypair.from_uri("//Bob").ss58_address


def _ctrl_c_heard() -> None:
    """In a child before it runs the command: SIGINT as a shell leaves it (a test worker may ignore it, and a child
    inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node (0.1 s blocks) and wallet "alice" holding the dev account //Alice."""
    root = tmp_path_factory.mktemp("interrupts")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        cli = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        cli.ok("wallet", "regen-coldkey", "-w", "alice", "--uri", "//Alice")
        yield cli


def _balance(cli: Cli) -> int:
    return cli.ok("wallet", "balance", "-w", "alice", "--json", "--rao").json["balances"][0]["free"]


def test_a_write_asks_on_a_terminal_goes_ahead_on_yes_and_does_nothing_on_no(cli: Cli) -> None:
    """On a terminal, `wallet transfer` without -y asks: yes sends it; no, Ctrl-D or Ctrl-C at the prompt do
    nothing and exit 130 saying so (the prompt failed with "No module named 'click'", exit 1); without a
    terminal it is a usage error that says to pass -y."""
    transfer = ["wallet", "transfer", "-w", "alice", "--dest", BOB, "--amount", "1"]
    before = _balance(cli)
    status, text = cli.on_a_terminal(*transfer, answer=b"y\r")
    assert status == 0 and "? [Y/n]: " in text and "included in block" in text, text
    sent = _balance(cli)
    assert sent < before
    for answer in (b"n\r", b"\x04", b"\x03"):  # no, Ctrl-D, Ctrl-C
        status, text = cli.on_a_terminal(*transfer, answer=answer)
        assert status == 130, (answer, text)
        assert "error: not confirmed at the prompt: nothing was done" in text and "Traceback" not in text
    assert _balance(cli) == sent
    line = cli.fails(2, *transfer)
    assert "this asks for confirmation (Send τ1.0000 from alice to" in line
    assert "there is no terminal to ask on: pass -y (--no-prompt) to go ahead" in line


def test_a_ctrl_c_while_a_write_waits_for_its_block_says_it_may_have_been_sent(tmp_path: Path) -> None:
    """A transfer sent to a node whose next block is 30 s away, then Ctrl-C'd while it waits: exit 130 and a line
    that says it may still be included and how to check (it was exit 130 and nothing at all)."""
    with taonet_node(tmp_path / "node", "--block-time", "30") as (_proc, _header, addresses):
        cli = Cli(wallets=tmp_path / "wallets", endpoint=addresses["rpc"])
        cli.ok("wallet", "regen-coldkey", "-w", "alice", "--uri", "//Alice")
        proc = subprocess.Popen([TAONET_EXE, "wallet", "transfer", "-w", "alice", "--dest", BOB, "--amount", "1",
                                 "-y"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli.env(),
                                preexec_fn=_ctrl_c_heard)
        try:
            cli.wait_until_pending()  # started, read the balance and submitted: now waiting for inclusion
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            stop(proc)
    assert proc.returncode == 130, (out, err)
    assert error_lines(err) == ["error: transfer: interrupted (Ctrl-C) after it was sent: it may still be included; "
                                "check with `taonet wallet balance -w alice` before sending it again"], err


def _node(data_dir: Path) -> subprocess.Popen[str]:
    """`taonet node run --dev` on free ports, hearing Ctrl-C as from a shell; its output piped."""
    cmd = [TAONET_EXE, "node", "run", "--dev", "--data-dir", str(data_dir), "--rpc", "tcp://127.0.0.1:0", "--feed",
           "tcp://127.0.0.1:0", "--no-fsync", "--log-level", "warning"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_heard)


def test_two_ctrl_c_at_once_stop_a_node_cleanly_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C on `timeout ... taonet node run` in a terminal reaches the node twice, a few milliseconds apart (the
    terminal's and the one `timeout` forwards): the node stops cleanly, status 0, and prints no traceback (it
    printed an ExceptionGroup of KeyboardInterrupt, or one from an exit handler, most times)."""
    for run in range(3):
        proc = _node(tmp_path / f"node{run}")
        try:
            read_addresses(proc)
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            time.sleep(0.003)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            stop(proc)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_ctrl_c_held_down_while_a_node_stops_prints_nothing(tmp_path: Path) -> None:
    """A Ctrl-C every millisecond from the first until the node has gone (a key held down): status 0 and nothing on
    stderr. Python's default handler, put back by the event loop when the node's signal receiver closed, raised
    KeyboardInterrupt in the loop's own close or in a weakref callback: a warning or an ignored-exception traceback
    in about one stop of ten (5 of 50 runs; a clean-clone CI run met it once with two Ctrl-Cs)."""
    for run in range(4):
        proc = _node(tmp_path / f"node{run}")
        try:
            read_addresses(proc)
            time.sleep(0.3)
            deadline = time.monotonic() + 20
            while proc.poll() is None and time.monotonic() < deadline:
                proc.send_signal(signal.SIGINT)
                time.sleep(0.001)
            _, err = proc.communicate(timeout=30)
        finally:
            stop(proc)
        assert (proc.returncode, err) == (0, ""), run


def test_a_reader_that_stops_reading_ends_the_command_quietly_with_status_0(cli: Cli) -> None:
    """`taonet ... | head -1` where head has gone before the command writes: status 0 and nothing on stderr, for a
    table, a JSON document and a line (they ended with status 1, the internal error's, and no word)."""
    for args in (["wallet", "list"], ["wallet", "list", "--json"], ["wallet", "balance", "-w", "alice"]):
        proc = subprocess.Popen([TAONET_EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=cli.env())
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the command has started
        try:
            with proc.stderr:
                err = proc.stderr.read()
            proc.wait(timeout=60)
        finally:
            stop(proc)
        assert proc.returncode == 0 and err == "", (args, proc.returncode, err)


def test_enter_alone_does_not_replace_a_key(tmp_path: Path) -> None:
    """`wallet new-coldkey --overwrite` asks first, and Enter alone answers no there ([y/N]: a key replaced is lost
    unless its mnemonic is kept): exit 130, the key file as it was; `y` replaces it."""
    cli = Cli(wallets=tmp_path / "wallets", endpoint="tcp://127.0.0.1:9")
    cli.ok("wallet", "new-coldkey", "-w", "k", "--no-password")
    key = tmp_path / "wallets" / "k" / "coldkey"
    before = key.read_bytes()
    status, text = cli.on_a_terminal("wallet", "new-coldkey", "-w", "k", "--no-password", "--overwrite", answer=b"\r")
    assert status == 130 and "[y/N]: " in text and "not confirmed at the prompt" in text, text
    assert key.read_bytes() == before
    status, text = cli.on_a_terminal("wallet", "new-coldkey", "-w", "k", "--no-password", "--overwrite", answer=b"y\r")
    assert status == 0 and key.read_bytes() != before, text
