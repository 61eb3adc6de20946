"""`taonet bench density`: the check that bounds what a peer's message may decode to (``taonet.ledger.check_density``),
beside cbor2's decode of the same bytes.

Honest payloads (one bytes field, float and int lists) are checked and decoded; adversarial ones (16 MiB of tiny
items: empty maps, one-item arrays, one-pair maps, one-byte strings) are only checked, which is what refuses them
before anything is built: their decode is timed on a 4 MiB copy (``*_decode_4mib_ms``) to show what the check saves.
``*_accepted`` says the check's verdict (1 accepted, 0 refused).

Process layout: one process, one thread. Each figure is the median of ``runs`` measured runs after one warm-up run,
with the p99 (nearest rank) beside it, in ms.
"""

from __future__ import annotations

import contextlib
import gc
import random
import time
from collections.abc import Callable
from typing import Any

import cbor2

from taonet.ledger import check_density, loads
from taonet.ledger.errors import CodecError

from ._stats import median_p99

__all__ = ["run"]

MIB = 1 << 20


def _array(count: int, items: bytes) -> bytes:
    return b"\x9a" + count.to_bytes(4, "big") + items


def _honest() -> dict[str, bytes]:
    rng = random.Random(1)
    return {
        "bytes_16mib": cbor2.dumps({"data": rng.randbytes(16 * MIB - 64)}, canonical=True),
        "floats_1m": cbor2.dumps({"x": [rng.random() for _ in range(MIB)]}, canonical=True),
        "half_floats_1m": cbor2.dumps({"x": [rng.choice([0.0, 0.5, 1.0, rng.random()]) for _ in range(MIB)]},
                                      canonical=True),
        "token_ids_4m": cbor2.dumps({"t": [rng.randrange(50_000) for _ in range(4 * MIB)]}, canonical=True),
    }


_DENSE: dict[str, Callable[[int], bytes]] = {
    "empty_maps_16mib": lambda n: _array(n, b"\xa0" * n),
    "one_item_arrays_16mib": lambda n: _array(n // 2, b"\x81\x00" * (n // 2)),
    "one_pair_maps_16mib": lambda n: _array(n // 3, b"\xa1\x60\x00" * (n // 3)),
    "one_byte_strings_16mib": lambda n: _array(n // 2, b"\x41\x00" * (n // 2)),
}


def _times(f: Callable[[], Any], runs: int) -> tuple[float, float]:
    """(median, p99) ms of ``runs`` calls of ``f`` after one warm-up call (a CodecError is a result, not a failure)."""
    samples = []
    for i in range(runs + 1):
        gc.collect()
        t0 = time.perf_counter()
        with contextlib.suppress(CodecError):
            f()
        if i:
            samples.append(time.perf_counter() - t0)
    return median_p99(samples, 1000.0)


def _accepted(raw: bytes) -> int:
    try:
        check_density(raw)
    except CodecError:
        return 0
    return 1


def run(*, runs: int = 5, progress: Any = None) -> dict[str, Any]:
    """Measure the check and the decode on every payload; one dict of figures."""
    say = progress.print if progress is not None else (lambda *_: None)
    out: dict[str, Any] = {}
    for name, raw in _honest().items():
        say(f"{name}…")
        out[f"{name}_check_ms"], out[f"{name}_check_p99_ms"] = _times(lambda raw=raw: check_density(raw), runs)
        out[f"{name}_decode_ms"], out[f"{name}_decode_p99_ms"] = _times(
            lambda raw=raw: loads(raw, max_size=len(raw)), runs)
        out[f"{name}_accepted"] = _accepted(raw)
    for name, make in _DENSE.items():
        say(f"{name}…")
        raw, small = make(16 * MIB), make(4 * MIB)
        out[f"{name}_check_ms"], out[f"{name}_check_p99_ms"] = _times(lambda raw=raw: check_density(raw), runs)
        out[f"{name}_decode_4mib_ms"], out[f"{name}_decode_4mib_p99_ms"] = _times(
            lambda small=small: cbor2.loads(small), runs)
        out[f"{name}_accepted"] = _accepted(raw)
    out["runs"] = runs
    out["process_layout"] = "one process, one thread"
    return out
