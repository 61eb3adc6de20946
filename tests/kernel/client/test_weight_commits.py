"""The client's commit-reveal on a real node: commit_weights, the pending commits read (get_weight_commits and its
alias get_commitments), reveal_weights in and out of the window, and set_weights that commits and reveals by itself
where the subnet requires it (and sets directly where it does not), async and blocking."""

from __future__ import annotations

from pathlib import Path

import anyio
import attrs
import pytest

from taonet.kernel.client import PendingReveal, subtensor
from taonet.ledger import DEV_SUBNET_DEFAULTS
from taonet.ledger.errors import CommitRevealRequired, RevealTooEarly, WeightCommitNotFound

from ..node.nodes import Wallet, running_node

pytestmark = pytest.mark.anyio

CR = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, commit_reveal_weights_enabled=True)


async def _subnet_with_miner(sub: object, owner: Wallet, miner: Wallet) -> None:
    assert (await sub.create_subnet(owner)).success  # type: ignore[attr-defined]
    assert (await sub.burned_register(miner, 1)).uid == 1  # type: ignore[attr-defined]


async def test_commit_read_and_reveal_in_the_window(tmp_path: Path) -> None:
    """A commit shows in the pending read with its window; a reveal before it is RevealTooEarly, a wrong salt
    WeightCommitNotFound, the right one in the window sets the weights and clears the commit."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    async with running_node(tmp_path, hyper=CR) as (_node, sub):
        await _subnet_with_miner(sub, owner, miner)
        committed = await sub.commit_weights(owner, 1, [1], [0.5])
        assert committed.success and committed.action == "committed", committed.message
        pending = committed.reveal
        assert isinstance(pending, PendingReveal) and pending.values == (65535,) and len(pending.salt) == 16
        assert pending.block == committed.block and pending.reveal_from > committed.block
        commits = await sub.get_weight_commits(1)
        assert list(commits) == [owner.hotkey.ss58_address]
        (info,) = commits[owner.hotkey.ss58_address]
        assert (info.commit_hash, info.block, info.reveal_from, info.reveal_until) == (
            pending.commit_hash, pending.block, pending.reveal_from, pending.reveal_until)
        assert await sub.get_commitments(1, hotkey=miner.hotkey) == {}
        assert await sub.get_commitment(1, 0) == ""  # the data commitment is another thing

        if await sub.get_current_block() < pending.reveal_from - 1:
            early = await sub.reveal(owner, pending)
            assert not early.success and isinstance(early.error, RevealTooEarly), early.message
        await sub.wait_for_block(pending.reveal_from, timeout=30)
        wrong = await sub.reveal_weights(owner, 1, [1], [0.5], b"not-the-salt-used")
        assert not wrong.success and isinstance(wrong.error, WeightCommitNotFound)
        revealed = await sub.reveal_weights(owner, 1, [1], [0.5], pending.salt)
        assert revealed.success and revealed.action == "revealed", revealed.message
        assert await sub.get_weight_commits(1) == {}
        mg = await sub.metagraph(1, lite=False)
        assert mg.W[0][1] > 0


async def test_set_weights_commits_and_reveals_where_required_and_sets_elsewhere(tmp_path: Path) -> None:
    """On a commit-reveal subnet set_weights says "revealed" (or "committed" without waiting) and the weights are
    on the chain after it; the raw SetWeights is refused there; on a plain subnet it says "set"."""
    from taonet.ledger import SetWeights

    owner, miner = Wallet("Alice"), Wallet("Bob")
    async with running_node(tmp_path, hyper=CR) as (_node, sub):
        await _subnet_with_miner(sub, owner, miner)
        raw = await sub.submit(await sub.sign(owner.hotkey, SetWeights(netuid=1, uids=[1], weights=[1])))
        assert not raw.success and isinstance(raw.error, CommitRevealRequired)
        done = await sub.set_weights(owner, 1, [1], [1.0])
        assert done.success and done.action == "revealed", done.message
        mg = await sub.metagraph(1, lite=False)
        assert mg.W[0][1] > 0
        later = await sub.set_weights(owner, 1, [1], [0.3], wait_for_reveal=False)
        assert later.success and later.action == "committed" and later.reveal is not None
        assert (await sub.set_hyperparameter(owner, 1, "commit_reveal_weights_enabled", False)).success
        plain = await sub.set_weights(owner, 1, [1], [1.0])
        assert plain.success and plain.action == "set", plain.message



async def test_set_weights_commits_with_the_salt_it_is_given(tmp_path: Path) -> None:
    """set_weights(..., salt=S) on a commit-reveal subnet commits with S (the hash the chain holds is the one S
    makes), so a caller that keeps S can reveal even when the call itself is cut off after the commit."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    salt = bytes(range(16))
    async with running_node(tmp_path, hyper=CR) as (_node, sub):
        await _subnet_with_miner(sub, owner, miner)
        committed = await sub.set_weights(owner, 1, [1], [0.5], salt=salt, wait_for_reveal=False)
        assert committed.success and committed.action == "committed" and committed.reveal.salt == salt
        expected = PendingReveal.new(1, owner.hotkey.ss58_address, [1], [0.5], salt=salt).commit_hash
        (info,) = (await sub.get_weight_commits(1))[owner.hotkey.ss58_address]
        assert info.commit_hash == expected
        await sub.wait_for_block(info.reveal_from, timeout=30)
        assert (await sub.reveal_weights(owner, 1, [1], [0.5], salt)).success



async def test_set_weights_takes_the_callers_word_for_commit_reveal(tmp_path: Path) -> None:
    """set_weights(..., commit_reveal=...) acts on the caller's answer without reading the hyperparameters (the
    read `taonet weights set` already made): False on a commit-reveal subnet sends a plain SetWeights, which the chain
    refuses (CommitRevealRequired); True commits."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    async with running_node(tmp_path, hyper=CR) as (_node, sub):
        await _subnet_with_miner(sub, owner, miner)
        plain = await sub.set_weights(owner, 1, [1], [1.0], commit_reveal=False)
        assert not plain.success and plain.action == "set" and isinstance(plain.error, CommitRevealRequired)
        committed = await sub.set_weights(owner, 1, [1], [1.0], commit_reveal=True, wait_for_reveal=False)
        assert committed.success and committed.action == "committed", committed.message


async def test_the_blocking_client_commits_and_reads(tmp_path: Path) -> None:
    """subtensor(endpoint) offers commit_weights, get_weight_commits and reveal as plain calls."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    async with running_node(tmp_path, hyper=CR) as (_node, sub):
        await _subnet_with_miner(sub, owner, miner)

        def script() -> tuple[bool, int, bool]:
            with subtensor(sub.endpoint) as st:
                c = st.commit_weights(owner, 1, [1], [1.0])
                n = len(st.get_commitments(1).get(owner.hotkey.ss58_address, ()))
                st.wait_for_block(c.reveal.reveal_from, timeout=30)
                r = st.reveal(owner, c.reveal)
                return c.success, n, r.success

        assert await anyio.to_thread.run_sync(script) == (True, 1, True)
