"""`taonet wallet create` killed (SIGKILL) between any two of its file writes leaves a wallet whole or not at all, and
a key half made in a wallet that exists is completed by running it again. A chaos QA pass found `kill -9` could leave
`coldkey`, `coldkeypub.txt` and `hotkeys/h` without `hpub.txt` (no mnemonic ever printed), and running `wallet
create` again then said "hpub.txt does not exist; create the key first (taonet wallet create)".

The kill lands at an exact point: strace stops the real, installed command with SIGKILL as it enters its Nth
link() (how each key file is put in place) or its rename() (how a new wallet's folder is)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tools.processes import TAONET_EXE


def _strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    try:
        return subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"], timeout=20,
                              capture_output=True).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(not _strace_works(), reason="needs strace, and ptrace allowed")

FILES = ("coldkey", "coldkeypub.txt", "hotkeys/h", "hotkeys/hpub.txt")


def _env(root: Path) -> dict[str, str]:
    env = {**os.environ, "TAONET_WALLET_PATH": str(root), "TAONET_PASSWORD": "pw", "TAONET_UNLOCK_COST": "fast",
           "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc written: the only link() and rename() calls are the wallet's
    env.pop("TAONET_DEBUG", None)
    return env


def _killed_at(root: Path, syscall: str, nth: int, *args: str) -> subprocess.CompletedProcess[str]:
    """`taonet ARGS` under strace, killed (SIGKILL) as it enters its ``nth`` ``syscall``."""
    return subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={syscall}",
                           "-e", f"inject={syscall}:signal=KILL:when={nth}", TAONET_EXE, *args],
                          capture_output=True, text=True, timeout=60, env=_env(root))


def _taonet(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TAONET_EXE, *args], capture_output=True, text=True, timeout=60, env=_env(root))


def _address(path: Path) -> str:
    return str(json.loads(path.read_text())["ss58Address"])


@pytest.mark.parametrize(("syscall", "nth"), [("link", 1), ("link", 2), ("link", 3), ("link", 4), ("rename", 1)])
def test_a_new_wallet_killed_at_any_write_is_all_there_or_not_at_all(tmp_path: Path, syscall: str, nth: int) -> None:
    """Killed before a key file or the wallet's folder is in place: no wallet `r` at all (it had `coldkey` alone, or
    three of its four files); `wallet create` again makes it whole, with both mnemonics, and leaves nothing hidden."""
    killed = _killed_at(tmp_path, syscall, nth, "wallet", "create", "-w", "r", "-H", "h")
    assert killed.returncode != 0, (killed.stdout, killed.stderr)
    assert not (tmp_path / "r").exists(), sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    listed = _taonet(tmp_path, "wallet", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"wallets": []}, listed
    again = _taonet(tmp_path, "wallet", "create", "-w", "r", "-H", "h")
    assert again.returncode == 0 and again.stdout.count("mnemonic (the only backup") == 2, again
    assert all((tmp_path / "r" / f).is_file() for f in FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # the killed run's hidden folder is gone


def test_a_hotkey_killed_between_its_two_files_is_completed_by_create_again(tmp_path: Path) -> None:
    """A hotkey added to a wallet, killed after its key file and before its public file: `wallet create` again
    writes the public file from the key file and says so, exit 0 (it was exit 5, "hpub.txt does not exist; create the
    key first (taonet wallet create)", the command just run)."""
    assert _taonet(tmp_path, "wallet", "create", "-w", "r", "-H", "first").returncode == 0
    killed = _killed_at(tmp_path, "link", 2, "wallet", "create", "-w", "r", "-H", "h")
    assert killed.returncode != 0, (killed.stdout, killed.stderr)
    hot = tmp_path / "r" / "hotkeys"
    assert (hot / "h").is_file() and not (hot / "hpub.txt").exists()
    again = _taonet(tmp_path, "wallet", "create", "-w", "r", "-H", "h")
    assert again.returncode == 0, again
    lines = again.stdout.splitlines()
    assert lines[1] == f"hotkey h: {_address(hot / 'h')}", lines
    assert lines[2] == (f"  {hot / 'hpub.txt'} was missing (the command that made this key stopped before writing "
                        "it): written again from the key file"), lines
    assert lines[3].startswith("  mnemonic (the only backup"), lines
    assert _address(hot / "hpub.txt") == _address(hot / "h")
    assert _taonet(tmp_path, "wallet", "create", "-w", "r", "-H", "h").stdout.count("mnemonic") == 0
