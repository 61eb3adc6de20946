"""Yuma Consensus: the epoch of one subnet as a pure numpy function.

This follows the real chain's sparse epoch (subtensor ``epoch_mechanism``, read step by step in
``shared/reference/yuma.md``) in float64, with the choices ``docs/consensus.md`` states: stake is plain TAO stake,
weights are masked with the permits of the previous epoch, Yuma 2 bonds by default and Yuma 3 (optionally with
liquid alpha) per subnet, and outputs quantised to u16 as the chain stores them.

Only the rows that can carry weights or bonds (previous permits, rows with stored bonds) are read, so every
matrix is ``rows x n`` with ``rows`` about the number of validators, never ``n x n``. No BLAS call is made (sums
are numpy reductions in a fixed order) and nothing depends on set order or threads: the same inputs give
bit-identical outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from ._params import Hyperparameters

__all__ = ["YumaParams", "YumaResult", "yuma_epoch"]

U16_MAX = 65535

SparseRows: TypeAlias = Sequence[tuple[ArrayLike, ArrayLike] | None]
"""One entry per UID: ``(uids, values)`` as a neuron stores them (``weight_uids/weight_values``), or None/empty."""

# The median cumulates stake as integers (units of 2**-52 of the validators' total), so where the cumulative
# stake crosses kappa does not depend on how the sort orders equal scores, hence not on the machine.
_STAKE_UNITS = float(1 << 52)


def _ratio(default: float) -> Any:
    def check(_inst: object, attribute: attrs.Attribute, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{attribute.name} must be in [0, 1], got {value}")

    return attrs.field(default=default, converter=float, validator=check)


@attrs.frozen(kw_only=True)
class YumaParams:
    """The hyperparameters the epoch reads, as ratios (the chain's u16 and per-million integers divided out).

    ``bonds_moving_average`` is the share of the old bonds kept, so the EMA step is ``1 - bonds_moving_average``;
    ``activity_cutoff`` is in blocks. Defaults are the chain's subnet defaults (``max_allowed_validators`` 64 as
    taonet's ``Hyperparameters``).
    """

    kappa: float = _ratio(32767 / U16_MAX)
    bonds_moving_average: float = _ratio(0.9)
    bonds_penalty: float = _ratio(1.0)
    max_allowed_validators: int = attrs.field(default=64, converter=int, validator=attrs.validators.ge(0))
    yuma3: bool = attrs.field(default=False, converter=bool)
    liquid_alpha: bool = attrs.field(default=False, converter=bool)
    alpha_low: float = _ratio(45875 / U16_MAX)
    alpha_high: float = _ratio(58982 / U16_MAX)
    alpha_sigmoid_steepness: float = attrs.field(default=1000.0, converter=float)
    activity_cutoff: int = attrs.field(default=5000, converter=int, validator=attrs.validators.ge(0))

    def __attrs_post_init__(self) -> None:
        if self.alpha_high < self.alpha_low:
            raise ValueError(f"alpha_high ({self.alpha_high}) is below alpha_low ({self.alpha_low})")

    @classmethod
    def from_hyperparameters(cls, h: Hyperparameters) -> YumaParams:
        """The epoch's parameters from a subnet's stored :class:`~taonet.ledger.Hyperparameters`."""
        return cls(
            kappa=h.kappa / U16_MAX,
            bonds_moving_average=h.bonds_moving_average / 1_000_000,
            bonds_penalty=h.bonds_penalty / U16_MAX,
            max_allowed_validators=h.max_allowed_validators,
            yuma3=h.yuma3_enabled,
            liquid_alpha=h.liquid_alpha_enabled,
            alpha_low=h.alpha_low / U16_MAX,
            alpha_high=h.alpha_high / U16_MAX,
            alpha_sigmoid_steepness=h.alpha_sigmoid_steepness,
            activity_cutoff=h.activity_cutoff,
        )


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


_array = attrs.field(converter=_readonly)


@attrs.frozen(kw_only=True, eq=False)
class YumaResult:
    """What one epoch computes: float outputs per UID, the u16 values the chain stores, permits and bonds.

    Every per-UID array has length ``n``. ``server_emission`` and ``validator_emission`` are the shares of the
    epoch's emission each UID earns as a miner and as a validator (together they sum to 1 unless nothing is
    staked); ``combined_emission`` is their sum. Bonds are written for the UIDs in ``bond_rows`` only: row ``k``
    of ``bonds_u16`` replaces the stored bond row of UID ``bond_rows[k]`` (a row of zeros clears it), and every
    other UID keeps its stored bonds. Arrays are read-only.
    """

    stake: np.ndarray = _array
    """Stake normalised to sum 1."""
    active: np.ndarray = _array
    """Whether each UID set weights within the activity cutoff."""
    active_stake: np.ndarray = _array
    """Stake of active UIDs holding a (previous) permit, normalised."""
    validator_permits: np.ndarray = _array
    """The new permits: top ``max_allowed_validators`` by non-zero stake, and the owner."""
    consensus: np.ndarray = _array
    """The stake-weighted median (with kappa) of the weights each UID received."""
    incentive: np.ndarray = _array
    """Clipped rank, normalised: each UID's share of the miners' half."""
    dividends: np.ndarray = _array
    """Bonds times incentive, normalised: each UID's share of the validators' half."""
    validator_trust: np.ndarray = _array
    """The sum of each validator's clipped (normalised) weights."""
    rank: np.ndarray = _array
    """Rank after normalisation, as the chain stored it (equal to incentive)."""
    trust: np.ndarray = _array
    """Clipped over unclipped rank, before normalisation (0 where nothing was weighted)."""
    server_emission: np.ndarray = _array
    """Incentive over the sum of incentive and dividends (0 everywhere when nothing was weighted)."""
    validator_emission: np.ndarray = _array
    """Dividends over the sum of incentive and dividends; active stake (else stake) when nothing was weighted."""
    combined_emission: np.ndarray = _array
    """``server_emission + validator_emission``: each UID's share of the epoch's emission."""
    consensus_u16: np.ndarray = _array
    """``floor(consensus * 65535)``, as stored."""
    incentive_u16: np.ndarray = _array
    """``floor(incentive * 65535)``, as stored."""
    dividends_u16: np.ndarray = _array
    """``floor(dividends * 65535)``, as stored."""
    validator_trust_u16: np.ndarray = _array
    """``floor(validator_trust * 65535)``, as stored."""
    rank_u16: np.ndarray = _array
    """``floor(rank * 65535)``, as the chain stored it before it dropped rank."""
    trust_u16: np.ndarray = _array
    """``floor(trust * 65535)``, as the chain stored it before it dropped trust."""
    bond_rows: np.ndarray = _array
    """The UIDs whose stored bond row this epoch replaces (new permits and lost permits), ascending."""
    bonds_u16: np.ndarray = _array
    """``len(bond_rows) x n`` u16: the new bond row of each UID in ``bond_rows`` (zeros clear a row)."""

    def sparse_bonds(self) -> tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...]:
        """The bond rows to store as ``(uid, bond_uids, bond_values)``, non-zero entries only, by UID."""
        out = []
        for uid, row in zip(self.bond_rows.tolist(), self.bonds_u16, strict=True):
            cols = np.flatnonzero(row)
            out.append((uid, tuple(cols.tolist()), tuple(row[cols].tolist())))
        return tuple(out)


