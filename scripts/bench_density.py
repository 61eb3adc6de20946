"""Micro-benchmark of the density check (taonet.ledger.check_density) beside cbor2's decode of the same bytes.

Run: ``.venv/bin/python scripts/bench_density.py [--json]``. Best of 3 runs per figure, one process; honest payloads
(one bytes field, float and int lists) and adversarial ones (16 MiB of tiny items), which are never decoded here
(that is what the check prevents): their decode time is measured on a 4 MiB copy.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import cbor2

from taonet.ledger import check_density, loads
from taonet.ledger.errors import CodecError

MIB = 1 << 20


def _array(count: int, items: bytes) -> bytes:
    return b"\x9a" + count.to_bytes(4, "big") + items


def _best(f: Callable[[], Any]) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(3):
        gc.collect()
        t0 = time.perf_counter()
        try:
            v = f()
            out = "accepted" if isinstance(v, int) else "decoded"
        except CodecError as e:
            out = type(e).__name__
        best = min(best, time.perf_counter() - t0)
        v = None
    return best * 1000, out


def main() -> None:
    rng = random.Random(1)
    honest = {
        "one 16 MiB bytes field": cbor2.dumps({"data": rng.randbytes(16 * MIB - 64)}, canonical=True),
        "1M floats (f64)": cbor2.dumps({"x": [rng.random() for _ in range(MIB)]}, canonical=True),
        "16 MiB of floats (f64)": cbor2.dumps({"x": [rng.random() for _ in range(16 * MIB // 9)]}, canonical=True),
        "1M floats, 3/4 half floats": cbor2.dumps(
            {"x": [rng.choice([0.0, 0.5, 1.0, rng.random()]) for _ in range(MIB)]}, canonical=True),
        "4M token ids (< 50,000)": cbor2.dumps({"t": [rng.randrange(50_000) for _ in range(4 * MIB)]}, canonical=True),
    }
    adversarial = {
        "empty maps": lambda n: _array(n, b"\xa0" * n),
        "one-item arrays": lambda n: _array(n // 2, b"\x81\x00" * (n // 2)),
        "one-pair maps": lambda n: _array(n // 3, b"\xa1\x60\x00" * (n // 3)),
        "one-byte strings": lambda n: _array(n // 2, b"\x41\x00" * (n // 2)),
        "half floats (accepted)": lambda n: _array(n // 3, b"\xf9\x3c\x00" * (n // 3)),
    }
    rows = []
    for name, raw in honest.items():
        check_ms, verdict = _best(lambda raw=raw: check_density(raw))
        decode_ms, _ = _best(lambda raw=raw: loads(raw, max_size=len(raw)))
        rows.append({"payload": name, "mib": round(len(raw) / MIB, 1), "check_ms": round(check_ms, 2),
                     "verdict": verdict, "decode_ms": round(decode_ms, 2)})
    for name, make in adversarial.items():
        raw = make(16 * MIB)
        check_ms, verdict = _best(lambda raw=raw: check_density(raw))
        small = make(4 * MIB)
        decode_ms, _ = _best(lambda small=small: cbor2.loads(small))
        rows.append({"payload": "16 MiB of " + name, "mib": round(len(raw) / MIB, 1), "check_ms": round(check_ms, 2),
                     "verdict": verdict, "decode_4mib_ms": round(decode_ms, 2)})
    if "--json" in sys.argv:
        print(json.dumps({"rows": rows, "python": sys.version.split()[0]}))
        return
    for r in rows:
        decode = r.get("decode_ms", r.get("decode_4mib_ms"))
        print(f"{r['payload']:38s} {r['mib']:6.1f} MiB  check {r['check_ms']:8.2f} ms  {r['verdict']:16s} "
              f"decode{'' if 'decode_ms' in r else ' (4 MiB)'} {decode:8.2f} ms")


if __name__ == "__main__":
    main()
