"""Proof of work in several processes: it finds work the chain accepts, and it stops when told (a cancelled
registration leaves no solver running)."""

from __future__ import annotations

import threading
import time

import pytest

from taonet.kernel.client._pow import solve_pow_parallel
from taonet.ledger import Keypair

HOTKEY = Keypair.from_uri("//Bob//pow").public_key
BLOCK_HASH = bytes(range(32))


@pytest.mark.slow
def test_processes_find_work_that_meets_the_difficulty() -> None:
    """The nonce two processes find hashes below the limit the difficulty sets."""
    import hashlib

    nonce = solve_pow_parallel(BLOCK_HASH, HOTKEY, 200_000, 2)
    assert nonce is not None
    digest = hashlib.blake2b(BLOCK_HASH + HOTKEY + nonce.to_bytes(8, "little"), digest_size=32).digest()
    assert int.from_bytes(digest, "big") < (1 << 256) // 200_000


@pytest.mark.slow
def test_a_set_stop_ends_the_search_within_a_chunk() -> None:
    """Work no process can find in time: once ``stop`` is set, the search returns None within seconds."""
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    assert solve_pow_parallel(BLOCK_HASH, HOTKEY, 1 << 200, 2, stop=stop) is None
    assert time.monotonic() - started < 20  # 1 s, then the running chunks finish; wide margin for a shared machine
