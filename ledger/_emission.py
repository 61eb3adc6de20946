"""Emission in integer RAO: split a subnet's pot exactly, down to the stakers of each hotkey.

The rounding rule is the largest-remainder method everywhere: each part gets the floor of its exact share, and the
RAO left over go one each to the parts with the largest remainders, ties to the lower index. Floats enter only
once, when an epoch's shares become integer weights (``floor(share * 2^48)``, exact scaling), so from there on every
node computes the same RAO.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._state import State

__all__ = ["SHARE_SCALE", "apportion", "hotkey_credits", "shares_to_weights", "split_pot"]

SHARE_SCALE = float(1 << 48)


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` RAO in proportion to non-negative integer ``weights``, exactly (largest remainder).

    All-zero weights (or a zero total) give all zeros: the caller decides where such a total goes.
    """
    s = sum(weights)
    if total <= 0 or s <= 0:
        return [0] * len(weights)
    parts = [total * w // s for w in weights]
    rest = total - sum(parts)
    if rest:
        order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % s), i))
        for i in order[:rest]:
            parts[i] += 1
    return parts


def shares_to_weights(shares: np.ndarray) -> list[int]:
    """Float shares in [0, 1] as integer weights ``floor(share * 2^48)``."""
    return [int(v) for v in np.floor(np.clip(shares, 0.0, 1.0) * SHARE_SCALE).tolist()]


def split_pot(pot: int, owner_cut_u16: int, weights: Sequence[int], owner_uid: int | None) -> tuple[int, list[int]]:
    """``(owner_cut, per-UID RAO)`` summing exactly to ``pot``.

    The owner's cut is ``pot * owner_cut / 65535`` (floor); the rest goes to UIDs by ``weights``. If no UID has a
    positive weight (no stake anywhere), the owner's UID takes the rest.
    """
    cut = pot * owner_cut_u16 // 0xFFFF
    rest = pot - cut
    per_uid = apportion(rest, weights)
    if rest and not any(per_uid):
        if owner_uid is None:
            return pot, per_uid
        per_uid[owner_uid] = rest
    return cut, per_uid


def hotkey_credits(state: State, hotkey: bytes, amount: int) -> list[tuple[bytes, int]]:
    """Who receives ``amount`` RAO a hotkey earned, as stake on it: ``[(coldkey, RAO), ...]`` by coldkey.

    The delegate take (``take/65535``, floor) goes to the hotkey's owner, the rest to everyone staked on it pro
    rata to their stake. A hotkey that never nominated, or that nobody stakes on, keeps everything for its owner.
    """
    owner = state.owner_of(hotkey)
    if owner is None or amount <= 0:
        return []
    take = state.take_of(hotkey)
    total = state.hotkey_stake(hotkey)
    if take is None or total == 0:
        return [(owner, amount)]
    take_amt = amount * take // 0xFFFF
    stakers = sorted(state.stakers(hotkey))
    shares = apportion(amount - take_amt, [state.stake(c, hotkey) for c in stakers])
    out: dict[bytes, int] = {owner: take_amt}
    for c, s in zip(stakers, shares, strict=True):
        out[c] = out.get(c, 0) + s
    return sorted((c, a) for c, a in out.items() if a)
