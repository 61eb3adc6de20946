"""The pure functions the tempo scheduler and the consensus actor call: which epochs are due, and their results.

A subnet's epoch is due at block ``b`` when ``(b + netuid + 1) % (tempo + 1) == 0`` (tempo 0: never). The consensus
actor runs the Yuma epoch (:func:`taonet.ledger.yuma_epoch`) on the state *after* that block and answers with one
:class:`EpochResult` per due subnet: the u16 outputs, permits and bonds, and the pot paid exactly in RAO.
"""

from __future__ import annotations

import numpy as np

from ._calls import EpochResult, StakeCredit, TempoElapsed
from ._emission import hotkey_credits, shares_to_weights, split_pot
from ._state import State, Subnet
from ._yuma import YumaParams, YumaResult, yuma_epoch

__all__ = ["consensus_answers", "due_netuids", "epoch_due", "epoch_result", "run_subnet_epoch", "scheduler_answers"]


def epoch_due(netuid: int, tempo: int, block: int) -> bool:
    """True when subnet ``netuid`` with ``tempo`` runs its epoch at ``block``."""
    return tempo > 0 and (block + netuid + 1) % (tempo + 1) == 0


def due_netuids(state: State, block: int | None = None) -> list[int]:
    """The netuids whose epoch is due at ``block`` (the state's height by default), ascending."""
    b = state.height if block is None else block
    return [sn.netuid for sn in state.subnets() if epoch_due(sn.netuid, sn.hyper.tempo, b)]


def scheduler_answers(state: State) -> list[TempoElapsed]:
    """The tempo scheduler's answer to the block ``state`` ends with."""
    return [TempoElapsed(netuid=netuid, block=state.height) for netuid in due_netuids(state)]


def run_subnet_epoch(state: State, netuid: int) -> YumaResult:
    """The Yuma epoch of ``netuid`` on ``state`` (stake is each hotkey's TAO stake, in RAO)."""
    sn = state.subnet(netuid)
    if sn is None:
        raise KeyError(netuid)
    neurons = state.neurons(netuid)
    owner_uid = state.uid_of(netuid, sn.owner_hotkey)
    return yuma_epoch(
        np.array([state.hotkey_stake(n.hotkey) for n in neurons], dtype=np.float64),
        [n.weights() for n in neurons],
        last_update=[n.last_update for n in neurons],
        block_at_registration=[n.registered_at for n in neurons],
        current_block=state.height,
        last_tempo_block=sn.last_epoch + 1,
        validator_permits=[n.validator_permit for n in neurons],
        bonds=[n.bonds() for n in neurons],
        owner_uid=owner_uid,
        params=YumaParams.from_hyperparameters(sn.hyper),
    )


def epoch_result(state: State, netuid: int) -> EpochResult:
    """The consensus actor's answer for ``netuid``: run the epoch and pay the pending pot exactly."""
    sn: Subnet | None = state.subnet(netuid)
    if sn is None:
        raise KeyError(netuid)
    r = run_subnet_epoch(state, netuid)
    neurons = state.neurons(netuid)
    owner_uid = state.uid_of(netuid, sn.owner_hotkey)
    weights = shares_to_weights(r.server_emission + r.validator_emission)
    cut, per_uid = split_pot(sn.pending_emission, state.params.owner_cut, weights, owner_uid)
    credits: list[StakeCredit] = []
    for n, amount in zip(neurons, per_uid, strict=True):
        credits.extend(StakeCredit(coldkey=c, hotkey=n.hotkey, amount=a) for c, a in hotkey_credits(state, n.hotkey,
                                                                                                     amount))
    rows, ptr, uids, values = [], [0], [], []
    for uid, cols, vals in r.sparse_bonds():
        rows.append(uid)
        uids.extend(cols)
        values.extend(vals)
        ptr.append(len(uids))

    def u16(a: np.ndarray | list[int]) -> bytes:
        return np.asarray(a, dtype="<u2").tobytes()

    return EpochResult(
        netuid=netuid, block=state.height, pot=sn.pending_emission, owner_cut=cut,
        rank=u16(r.rank_u16), trust=u16(r.trust_u16), consensus=u16(r.consensus_u16),
        incentive=u16(r.incentive_u16), dividends=u16(r.dividends_u16), vtrust=u16(r.validator_trust_u16),
        permits=r.validator_permits.astype("<u1").tobytes(), emission=np.asarray(per_uid, dtype="<u8").tobytes(),
        bond_rows=u16(rows), bond_ptr=np.asarray(ptr, dtype="<u4").tobytes(), bond_uids=u16(uids),
        bond_values=u16(values), credits=tuple(credits),
    )


def consensus_answers(state: State, netuids: list[int] | None = None) -> list[EpochResult]:
    """The consensus actor's answer to the block ``state`` ends with (one result per due subnet)."""
    return [epoch_result(state, netuid) for netuid in (due_netuids(state) if netuids is None else netuids)]
