"""SIGTERM (what `timeout` and service managers send) stops a short `taonet` command as Ctrl-C does, through the
installed command: a write says whether it was sent, a read says it was stopped, a prompt does nothing; each says
"terminated (SIGTERM)" where Ctrl-C's line says "interrupted (Ctrl-C)", and ends with status 143 (128 + 15). They
died without a word (-15), even after a write was sent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from taonet.ledger import Keypair

from ..kernel.node.nodes import stop
from .cli import Cli
from .processes import TAONET_EXE, error_lines, taonet_node

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX signals")]

BOB = Keypair.from_uri("//Bob").ss58_address


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node whose next block is 30 s away (a write waits for it, as does `node wait`), and wallet "alice"
    holding the dev account //Alice."""
    root = tmp_path_factory.mktemp("sigterm")
    with taonet_node(root / "node", "--block-time", "30") as (_proc, _header, addresses):
        cli = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        cli.ok("wallet", "regen-coldkey", "-w", "alice", "--uri", "//Alice")
        yield cli


def _as_a_shell_leaves_it() -> None:
    """In a child before it runs the command: SIGTERM as a shell leaves it (a test worker may handle or ignore it)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_sigterm_while_a_write_waits_for_its_block_says_it_may_have_been_sent(cli: Cli) -> None:
    """A transfer waiting for its block, SIGTERMed (its process alone): exit 143 and Ctrl-C's line, saying
    "terminated (SIGTERM)"; it ended with -15 and nothing said, the write sent."""
    proc = subprocess.Popen([TAONET_EXE, "wallet", "transfer", "-w", "alice", "--dest", BOB, "--amount", "1", "-y"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli.env(),
                            preexec_fn=_as_a_shell_leaves_it)
    try:
        cli.wait_until_pending()  # started, read the balance and submitted: now waiting for inclusion
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        stop(proc)
    assert proc.returncode == 143, (out, err)
    assert error_lines(err) == ["error: transfer: terminated (SIGTERM) after it was sent: it may still be included; "
                                "check with `taonet wallet balance -w alice` before sending it again"], err


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout")
def test_timeout_on_a_read_ends_it_with_143_and_one_line(cli: Cli) -> None:
    """`timeout 2 taonet node wait` (the next block 30 s away): `timeout` sends SIGTERM to the command and then again
    to its process group; the command says it was terminated, once, exit 143 (--preserve-status passes it on), and
    with --json the same in its document."""
    for as_json in (False, True):
        cmd = ["timeout", "--preserve-status", "2", TAONET_EXE, "node", "wait", *(["--json"] if as_json else [])]
        started = time.monotonic()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=cli.env(),
                             preexec_fn=_as_a_shell_leaves_it)
        assert time.monotonic() - started < 20, "not stopped by the SIGTERM"
        assert out.returncode == 143, out
        assert error_lines(out.stderr) == ["error: terminated (SIGTERM)"], out.stderr
        if as_json:
            assert json.loads(out.stdout) == {"error": {"message": "terminated (SIGTERM)", "exit_status": 143,
                                                        "code": "terminated"}}, out.stdout


def test_sigterm_at_a_confirmation_prompt_does_nothing_and_says_so(cli: Cli) -> None:
    """SIGTERM while `wallet transfer` asks for confirmation on a terminal: it stops there (nothing is sent before
    the answer), exit 143, one line (it was -15 and nothing said)."""
    status, text = cli.on_a_terminal("wallet", "transfer", "-w", "alice", "--dest", BOB, "--amount", "1",
                                     answer=signal.SIGTERM)
    assert status == 143, text
    assert "error: terminated (SIGTERM) at the prompt: nothing was done" in text and "Traceback" not in text, text
