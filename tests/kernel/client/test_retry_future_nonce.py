"""A write whose nonce read counted an earlier extrinsic of its key that the chain refused at sealing before the write
reached the node (its nonce now ahead of the next: ``future_nonce``) signs again at the new next nonce and is
included; ``submit`` of bytes the caller signed at a nonce ahead still reports FutureNonce. Real parts: a dev node
in process, and a relay process between the writing client and the node that holds each ``submit`` for two block
times (a slow link), so that the refusal always lands between the write's nonce read and its submit."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel import Subtensor
from taonet.ledger import Extrinsic, Keypair, SetHyperparameter
from taonet.ledger.errors import FutureNonce, SubnetNotFound

from ..node.nodes import running_node
from .servers import free_address, server_process

pytestmark = pytest.mark.anyio

BLOCK_TIME = 0.5
HOLD = 2 * BLOCK_TIME
"""Seconds the relay holds each submit: a block is sealed meanwhile."""

SLOW_RELAY = """
import sys, time, pynng
from taonet.ledger import loads
with pynng.Rep0(listen=sys.argv[1]) as front, pynng.Req0(dial=sys.argv[2]) as back:
    print("up", flush=True)
    while True:
        raw = front.recv()
        method = loads(raw)["m"]
        print(method, flush=True)
        if method == "submit":
            time.sleep(float(sys.argv[3]))
        back.send(raw)
        front.send(back.recv())
"""

ALICE = Keypair.from_uri("//Alice")
DEST = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


async def test_a_write_whose_nonce_went_ahead_before_its_submit_signs_again_and_is_included(tmp_path: Path) -> None:
    """Alice's first extrinsic (a hyperparameter of a subnet that does not exist: admitted, refused at sealing)
    waits in the mempool while her transfer through the slow relay reads the next nonce (one past it); the block
    refuses it (her nonce stays) before the transfer's submit arrives: that submit is FutureNonce, and the client
    reads the nonce again, signs again and the transfer is included (the destination holds it). A submit of bytes
    signed one nonce ahead is reported as FutureNonce, not retried."""
    address = free_address()
    async with running_node(tmp_path / "node", block_time=BLOCK_TIME) as (_node, sub):
        with server_process(SLOW_RELAY, address, sub.endpoint, str(HOLD)) as relay:
            with anyio.fail_after(30):
                async with Subtensor(address, timeout=10) as slow:
                    before = await sub.get_balance(DEST)
                    await sub.wait_for_block()  # right after a block: the refused one waits most of a block
                    doomed = await sub.sign(ALICE, SetHyperparameter(netuid=99, name="tempo", value=10))
                    first = await sub.submit(doomed, wait_for_inclusion=False)
                    assert first.status == "submitted", first
                    result = await slow.transfer(ALICE, DEST, 1000)
                    refused = await sub.wait_for_outcome(first.hash, timeout=10)
                    ahead = await sub.sign(ALICE, SetHyperparameter(netuid=99, name="tempo", value=10))
                    skipped = Extrinsic.sign(ahead.call, ALICE, nonce=ahead.nonce + 1,
                                             genesis=await sub.genesis_hash())
                    own = await sub.submit(skipped, wait_for_inclusion=False)
                    after = await sub.get_balance(DEST)
            relay.kill()
            relay.wait()
            assert relay.stdout is not None
            asked = relay.stdout.read().split()
    assert isinstance(refused.error, SubnetNotFound), refused  # the earlier one was refused at sealing
    assert result.success, result.message
    assert after.rao - before.rao == 1000
    assert asked.count("submit") == 2 and asked.count("next_nonce") == 2, asked  # signed again once
    assert isinstance(own.error, FutureNonce) and own.error.got == own.error.expected + 1, own
