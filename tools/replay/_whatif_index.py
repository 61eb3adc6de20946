"""what-if's inputs from the epoch index the node keeps beside its log (``chain/epochs/``), when it covers the range.

The index holds, per block that records an epoch of a subnet, the part of the state that epoch read (the ledger's
:func:`~taonet.ledger.pack_epoch_inputs`), bound to the block's hash; the store hands out only sound records bound to
the log's block at their height. What-if uses them only when they cover *every* epoch of the subnet computed in the
range, proven without folding the log:

- each record's inputs name the subnet's previous epoch (``Subnet.last_epoch``: only an epoch result sets it, to the
  block it answered, and a new subnet starts with its creation block), so consecutive records must chain up (a
  record missing between two is a link that points past the earlier one);
- before the first record: its previous epoch is before the range, or it is no epoch (a subnet's creation block:
  the block after it holds no epoch result of the subnet, read from the log);
- after the last record: the blocks up to the range's end hold no epoch result of the subnet (read from the log with
  the fast reader of ``why``; at most one tempo of blocks when the node kept the index up to its head).

Each record's recorded result is read from its block (the log, not the index) and must fit the inputs (the block they
answer, the pot, the number of UIDs). A record the store refuses (damaged, or bound to another chain's block: a data
directory reused for a new chain) counts as absent, so it costs nothing unless an epoch of this log needs it.

Where epochs lack their records (a node upgraded to one that keeps the index, or run with ``--no-epoch-index`` for a
while, or a damaged record), :func:`index_plan` names the gaps — each sub-range whose epochs must be read from the
log, bounded by the records around it — and what-if folds only those; a record that does not fit its block makes the
whole range read from the log, never a partial index.
"""

from __future__ import annotations

from itertools import pairwise

import attrs

from taonet.ledger import EpochResult, FileStore, State, unpack_epoch_inputs
from taonet.ledger.errors import CodecError, CorruptLog

from ._scan import subnet_items

__all__ = ["IndexPlan", "index_plan", "indexed_epochs"]

Epochs = list[tuple[State, EpochResult]]


@attrs.frozen
class IndexPlan:
    """What the epoch index gives of a range: the epochs it holds, and the sub-ranges (``a``, ``b``: epochs computed
    in blocks a..b) whose epochs it lacks and that must be read from the log."""

    epochs: Epochs
    gaps: tuple[tuple[int, int], ...]


def indexed_epochs(store: FileStore, netuid: int, start: int, stop: int) -> Epochs | None:
    """(inputs, recorded result) of every epoch of ``netuid`` computed in ``start .. stop``, from the epoch index;
    None when the index does not cover them all (see the module docs)."""
    plan = index_plan(store, netuid, start, stop)
    return plan.epochs if plan is not None and not plan.gaps else None


def index_plan(store: FileStore, netuid: int, start: int, stop: int) -> IndexPlan | None:
    """The epochs of ``netuid`` computed in ``start .. stop`` that the epoch index holds, and the gaps where an epoch
    of the log has no usable record (see the module docs); None when the index holds none of the range's epochs, or
    holds a record that does not fit its block (then nothing of it is used)."""
    last = min(stop + 1, store.height)  # a record above the head (a torn tail cut its block) is no epoch of the log
    numbers = [n for n, _ in store.epoch_index(netuid) if start + 1 <= n <= last]
    out: Epochs = []
    try:
        for number in numbers:
            raw = store.read_epoch_inputs(number, netuid)
            if raw is None:  # damaged, or written for another chain's block: as if absent (the links below tell
                continue     # whether an epoch of this log lacks its record)
            inputs = unpack_epoch_inputs(raw)
            recorded = _recorded(store, number, netuid)
            sn = inputs.subnet(netuid)
            if (recorded is None or sn is None or inputs.height != number - 1 or recorded.block != number - 1
                    or recorded.pot != sn.pending_emission or len(recorded.emission) != 8 * sn.n):
                return None
            out.append((inputs, recorded))
    except (CodecError, CorruptLog, ValueError, TypeError, LookupError):
        return None
    if not out:
        return None
    gaps: list[tuple[int, int]] = []
    first = out[0][0]
    before = _previous(first, netuid)
    if start <= before < first.height and _epochs_in(store, netuid, before + 1, before + 2, before):
        gaps.append((start, before))  # the previous epoch is in the range and its record is missing
    for (a, _), (b, _) in pairwise(out):
        previous = _previous(b, netuid)
        if previous < a.height or previous >= b.height:
            return None  # links that no log gives
        if previous > a.height:
            gaps.append((a.height + 1, previous))  # records missing between a and b (the last of them: previous)
    tail = out[-1][0].height + 1
    if tail <= stop and _epochs_in(store, netuid, tail + 1, stop + 2, stop):
        gaps.append((tail, stop))  # epochs after the last record
    return IndexPlan(out, tuple(gaps))


def _previous(inputs: State, netuid: int) -> int:
    sn = inputs.subnet(netuid)
    assert sn is not None
    return sn.last_epoch


def _recorded(store: FileStore, number: int, netuid: int) -> EpochResult | None:
    """The epoch result of ``netuid`` that block ``number`` holds (None when it holds none, or several); only that
    item of the block is decoded."""
    found = [x.call for _, exts, _ in subnet_items(store, number, number + 1, netuid, (EpochResult,), ())
             for x in exts]
    return found[0] if len(found) == 1 else None  # type: ignore[return-value]


def _epochs_in(store: FileStore, netuid: int, first: int, end: int, last_epoch: int) -> bool:
    """True when blocks ``first`` .. ``end - 1`` hold an epoch result of ``netuid`` for a block <= ``last_epoch``."""
    for _, exts, _ in subnet_items(store, first, end, netuid, (EpochResult,), ()):
        if any(x.call.block <= last_epoch for x in exts):  # type: ignore[attr-defined]
            return True
    return False
