"""Laws of the client's commit records: a PendingReveal survives its JSON file with the same hash, and weights
upscaled once are upscaled to themselves (so a reveal of the committed u16 values hashes as the commit did)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from taonet.kernel.client import PendingReveal
from taonet.kernel.client._weight_commits import u16_weights
from taonet.ledger import Keypair, weight_commit_hash

HOTKEY = Keypair.from_uri("//Alice//hot")
weights = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=32)


@given(w=weights, salt=st.binary(min_size=8, max_size=64), version=st.integers(0, 2**32), netuid=st.integers(0, 99))
def test_a_pending_reveal_round_trips_through_json_with_its_hash(w: list[float], salt: bytes, version: int,
                                                                 netuid: int) -> None:
    """from_json(to_json(r)) == r, through real JSON text, and its commit_hash is the ledger's hash of its fields."""
    r = PendingReveal.new(netuid, HOTKEY.ss58_address, range(len(w)), w, salt=salt, version_key=version)
    again = PendingReveal.from_json(json.loads(json.dumps(r.to_json())))
    assert again == r and again.commit_hash == r.commit_hash
    assert r.commit_hash == weight_commit_hash(HOTKEY.public_key, netuid, r.uids, r.values, salt, version)


@given(w=weights)
def test_upscaling_is_idempotent(w: list[float]) -> None:
    """u16_weights(u16_weights(w)) == u16_weights(w): committed values revealed as weights hash the same."""
    once = u16_weights(w)
    assert u16_weights(once) == once and all(0 <= x <= 0xFFFF for x in once)
