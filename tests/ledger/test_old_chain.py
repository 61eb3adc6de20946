"""An old chain keeps verifying: a log written before a rule change replays to the digests its headers record."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import FileStore, fold, replay

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "old-chain-v1"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FileStore]:
    """A copy of the committed log (opening a FileStore rewrites its index, so never open the fixture in place)."""
    shutil.copytree(FIXTURE, tmp_path / "chain")
    s = FileStore(tmp_path / "chain", fsync=False)
    yield s
    s.close()


def test_old_log_verifies_its_checksums_links_and_signatures(store: FileStore) -> None:
    report = store.verify()
    assert report.blocks == EXPECTED["height"] + 1
    assert store.head_hash.hex() == EXPECTED["head_hash"]


def test_old_log_replays_to_every_recorded_state_digest(store: FileStore) -> None:
    seen = 0
    for block, state in fold(store):
        assert state.digest() == block.header.state_digest
        seen += 1
    assert seen == EXPECTED["height"] + 1
    assert state.digest().hex() == EXPECTED["state_digest"]
    assert state.status.issuance == EXPECTED["issuance"]
    assert state.params.existential_deposit == 0  # made before the deposit: its dust and zero transfers stand


def test_old_snapshot_loads_and_replays_to_the_same_head(store: FileStore) -> None:
    snap = store.latest_snapshot()
    assert snap is not None and snap.height == 20
    assert snap.digest() == store.get(20).header.state_digest
    assert replay(store).digest().hex() == EXPECTED["state_digest"]
    assert replay(store, use_snapshots=False).digest().hex() == EXPECTED["state_digest"]
