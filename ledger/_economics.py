"""Prices as pure integer functions: the decaying registration burn, the subnet lock, proof of work, difficulty.

Everything here is integer arithmetic so every node computes the same RAO. Exponential decay uses a Q64
fixed-point factor ``2^(-1/half_life)`` raised by repeated squaring (flooring at each step); the factor itself is
computed once per half-life with :mod:`decimal` at 40 digits, which is software arithmetic and gives the same
digits on every platform.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from decimal import Context
from functools import lru_cache

__all__ = [
    "adjust_difficulty",
    "burn_after_registration",
    "current_burn",
    "decay",
    "lock_cost",
    "next_to_prune",
    "pow_hash",
    "pow_ok",
    "solve_pow",
]

_ONE = 1 << 64


@lru_cache(maxsize=256)
def _factor_q64(half_life: int) -> int:
    ctx = Context(prec=40)
    f = ctx.power(ctx.create_decimal(2), ctx.divide(-1, half_life))
    return int(ctx.multiply(f, _ONE))


def decay(value: int, elapsed: int, half_life: int) -> int:
    """``floor(value * 2^(-elapsed/half_life))`` in deterministic Q64 fixed point."""
    if elapsed <= 0 or value == 0:
        return value
    whole, part = divmod(elapsed, half_life)
    if whole >= 64:
        return 0
    value >>= whole
    result, base = _ONE, _factor_q64(half_life)
    while part:
        if part & 1:
            result = result * base >> 64
        base = base * base >> 64
        part >>= 1
    return value * result >> 64


def _clamp(x: int, lo: int, hi: int) -> int:
    return lo if x < lo else hi if x > hi else x


def current_burn(base: int, base_block: int, block: int, *, half_life: int, min_burn: int, max_burn: int) -> int:
    """The burn a registration pays at ``block``: ``base`` set at ``base_block``, decayed, clamped."""
    return _clamp(decay(base, block - base_block, half_life), min_burn, max(min_burn, max_burn))


def burn_after_registration(burn_now: int, *, mult_milli: int, min_burn: int, max_burn: int) -> int:
    """The new burn base after one registration: the current burn times the increase multiplier, clamped."""
    return _clamp(burn_now * mult_milli // 1000, min_burn, max(min_burn, max_burn))


def lock_cost(last_lock: int, last_lock_block: int, block: int, *, min_lock: int, half_life: int) -> int:
    """The lock a new subnet costs: double the last one, halving every ``half_life`` blocks, at least ``min_lock``."""
    if last_lock == 0:
        return min_lock
    return max(min_lock, decay(2 * last_lock, block - last_lock_block, half_life))


def adjust_difficulty(difficulty: int, registrations: int, target: int, *, lo: int, hi: int) -> int:
    """Scale difficulty by (regs + target) / (2 target), moving toward ``target`` registrations per interval."""
    target = max(1, target)
    return _clamp(difficulty * (registrations + target) // (2 * target), max(1, lo), max(1, lo, hi))


def pow_hash(block_hash: bytes, hotkey: bytes, nonce: int) -> int:
    """blake2b-256(block hash ‖ hotkey ‖ nonce as u64 LE) read as a big-endian integer."""
    h = hashlib.blake2b(block_hash + hotkey + nonce.to_bytes(8, "little"), digest_size=32).digest()
    return int.from_bytes(h, "big")


def pow_ok(block_hash: bytes, hotkey: bytes, nonce: int, difficulty: int) -> bool:
    """True when the work is below ``2^256 / difficulty``."""
    return pow_hash(block_hash, hotkey, nonce) < (1 << 256) // max(1, difficulty)


def solve_pow(
    block_hash: bytes,
    hotkey: bytes,
    difficulty: int,
    *,
    start: int = 0,
    max_tries: int | None = None,
    progress: Callable[[int], None] | None = None,
    every: int = 50_000,
) -> int | None:
    """Search nonces from ``start`` for valid work; returns the nonce, or None after ``max_tries``.

    ``progress(tries)`` is called every ``every`` tries so a caller can show a rate or stop early by raising.
    """
    limit = (1 << 256) // max(1, difficulty)
    prefix = block_hash + hotkey
    blake = hashlib.blake2b
    nonce = start
    tries = 0
    while max_tries is None or tries < max_tries:
        h = blake(prefix + nonce.to_bytes(8, "little"), digest_size=32).digest()
        if int.from_bytes(h, "big") < limit:
            return nonce
        nonce = (nonce + 1) & ((1 << 64) - 1)
        tries += 1
        if progress is not None and tries % every == 0:
            progress(tries)
    return None


def next_to_prune(neurons: Iterable[tuple[int, int, int, bool]], block: int, immunity_period: int) -> int | None:
    """The UID a registration into a full subnet replaces at ``block``, from each neuron's (uid, emission at the
    last epoch in RAO, registered_at, is the subnet owner's hotkey): the pruning rule the registrar applies
    (lowest emission past the immunity period, ties to the earliest registration then the lowest UID; if every
    neuron is immune, the same over the immune ones; never the owner), for a client that has a metagraph, not a
    state. None when only the owner is there."""
    keys = sorted((emission, registered_at, uid) for uid, emission, registered_at, owner in neurons if not owner)
    immune_from = block - immunity_period  # registered after this block: still immune
    for _emission, registered_at, uid in keys:
        if registered_at <= immune_from:
            return uid
    return keys[0][2] if keys else None