# --- helpers (the dense baseline in _yuma_dense shares them) ------------------------------------------------


def quantize_u16(x: np.ndarray) -> np.ndarray:
    """``floor(x * 65535)`` saturated to [0, 65535], as the chain's ``fixed_proportion_to_u16``."""
    y = np.clip(x, 0.0, 1.0)
    y *= U16_MAX
    return np.floor(y, out=y).astype(np.uint16)


def normalize(x: np.ndarray) -> np.ndarray:
    """``x / sum(x)``, or a copy of ``x`` when the sum is 0."""
    total = x.sum()
    return x / total if total != 0 else x.copy()


def col_normalize_(m: np.ndarray) -> np.ndarray:
    """Divide each column of ``m`` by its sum, in place; columns summing to 0 are left as they are."""
    sums = m.sum(axis=0)
    m /= np.where(sums != 0, sums, 1.0)
    return m


def topk_nonzero(stake: np.ndarray, k: int) -> np.ndarray:
    """The chain's ``is_topk_nonzero``: the k largest non-zero stakes; at a tie on the cut the higher UID wins."""
    keep = stake > 0
    n = stake.shape[0]
    if n >= k:
        keep[np.argsort(stake, kind="stable")[: n - k]] = False
    return keep


def stake_units(stake: np.ndarray) -> tuple[np.ndarray, int]:
    """Stake normalised over the given validators, as int64 units of 2**-52, and their total."""
    units = np.rint(normalize(stake) * _STAKE_UNITS).astype(np.int64)
    return units, int(units.sum())


