"""Commit-reveal weights: a validator commits its weights' hash, and reveals the weights a tempo (or more) later.

The rules (docs/consensus.md "Commit-reveal"): on a subnet with ``commit_reveal_weights_enabled``, a commit made in
block ``c`` may be revealed only in the epoch interval ``commit_reveal_period`` intervals after the one ``c`` falls
in (an interval runs from the block after one epoch block to the next epoch block, inclusive); a hotkey holds at
most :data:`MAX_WEIGHT_COMMITS` pending commits; a commit whose window has closed is dropped at the next epoch; a
reveal sets the weights exactly as ``set_weights`` would (the same checks), so weights count in consensus only once
revealed. Every handler checks everything first and only then writes.
"""

from __future__ import annotations

import attrs

from ._calls import CommitWeights, Extrinsic, RevealWeights, SetWeights, weight_commit_hash
from ._dispatch import BlockContext, addr, handles, hotkey_uid, subnet_of
from ._events import Event, WeightCommitExpired, WeightsCommitted, WeightsRevealed
from ._state import State, Subnet, WeightCommit, WeightCommits
from ._user_calls import set_weights_handler
from .errors import (
    CommitRevealDisabled,
    InvalidCall,
    RateLimited,
    RevealTooEarly,
    RevealTooLate,
    TooManyWeightCommits,
    WeightCommitNotFound,
)

__all__ = ["MAX_WEIGHT_COMMITS", "drop_expired_commits", "reveal_window"]

MAX_WEIGHT_COMMITS = 10
"""Pending weight commits one hotkey may hold on one subnet (as the real chain's limit)."""


def reveal_window(netuid: int, tempo: int, period: int, block: int) -> tuple[int, int]:
    """The blocks (first, last; inclusive) in which a commit made at ``block`` may be revealed.

    An interval ``k`` ends with the epoch block ``e(k) = k * (tempo + 1) - netuid - 1`` (where the epoch is due) and
    starts right after ``e(k - 1)``; a commit in interval ``k`` is revealed in interval ``k + period``.
    """
    span = tempo + 1
    k = (block + netuid + 1 + tempo) // span  # the interval (numbered by its epoch) that ``block`` falls in
    w = k + period
    return (w - 1) * span - netuid, w * span - netuid - 1


def _enabled(sn: Subnet) -> None:
    if not sn.hyper.commit_reveal_weights_enabled:
        raise CommitRevealDisabled(netuid=sn.netuid)
    if sn.hyper.tempo <= 0:
        raise InvalidCall(reason=f"subnet {sn.netuid} has no epochs (tempo 0): nothing to reveal into")


def _put(state: State, netuid: int, hotkey: bytes, commits: tuple[WeightCommit, ...]) -> None:
    if commits:
        state.put("wcommit", (netuid, hotkey), WeightCommits(commits=commits))
    else:
        state.delete("wcommit", (netuid, hotkey))


@handles(CommitWeights)
def _commit_weights(state: State, ctx: BlockContext, ext: Extrinsic, _fee: int) -> list[Event]:
    call: CommitWeights = ext.call  # type: ignore[assignment]
    sn = subnet_of(state, call.netuid)
    _enabled(sn)
    hotkey = ext.signer
    uid = hotkey_uid(state, sn.netuid, hotkey)
    h = sn.hyper
    live = tuple(c for c in state.weight_commits(sn.netuid, hotkey) if c.reveal_until >= ctx.number)
    if live and ctx.number - live[-1].block < h.weights_rate_limit:
        raise RateLimited(what="commit_weights", retry_at=live[-1].block + h.weights_rate_limit)
    if len(live) >= MAX_WEIGHT_COMMITS:
        raise TooManyWeightCommits(netuid=sn.netuid, limit=MAX_WEIGHT_COMMITS)
    if any(c.commit_hash == call.commit_hash for c in live):
        raise InvalidCall(reason="this hash is already committed and pending; use a new salt")
    first, last = reveal_window(sn.netuid, h.tempo, h.commit_reveal_period, ctx.number)
    new = WeightCommit(commit_hash=call.commit_hash, block=ctx.number, reveal_from=first, reveal_until=last)
    _put(state, sn.netuid, hotkey, (*live, new))
    return [WeightsCommitted(netuid=sn.netuid, uid=uid, hotkey=hotkey, commit_hash=call.commit_hash,
                             reveal_from=first, reveal_until=last)]


@attrs.frozen
class _Reveal:
    """What the set_weights handler reads of an extrinsic (its call and signer), for weights being revealed."""

    call: SetWeights
    signer: bytes


@handles(RevealWeights)
def _reveal_weights(state: State, ctx: BlockContext, ext: Extrinsic, fee: int) -> list[Event]:
    call: RevealWeights = ext.call  # type: ignore[assignment]
    sn = subnet_of(state, call.netuid)
    _enabled(sn)
    hotkey = ext.signer
    uid = hotkey_uid(state, sn.netuid, hotkey)
    digest = weight_commit_hash(hotkey, sn.netuid, call.uids, call.values, call.salt, call.version_key)
    commits = state.weight_commits(sn.netuid, hotkey)
    found = next((c for c in commits if c.commit_hash == digest), None)
    if found is None:
        raise WeightCommitNotFound(netuid=sn.netuid, hotkey=addr(hotkey))
    if ctx.number < found.reveal_from:
        raise RevealTooEarly(netuid=sn.netuid, reveal_from=found.reveal_from)
    if ctx.number > found.reveal_until:
        raise RevealTooLate(netuid=sn.netuid, reveal_until=found.reveal_until)
    weights = SetWeights(netuid=sn.netuid, uids=call.uids, weights=call.values, version_key=call.version_key)
    events = set_weights_handler(state, ctx, _Reveal(call=weights, signer=hotkey), fee)  # checks, then writes
    _put(state, sn.netuid, hotkey, tuple(c for c in commits if c is not found))
    return [WeightsRevealed(netuid=sn.netuid, uid=uid, hotkey=hotkey, commit_hash=digest, count=len(call.uids)),
            *events]


def drop_expired_commits(state: State, netuid: int, block: int) -> list[Event]:
    """Drop the commits on ``netuid`` whose reveal window closed before the epoch at ``block`` (at that epoch)."""
    events: list[Event] = []
    expired = []
    for (nu, hotkey), wc in state.items("wcommit"):
        if nu == netuid and any(c.reveal_until < block for c in wc.commits):
            expired.append((hotkey, wc.commits))
    for hotkey, commits in sorted(expired):
        keep = tuple(c for c in commits if c.reveal_until >= block)
        events.extend(WeightCommitExpired(netuid=netuid, hotkey=hotkey, commit_hash=c.commit_hash, block=c.block)
                      for c in commits if c.reveal_until < block)
        _put(state, netuid, hotkey, keep)
    return events
