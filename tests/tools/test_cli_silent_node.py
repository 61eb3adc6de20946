"""A write against a node that stops answering before anything is sent (its nonce lookup gets no reply), through the
installed `taonet`: exit 4 saying it was not sent and nothing changed (it said "may have been sent" once the client
reported the lookup's timeout as a timeout; before that, "rejected")."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.kernel.client.servers import free_address, server_process

from .processes import TAONET_EXE

SILENT_SERVER = """
import sys, pynng
from taonet.ledger import loads
with pynng.Rep0(listen=sys.argv[1]) as sock:
    print("up", flush=True)
    while True:
        print(loads(sock.recv())["m"], flush=True)  # say what was asked, answer nothing
"""
DEST = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


def test_a_transfer_whose_nonce_lookup_gets_no_reply_says_it_was_not_sent(tmp_path: Path) -> None:
    env = {**os.environ, "TAONET_WALLET_PATH": str(tmp_path / "wallets"), "HOME": str(tmp_path)}

    def taonet(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([TAONET_EXE, *args], capture_output=True, text=True, env=env, timeout=60)

    assert taonet("wallet", "create", "-w", "a", "-H", "h", "--no-password").returncode == 0
    address = free_address()
    with server_process(SILENT_SERVER, address) as proc:
        out = taonet("wallet", "transfer", "-w", "a", "--dest", DEST, "--amount", "1", "-y", "--timeout", "2",
                     "--endpoint", address, "--json")
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        asked = proc.stdout.read().split()
    assert out.returncode == 4 and len(out.stderr.splitlines()) == 1, out.stderr
    assert "was not sent: nothing changed; run it again" in out.stderr and "may have been" not in out.stderr
    assert json.loads(out.stdout)["error"]["fields"]["sent"] is False
    assert "submit" not in asked and "next_nonce" in asked, asked
