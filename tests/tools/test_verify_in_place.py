"""`replay verify` applies blocks in place (no table copied per block), keeping a checkpoint every
``CHECKPOINT_EVERY`` blocks: a registrar answer the rules do not give is reported with the same differing assignment
wherever the checkpoint falls, because the state before that block is rebuilt from it exactly."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from taonet.ledger import FileStore, NeuronReplaced, RegistrarAnswer, dev_genesis
from taonet.tools import _verify_core
from taonet.tools.replay import verify_chain
from tests.ledger.chains import DEV_SUBNET_DEFAULTS, pruning_chain
from tests.ledger.tamper import resign_from


@pytest.fixture(scope="module")
def tampered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    """A pruning chain's log, and a copy whose registrar answer at a late pruning gives another UID (re-signed)."""
    root = tmp_path_factory.mktemp("inplace")
    with FileStore(root / "chain", fsync=False) as store:
        pruning_chain(60, store)
    _, authority = dev_genesis(subnet_defaults=DEV_SUBNET_DEFAULTS)
    src = FileStore(root / "chain", read_only=True)
    replaced_at = max(b.number for b in src.read() if any(isinstance(r.event, NeuronReplaced) for r in b.events))
    other: dict[str, int] = {}

    def edit(number: int, _state: object, call: object) -> object:
        if number == replaced_at and isinstance(call, RegistrarAnswer):
            a = call.assignments[0]
            other["uid"] = 1 + a.uid % 2  # another non-owner UID of the three
            return attrs.evolve(call, assignments=(attrs.evolve(a, uid=other["uid"]), *call.assignments[1:]))
        return None

    assert resign_from(src, root / "tampered", authority, replaced_at - 3, edit) == 1
    src.close()
    return root, replaced_at, other["uid"]


@pytest.mark.parametrize("every", [1, 2, 7, 256])
def test_a_registrar_divergence_is_diagnosed_the_same_wherever_the_checkpoint_falls(
        tampered: tuple[Path, int, int], every: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The divergence names the block and both assignments, for checkpoints every 1, 2, 7 and 256 blocks; the
    untampered log verifies in full either way."""
    root, replaced_at, uid = tampered
    monkeypatch.setattr(_verify_core, "CHECKPOINT_EVERY", every)
    with FileStore(root / "chain", read_only=True) as store:
        good = verify_chain(store, consensus=True, workers=1)
    assert good.ok and good.blocks == good.head + 1 == 61 and good.registrar_answers > 5 and good.epochs > 5
    with FileStore(root / "tampered", read_only=True) as store:
        report = verify_chain(store, consensus=False, workers=1)
    d = report.divergence
    assert d is not None and d.block == replaced_at and d.check == "registrar"
    recorded, recomputed = d.details["assignments"]["recorded"][0], d.details["assignments"]["recomputed"][0]
    assert recorded["uid"] == uid != recomputed["uid"] and recorded["hotkey"] == recomputed["hotkey"]
