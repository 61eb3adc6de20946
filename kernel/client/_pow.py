"""Solving a registration's proof of work in several processes, in chunks, with progress.

Each process searches its own range of nonces (chunks of :data:`CHUNK` tries from far-apart starts); the first
chunk that finds a nonce wins and the rest are cancelled. Runs in a worker thread (the caller's event loop stays
free) and stops at ``max_tries``, when ``progress`` raises, or when ``stop`` is set (the caller was cancelled).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import secrets
import threading
from collections.abc import Callable

from taonet.ledger import solve_pow

__all__ = ["CHUNK", "solve_pow_parallel"]

CHUNK = 200_000
"""Tries per task handed to a process."""


def solve_pow_parallel(block_hash: bytes, hotkey: bytes, difficulty: int, processes: int, *,
                       progress: Callable[[int], None] | None = None, max_tries: int | None = None,
                       stop: threading.Event | None = None) -> int | None:
    """A nonce that solves the work, found by ``processes`` processes (None after ``max_tries`` in all, or soon
    after ``stop`` is set: the chunks running then finish, no new one starts)."""
    base = secrets.randbits(64)
    stride = (1 << 64) // max(1, processes * 1024)
    tries, next_start = 0, 0
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded process
    with cf.ProcessPoolExecutor(processes, mp_context=ctx) as pool:
        running: set[cf.Future[int | None]] = set()

        def submit() -> None:
            nonlocal next_start
            start = (base + next_start * stride) & ((1 << 64) - 1)
            next_start += 1
            running.add(pool.submit(solve_pow, block_hash, hotkey, difficulty, start=start, max_tries=CHUNK))

        try:
            for _ in range(2 * processes):
                submit()
            while running:
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    running.discard(f)
                    tries += CHUNK
                    if (nonce := f.result()) is not None:
                        return nonce
                if progress is not None:
                    progress(tries)
                if stop is not None and stop.is_set():
                    return None
                if max_tries is None or tries + CHUNK * len(running) < max_tries:
                    for _ in done:
                        submit()
            return None
        finally:
            for f in running:
                f.cancel()
