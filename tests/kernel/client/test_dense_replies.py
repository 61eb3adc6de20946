"""A reply that would decode to far more memory than its size (a hostile replica's) is refused before it is decoded:
the call raises RefusedReply (an RpcServerError) naming the refusal, the caller's traced memory stays small, and the
next call on the same client is answered (asyncio and trio). A real node's biggest honest replies still decode: the
metagraph with weights and the neurons of a 1,024-UID subnet, a neuron with 1,024 weights, 1,000 blocks and their
events, and a submit_batch answered with 10,000 refusals (the densest reply the node gives, passed by DENSE_REPLIES)."""

from __future__ import annotations

import contextlib
import gc
import re
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import attrs
import pytest

from taonet.kernel import Subtensor
from taonet.kernel.client import RpcClient
from taonet.kernel.errors import RefusedReply, RpcServerError
from taonet.ledger import (
    DENSITY,
    TAO,
    AddStake,
    BurnedRegister,
    Extrinsic,
    Keypair,
    SetHyperparameter,
    SetWeights,
    Transfer,
    check_density,
    dumps,
    hotkey_binding_payload,
)
from taonet.ledger.errors import MessageTooDense

from ..node.nodes import node_process
from .servers import free_address, server_process

pytestmark = pytest.mark.anyio

MIB = 1 << 20
EMPTY_MAPS = 2 * MIB
"""The dense reply: {"ok": [{}, {}, ...]} with this many empty maps (2 MiB on the wire, ~150 MiB decoded)."""

DENSE_SERVER = """
import sys, pynng, cbor2
n = int(sys.argv[2])
dense = b"\\xa1\\x62ok\\x9a" + n.to_bytes(4, "big") + b"\\xa0" * n
with pynng.Rep0(listen=sys.argv[1], recv_max_size=1 << 20) as sock:
    print("up", flush=True)
    while True:
        method = cbor2.loads(sock.recv())["m"]
        sock.send(dense if method == "dense" else cbor2.dumps({"ok": {"number": 7}}))
"""


@contextlib.contextmanager
def dense_server() -> Iterator[str]:
    """A process answering the method "dense" with EMPTY_MAPS empty maps and any other with {"number": 7}, at the
    address it yields; killed at the end."""
    address = free_address()
    with server_process(DENSE_SERVER, address, str(EMPTY_MAPS)):
        yield address


async def _traced(call: Callable[[], Awaitable[Any]]) -> tuple[BaseException | None, int]:
    """What ``call()`` raised (None if nothing) and the peak of memory allocated meanwhile (every thread)."""
    gc.collect()
    tracemalloc.start()
    try:
        try:
            await call()
            raised = None
        except Exception as e:
            raised = e
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return raised, peak


async def test_a_dense_reply_is_refused_with_little_memory_and_the_next_call_is_answered() -> None:
    """A server answers 2 MiB of empty maps (~150 MiB as Python objects): the call raises RefusedReply saying
    the client refused the reply, before cbor2 builds anything (traced peak under 16 MiB: the received bytes and a
    copy), and the same client's next call is answered."""
    with dense_server() as address:
        async with RpcClient(address, timeout=20) as rpc:
            with anyio.fail_after(30):
                err, peak = await _traced(lambda: rpc.call("dense"))
                assert isinstance(err, RefusedReply) and isinstance(err, RpcServerError), err
                assert err.method == "dense"
                assert re.match(f"the reply of the node at {re.escape(address)} to dense was refused: its 2097161 "
                                r"bytes may decode to more than \d+ bytes of objects \(", str(err)), err
                assert str(err).endswith(f"); is {address} a taonet node you trust?"), err
                assert "failed on the server" not in str(err) and "send large data" not in str(err), err
                assert peak < 16 * MIB, peak
                assert await rpc.call("head") == {"number": 7}


async def test_a_client_may_allow_denser_replies_with_max_density() -> None:
    """The same 2 MiB of empty maps (72 bytes of objects per byte) decode for a client that allows 128."""
    with dense_server() as address:
        async with RpcClient(address, timeout=20, max_density=128) as rpc:
            with anyio.fail_after(30):
                assert len(await rpc.call("dense")) == EMPTY_MAPS


UIDS = 1024
VALIDATORS = 16
SUBNET = {"max_allowed_uids": UIDS, "max_registrations_per_block": 4096, "min_burn": 1000, "max_burn": 1000,
          "weights_rate_limit": 0, "immunity_period": 100_000, "activity_cutoff": 100_000, "tempo": 10}


@attrs.frozen
class BigNode:
    """A node with subnet 1 of UIDS neurons, VALIDATORS of them setting weights on every UID."""

    rpc: str
    genesis: bytes
    head: int


async def _submit_all(sub: Subtensor, exts: list[Extrinsic]) -> None:
    for i in range(0, len(exts), 2000):
        bad = [r for r in await sub.submit_batch(exts[i:i + 2000]) if not r.success]
        assert not bad, bad[0].error
    await sub.wait_for_block(await sub.get_current_block() + 2, timeout=60)


