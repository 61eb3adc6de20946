"""The per-block work of ``replay verify`` (tools/replay/_verify.py): decode and check a block, re-run the system
actors, apply it; and the entry point of a verify worker process.

It lives outside the replay package so that a worker process started with ``spawn`` imports only the ledger and
this module, not every replay tool (what-if, plots, the kernel client): about a quarter of a second less per worker.
A forked worker (``taonet.tools._pool``) imports nothing and reads the log through the store its parent opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import signal
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from taonet.ledger import (
    EpochResult,
    FileStore,
    RegistrarAnswer,
    SignedBlock,
    State,
    apply,
    epoch_netuids,
    epoch_result,
    pack_epoch_inputs,
    registrar_answer,
    ss58_encode,
    state_from_genesis_block,
    verify,
)
from taonet.ledger.errors import CodecError, CorruptLog, InvalidBlock, InvalidGenesis

__all__ = ["CHECKPOINT_EVERY", "Divergence", "Progress", "floor_job", "inherited", "run", "segment_job",
           "verify_segment", "worker_init"]

Progress = Callable[[int, int], None]
"""Called with (blocks done, blocks in all) as verification goes."""


@attrs.frozen(kw_only=True)
class Divergence:
    """The first place a log differs from what its rules give: the block, what was checked, and the values."""

    block: int
    check: str
    """record, decode, order, link, signature, roots, extrinsic_signature, registrar, epoch, epoch_index or
    execution."""
    reason: str
    call: str | None = None
    details: dict[str, Any] = attrs.field(factory=dict)

    def line(self) -> str:
        """One line for people."""
        where = f" ({self.call})" if self.call else ""
        return f"block {self.block} diverges{where}: {self.reason}"


class _Diverged(Exception):
    def __init__(self, divergence: Divergence) -> None:
        super().__init__(divergence.line())
        self.divergence = divergence


_REPORTS: Any = None
"""In a worker process: the queue its progress goes to (set once, by :func:`worker_init`)."""


def worker_init(reports: Any = None) -> None:
    """A verify worker leaves Ctrl-C to the process that started it (which stops the pool), so no worker prints a
    traceback of its own; this is the worker process's entry point, the one place it sets process-wide state."""
    global _REPORTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _REPORTS = reports


def _report(start: int) -> Progress | None:
    """A progress callback sending a job's blocks done to the parent (dropped when the queue is full)."""
    if _REPORTS is None:
        return None
    first = 0 if start == 0 else start + 1

    def send(number: int, _total: int) -> None:
        with contextlib.suppress(queue.Full):
            _REPORTS.put_nowait((start, number - first))

    return send


_INHERITED: dict[str, FileStore] = {}
"""Logs the parent opened before forking its workers, by path (empty in a spawned worker)."""


@contextlib.contextmanager
def inherited(store: FileStore) -> Iterator[None]:
    """While the block runs, a worker forked from this process reads ``store`` (already opened and scanned: every
    record's position is known, and each is checked again when read) instead of opening the log again."""
    key = str(store.path)
    _INHERITED[key] = store
    try:
        yield
    finally:
        _INHERITED.pop(key, None)


def segment_job(chain: str, start: int, stop: int, consensus: bool) -> dict[str, Any]:
    """A worker's segment: blocks ``start + 1 .. stop`` from the snapshot at ``start`` (block 0 on from genesis)."""
    try:
        store = _INHERITED.get(chain)
        if store is not None:  # a forked worker: reads through the parent's store (positioned reads; never closed)
            return _segment(store, start, stop, consensus)
        with FileStore(chain, read_only=True) as store:
            return _segment(store, start, stop, consensus)
    except CorruptLog:  # damage where the segment starts: the one pass from genesis reports it at its block
        return _UNUSABLE


def floor_job(chain: str, start: int, stop: int) -> int:
    """Blocks ``start .. stop`` read, decoded and their block and extrinsic signatures and roots checked, nothing
    re-executed: the part of verify that no faster runtime could leave out (``taonet bench replay``'s floor). Returns
    the blocks checked; raises RuntimeError at the first that fails."""
    store = _INHERITED.get(chain)
    with contextlib.nullcontext(store) if store is not None else FileStore(chain, read_only=True) as log:
        for number in range(start, stop + 1):
            checked = _decode_and_check(number, log.get_raw(number))
            if isinstance(checked, Divergence):
                raise RuntimeError(checked.line())
    return stop - start + 1


_UNUSABLE: dict[str, Any] = {"counts": {"blocks": 0}, "divergence": None, "start_state": None, "final_state": None}


