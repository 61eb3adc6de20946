"""PasswordRequired says how to give a password where it was raised: in Python, ``password=`` (or the environment);
in the installed `taonet` command, that command's flags (``--password-stdin``, ``--no-password``)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from taonet.kernel import UnlockCost, Wallet
from taonet.kernel.errors import PasswordRequired

from ...tools.cli import Cli, one_error
from .servers import free_address

DEST = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


@pytest.fixture
def no_password_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """No password argument, variable or terminal, in a process that is not the `taonet` command."""
    for name in ("TAONET_PASSWORD", "TAONET_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    monkeypatch.delitem(sys.modules, "taonet.tools.cli", raising=False)  # a test before may have loaded it


def test_unlocking_in_python_without_a_password_says_to_pass_password(tmp_path: Path,
                                                                       no_password_source: None) -> None:
    """A script unlocking an encrypted coldkey with no password is told Python's way (it was a bare "pass one")."""
    Wallet(path=tmp_path).create_new_coldkey(password="pw", cost=UnlockCost.FAST)
    with pytest.raises(PasswordRequired) as raised:
        Wallet(path=tmp_path).get_coldkey()
    assert re.fullmatch(r".*/default/coldkey is encrypted and no password was given; pass one as password= "
                        r"\(wallet\.get_coldkey\(password=\.\.\.\), wallet\.get_hotkey\(password=\.\.\.\)\), or set "
                        r"TAONET_PASSWORD or TAONET_PASSWORD_FILE", str(raised.value)), raised.value
    assert not raised.value.command_line


def test_creating_in_python_without_a_password_names_no_command_line_flag(tmp_path: Path,
                                                                           no_password_source: None) -> None:
    """A script creating an encrypted coldkey with no password is told password= and encrypt=False, not the
    command's --password-stdin or --no-password."""
    with pytest.raises(PasswordRequired) as raised:
        Wallet(path=tmp_path).create_new_coldkey(cost=UnlockCost.FAST)
    said = str(raised.value)
    assert "is to be encrypted" in said and "password=" in said and "encrypt=False" in said, said
    assert "--" not in said and "TAONET_PASSWORD or TAONET_PASSWORD_FILE" in said, said
    assert not (tmp_path / "default" / "coldkey").exists()


def test_the_command_keeps_its_own_advice(tmp_path: Path) -> None:
    """The installed `taonet` says its flags, without Python's arguments: creating (--password-stdin,
    --no-password) and unlocking (exit 5, one line)."""
    cli = Cli(wallets=tmp_path / "wallets", endpoint=free_address(), password=None)
    line = one_error(cli("wallet", "new-coldkey", "-w", "k"), 5)
    assert "is to be encrypted" in line and "--password-stdin" in line and "--no-password" in line, line
    assert "password=" not in line and "encrypt=False" not in line, line
    Wallet("k", path=cli.wallets).create_new_coldkey(password="pw", cost=UnlockCost.FAST)
    line = one_error(cli("wallet", "transfer", "-w", "k", "--dest", DEST, "--amount", "1", "-y"), 5)
    assert line.endswith("/k/coldkey is encrypted and no password was given; pass one, or set TAONET_PASSWORD or "
                         "TAONET_PASSWORD_FILE"), line
