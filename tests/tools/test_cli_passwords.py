"""The coldkey's password from each source — a prompt on a terminal (a pseudo-terminal here), TAONET_PASSWORD,
TAONET_PASSWORD_FILE, --password-stdin — unlocks the same transfer; a wrong or missing one is exit 5, one line."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import Keypair

from .cli import Cli
from .processes import taonet_node

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
    assert re.fullmatch(r"error: wrong password for .*/p/coldkey \(or the file is damaged: the two look the same\): "
                        r"try again; if it is forgotten \(or the file damaged\), make the key again from its mnemonic "
                        r"with a new password \(taonet wallet regen-coldkey --mnemonic WORDS --overwrite\)", line)
    assert "wrong password" in cli.fails(5, *SEND, "--password-stdin", stdin="wrong\n")
    assert "TAONET_PASSWORD" in cli.fails(5, *SEND)  # no source: it says where a password can come from
    doc = cli(*SEND, "--json", TAONET_PASSWORD="wrong")
    assert doc.status == 5 and doc.json["error"]["code"] == "wrong_password"


def test_a_prompt_on_a_terminal_unlocks_and_a_wrong_answer_is_status_5(cli: Cli) -> None:
    """On a (pseudo-)terminal the command asks for the password; the right one sends, a wrong one is exit 5."""
    status, text = cli.on_a_terminal(*SEND, answer=PASSWORD.encode() + b"\n", after=b"Password for")
    assert status == 0 and "in block" in text, text
    status, text = cli.on_a_terminal(*SEND, answer=b"wrong\n", after=b"Password for")
    assert status == 5 and "wrong password" in text and "Traceback" not in text, text


def test_ctrl_d_at_the_prompt_is_no_password_given(cli: Cli) -> None:
    """Ctrl-D (end of input) at the password prompt: exit 5 saying no password was given (it was 'error: aborted',
    exit 1, the status of a bug); nothing sent."""
    status, text = cli.on_a_terminal(*SEND, answer=b"\x04", after=b"Password for")  # the end-of-file character
    assert status == 5, text
    assert "is encrypted and no password was given" in text and "Traceback" not in text
    assert text.count("error:") == 1 and "aborted" not in text


def test_ctrl_c_at_the_prompt_stops_the_command_at_once(cli: Cli) -> None:
    """Ctrl-C at the password prompt (the command has read the node already, so nng's threads run): the command
    stops at once, exit 130 (the signal could land on an nng thread while getpass slept, and the prompt waited for
    Enter)."""
    started = time.monotonic()
    status, text = cli.on_a_terminal(*SEND, answer=b"\x03", after=b"Password for", timeout=30)
    assert status == 130 and "Traceback" not in text, text
    assert time.monotonic() - started < 25
