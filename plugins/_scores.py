"""Scores per hotkey and the weights a validator sets from them (pure functions, no I/O).

Scores are kept by hotkey, never by UID: a UID that changes hands starts its new owner from zero, and a hotkey no
longer on the subnet is dropped. Weights are computed at the moment they are set, converting hotkeys to the UIDs
they hold then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["update_scores", "weights_for"]


def update_scores(scores: Mapping[str, float], step: Mapping[str, float], *, alpha: float,
                  queried: Sequence[str] = ()) -> dict[str, float]:
    """The moving averages after one step: ``(1 - alpha) * old + alpha * new`` for every queried hotkey (a queried
    hotkey the step did not score got 0); others keep their average."""
    a = min(1.0, max(0.0, float(alpha)))
    out = dict(scores)
    for hk in {*queried, *step}:
        new = min(1.0, max(0.0, float(step.get(hk, 0.0))))
        out[hk] = (1.0 - a) * out.get(hk, 0.0) + a * new
    return out


def prune_scores(scores: Mapping[str, float], hotkeys: Sequence[str]) -> dict[str, float]:
    """The scores of hotkeys still on the subnet (a deregistered hotkey is dropped)."""
    present = set(hotkeys)
    return {hk: s for hk, s in scores.items() if hk in present}


def weights_for(scores: Mapping[str, float], hotkeys: Sequence[str], *, max_weight: float = 1.0,
                exclude: int | None = None) -> tuple[list[int], list[float]]:
    """(uids, weights) for the subnet whose UID ``i`` is held by ``hotkeys[i]``: normalised scores, every weight
    at most ``max_weight`` (the excess spread over the others), every UID listed (zeros included) so that the
    chain's minimum count holds. Empty when no hotkey has a positive score."""
    uids = [u for u in range(len(hotkeys)) if u != exclude]
    raw = [max(0.0, scores.get(hotkeys[u], 0.0)) for u in uids]
    total = sum(raw)
    if total <= 0 or not uids:
        return [], []
    w = [x / total for x in raw]
    if max_weight >= 1.0:
        return uids, w
    cap = max(float(max_weight), 1.0 / len(w))
    for _ in range(len(w)):  # clip and spread the excess over the unclipped, until none is above the cap
        over = [i for i, x in enumerate(w) if x > cap]
        if not over:
            break
        excess = sum(w[i] - cap for i in over)
        for i in over:
            w[i] = cap
        free = [i for i, x in enumerate(w) if x < cap and x > 0] or [i for i, x in enumerate(w) if x < cap]
        if not free:
            break
        share = sum(w[i] for i in free)
        for i in free:
            w[i] += excess * (w[i] / share if share > 0 else 1.0 / len(free))
    return uids, w
