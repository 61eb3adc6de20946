"""A naive dense baseline of the Yuma epoch: every matrix is the full ``n x n``, the median a loop over columns.

Same semantics and inputs as :func:`taonet.ledger._yuma.yuma_epoch`, written the straightforward way (as the
chain's ``epoch_dense`` is). It exists for the benchmark (what working on the validators' rows saves) and for a
test that both agree; nothing else should call it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._yuma import (
    U16_MAX,
    SparseRows,
    YumaParams,
    YumaResult,
    col_normalize_,
    kappa_threshold,
    liquid_alphas,
    normalize,
    quantize_u16,
    read_rows,
    stake_units,
    topk_nonzero,
)

__all__ = ["yuma_epoch_dense"]


def _median_loop(stake: np.ndarray, w: np.ndarray, kappa: float) -> np.ndarray:
    n = w.shape[1]
    voters = np.flatnonzero(stake > 0)
    consensus = np.zeros(n)
    if voters.shape[0] == 0:
        return consensus
    units, total = stake_units(stake[voters])
    need = kappa_threshold(kappa, total)
    for j in range(n):
        scores = w[voters, j]
        order = np.argsort(scores)[::-1]
        held = np.cumsum(units[order])
        consensus[j] = scores[order[min(int(np.count_nonzero(held < need)), voters.shape[0] - 1)]]
    return consensus


def yuma_epoch_dense(
    stake: ArrayLike,
    weights: np.ndarray | SparseRows,
    *,
    last_update: ArrayLike,
    block_at_registration: ArrayLike,
    current_block: int,
    last_tempo_block: int,
    validator_permits: ArrayLike | None = None,
    bonds: np.ndarray | SparseRows | None = None,
    owner_uid: int | None = None,
    params: YumaParams | None = None,
) -> YumaResult:
    """The Yuma epoch over full ``n x n`` matrices (the baseline :func:`~taonet.ledger._yuma.yuma_epoch` beats)."""
    p = YumaParams() if params is None else params
    stake_raw = np.asarray(stake, dtype=np.float64)
    n = stake_raw.shape[0]
    last_update = np.asarray(last_update, dtype=np.int64)
    registered = np.asarray(block_at_registration, dtype=np.int64)
    prev = np.zeros(n, dtype=bool) if validator_permits is None else np.array(validator_permits, dtype=bool)
    if owner_uid is not None:
        prev[owner_uid] = True
    everyone = np.arange(n)

    active = ~(last_update + p.activity_cutoff < current_block)
    stake_n = normalize(stake_raw)
    permits = topk_nonzero(stake_n, p.max_allowed_validators)
    if owner_uid is not None:
        permits[owner_uid] = True
    active_stake = normalize(np.where(active & prev, stake_n, 0.0))

    w = np.zeros((n, n))
    present = np.zeros((n, n), dtype=bool)
    read_rows(weights, everyone, n, "weights", w, present)
    w[~prev] = 0.0
    present[~prev] = False
    for i in range(n):
        if i != owner_uid:
            w[i, i] = 0.0
            present[i, i] = False
    outdated = last_update[:, None] <= registered[None, :]
    w[outdated] = 0.0
    present[outdated] = False
    row_sums = w.sum(axis=1)
    w /= np.where(row_sums > 0, row_sums, 1.0)[:, None]

    consensus = _median_loop(active_stake, w, p.kappa)
    wc = np.minimum(w, consensus[None, :])
    validator_trust = np.minimum(wc.sum(axis=1), 1.0)
    preranks = np.einsum("i,ij->j", active_stake, w)
    ranks = np.einsum("i,ij->j", active_stake, wc)
    trust = np.minimum(np.divide(ranks, preranks, out=np.zeros(n), where=preranks != 0), 1.0)
    incentive = normalize(ranks)

    bp = p.bonds_penalty
    if bp == 0.0:
        wb, wb_present = w, present
    elif bp == 1.0:
        wb, wb_present = wc, present & ~((consensus < w) & (consensus <= 0))
    else:
        wb = w + bp * (wc - w)
        wb_present = wb > 0
    b = np.zeros((n, n))
    if bonds is not None:
        read_rows(bonds, everyone, n, "bonds", b)
    b[:, last_tempo_block <= registered] = 0.0
    step = 1.0 - p.bonds_moving_average
    if p.yuma3:
        b /= U16_MAX
        if p.liquid_alpha and (consensus != 0).any():
            alpha = liquid_alphas(consensus, wb, b, p)
            ema = np.where(wb_present, np.minimum((1.0 - alpha) * b + np.maximum(alpha * wb, 0.0), 1.0), 0.0)
        else:
            ema = wb * step + b * (1.0 - step)
        col_sums = ema.sum(axis=0)
        dividends = normalize(np.einsum("ij,j->i", ema, incentive / np.where(col_sums != 0, col_sums, 1.0))
                              * active_stake)
        stored = ema
    else:
        col_normalize_(b)
        ema = col_normalize_(wb * active_stake[:, None]) * step + b * (1.0 - step)
        col_normalize_(ema)
        dividends = normalize(np.einsum("ij,j->i", ema, incentive))
        col_max = ema.max(axis=0, initial=0.0)
        stored = ema / np.where(col_max > 0, col_max, 1.0)

    bond_rows = np.flatnonzero(permits | prev)
    bonds_u16 = quantize_u16(stored[bond_rows])
    bonds_u16[~permits[bond_rows]] = 0

    combined = incentive + dividends
    total = combined.sum()
    if total != 0:
        server, validator, combined = incentive / total, dividends / total, combined / total
    else:
        fallback = active_stake if active_stake.sum() != 0 else stake_n
        server, validator, combined = incentive.copy(), fallback.copy(), fallback.copy()

    return YumaResult(
        stake=stake_n, active=active, active_stake=active_stake, validator_permits=permits,
        consensus=consensus, incentive=incentive, dividends=dividends, validator_trust=validator_trust,
        rank=incentive.copy(), trust=trust, server_emission=server, validator_emission=validator,
        combined_emission=combined, consensus_u16=quantize_u16(consensus), incentive_u16=quantize_u16(incentive),
        dividends_u16=quantize_u16(dividends), validator_trust_u16=quantize_u16(validator_trust),
        rank_u16=quantize_u16(incentive), trust_u16=quantize_u16(trust), bond_rows=bond_rows, bonds_u16=bonds_u16,
    )
