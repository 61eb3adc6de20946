"""`taonet replay` on a chain that used commit-reveal: verify holds (epochs recomputed, the commits' state in every
digest), and `events` lists the commits, reveals and expiries."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from taonet.ledger import DEV_SUBNET_DEFAULTS, CommitWeights, FileStore, RevealWeights, weight_commit_hash
from tests.ledger.chains import OWNER_HOT, chain_with_subnet
from tests.tools.processes import taonet

pytestmark = pytest.mark.slow

SALT = b"salt-0123456789"


def _chain(path: Path) -> int:
    """A chain on disk: one commit revealed in its window, one left to expire; returns the head."""
    hyper = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, commit_reveal_weights_enabled=True)
    store = FileStore(path, fsync=False)
    chain = chain_with_subnet(store, miners=2, hyper=hyper, snapshot_every=16)
    key = OWNER_HOT.public_key
    for salt in (SALT, b"never-revealed"):
        chain.call(OWNER_HOT, CommitWeights(netuid=1, commit_hash=weight_commit_hash(key, 1, (1, 2), (3, 4), salt, 0)))
        chain.seal()
    first = chain.state.weight_commits(1, key)[0]
    while chain.height < first.reveal_from:
        chain.seal()
    chain.call(OWNER_HOT, RevealWeights(netuid=1, uids=(1, 2), values=(3, 4), salt=SALT))
    assert not chain.seal().rejected
    chain.run(30)  # past the other commit's window and the epoch that drops it
    assert chain.state.weight_commits(1, key) == ()
    head = chain.height
    store.close()
    return head


def test_verify_holds_and_events_list_commits_reveals_and_expiries(tmp_path: Path) -> None:
    """verify passes with every epoch recomputed; events --type finds each kind of commit-reveal event."""
    head = _chain(tmp_path / "chain")
    out, _ = taonet("replay", str(tmp_path), "verify", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] and report["head"] == head and report["epochs"] >= 3
    kinds = {}
    for kind in ("WeightsCommitted", "WeightsRevealed", "WeightCommitExpired"):
        out, _ = taonet("replay", str(tmp_path), "events", "--type", kind, "--json")
        assert out.returncode == 0, out.stderr
        kinds[kind] = json.loads(out.stdout)["events"]
    assert len(kinds["WeightsCommitted"]) == 2 and len(kinds["WeightsRevealed"]) == 1
    assert len(kinds["WeightCommitExpired"]) == 1
    assert kinds["WeightsRevealed"][0]["call"] == "RevealWeights"
    committed = kinds["WeightsCommitted"][0]["fields"]  # the hash as hex, the hotkey as an address
    assert committed["commit_hash"] == weight_commit_hash(OWNER_HOT.public_key, 1, (1, 2), (3, 4), SALT, 0).hex()
    assert committed["hotkey"] == OWNER_HOT.ss58_address
