"""set_weights on a commit-reveal subnet whose reveal the chain refuses reports what happened: the commit stands
(action "committed", with the salt in ``reveal``), the reveal's error, not success; never "revealed". Against a real
dev node: a miner without a validator permit may commit (the chain checks the permit only when weights are set), so
its reveal is refused."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from taonet.ledger import DEV_SUBNET_DEFAULTS
from taonet.ledger.errors import NoValidatorPermit

from ..node.nodes import Wallet, running_node

pytestmark = pytest.mark.anyio

CR = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=30, commit_reveal_weights_enabled=True)


async def test_a_refused_reveal_says_committed_not_revealed(tmp_path: Path) -> None:
    """The miner's set_weights commits (its commit is pending on the chain), waits and reveals; the chain refuses the
    reveal: the result is rejected with the reveal's error, action "committed" and the commit's salt kept."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    salt = bytes(range(16))
    async with running_node(tmp_path, hyper=CR) as (_node, sub):
        assert (await sub.create_subnet(owner)).success
        assert (await sub.burned_register(miner, 1)).uid == 1
        result = await sub.set_weights(miner, 1, [0], [1.0], salt=salt, reveal_timeout=30)
        assert not result.success and result.status == "rejected", result.message
        assert isinstance(result.error, NoValidatorPermit), result.message
        assert result.action == "committed" and result.reveal is not None and result.reveal.salt == salt
        assert result.reveal.reveal_from is not None  # the commit was included: its window is known
        pending = await sub.get_weight_commits(1, hotkey=miner.hotkey)
        assert [c.commit_hash for c in pending[miner.hotkey.ss58_address]] == [result.reveal.commit_hash]
