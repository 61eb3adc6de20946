"""Replay that checks only the state digest it reaches (what `replay show` uses) gives the same states."""

from __future__ import annotations

import attrs
import pytest

from taonet.ledger import MemoryStore, SignedBlock, Transfer, replay
from taonet.ledger.errors import InvalidBlock

from .chains import ALICE, BOB, chain_with_subnet, seal_until_epoch, tables


def test_replay_without_per_block_checks_reaches_the_same_states() -> None:
    """At every block, the state equals the fully checked replay's, table by table and digest."""
    chain = chain_with_subnet(miners=3, snapshot_every=7)
    for i in range(5):
        chain.call(ALICE, Transfer(dest=BOB.public_key, amount=10**9 + i))
        chain.seal()
    seal_until_epoch(chain, 1)
    for n in range(chain.height + 1):
        fast = replay(chain.store, to=n, check_every_block=False)
        full = replay(chain.store, to=n, use_snapshots=False)
        assert fast.digest() == full.digest()
        assert tables(fast) == tables(full)


def test_replay_without_per_block_checks_refuses_a_wrong_final_digest() -> None:
    """A last block whose header (re-signed) names another state digest is refused at that block."""
    chain = chain_with_subnet(miners=1)
    last = chain.store.get(chain.height)
    forged_header = attrs.evolve(last.header, state_digest=bytes(32))
    forged = SignedBlock(header=forged_header, extrinsics=last.extrinsics, events=last.events,
                         signature=chain.authority.sign(forged_header.hash))
    store = MemoryStore()
    for n in range(chain.height):
        store.append(chain.store.get(n))
    store.append(forged)
    with pytest.raises(InvalidBlock) as info:
        replay(store, check_every_block=False)
    assert info.value.number == chain.height
