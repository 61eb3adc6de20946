"""Freivalds' check: is ``C == A @ B``? In quadratic time, with integer round vectors so the arithmetic is exact.

A product of n x n matrices with entries in [-128, 127] has entries of at most ``n * 2**14`` in absolute value, and
every one of them is an integer, exactly representable in float64 (n <= 2**38). The check draws ``rounds`` vectors r
uniform in [0, 2**20) and compares ``A @ (B @ r)`` with ``C @ r``. If C is not the product, ``(A @ B - C) @ r`` is
zero for at most one value of any coordinate of r where the difference has a non-zero column, so one round accepts
a wrong C with probability at most 2**-20, and k rounds with probability at most 2**(-20 k) (two rounds: < 1e-12).

The sums reach ``n**2 * 2**14 * r``, and float64 is exact below 2**53: up to n = 512 a round vector's entries
(20 bits) fit, and the check is three BLAS products in float64. Above, each round vector is split into digits of
fewer bits (two 10-bit digits at n = 2048): ``C @ r == A @ (B @ r)`` holds if it holds for every digit vector, and
digits of a uniform r are independent and uniform, so the chance of a false accept is the same. The comparison is
exact either way: no tolerance, no false reject.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ENTRY_MAX", "ROUND_BITS", "freivalds", "make_matrices", "rounds_for", "round_vectors"]

ROUND_BITS = 20
"""Round vectors are uniform in [0, 2**ROUND_BITS)."""
ENTRY_MAX = 128
"""Matrix entries are integers in [-ENTRY_MAX, ENTRY_MAX)."""
_FLOAT_EXACT = 2**53
_BLOCK = 1 << 17
"""Entries of C checked per block (a 1 MiB buffer)."""


def rounds_for(false_accept: float = 1e-9) -> int:
    """Rounds needed for a false-accept chance below ``false_accept`` (each round: at most 2**-ROUND_BITS)."""
    return max(1, math.ceil(-math.log2(false_accept) / ROUND_BITS))


def make_matrices(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The task's two n x n matrices: integers in [-128, 127] from ``seed``, as float64 (products are exact)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-ENTRY_MAX, ENTRY_MAX, size=(n, n), dtype=np.int8)
    b = rng.integers(-ENTRY_MAX, ENTRY_MAX, size=(n, n), dtype=np.int8)
    return a.astype(np.float64), b.astype(np.float64)


def round_vectors(seed: int, n: int, rounds: int) -> np.ndarray:
    """``rounds`` round vectors (the columns of an n x rounds matrix), uniform in [0, 2**20), from ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**ROUND_BITS, size=(n, rounds), dtype=np.int64)


def freivalds(a: np.ndarray, b: np.ndarray, c: np.ndarray, r: np.ndarray) -> bool:
    """True when ``c @ r == a @ (b @ r)`` exactly for every column of ``r``; False for a C of the wrong shape, with
    a non-finite or non-integer entry, or an entry larger than any product of such matrices can hold."""
    n = a.shape[0]
    if a.shape != (n, n) or b.shape != (n, n) or c.shape != (n, n) or r.shape[0] != n:
        return False
    bound = n * ENTRY_MAX * ENTRY_MAX
    step = max(1, _BLOCK // n)
    for i in range(0, n, step):  # integer-valued and within the bound (NaN is never equal), in cache-sized blocks
        rows = c[i:i + step]
        whole = np.trunc(rows)
        np.clip(whole, -bound, bound, out=whole)
        if not np.array_equal(rows, whole):
            return False
    rf = _digits(r, n)
    return bool(np.array_equal(a @ (b @ rf), c @ rf))


def _digits(r: np.ndarray, n: int) -> np.ndarray:
    """The round vectors as float64 columns whose sums stay exact: r itself when its 20 bits fit, else its digits
    (r = sum of digit_j * 2**(width * j)), each a column of its own."""
    room = _FLOAT_EXACT // (n * n * ENTRY_MAX * ENTRY_MAX)  # the largest entry a round vector may have, plus one
    fit = room.bit_length() - 1
    if fit < 1:
        raise ValueError(f"n = {n} is too large for an exact check in float64")
    pieces = -(-ROUND_BITS // fit)
    if pieces == 1:
        return r.astype(np.float64)
    width = -(-ROUND_BITS // pieces)
    mask = (1 << width) - 1
    return np.concatenate([((r >> (width * j)) & mask) for j in range(pieces)], axis=1).astype(np.float64)
