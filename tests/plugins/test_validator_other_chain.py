"""A validator started with the state directory it kept on another chain (a network started again from nothing with
the same wallets): it sets those scores aside and sets weights from the start, instead of waiting for the old
chain's height with its miners unpaid (a QA pass: the first weights came at block 228 of the new chain)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import cbor2
import pytest

from taonet.plugins import Scores
from taonet.testing import LocalNet, NeuronProcess

pytestmark = pytest.mark.slow

VALIDATOR = {"timeout": 1.5}


def _scores(state_dir: Path) -> Scores:
    return Scores.from_bytes((state_dir / "scores.cbor").read_bytes())


def _first_weights(net: LocalNet, v: NeuronProcess, timeout: float = 60.0) -> int:
    """The block of ``v``'s first weights on this chain (bounded in time)."""
    deadline = time.monotonic() + timeout
    while (block := (v.status() or {}).get("last_weights_block")) is None:
        assert time.monotonic() < deadline, f"no weights from {v.name} by block {net.head()}: {v.status()}"
        time.sleep(0.1)
    return int(block)


def test_scores_kept_on_another_chain_are_set_aside_not_resumed(tmp_path: Path) -> None:
    """Chain A: the validator runs 3 tempos. Chain B (another dev chain, same keys): its state directory (a copy)
    is moved to previous-chain/, it starts from zero (resumed false) and sets weights well before the block it last
    set them at on A. A second validator whose scores file predates the chain's record (no "chain", blocks past the
    head) is set aside the same way."""
    with LocalNet(tmp_path / "a", plugin="template", tempo=20) as net:
        net.add_miner()
        v = net.add_validator(VALIDATOR)
        net.wait_for_answers(v)
        net.advance(tempos=3)
        assert net.stop(v) == 0
        old_bytes = (v.state_dir / "scores.cbor").read_bytes()
        old = Scores.from_bytes(old_bytes)
        assert old.weights_block > 40 and len(old.chain) == 64, old
    root = tmp_path / "b"
    shutil.copytree(v.state_dir, root / "state" / "validator-0")
    legacy = root / "state" / "validator-1"  # a file written before "chain" was kept, from a chain 10^6 blocks long
    legacy.mkdir(parents=True)
    (legacy / "scores.cbor").write_bytes(cbor2.dumps({"version": 1, "step": 9, "block": 10**6,
                                                      "weights_block": 10**6, "scores": {}}, canonical=True))
    with LocalNet(root, plugin="template", tempo=20) as net:
        net.add_miner()
        for w in (net.add_validator(VALIDATOR), net.add_validator(VALIDATOR)):
            assert _first_weights(net, w) < old.weights_block, w.name
            status = w.status()
            assert status is not None and status["resumed"] is False, status
            assert (w.state_dir / "previous-chain" / "scores.cbor").is_file()
            new = _scores(w.state_dir)
            assert len(new.chain) == 64 and new.chain != old.chain and new.weights_block < old.weights_block
        assert (root / "state" / "validator-0" / "previous-chain" / "scores.cbor").read_bytes() == old_bytes
        assert (root / "state" / "validator-0" / "previous-chain" / "journal").is_dir()
        assert "validator.state_of_another_chain" in (root / "logs" / "validator-0.log").read_text()
