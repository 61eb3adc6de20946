"""Helpers for the wire tests: synapse types, keys, and a raw client that sends hand-made frames."""

from __future__ import annotations

import socket
import time
import uuid as _uuid
from typing import Any

import anyio
import cbor2
import pynng

from taonet.kernel import Synapse
from taonet.kernel.wire._format import Reply, body_hash, decode_reply, encode_request, request_signed_bytes
from taonet.kernel.wire._nng import NngContext
from taonet.ledger import Keypair

ALICE = Keypair.from_uri("//Alice")  # the validator (dendrite)
BOB = Keypair.from_uri("//Bob")  # the miner (axon)
CAROL = Keypair.from_uri("//Carol")  # another miner
EVE = Keypair.from_uri("//Eve")  # an attacker


class Dummy(Synapse):
    """Doubles an integer (the bittensor template's synapse)."""

    input: int
    output: int | None = None


async def double(synapse: Dummy) -> Dummy:
    """The forward every test miner attaches."""
    return synapse.replace(output=synapse.input * 2)


def request(
    synapse: Synapse,
    *,
    axon: Keypair = BOB,
    caller: Keypair = ALICE,
    signer: Keypair | None = None,
    nonce: int | None = None,
    uuid: str | None = None,
    timeout_ms: int = 5000,
    body: bytes | None = None,
    signed_body: bytes | None = None,
    name: str | None = None,
    signature: bytes | None = None,
) -> bytes:
    """A request frame; every part can be bent (``signed_body`` is what the signature's hash covers)."""
    real = cbor2.dumps(synapse.payload(), canonical=True)
    body = real if body is None else body
    h = body_hash(real if signed_body is None else signed_body)
    nonce = time.time_ns() if nonce is None else nonce
    uuid = uuid or str(_uuid.uuid4())
    sig = signature or (signer or caller).sign(request_signed_bytes(nonce, caller.public_key, axon.public_key, uuid, h))
    return encode_request(name or synapse.NAME, axon=axon.public_key, uuid=uuid, nonce=nonce,
                          hotkey=caller.public_key, timeout_ms=timeout_ms, version=1, body_hash=h, signature=sig,
                          body=body)


class RawClient:
    """One Req0 socket for hand-made frames; use as ``async with RawClient(address) as c``."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock: Any = None

    async def __aenter__(self) -> RawClient:
        self.sock = pynng.Req0(recv_max_size=0, resend_time=-1)
        self.sock.dial(self.address, block=True)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.sock.close()

    async def send(self, frame: bytes, timeout: float = 5.0) -> bytes | None:
        """The raw reply, or None if none came within ``timeout``."""
        ctx = NngContext(self.sock)
        try:
            ctx.send(frame)
            raw, _ = await ctx.recv(int(timeout * 1000))
            return raw
        except pynng.Timeout:
            return None
        finally:
            ctx.close()

    async def reply(self, frame: bytes, timeout: float = 5.0) -> Reply:
        """The decoded reply (fails the test if none came)."""
        raw = await self.send(frame, timeout)
        assert raw is not None, "the axon did not answer"
        return decode_reply(raw, max_size=1 << 24)


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it holds (bounded)."""
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.005)


def raw_requester(address: str) -> socket.socket:
    """A TCP connection speaking nng's REQ protocol by hand, so that it can send and never read its replies."""
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    sock.settimeout(5)
    sock.connect((host, int(port)))
    sock.sendall(b"\x00SP\x00\x00\x30\x00\x00")  # SP header: protocol REQ0 (0x30), version 0
    return sock
