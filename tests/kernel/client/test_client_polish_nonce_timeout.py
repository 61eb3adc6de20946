"""A write whose nonce lookup gets no reply sent nothing: it is a "timeout" result with ``sent`` False whose message
says nothing was sent and sending it again is safe (it was "rejected", as if the node had refused it); asyncio and
trio, against a server that reads requests and answers none."""

from __future__ import annotations

from pathlib import Path

import pytest

from taonet.kernel import Subtensor
from taonet.kernel.errors import RpcTimeout
from taonet.ledger import Keypair

from .servers import free_address, server_process

pytestmark = pytest.mark.anyio

RECORDING_SILENT_SERVER = """
import sys, pynng
from taonet.ledger import loads
with pynng.Rep0(listen=sys.argv[1]) as sock:
    print("up", flush=True)
    while True:
        print(loads(sock.recv())["m"], flush=True)  # say what was asked, answer nothing
"""

ALICE = Keypair.from_uri("//Alice")
DEST = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


async def test_a_write_whose_nonce_lookup_timed_out_says_nothing_was_sent(tmp_path: Path) -> None:
    """transfer: status "timeout" (not "rejected"), the lookup's RpcTimeout, sent False, submitted 0; the server was
    asked next_nonce only; a weight commit cut off so committed nothing (action "")."""
    address = free_address()
    with server_process(RECORDING_SILENT_SERVER, address) as proc:
        async with Subtensor(address, timeout=0.5) as sub:
            result = await sub.transfer(ALICE, DEST, 1000)
            commit = await sub.commit_weights(ALICE, 1, [0], [1.0], salt=bytes(8))
            submitted = sub.submitted
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        asked = proc.stdout.read().split()
    assert result.status == "timeout" and not result.sent and not result.success, result
    assert isinstance(result.error, RpcTimeout) and result.error.method == "next_nonce", result.error
    assert result.message == f"nothing was sent, so sending it again is safe: {result.error}"
    assert commit.status == "timeout" and not commit.sent and commit.action == "" and commit.reveal is not None
    assert submitted == 0 and "submit" not in asked and asked.count("next_nonce") == 2, asked
