"""Miners in a process of their own, for tests that measure what a validator holds (its replies' bytes are then
allocated only where they arrive): ``python reply_miners.py SIZE [SIZE ...]`` serves one axon per size on
127.0.0.1, each answering :class:`Sized` with that many bytes; it prints one JSON line ``[[hotkey, port], ...]`` and
serves until its stdin closes."""

from __future__ import annotations

import json
import sys
from typing import ClassVar

import anyio
import anyio.to_thread

from taonet.kernel import Axon, Synapse
from taonet.ledger import Keypair


class Sized(Synapse):
    """Ask a miner for its bytes."""

    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("data",)
    data: bytes | None = None


async def main(sizes: list[int]) -> None:
    """Serve one axon per size until stdin closes."""
    async with anyio.create_task_group() as tg:
        out = []
        for size in sizes:
            payload = b"\x07" * size

            def forward(synapse: Sized, payload: bytes = payload) -> Sized:
                return synapse.replace(data=payload)

            key = Keypair.generate()
            info = await tg.start(Axon(key, "tcp://127.0.0.1:0").attach(forward).serve)
            out.append([info.hotkey, info.port])
        print(json.dumps(out), flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)
        tg.cancel_scope.cancel()


if __name__ == "__main__":
    anyio.run(main, [int(a) for a in sys.argv[1:]])