def _segment(store: FileStore, start: int, stop: int, consensus: bool) -> dict[str, Any]:
    start_state = None
    state = None
    if start > 0:
        state = store.latest_snapshot(start)
        if state is None or state.height != start:
            return _UNUSABLE
        start_state = _state_hash(state)
    counts, divergence, final = run(store, state, start, stop, consensus, _report(start))
    return {"counts": counts, "divergence": divergence, "start_state": start_state,
            "final_state": None if final is None else _state_hash(final)}


def _state_hash(state: State) -> bytes:
    return hashlib.blake2b(state.to_snapshot(), digest_size=32).digest()


def verify_segment(store: FileStore, start: int, stop: int, consensus: bool, progress: Progress | None
                   ) -> tuple[dict[str, int], Divergence | None]:
    """Verify blocks ``start .. stop`` from genesis in this process: the counts and the first divergence."""
    counts, divergence, _ = run(store, None, start, stop, consensus, progress)
    return counts, divergence


def run(store: FileStore, state: State | None, start: int, stop: int, consensus: bool, progress: Progress | None
        ) -> tuple[dict[str, int], Divergence | None, State | None]:
    """Verify blocks from ``start`` (genesis when ``state`` is None, else the block after ``state``) to ``stop``.

    ``state`` is consumed (the blocks are applied to it in place); the final state is returned when all hold.
    """
    counts = {"blocks": 0, "extrinsics": 0, "epochs": 0, "registrar_answers": 0, "epoch_records": 0,
              "epoch_records_refused": 0}
    fold = None if state is None else _InPlace(state)
    records: dict[int, list[int]] = {}  # the epoch index beside the log: block number -> netuids
    for n, k in store.epoch_index():
        if start < n <= stop:
            records.setdefault(n, []).append(k)
    try:
        prev_hash: bytes | None = None
        first = 0
        if state is not None:
            prev = _decode_and_check(start, store.get_raw(start))
            if isinstance(prev, Divergence):
                raise _Diverged(prev)
            prev_hash, first = prev.hash, start + 1
        for number in range(first, stop + 1):
            try:
                raw = store.get_raw(number)
            except CorruptLog as e:
                reason = e.where if e.block in (None, number) else str(e)  # "block N is invalid" names it already
                raise _Diverged(Divergence(block=number, check="record", reason=reason,
                                           details={"path": e.path, "offset": e.offset})) from e
            block = _decode_and_check(number, raw)
            if isinstance(block, Divergence):
                raise _Diverged(block)
            if fold is not None and number in records:
                _check_index(store, fold.state, block, records[number], counts)
            fold = _check_and_apply(fold, prev_hash, block, consensus, counts)
            prev_hash = block.hash
            counts["blocks"] += 1
            counts["extrinsics"] += len(block.extrinsics)
            if progress is not None and (number % 64 == 0 or number == stop):
                progress(number + 1, stop + 1)
    except _Diverged as e:
        return counts, e.divergence, None
    return counts, None, None if fold is None else fold.state


CHECKPOINT_EVERY = 256
"""Blocks are applied in place (no table copied per block); every this many blocks the state is kept as a checkpoint,
from which the state before a block that does not apply is rebuilt (to say how its registrar answer differs)."""


class _InPlace:
    """A fold applying each block to the state itself, keeping a checkpoint and the blocks applied since."""

    def __init__(self, state: State) -> None:
        self.state = state
        self._mark()

    def _mark(self) -> None:
        self.checkpoint = self.state
        self.state = self.state.fork()  # both then copy a table before writing to it: the checkpoint stays as it is
        self.since: list[SignedBlock] = []

    def apply(self, block: SignedBlock, parent: bytes | None) -> None:
        """Apply ``block`` (InvalidBlock if it does not follow; the fold is then unusable, but :meth:`before` works)."""
        if len(self.since) >= CHECKPOINT_EVERY:
            self._mark()
        self.state, _ = apply(self.state, block, parent=parent, verify_signatures=False, consume=True)
        self.since.append(block)

    def before(self) -> State:
        """The state before the block :meth:`apply` last refused (folded again from the checkpoint)."""
        state = self.checkpoint.fork()
        for block in self.since:
            state, _ = apply(state, block, verify_signatures=False, check_header=False, consume=True)
        return state


