"""what-if from the epoch index the chain keeps beside its log: the same answer as folding the log, to the RAO, and
only when the index covers every epoch of the range; `replay verify` checks every record against the state it
re-derives. Over the small chain of the what-if laws (sealed in-process by the ledger's Chain, as a node seals)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from taonet.ledger import FileStore, epoch_inputs, pack_epoch_inputs, replay
from taonet.tools.replay import epoch_series, index_plan, indexed_epochs, what_if
from tests.tools.processes import taonet
from tests.tools.test_replay_whatif_laws import log  # noqa: F401 - the module's chain (a fixture)

CHANGES = ({}, {"kappa": 20000}, {"yuma3_enabled": True, "bonds_moving_average": 500_000, "activity_cutoff": 6})


def _copy(log: Path, tmp_path: Path) -> Path:  # noqa: F811
    shutil.copytree(log, tmp_path / "chain")
    return tmp_path / "chain"


def _record(path: Path, number: int, netuid: int = 1) -> Path:
    return path / "epochs" / str(netuid) / f"{number:012d}.epin"


def test_what_if_from_the_index_equals_what_if_from_the_log(log: Path) -> None:  # noqa: F811
    """For several ranges (one starting after the subnet's first epochs, one ending between two) and hyperparameters
    unchanged and changed: the index covers the range and what-if gives exactly what folding the log gives."""
    with FileStore(log, read_only=True) as store:
        for start, stop in ((0, store.height), (17, 60), (5, 44)):
            indexed = indexed_epochs(store, 1, start, stop)
            assert indexed is not None and len(indexed) >= 6
            for changes in CHANGES:
                from_index = what_if(store, 1, changes, start=start, stop=stop)
                assert from_index == what_if(store, 1, changes, start=start, stop=stop, index=False)
                assert from_index.identical() == (not changes)
        assert epoch_series(store, 1, 0, 50) == epoch_series(store, 1, 0, 50, index=False)
        inputs, recorded = indexed[0]
        state = replay(store, to=recorded.block, verify_signatures=False)
        assert pack_epoch_inputs(inputs, 1) == pack_epoch_inputs(epoch_inputs(state, 1), 1)


@pytest.mark.parametrize("which", ["first", "middle", "last", "two_in_a_row", "only_one_left", "before_upgrade"])
def test_a_missing_record_is_detected_never_skipped(log: Path, tmp_path: Path, which: str) -> None:  # noqa: F811
    """A record missing anywhere in the range (the first, whose predecessor is in the range; one or two in the middle;
    the last, after which the log holds one more epoch; all but one; every record before some block, as a node that
    was upgraded to keep the index) is a gap the index names, bounded by the records around it: what-if reads only
    the gaps from the log and answers exactly what folding the whole range answers."""
    path = _copy(log, tmp_path)
    start, stop = 17, 60
    with FileStore(path, read_only=True) as store:
        truths = [what_if(store, 1, c, start=start, stop=stop, index=False) for c in CHANGES]
        numbers = [n for n, _ in store.epoch_index(1) if start + 1 <= n <= stop + 1]
    assert len(numbers) >= 6
    k = len(numbers) // 2
    gone = {"first": numbers[:1], "middle": numbers[3:4], "two_in_a_row": numbers[2:4], "last": numbers[-1:],
            "only_one_left": numbers[1:], "before_upgrade": numbers[:k]}[which]
    for n in gone:
        _record(path, n).unlink()
    epoch = [n - 1 for n in numbers]  # the blocks the epochs answered
    expected = {"first": [(start, epoch[0])], "middle": [(epoch[2] + 1, epoch[3])],
                "two_in_a_row": [(epoch[1] + 1, epoch[3])], "last": [(epoch[-2] + 1, stop)],
                "only_one_left": [(epoch[0] + 1, stop)], "before_upgrade": [(start, epoch[k - 1])]}
    with FileStore(path, read_only=True) as store:
        assert indexed_epochs(store, 1, start, stop) is None
        plan = index_plan(store, 1, start, stop)
        assert plan is not None and list(plan.gaps) == expected[which]
        assert [c.block for _, c in plan.epochs] == [e for n, e in zip(numbers, epoch, strict=True) if n not in gone]
        for changes, truth in zip(CHANGES, truths, strict=True):
            assert what_if(store, 1, changes, start=start, stop=stop) == truth
            assert what_if(store, 1, changes, start=start, stop=stop, workers=2) == truth
        if which == "first":  # a range that starts after the missing epoch is fully covered
            assert indexed_epochs(store, 1, numbers[0], stop) is not None


@pytest.mark.parametrize("damage", ["above_head", "wrong_hash", "flipped", "garbage", "another_record",
                                    "stale_between"])
def test_a_record_not_bound_to_the_log_is_not_used(log: Path, tmp_path: Path, damage: str) -> None:  # noqa: F811
    """A record for a block above the head (a torn tail) is no epoch of the log; one bound to another block's hash, with
    a byte changed, of garbage, or another epoch's record under its name is refused with a reason: the answer is the
    log's either way. A refused record where this log has no epoch (left by a chain the directory held before) does not
    stop the index from covering the range."""
    path = _copy(log, tmp_path)
    with FileStore(path, read_only=True) as store:
        head = store.height
        truth = what_if(store, 1, {"kappa": 20000}, start=0, stop=head, index=False)
        numbers = [n for n, _ in store.epoch_index(1)]
    target = numbers[len(numbers) // 2]
    raw = _record(path, target).read_bytes()
    with FileStore(path) as writable:  # as a node would write them (the log itself stays as it is)
        inputs = writable.read_epoch_inputs(target, 1)
        assert inputs is not None
        if damage == "above_head":
            writable.save_epoch_inputs(writable.get(target).hash, head + 1, 1, inputs)
        elif damage == "wrong_hash":
            writable.save_epoch_inputs(writable.get(target - 1).hash, target, 1, inputs)
        elif damage == "stale_between":
            writable.save_epoch_inputs(bytes(32), target + 1, 1, inputs)
    if damage == "flipped":
        _record(path, target).write_bytes(raw[:40] + bytes([raw[40] ^ 1]) + raw[41:])
    elif damage == "garbage":
        _record(path, target).write_bytes(b"\x00" * len(raw))
    elif damage == "another_record":
        shutil.copyfile(_record(path, numbers[0]), _record(path, target))
    with FileStore(path, read_only=True) as store:
        assert what_if(store, 1, {"kappa": 20000}, start=0, stop=head) == truth
        covered = indexed_epochs(store, 1, 0, head)
        if damage == "above_head":
            assert covered is not None and store.read_epoch_inputs(head + 1, 1) is None
        elif damage == "stale_between":
            assert covered is not None and store.read_epoch_inputs(target + 1, 1) is None
        else:
            assert covered is None and store.read_epoch_inputs(target, 1) is None
        assert store.refused_epoch_inputs


def test_verify_checks_every_record_and_names_the_block_of_a_tampered_one(log: Path, tmp_path: Path) -> None:  # noqa: F811
    """`replay verify` compares every record with the epoch's inputs in the state it re-derives: all equal on the
    chain as sealed; a record rewritten with another stake (and a sound checksum) is a divergence at its block, exit
    7; a damaged one is only counted as refused (no reader uses it)."""
    path = _copy(log, tmp_path)
    out, _ = taonet("replay", str(path), "verify", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    with FileStore(path, read_only=True) as store:
        count = len(store.epoch_index())
        number = [n for n, _ in store.epoch_index(1)][4]
        state = replay(store, to=number - 1, verify_signatures=False).fork()
    assert report["ok"] and report["epoch_records"] == count >= 10 and report["epoch_records_refused"] == 0
    owner_hot = state.subnet(1).owner_hotkey
    cold = next(iter(state.stakers(owner_hot)), state.owner_of(owner_hot))
    state.add_stake(cold, owner_hot, 1)
    with FileStore(path) as writable:
        writable.save_epoch_inputs(writable.get(number).hash, number, 1, pack_epoch_inputs(state, 1))
    out, _ = taonet("replay", str(path), "verify", "--json")
    assert out.returncode == 7, out.stderr
    report = json.loads(out.stdout)
    d = report["divergence"]
    assert d["block"] == number and d["check"] == "epoch_index" and "stake" in d["reason"]
    rec = _record(path, number)
    rec.write_bytes(rec.read_bytes()[:-3])
    out, _ = taonet("replay", str(path), "verify", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["epoch_records"] == count - 1 and report["epoch_records_refused"] == 1