async def _fill(rpc: str) -> BigNode:
    alice = Keypair.from_uri("//Alice")
    async with Subtensor(rpc, timeout=60) as sub:
        genesis = await sub.genesis_hash()
        owner = type("W", (), {"coldkey": alice, "hotkey": Keypair.from_uri("//dense//0")})()
        assert (await sub.create_subnet(owner)).success
        nonce = await sub.get_nonce(alice)
        exts: list[Extrinsic] = []

        def add(call: Any, key: Keypair = alice) -> None:
            nonlocal nonce
            exts.append(Extrinsic.sign(call, key, nonce=nonce, genesis=genesis))
            nonce += 1

        for name, value in SUBNET.items():
            add(SetHyperparameter(netuid=1, name=name, value=value))
        await _submit_all(sub, exts)
        exts.clear()
        keys = [Keypair.from_uri(f"//dense//{u}") for u in range(1, UIDS)]
        for h in keys:
            add(BurnedRegister(netuid=1, hotkey=h.public_key,
                               hotkey_signature=h.sign(hotkey_binding_payload(genesis, alice.public_key))))
        for h in [owner.hotkey, *keys[:VALIDATORS - 1]]:
            add(AddStake(hotkey=h.public_key, amount=100 * TAO))
        await _submit_all(sub, exts)
        await sub.wait_for_block(await sub.get_current_block() + SUBNET["tempo"] + 2, timeout=60)  # permits
        uids = list(range(UIDS))
        weights = [(7919 * (u + 1)) % 65535 + 1 for u in uids]
        exts = [Extrinsic.sign(SetWeights(netuid=1, uids=uids, weights=weights), h, nonce=await sub.get_nonce(h),
                               genesis=genesis) for h in [owner.hotkey, *keys[:VALIDATORS - 1]]]
        await _submit_all(sub, exts)
        return BigNode(rpc, genesis, await sub.get_current_block())


@pytest.fixture(scope="module")
def big_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigNode]:
    """A `taonet node run --dev` process filled by _fill (about 15 s); killed at the end."""
    with node_process(tmp_path_factory.mktemp("big") / "node", "--no-fsync", "--mempool-per-signer", "100000") \
            as (_proc, addresses):
        yield anyio.run(_fill, addresses["rpc"])


def _walked(result: Any) -> int:
    """The size of ``result`` as a reply: at least 64 KiB, so that the client checked its density."""
    size = len(dumps({"ok": result}))
    assert size >= 64 << 10, size
    return size


async def test_a_real_nodes_biggest_honest_replies_decode(big_node: BigNode) -> None:
    """The metagraph of 1,024 UIDs (with and without weights), every neuron with its weights, one neuron with 1,024
    weights, 1,000 blocks and their events, and a submit_batch of 10,000 refused transfers: each is over 64 KiB (so
    it was checked) and decodes; the refusals are denser than the default density allows (DENSE_REPLIES lets them
    through)."""
    async with RpcClient(big_node.rpc, timeout=60) as rpc, Subtensor(big_node.rpc, timeout=60) as sub:
        with anyio.fail_after(120):
            for weights in (False, True):
                payload = await rpc.call("metagraph", netuid=1, weights=weights)
                assert payload["n"] == UIDS
                _walked(payload)
            mg = await sub.metagraph(1, lite=False)
            assert mg.n == UIDS and mg.W.shape == (UIDS, UIDS) and mg.W[0].sum() > 0
            assert len(await sub.neurons(1)) == UIDS
            neuron = await rpc.call("neuron", netuid=1, uid=0)
            assert len(neuron["weights"][0]) == UIDS
            stop = min(big_node.head, 1000)
            _walked(await rpc.call("blocks", start=0, stop=stop))
            _walked(await rpc.call("events", start=0, stop=stop))
            nobody = Keypair.from_uri("//dense//nobody")  # no funds: every transfer refused
            dest = Keypair.from_uri("//Bob").public_key
            exts = [Extrinsic.sign(Transfer(dest=dest, amount=TAO), nobody, nonce=i, genesis=big_node.genesis)
                    for i in range(10_000)]
            started = time.monotonic()
            replies = await rpc.call("submit_batch", extrinsics=[x.to_bytes() for x in exts])
            assert len(replies) == 10_000 and all("error" in r for r in replies)
            raw = dumps({"ok": replies})
            with pytest.raises(MessageTooDense):
                check_density(raw, density=DENSITY)
            assert time.monotonic() - started < 60


def test_the_dense_reply_cost_dwarfs_its_size() -> None:
    """The premise: the dense reply the tests send is refused at the default density (it would decode to ~72 bytes
    of objects per byte)."""
    raw = b"\xa1\x62ok\x9a" + EMPTY_MAPS.to_bytes(4, "big") + b"\xa0" * EMPTY_MAPS
    with pytest.raises(MessageTooDense):
        check_density(raw)
    assert check_density(raw, density=128) > 64 * len(raw)
