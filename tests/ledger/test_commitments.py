"""Commitments (the SDK's set_commitment): a registered hotkey publishes text on a subnet, the latest counts; the
state digest and snapshots of a chain that never committed are what they were before commitments existed."""

from __future__ import annotations

import pytest

from taonet.ledger import CommitmentSet, SetCommitment, State
from taonet.ledger import errors as E
from taonet.ledger._state import OPTIONAL_IN_SNAPSHOT

from .chains import chain_with_subnet, hot
from .test_runtime import _rejects


def test_a_registered_hotkey_commits_and_the_latest_counts() -> None:
    """The signer hotkey's commitment is stored with its block; a second one replaces it; the event names the UID."""
    chain = chain_with_subnet(miners=1)
    miner = hot("m0")
    chain.call(miner, SetCommitment(netuid=1, data="ipfs://first"))
    first = chain.seal()
    assert not first.rejected
    events = [r.event for r in first.block.events if isinstance(r.event, CommitmentSet)]
    assert events == [CommitmentSet(netuid=1, uid=1, hotkey=miner.public_key, data="ipfs://first")]
    chain.call(miner, SetCommitment(netuid=1, data="ipfs://second"))
    second = chain.seal()
    c = chain.state.commitment(1, miner.public_key)
    assert c is not None and (c.data, c.block) == ("ipfs://second", second.block.header.number)


def test_a_hotkey_without_a_uid_or_a_missing_subnet_is_refused() -> None:
    """Only a hotkey registered on the subnet may commit there; the state is untouched when refused."""
    chain = chain_with_subnet(miners=1)
    _rejects(chain, chain.sign(hot("stranger"), SetCommitment(netuid=1, data="x")), E.HotkeyNotRegistered)
    _rejects(chain, chain.sign(hot("m0"), SetCommitment(netuid=9, data="x")), E.SubnetNotFound)
    with pytest.raises(ValueError, match="longer than 1024 characters"):
        SetCommitment(netuid=1, data="x" * 1025)


def test_snapshots_without_commitments_are_as_before_and_with_them_round_trip() -> None:
    """A state that never committed snapshots without the new table (as older versions wrote it) and such a
    snapshot loads; one with commitments round-trips to the same digest."""
    chain = chain_with_subnet(miners=1)
    plain = chain.state.to_snapshot()
    assert b"commit" not in plain and "commit" in OPTIONAL_IN_SNAPSHOT
    assert State.from_snapshot(plain).digest() == chain.state.digest()
    chain.call(hot("m0"), SetCommitment(netuid=1, data="model sha256:ab12"))
    chain.seal()
    again = State.from_snapshot(chain.state.to_snapshot())
    assert again.digest() == chain.state.digest() == again.cold_digest()
    assert again.commitment(1, hot("m0").public_key) == chain.state.commitment(1, hot("m0").public_key)
