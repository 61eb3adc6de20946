"""`taonet bench consensus`: the Yuma epoch at 256 and 4096 UIDs, and the naive dense baseline at 4096.

Each subnet is synthetic and seeded: the validators (the largest stakes) weight every other UID with random u16
weights (a fifth of them zero), miners set no weights, a few UIDs registered since the last epoch and a few
validators are inactive. Two epochs run first, so the permits and bonds are those a running subnet stores; a figure
is then the median wall time of ``runs`` further epochs on those inputs, after one warm-up.

Process layout: one process pinned to one core (where the OS allows), one thread. The epoch makes no BLAS call
(its sums are numpy ufunc reductions and ``einsum`` loops), so BLAS thread settings do not change these figures.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from taonet.ledger import YumaParams, YumaResult, yuma_epoch, yuma_epoch_dense

from ._stats import pin_one_core

__all__ = ["run"]

BLOCK = 10_000
TEMPO = 360


def _subnet(n: int, validators: int, seed: int) -> dict[str, Any]:
    """Inputs of a synthetic subnet of ``n`` UIDs whose ``validators`` largest stakes weight everyone else."""
    rng = np.random.default_rng(seed)
    stake = np.zeros(n)
    vals = np.sort(rng.choice(n, validators, replace=False))
    stake[vals] = rng.lognormal(mean=8.0, sigma=1.5, size=validators) * 1e9 + 1e12
    small = rng.choice(n, n // 8, replace=False)
    stake[small] += rng.random(small.shape[0]) * 1e9  # miners with a little stake, below every validator
    weights: list[tuple[np.ndarray, np.ndarray] | None] = [None] * n
    everyone = np.arange(n, dtype=np.uint16)
    for v in vals.tolist():
        raw = rng.integers(1, 65536, n).astype(np.float64)
        raw[rng.random(n) < 0.2] = 0.0
        raw[v] = 0.0
        uids = np.delete(everyone, v)
        values = np.rint(np.delete(raw, v) * 65535 / raw.max()).astype(np.uint16)
        weights[v] = (uids, values)
    registered = rng.integers(0, BLOCK - 2 * TEMPO, n)
    registered[rng.choice(n, 8, replace=False)] = BLOCK - 10  # registered since the last epoch
    last_update = np.full(n, BLOCK - 50)
    last_update[rng.choice(vals, max(1, validators // 20), replace=False)] = 0  # inactive validators
    return {
        "stake": stake,
        "weights": weights,
        "last_update": last_update,
        "block_at_registration": registered,
        "current_block": BLOCK,
        "last_tempo_block": BLOCK - TEMPO + 1,
    }


def _settled(inputs: dict[str, Any], params: YumaParams) -> dict[str, Any]:
    """The inputs with the permits and bonds two earlier epochs stored."""
    n = inputs["stake"].shape[0]
    permits, bonds = np.zeros(n, dtype=bool), None
    for _ in range(2):
        result = yuma_epoch(**inputs, validator_permits=permits, bonds=bonds, params=params)
        permits, bonds = result.validator_permits, _stored_bonds(result, bonds, n)
    return {**inputs, "validator_permits": permits, "bonds": bonds, "params": params}


def _stored_bonds(result: YumaResult, bonds: list[Any] | None, n: int) -> list[Any]:
    out = list(bonds) if bonds is not None else [None] * n
    for uid, uids, values in result.sparse_bonds():
        out[uid] = (np.asarray(uids, dtype=np.uint16), np.asarray(values, dtype=np.uint16))
    return out



def _median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def run(*, runs: int = 5, progress: Any = None) -> dict[str, Any]:
    """Measure the epoch's figures (milliseconds per epoch); ``progress`` is a rich Console, or None for silence."""
    runs = max(1, runs)
    layout = pin_one_core()
    say = (lambda m: progress.print(f"[dim]{m}[/]")) if progress is not None else (lambda m: None)
    say("preparing subnets (two epochs each, so permits and bonds are settled)…")
    small = _settled(_subnet(256, 64, seed=1), YumaParams())
    large = _settled(_subnet(4096, 256, seed=2), YumaParams())
    large_y3 = _settled(_subnet(4096, 256, seed=2), YumaParams(yuma3=True, liquid_alpha=True))
    figures: dict[str, Any] = {"process_layout": f"one process, one thread, {layout}"}
    for key, fn, inputs in (
        ("epoch_256_ms", yuma_epoch, small),
        ("epoch_4096_ms", yuma_epoch, large),
        ("epoch_4096_yuma3_liquid_alpha_ms", yuma_epoch, large_y3),
        ("dense_baseline_4096_ms", yuma_epoch_dense, large),
    ):
        say(f"{key}: {runs} runs after a warm-up…")
        figures[key] = round(_median_ms(lambda fn=fn, inputs=inputs: fn(**inputs), runs), 3)
    figures["runs"] = runs
    figures["validators_256"] = 64
    figures["validators_4096"] = 256
    return figures
