"""Wallet.create is crash-safe: a new wallet appears whole or not at all (a process killed just before its folder is
in place leaves none, and the next create clears what it left); a key whose private file is there without its public
file is completed; ``shown`` comes before the files, so a mnemonic is shown before its key exists, as btcli does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from taonet.kernel import UnlockCost, Wallet, list_wallets

FAST = UnlockCost.FAST

CHILD = """
import os, signal, sys
from taonet.kernel import UnlockCost, Wallet

def shown(kind, kp, new):
    print(kind, kp.ss58_address, kp.mnemonic, flush=True)
    if kind == "hotkey":
        os.kill(os.getpid(), signal.SIGKILL)  # the moment after the last mnemonic is shown, before any file is in place

Wallet("w", "h", sys.argv[1]).create(coldkey_password="pw", cost=UnlockCost.FAST, shown=shown)
"""


def test_killed_after_the_mnemonics_are_shown_a_new_wallet_is_not_there_at_all(tmp_path: Path) -> None:
    """A process killed in ``shown`` (both mnemonics printed): no wallet, none listed; the next create removes the
    hidden folder it left, and makes the wallet whole."""
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert child.returncode == -9, child.stderr
    assert [line.split()[0] for line in child.stdout.splitlines()] == ["coldkey", "hotkey"]
    assert not (tmp_path / "w").exists() and list_wallets(tmp_path) == []
    assert [p.name.startswith(".w.") for p in tmp_path.iterdir()] == [True]  # the folder it was writing
    seen: list[tuple[str, bool]] = []
    w = Wallet("w", "h", tmp_path).create(coldkey_password="pw", cost=FAST,
                                          shown=lambda k, _kp, new: seen.append((k, new)))
    assert seen == [("coldkey", True), ("hotkey", True)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"] and list_wallets(tmp_path) == ["w"]
    assert w.get_coldkey("pw").ss58_address == w.get_coldkeypub().ss58_address
    assert w.get_hotkey().ss58_address == w.get_hotkeypub().ss58_address


def test_shown_comes_before_the_files_of_a_new_wallet(tmp_path: Path) -> None:
    """When ``shown`` runs for a new wallet, none of its files is in place yet (the mnemonic first, as btcli)."""
    there: list[bool] = []
    w = Wallet("n", "h", tmp_path)
    w.create(coldkey_password="pw", cost=FAST, shown=lambda *_: there.append(w.dir.exists()))
    assert there == [False, False] and w.hotkeypub_file.is_file()


def test_create_completes_keys_whose_public_file_is_missing(tmp_path: Path) -> None:
    """A coldkey and a hotkey without their public files (a process stopped between the two): create writes them
    from the key files (the coldkey unlocked with its password), says so to ``shown`` (new False), makes nothing
    new, and a second create does nothing at all."""
    w = Wallet("c", "h", tmp_path).create(coldkey_password="pw", cost=FAST)
    cold, hot = w.get_coldkeypub().ss58_address, w.get_hotkeypub().ss58_address
    w.coldkeypub_file.unlink()
    w.hotkeypub_file.unlink()
    seen: list[tuple[str, str, bool]] = []
    Wallet("c", "h", tmp_path).create(coldkey_password="pw",
                                      shown=lambda k, kp, new: seen.append((k, kp.ss58_address, new)))
    assert seen == [("coldkey", cold, False), ("hotkey", hot, False)]
    assert json.loads(w.coldkeypub_file.read_text())["ss58Address"] == cold
    assert json.loads(w.hotkeypub_file.read_text())["ss58Address"] == hot
    seen.clear()
    Wallet("c", "h", tmp_path).create(coldkey_password="pw", shown=lambda k, kp, new: seen.append((k, kp, new)))
    assert seen == []