def _check_and_apply(fold: _InPlace | None, prev_hash: bytes | None, block: SignedBlock, consensus: bool,
                     counts: dict[str, int]) -> _InPlace:
    number = block.number
    if prev_hash is not None and block.header.parent != prev_hash:
        raise _Diverged(Divergence(block=number, check="link", reason="its parent hash is not the hash of block "
                                   f"{number - 1}", details={"parent": block.header.parent.hex(),
                                                             "previous_hash": prev_hash.hex()}))
    if fold is None:
        try:
            return _InPlace(state_from_genesis_block(block, verify_signatures=False))
        except (InvalidBlock, InvalidGenesis, CodecError) as e:
            raise _Diverged(Divergence(block=number, check="genesis", reason=str(e))) from e
    if consensus:
        _check_epochs(fold.state, block, counts)
    try:
        fold.apply(block, prev_hash)
    except InvalidBlock as e:
        _check_registrar(fold.before(), block)  # the runtime re-derives the registrar's answer: say how it differs
        raise _Diverged(Divergence(block=number, check="execution", reason=e.reason)) from e
    counts["registrar_answers"] += any(isinstance(x.call, RegistrarAnswer) for x in block.extrinsics)
    return fold


# --- records, decoding, signatures --------------------------------------------------------------------------------


def _decode_and_check(number: int, raw: bytes) -> SignedBlock | Divergence:
    try:
        block = SignedBlock.from_bytes(raw)
    except CodecError as e:
        return Divergence(block=number, check="decode", reason=f"its record does not decode: {e}")
    if block.number != number:
        return Divergence(block=number, check="order", reason=f"the log holds block {block.number} at position "
                                                              f"{number}", details={"found": block.number})
    if not block.signature_ok():
        return Divergence(block=number, check="signature", reason="the authority's signature does not verify")
    if not block.roots_ok():
        return Divergence(block=number, check="roots", reason="its extrinsics or events root differs from its "
                                                              "contents")
    for i, ext in enumerate(block.extrinsics):
        if not verify(ext.signer, ext.signed_bytes(), ext.signature):
            return Divergence(block=number, check="extrinsic_signature",
                              call=f"extrinsic {i}: {type(ext.call).__name__}",
                              reason=f"the signature of extrinsic {i} by {ss58_encode(ext.signer)} does not verify")
    return block


# --- the system actors re-run -------------------------------------------------------------------------------------


def _check_registrar(state: State, block: SignedBlock) -> None:
    """Raise the registrar divergence of ``block`` with the differing assignments, if its answer is not the rules'."""
    for i, ext in enumerate(block.extrinsics):
        call = ext.call
        if isinstance(call, RegistrarAnswer):
            expected = registrar_answer(state)
            if call != expected:
                raise _Diverged(Divergence(block=block.number, check="registrar",
                                           call=f"extrinsic {i}: RegistrarAnswer",
                                           reason="the registrar's answer differs from what the registration and "
                                                  "pruning rules give", details=_registrar_diff(call, expected)))


def _check_epochs(state: State, block: SignedBlock, counts: dict[str, int]) -> None:
    """Recompute each epoch result of ``block`` on the state before it; raise the first that differs."""
    for i, ext in enumerate(block.extrinsics):
        call = ext.call
        if not isinstance(call, EpochResult):
            continue
        try:
            expected = epoch_result(state, call.netuid)
        except KeyError:
            raise _Diverged(Divergence(block=block.number, check="epoch", call=f"extrinsic {i}: EpochResult",
                                       reason=f"an epoch result for subnet {call.netuid}, which does not exist"
                                       )) from None
        if call != expected:
            details = _epoch_diff(call, expected)
            raise _Diverged(Divergence(
                block=block.number, check="epoch", call=f"extrinsic {i}: EpochResult(netuid={call.netuid})",
                reason=f"the epoch result of subnet {call.netuid} differs from the ledger's Yuma epoch on the "
                       f"state after block {state.height}: {_summary(details)}", details=details))
        counts["epochs"] += 1


def _check_index(store: FileStore, state: State, block: SignedBlock, held: list[int], counts: dict[str, int]
                 ) -> None:
    """Check the epoch-index records of ``block`` (those a reader would use: sound and bound to this block) against
    the state before it, packed as the node packs it: the same bytes, or a divergence naming the block and subnet."""
    number = block.number
    netuids = epoch_netuids(block)
    for netuid in held:
        raw = store.read_epoch_inputs(number, netuid)
        if raw is None:  # damaged, or bound to another chain's block: never used by a reader
            counts["epoch_records_refused"] += 1
            continue
        if netuid not in netuids:
            raise _Diverged(Divergence(block=number, check="epoch_index", reason=(
                f"the epoch index holds inputs of an epoch of subnet {netuid} that block {number} does not record"),
                details={"netuid": netuid}))
        if raw != pack_epoch_inputs(state, netuid):
            differs = _inputs_diff(raw, state, netuid)
            raise _Diverged(Divergence(
                block=number, check="epoch_index", call=f"EpochResult(netuid={netuid})", reason=(
                    f"the epoch index's inputs of subnet {netuid}'s epoch differ from the state after block "
                    f"{number - 1}: {differs}"), details={"netuid": netuid, "differs": differs}))
        counts["epoch_records"] += 1