def kappa_threshold(kappa: float, total: int) -> int:
    """The least whole number of stake units that is at least ``kappa`` of ``total`` (exact arithmetic)."""
    return math.ceil(Fraction(kappa) * total)


def liquid_alphas(consensus: np.ndarray, w: np.ndarray, b: np.ndarray, p: YumaParams) -> np.ndarray:
    """The per-bond EMA step of Yuma 3's liquid alpha (the chain's ``alpha_sigmoid``), elementwise."""
    diff = np.where(w >= b, np.clip(w - consensus, 0.0, 1.0), np.clip(b - w, 0.0, 1.0))
    x = np.clip(p.alpha_sigmoid_steepness / -100.0 * (diff - 0.5), -20.0, 20.0)
    sigmoid = 1.0 / (1.0 + np.exp(x))
    return np.clip(p.alpha_low + sigmoid * (p.alpha_high - p.alpha_low), p.alpha_low, p.alpha_high)


def weighted_median_cols(stake: np.ndarray, scores: np.ndarray, kappa: float) -> np.ndarray:
    """The stake-weighted median with ``kappa`` of each column of ``scores`` (rows: validators with stake > 0).

    For each column, the largest score v such that the validators scoring at least v hold at least ``kappa`` of
    the stake, i.e. ``sum(stake[score < v]) <= 1 - kappa < sum(stake[score <= v])``; the column's smallest score
    when no score qualifies (kappa above the total), its largest when kappa <= 0; 0 when there is no validator.
    """
    m, n = scores.shape
    if m == 0:
        return np.zeros(n)
    units, total = stake_units(stake)
    need = kappa_threshold(kappa, total)
    by_col = np.ascontiguousarray(scores.T)
    order = np.argsort(by_col, axis=1)
    held = units[order[:, ::-1]]  # each column's validators, largest score first
    np.cumsum(held, axis=1, out=held)  # the stake scoring at least this validator's score
    crossing = np.minimum(np.count_nonzero(held < need, axis=1), m - 1)
    cols = np.arange(n)
    return by_col[cols, order[cols, m - 1 - crossing]]


# --- reading inputs ----------------------------------------------------------------------------------------------


def _vector(x: ArrayLike, name: str, dtype: Any, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=dtype)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = "a vector" if n is None else f"a vector of {n}"
        raise ValueError(f"{name} must be {want}, got shape {a.shape}")
    return a


def _check_dense(source: np.ndarray, n: int, name: str) -> None:
    if source.shape != (n, n):
        raise ValueError(f"{name} as a dense matrix must be {n} x {n}, got shape {source.shape}")


def rows_with_entries(source: np.ndarray | SparseRows | None, n: int, name: str) -> np.ndarray:
    """Which rows of ``source`` hold anything (a non-zero value of a dense matrix, any entry of a sparse row)."""
    if source is None:
        return np.zeros(n, dtype=bool)
    if isinstance(source, np.ndarray):
        _check_dense(source, n, name)
        return (source != 0).any(axis=1)
    if len(source) != n:
        raise ValueError(f"{name} must have one row per UID ({n}), got {len(source)}")
    return np.fromiter((row is not None and len(row[0]) > 0 for row in source), dtype=bool, count=n)


def read_rows(source: np.ndarray | SparseRows, rows: np.ndarray, n: int, name: str, out: np.ndarray,
              present: np.ndarray | None = None) -> None:
    """Write rows ``rows`` of ``source`` into ``out`` (row k of ``out`` is UID ``rows[k]``), zeros elsewhere.

    ``present`` (optional) receives which entries are stored: the UIDs a sparse row lists (explicit zeros
    included), every UID for a dense row holding any non-zero value, none for an all-zero dense row. UIDs >= n
    are ignored, as the chain ignores them.
    """
    if isinstance(source, np.ndarray):
        _check_dense(source, n, name)
        out[:] = source[rows]
        if present is not None:
            present[:] = (out != 0).any(axis=1)[:, None]
        return
    uids, values, offsets, lengths = [], [], [], []
    for pos, r in enumerate(rows.tolist()):
        entry = source[r]
        if entry is None:
            continue
        u, v = entry
        count = len(u)
        if count != len(v):
            raise ValueError(f"{name} row {r} has {count} uids but {len(v)} values")
        if count:
            uids.append(u)
            values.append(v)
            offsets.append(pos * n)
            lengths.append(count)
    if not uids:
        return
    cols = np.concatenate(uids)
    vals = np.concatenate(values)
    if cols.min() < 0 or cols.max() >= n:
        keep = (cols >= 0) & (cols < n)
        flat = np.repeat(offsets, lengths)[keep]
        flat += cols[keep]
        vals = vals[keep]
    else:
        flat = np.repeat(offsets, lengths)
        flat += cols
    out.ravel()[flat] = vals
    if present is not None:
        present.ravel()[flat] = True


