"""The coldkey's password from each source — a prompt on a terminal (a pseudo-terminal here), TAONET_PASSWORD,
TAONET_PASSWORD_FILE, --password-stdin — unlocks the same transfer; a wrong or missing one is exit 5, one line."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import Keypair

from .cli import Cli
from .processes import TAONET_EXE, taonet_node

pytestmark = pytest.mark.slow

PASSWORD = "pässwörd with spaces"
BOB = Keypair.from_uri("//Bob").ss58_address
SEND = ("wallet", "transfer", "-w", "p", "--dest", BOB, "--amount", "0.25", "-y")


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node, and wallet "p" made with its password on stdin and funded by the faucet; no password in the
    environment."""
    root = tmp_path_factory.mktemp("passwords")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        cli = Cli(wallets=root / "wallets", endpoint=addresses["rpc"], password=None)
        cli.ok("wallet", "create", "-w", "p", "--password-stdin", stdin=PASSWORD + "\n")
        cli.ok("wallet", "faucet", "-w", "p", "--amount", "10")
        yield cli


def test_environment_file_and_stdin_each_unlock(cli: Cli, tmp_path: Path) -> None:
    """TAONET_PASSWORD, TAONET_PASSWORD_FILE and --password-stdin each unlock the coldkey for a transfer."""
    assert "included in block" in cli.ok(*SEND, TAONET_PASSWORD=PASSWORD).stdout
    file = tmp_path / "pw"
    file.write_text(PASSWORD + "\n")
    file.chmod(0o600)
    assert "included in block" in cli.ok(*SEND, TAONET_PASSWORD_FILE=str(file)).stdout
    assert "included in block" in cli.ok(*SEND, "--password-stdin", stdin=PASSWORD + "\n").stdout


def test_wrong_or_missing_password_is_status_5_in_one_line(cli: Cli) -> None:
    """A wrong password (any source) or none at all without a terminal: exit 5, one line, nothing sent."""
    line = cli.fails(5, *SEND, TAONET_PASSWORD="wrong")
    assert re.fullmatch(r"error: wrong password for .*/p/coldkey: try again; if it is forgotten, make the key again "
                        r"from its mnemonic with a new password \(taonet wallet regen-coldkey --mnemonic WORDS "
                        r"--overwrite\)", line)
    assert "wrong password" in cli.fails(5, *SEND, "--password-stdin", stdin="wrong\n")
    assert "TAONET_PASSWORD" in cli.fails(5, *SEND)  # no source: it says where a password can come from
    doc = cli(*SEND, "--json", TAONET_PASSWORD="wrong")
    assert doc.status == 5 and doc.json["error"]["code"] == "wrong_password"


def _read_until(fd: int, pattern: bytes, deadline: float) -> bytes:
    seen = b""
    while pattern not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {pattern!r} in {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    return seen


def test_a_prompt_on_a_terminal_unlocks_and_a_wrong_answer_is_status_5(cli: Cli) -> None:
    """On a (pseudo-)terminal the command asks for the password; the right one sends, a wrong one is exit 5."""
    spawn = "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)"  # the child gets a controlling terminal
    for answer, status in ((PASSWORD, 0), ("wrong", 5)):
        proc = subprocess.Popen([sys.executable, "-c", spawn, TAONET_EXE, *SEND], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=cli.env())
        try:
            assert proc.stdin is not None and proc.stdout is not None
            deadline = time.monotonic() + 30
            _read_until(proc.stdout.fileno(), b"Password for", deadline)
            proc.stdin.write(answer.encode() + b"\n")
            proc.stdin.flush()
            rest = _read_until(proc.stdout.fileno(), b"in block" if status == 0 else b"error:", deadline)
            assert proc.wait(30) == status, rest
            if status:
                assert b"wrong password" in rest and b"Traceback" not in rest
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


def test_ctrl_d_at_the_prompt_is_no_password_given(cli: Cli) -> None:
    """Ctrl-D (end of input) at the password prompt: exit 5 saying no password was given (it was 'error: aborted',
    exit 1, the status of a bug); nothing sent."""
    spawn = "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)"
    proc = subprocess.Popen([sys.executable, "-c", spawn, TAONET_EXE, *SEND], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=cli.env())
    try:
        assert proc.stdin is not None and proc.stdout is not None
        deadline = time.monotonic() + 30
        _read_until(proc.stdout.fileno(), b"Password for", deadline)
        proc.stdin.write(b"\x04")  # the terminal's end-of-file character
        proc.stdin.flush()
        rest = _read_until(proc.stdout.fileno(), b"TAONET_PASSWORD", deadline)
        assert proc.wait(30) == 5, rest
        assert b"is encrypted and no password was given" in rest and b"Traceback" not in rest
        assert rest.count(b"error:") == 1 and b"aborted" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