def _inputs_diff(raw: bytes, state: State, netuid: int) -> str:
    """Which part of the packed epoch inputs ``raw`` differs from ``state``'s (for the divergence's line)."""
    from taonet.ledger import epoch_inputs, unpack_epoch_inputs

    try:
        kept = unpack_epoch_inputs(raw)
    except (CodecError, ValueError, TypeError) as e:
        return f"the record does not decode ({e})"
    want = epoch_inputs(state, netuid)
    parts = [name for name in ("chain", "subnet", "stake", "deleg", "owner")
             if dict(kept.items(name)) != dict(want.items(name))]
    uids = [uid for (_, uid), n in want.items("neuron") if kept.get("neuron", (netuid, uid)) != n]
    uids += [uid for (_, uid), _ in kept.items("neuron") if want.get("neuron", (netuid, uid)) is None]
    if uids:
        parts.append(f"neurons at UIDs {', '.join(map(str, sorted(set(uids))[:8]))}{' ...' if len(uids) > 8 else ''}")
    return ", ".join(parts) or "the bytes (not canonical)"


def _summary(details: dict[str, Any]) -> str:
    parts = []
    for name, d in details.items():
        if name == "credits":
            parts.append(f"credits differ for {len(d)} (coldkey, hotkey) pairs")
        elif isinstance(d, dict) and "uids" in d:
            shown = ", ".join(f"UID {u} recorded {r} recomputed {c}" for u, r, c in d["uids"][:3])
            more = f" and {len(d['uids']) - 3} more" if len(d["uids"]) > 3 else ""
            parts.append(f"{name}: {shown}{more}")
        else:
            parts.append(f"{name}: recorded {d['recorded']}, recomputed {d['recomputed']}")
    return "; ".join(parts)


def _epoch_diff(recorded: EpochResult, expected: EpochResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("netuid", "block", "pot", "owner_cut"):
        a, b = getattr(recorded, name), getattr(expected, name)
        if a != b:
            out[name] = {"recorded": a, "recomputed": b}
    rv, ev = recorded.vectors(), expected.vectors()
    for name in ("emission", "incentive", "dividends", "rank", "trust", "consensus", "vtrust", "permits"):
        a, b = rv[name], ev[name]
        if a != b:
            uids = [[u, x, y] for u, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
            out[name] = {"uids": uids, "recorded_len": len(a), "recomputed_len": len(b)}
    if any(rv[k] != ev[k] for k in ("bond_rows", "bond_ptr", "bond_uids", "bond_values")):
        out["bonds"] = {"recorded": _bonds(rv), "recomputed": _bonds(ev)}
    if recorded.credits != expected.credits:
        def table(r: EpochResult) -> dict[tuple[bytes, bytes], int]:
            t: dict[tuple[bytes, bytes], int] = {}
            for c in r.credits:
                t[(c.coldkey, c.hotkey)] = t.get((c.coldkey, c.hotkey), 0) + c.amount
            return t

        a_t, b_t = table(recorded), table(expected)
        out["credits"] = [{"coldkey": ss58_encode(c), "hotkey": ss58_encode(h), "recorded": a_t.get((c, h), 0),
                           "recomputed": b_t.get((c, h), 0)}
                          for c, h in sorted(set(a_t) | set(b_t)) if a_t.get((c, h), 0) != b_t.get((c, h), 0)]
    return out


def _bonds(v: dict[str, list[int]]) -> dict[int, dict[int, int]]:
    rows, ptr, uids, vals = v["bond_rows"], v["bond_ptr"], v["bond_uids"], v["bond_values"]
    out: dict[int, dict[int, int]] = {}
    for k, row in enumerate(rows):
        if k + 1 < len(ptr):
            out[row] = dict(zip(uids[ptr[k]:ptr[k + 1]], vals[ptr[k]:ptr[k + 1]], strict=False))
    return out


def _registrar_diff(recorded: RegistrarAnswer, expected: RegistrarAnswer) -> dict[str, Any]:
    from .replay._values import fields_of  # only on a divergence: a worker does not import the replay tools

    def rows(items: tuple[Any, ...]) -> list[dict[str, Any]]:
        return [fields_of(x) for x in items]

    out: dict[str, Any] = {}
    for name in ("assignments", "refusals", "difficulties"):
        a, b = getattr(recorded, name), getattr(expected, name)
        if a != b:
            out[name] = {"recorded": rows(a), "recomputed": rows(b)}
    if recorded.block != expected.block:
        out["block"] = {"recorded": recorded.block, "recomputed": expected.block}
    return out
