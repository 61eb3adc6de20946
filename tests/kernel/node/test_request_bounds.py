"""The node's RPC takes requests of at most 4 MiB (it was 32 MiB, and nng let in up to 64: a QA pass's 120 connections
sending 32 MiB requests took the node to 2.5 GB and stalled sealing for seconds). A client refuses a larger request
before sending it; the node refuses one just over with a typed error; a batch of extrinsics larger than one request
is sent in as many as it needs."""

from __future__ import annotations

from pathlib import Path

import anyio
import pynng
import pytest

from taonet.kernel.client import MAX_REQUEST
from taonet.ledger import TAO, Extrinsic, Keypair, Transfer, dumps, loads
from taonet.ledger.errors import MessageTooLarge

from .nodes import running_node

pytestmark = pytest.mark.anyio

ALICE = Keypair.from_uri("//Alice")


async def test_a_request_over_the_bound_is_refused_unsent_by_the_client_and_typed_by_the_node(tmp_path: Path) -> None:
    """The client raises MessageTooLarge without sending (the node serves nothing more); a request sent anyway, a
    little over the bound, gets the node's MessageTooLarge; the node goes on."""
    async with running_node(tmp_path) as (node, sub):
        await sub.wait_for_block(2)
        server = node._rpc_server
        assert server is not None
        served = server.stats()["served"] + server.stats()["refused"]
        with pytest.raises(MessageTooLarge, match=f"limit of {MAX_REQUEST} bytes"):
            await sub.call("head", x=bytes(MAX_REQUEST))
        assert server.stats()["served"] + server.stats()["refused"] == served  # nothing reached the node
        with pynng.Req0(recv_timeout=10_000, send_timeout=10_000) as raw:
            raw.dial(sub.endpoint, block=True)
            await raw.asend(dumps({"m": "head", "p": {"x": bytes(MAX_REQUEST + 1000)}}))
            reply = loads(await raw.arecv())
        assert reply["err"]["code"] == "message_too_large"
        head = await sub.get_current_block()
        await sub.wait_for_block(head + 2, timeout=10)


async def test_a_batch_larger_than_one_request_is_sent_in_several(tmp_path: Path) -> None:
    """200 transfers (a signer may have 256 waiting) with the client's bound at 8 KiB (each ~150 bytes: three requests
    or more): every one is
    submitted, in order, and included."""
    async with running_node(tmp_path) as (node, sub):
        await sub.wait_for_block(1)
        server = node._rpc_server
        assert server is not None
        sub.rpc.max_request = 8 << 10
        nonce, genesis = await sub.get_nonce(ALICE), await sub.genesis_hash()
        dests = [Keypair.from_uri(f"//batch{i}").public_key for i in range(200)]
        exts = [Extrinsic.sign(Transfer(dest=d, amount=TAO), ALICE, nonce=nonce + i, genesis=genesis)
                for i, d in enumerate(dests)]
        assert sum(len(x.to_bytes()) for x in exts) > 3 * (8 << 10)
        before = server.stats()["served"]
        results = await sub.submit_batch(exts)
        assert [r.status for r in results] == ["submitted"] * 200, {str(r.error) for r in results if r.error}
        assert [r.hash for r in results] == [x.hash for x in exts]
        assert server.stats()["served"] - before >= 3
        with anyio.fail_after(20):
            while (await sub.get_balance(dests[-1])).rao != TAO:  # the last one is included
                await anyio.sleep(0.1)
        assert [(await sub.get_balance(d)).rao for d in dests[::50]] == [TAO] * 4


async def test_a_request_not_in_canonical_form_is_refused_typed(tmp_path: Path) -> None:
    """The envelope's keys out of order, a longer integer head than needed, or bytes after the request: each is
    `non_canonical` (they were all answered), and the canonical request beside them is answered."""
    canonical = dumps({"m": "block", "p": {"number": 1}})
    assert canonical.startswith(b"\xa2\x61m")  # map(2), "m" first: shorter keys first in canonical order
    reordered = b"\xa2\x61p\xa1\x66number\x01\x61m\x65block"
    longer = canonical[:-1] + b"\x18\x01"  # 1 written in two bytes
    async with running_node(tmp_path) as (_node, sub):
        await sub.wait_for_block(2)
        with pynng.Req0(recv_timeout=10_000, send_timeout=10_000) as raw:
            raw.dial(sub.endpoint, block=True)
            for request in (reordered, longer, canonical + b"\x00"):
                await raw.asend(request)
                assert loads(await raw.arecv())["err"]["code"] == "non_canonical", request
            await raw.asend(canonical)
            assert "ok" in loads(await raw.arecv())