# --- the epoch ---------------------------------------------------------------------------------------------------


def yuma_epoch(
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
    """Run the Yuma Consensus epoch of one subnet of ``n = len(stake)`` UIDs (see ``docs/consensus.md``).

    Args:
        stake: TAO (or RAO) staked on each UID's hotkey, float or int, non-negative.
        weights: the stored u16 weights, max-upscaled per row as ``set_weights`` stores them: a dense ``n x n``
            numpy array, or one ``(uids, values)`` pair (or None) per UID. Only rows holding a permit are read.
        last_update: the block at which each UID last set weights.
        block_at_registration: the block at which each UID's current hotkey registered.
        current_block: the block the epoch runs at (activity is judged against it).
        last_tempo_block: bonds to UIDs registered at or after this block are dropped before the update (the
            chain passes the block after its previous epoch).
        validator_permits: the permits the previous epoch stored (all False if None); weights are masked with
            these, while the permits for the next epoch are recomputed from stake.
        bonds: the stored u16 bonds, dense ``n x n`` or sparse rows like ``weights``; None when there are none.
        owner_uid: the subnet owner's UID, which always holds a permit and keeps its self-weight.
        params: the hyperparameters (defaults if None).

    Returns:
        A :class:`YumaResult`.
    """
    p = YumaParams() if params is None else params
    stake_raw = _vector(stake, "stake", np.float64)
    n = stake_raw.shape[0]
    if not np.isfinite(stake_raw).all() or (stake_raw < 0).any():
        raise ValueError("stake must be finite and non-negative")
    last_update = _vector(last_update, "last_update", np.int64, n)
    registered = _vector(block_at_registration, "block_at_registration", np.int64, n)
    if validator_permits is None:
        prev = np.zeros(n, dtype=bool)
    else:
        prev = _vector(validator_permits, "validator_permits", bool, n).copy()
    if owner_uid is not None:
        if not 0 <= owner_uid < n:
            raise ValueError(f"owner_uid {owner_uid} is not a UID of this subnet (n = {n})")
        prev[owner_uid] = True
    liquid = p.yuma3 and p.liquid_alpha  # the only path where a stored zero differs from no entry

    # 1-3. activity, stake, permits
    active = ~(last_update + p.activity_cutoff < current_block)
    stake_n = normalize(stake_raw)
    permits = topk_nonzero(stake_n, p.max_allowed_validators)
    if owner_uid is not None:
        permits[owner_uid] = True
    active_stake = normalize(np.where(active & prev, stake_n, 0.0))

    # Only rows that may carry weights (previous permits) or hold bonds take part.
    rows = np.flatnonzero(prev | rows_with_entries(bonds, n, "bonds"))
    nr = rows.shape[0]
    row_stake = active_stake[rows]

    # 4. weights: permitted rows, no self-weight but the owner's, none set before the target registered
    w = np.zeros((nr, n))
    wp = np.zeros((nr, n), dtype=bool) if liquid else None
    with_permit = np.flatnonzero(prev[rows])
    if with_permit.shape[0] == nr:
        read_rows(weights, rows, n, "weights", w, wp)
    elif with_permit.shape[0]:
        block = np.zeros((with_permit.shape[0], n))
        block_p = np.zeros(block.shape, dtype=bool) if liquid else None
        read_rows(weights, rows[with_permit], n, "weights", block, block_p)
        w[with_permit] = block
        if wp is not None:
            wp[with_permit] = block_p
    diag = np.arange(nr), rows
    drop_diag = rows != owner_uid
    w[diag[0][drop_diag], diag[1][drop_diag]] = 0.0
    outdated = last_update[rows][:, None] <= registered
    w[outdated] = 0.0
    if wp is not None:
        wp[diag[0][drop_diag], diag[1][drop_diag]] = False
        wp &= ~outdated
    row_sums = w.sum(axis=1)
    w /= np.where(row_sums > 0, row_sums, 1.0)[:, None]

    # 5. consensus
    voting = row_stake > 0
    consensus = weighted_median_cols(row_stake[voting], w if voting.all() else w[voting], p.kappa)

    # 6. clipping, validator trust, ranks, trust, incentive
    wc = np.minimum(w, consensus)
    validator_trust = np.zeros(n)
    validator_trust[rows] = np.minimum(wc.sum(axis=1), 1.0)
    preranks = np.einsum("i,ij->j", row_stake, w)
    ranks = np.einsum("i,ij->j", row_stake, wc)
    trust = np.minimum(np.divide(ranks, preranks, out=np.zeros(n), where=preranks != 0), 1.0)
    incentive = normalize(ranks)

    # 7. bonds and dividends
    bp = p.bonds_penalty
    if bp == 0.0:
        wb, wbp = w, wp
    elif bp == 1.0:
        wb = wc
        wbp = wp & ~((consensus < w) & (consensus <= 0)) if wp is not None else None  # the chain drops these
    else:
        wb = w + bp * (wc - w)
        wbp = wb > 0
    b = np.zeros((nr, n))
    if bonds is not None:
        read_rows(bonds, rows, n, "bonds", b)
    recent = last_tempo_block <= registered
    if recent.any():
        b[:, recent] = 0.0
    step = 1.0 - p.bonds_moving_average
    dividends = np.zeros(n)
    if p.yuma3:
        b /= U16_MAX
        if liquid and (consensus != 0).any():
            alpha = liquid_alphas(consensus, wb, b, p)
            ema = np.where(wbp, np.minimum((1.0 - alpha) * b + np.maximum(alpha * wb, 0.0), 1.0), 0.0)
        else:
            ema = wb * step
            b *= 1.0 - step
            ema += b
        col_sums = ema.sum(axis=0)
        dividends[rows] = np.einsum("ij,j->i", ema, incentive / np.where(col_sums != 0, col_sums, 1.0))
        dividends = normalize(dividends * active_stake)
        stored = ema
    else:
        col_normalize_(b)
        ema = col_normalize_(wb * row_stake[:, None])
        ema *= step
        b *= 1.0 - step
        ema += b
        col_normalize_(ema)
        dividends[rows] = np.einsum("ij,j->i", ema, incentive)
        dividends = normalize(dividends)
        col_max = ema.max(axis=0, initial=0.0)
        ema /= np.where(col_max > 0, col_max, 1.0)
        stored = ema

    # Bond rows written: a new permit stores its row, a lost permit clears it, every other row is left alone.
    bond_rows = np.flatnonzero(permits | prev)
    bonds_u16 = np.zeros((bond_rows.shape[0], n), dtype=np.uint16)
    position = np.full(n, -1)
    position[rows] = np.arange(nr)
    write = permits[bond_rows] & (position[bond_rows] >= 0)
    bonds_u16[write] = quantize_u16(stored[position[bond_rows[write]]])

    # 8. emission shares
    combined = incentive + dividends
    total = combined.sum()
    if total != 0:
        server, validator, combined = incentive / total, dividends / total, combined / total
    else:
        fallback = active_stake if active_stake.sum() != 0 else stake_n
        server, validator, combined = incentive.copy(), fallback.copy(), fallback.copy()

    u16 = quantize_u16(np.stack([consensus, incentive, dividends, validator_trust, trust]))
    return YumaResult(
        stake=stake_n,
        active=active,
        active_stake=active_stake,
        validator_permits=permits,
        consensus=consensus,
        incentive=incentive,
        dividends=dividends,
        validator_trust=validator_trust,
        rank=incentive.copy(),
        trust=trust,
        server_emission=server,
        validator_emission=validator,
        combined_emission=combined,
        consensus_u16=u16[0],
        incentive_u16=u16[1],
        dividends_u16=u16[2],
        validator_trust_u16=u16[3],
        rank_u16=u16[1].copy(),
        trust_u16=u16[4],
        bond_rows=bond_rows,
        bonds_u16=bonds_u16,
    )
