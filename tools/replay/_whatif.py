"""``replay what-if``: the epochs of a range re-run over the recorded weights and stakes with other hyperparameters
(or other weights), bonds carried forward from one re-run epoch to the next as the chain carries them.

Each recorded :class:`~taonet.ledger.EpochResult` for the subnet answered the state after its ``block``; the re-run
takes that recorded state, gives its subnet the other hyperparameters and its neurons the bonds the previous re-run
epoch left them (a UID that changed hands since keeps what the chain gave the newcomer), and calls the ledger's own
``epoch_result`` on it. With nothing changed this reproduces every recorded epoch to the RAO.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import attrs

from taonet.kernel.errors import BlockNotFound
from taonet.ledger import (
    HYPERPARAMETER_BOUNDS,
    EpochResult,
    FileStore,
    Hyperparameters,
    SignedBlock,
    State,
    epoch_result,
    fold,
    pack_epoch_inputs,
    ss58_encode,
)
from taonet.ledger.errors import SubnetNotFound

from ._log import state_at
from ._whatif_cache import EpochCache
from ._whatif_index import IndexPlan, index_plan

__all__ = ["EPOCH_HYPERPARAMETERS", "BadOverride", "EpochPair", "WhatIf", "epoch_states", "parse_overrides",
           "recorded_epochs", "rerun_epochs", "what_if"]

EPOCH_HYPERPARAMETERS = ("kappa", "bonds_moving_average", "bonds_penalty", "max_allowed_validators",
                         "yuma3_enabled", "liquid_alpha_enabled", "alpha_low", "alpha_high", "alpha_sigmoid_steepness",
                         "activity_cutoff")
"""The hyperparameters the epoch reads (as ``subnet hyperparameters`` names them, in its units)."""

Weights = Callable[[State, int], Mapping[int, tuple[bytes, bytes]]]
"""Other weights for an epoch: (the recorded state, netuid) -> {uid: (packed u16 UIDs, packed u16 values)}; one
with an ``observe(block, state before it)`` method also sees every block on the way."""


class BadOverride(ValueError):
    """A ``--set NAME=VALUE`` that names no epoch hyperparameter or is outside its bounds."""


def parse_overrides(pairs: list[str]) -> dict[str, int | bool]:
    """``["kappa=40000", "yuma3_enabled=true"]`` as {name: value}, each name an epoch hyperparameter within bounds
    (switches as bools, the rest as ints)."""
    out: dict[str, int | bool] = {}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        name = name.strip()
        if not eq:
            raise BadOverride(f"{pair!r} is not NAME=VALUE")
        if name not in EPOCH_HYPERPARAMETERS:
            what = "is not a hyperparameter" if name not in HYPERPARAMETER_BOUNDS else "does not enter the epoch"
            raise BadOverride(f"{name!r} {what}; what-if re-runs the epoch, whose hyperparameters are "
                              f"{', '.join(EPOCH_HYPERPARAMETERS)}")
        number = {"true": 1, "false": 0}.get(text.strip().lower())
        if number is None:
            try:
                number = int(text.strip().replace("_", "").replace(",", ""))
            except ValueError:
                raise BadOverride(f"{name}: {text!r} is not an integer (true/false for switches)") from None
        lo, hi = HYPERPARAMETER_BOUNDS[name]
        if not lo <= number <= hi:
            raise BadOverride(f"{name}: {number:,} is outside its bounds [{lo:,}, {hi:,}]")
        out[name] = bool(number) if isinstance(getattr(Hyperparameters(), name), bool) else number
    return out


@lru_cache(maxsize=1 << 14)
def _address(hotkey: bytes) -> str:
    """``ss58_encode``, once per hotkey (the rows of 100 epochs of 256 UIDs name a few hundred hotkeys 25,600 times)."""
    return ss58_encode(hotkey)


@attrs.frozen(kw_only=True)
class EpochPair:
    """One epoch: what the chain recorded and what the re-run gives, with the hotkey at each UID then."""

    block: int
    hotkeys: tuple[bytes, ...]
    recorded: EpochResult
    whatif: EpochResult

    def rows(self) -> Iterator[dict[str, Any]]:
        """Per UID: incentive and dividends (u16) and emission (RAO), recorded and re-run."""
        a, b = self.recorded.vectors(), self.whatif.vectors()
        for uid, hk in enumerate(self.hotkeys):
            yield {"block": self.block, "uid": uid, "hotkey": _address(hk),
                   "incentive": a["incentive"][uid], "incentive_whatif": b["incentive"][uid],
                   "dividends": a["dividends"][uid], "dividends_whatif": b["dividends"][uid],
                   "emission": a["emission"][uid], "emission_whatif": b["emission"][uid]}


@attrs.frozen(kw_only=True)
class WhatIf:
    """Every epoch of ``netuid`` computed in blocks ``start`` .. ``stop``, recorded and re-run with ``changes``."""

    netuid: int
    start: int
    stop: int
    changes: Mapping[str, Any]
    epochs: tuple[EpochPair, ...]
    notes: Mapping[str, Any] = attrs.field(factory=dict)

    def neurons(self) -> list[dict[str, Any]]:
        """Per (UID, hotkey) over the range: mean incentive and dividends (0..1), emission summed (RAO)."""
        acc: dict[tuple[int, str], dict[str, Any]] = {}
        for e in self.epochs:
            for r in e.rows():
                k = (r["uid"], r["hotkey"])
                a = acc.setdefault(k, {"uid": r["uid"], "hotkey": r["hotkey"], "epochs": 0, "incentive": 0,
                                       "incentive_whatif": 0, "dividends": 0, "dividends_whatif": 0, "emission": 0,
                                       "emission_whatif": 0})
                a["epochs"] += 1
                for f in ("incentive", "incentive_whatif", "dividends", "dividends_whatif", "emission",
                          "emission_whatif"):
                    a[f] += r[f]
        out = []
        for a in acc.values():
            for f in ("incentive", "incentive_whatif", "dividends", "dividends_whatif"):
                a[f] = round(a[f] / a["epochs"] / 65535, 6)
            a["change"] = a["emission_whatif"] - a["emission"]
            out.append(a)
        return sorted(out, key=lambda a: (a["uid"], a["hotkey"]))

    def totals(self) -> dict[str, int]:
        """Pots, owner cuts and what the neurons were paid in all (RAO), recorded and re-run."""
        t = {"epochs": len(self.epochs), "pot": 0, "owner_cut": 0, "owner_cut_whatif": 0, "emission": 0,
             "emission_whatif": 0, "moved": 0}
        for e in self.epochs:
            t["pot"] += e.recorded.pot
            t["owner_cut"] += e.recorded.owner_cut
            t["owner_cut_whatif"] += e.whatif.owner_cut
            t["emission"] += sum(e.recorded.vectors()["emission"])
            t["emission_whatif"] += sum(e.whatif.vectors()["emission"])
        t["moved"] = sum(max(n["change"], 0) for n in self.neurons())
        return t

    def movers(self, count: int = 5) -> list[dict[str, Any]]:
        """The ``count`` neurons whose emission changes most (largest absolute change first; none unchanged)."""
        moved = [n for n in self.neurons() if n["change"]]
        return sorted(moved, key=lambda n: (-abs(n["change"]), n["uid"]))[:count]

    def identical(self) -> bool:
        """True when every re-run epoch equals the recorded one exactly (outputs, bonds and payouts)."""
        return all(e.recorded == e.whatif for e in self.epochs)

    def as_dict(self, *, epochs: bool = True) -> dict[str, Any]:
        """A JSON-ready dict: the range, the changes, totals, movers, per neuron, and per epoch (unless told)."""
        d: dict[str, Any] = {"netuid": self.netuid, "from": self.start, "to": self.stop, "set": dict(self.changes),
                             "identical": self.identical(), "totals": self.totals(), "movers": self.movers(),
                             "neurons": self.neurons(), **self.notes}
        if epochs:
            d["epochs"] = [{"block": e.block, "pot": e.recorded.pot, "owner_cut": e.recorded.owner_cut,
                            "owner_cut_whatif": e.whatif.owner_cut, "uids": list(e.rows())} for e in self.epochs]
        return d


def recorded_epochs(store: FileStore, netuid: int, start: int, stop: int,
                    on_block: Callable[[SignedBlock, State], None] | None = None,
                    ) -> Iterator[tuple[State, EpochResult]]:
    """(the state after block N, the recorded result of the epoch computed on it) for every N in ``start .. stop``
    (lazily); ``on_block(block, state before it)`` sees every block folded on the way."""
    head = store.height
    for number in (start, stop):
        if number < 0 or number > head:
            raise BlockNotFound(number=number, head=head)
    prev = state_at(store, start)
    _check_subnet(store, netuid, prev, stop)
    return _fold_epochs(store, netuid, prev, start, stop, on_block)


def _fold_epochs(store: FileStore, netuid: int, prev: State, start: int, stop: int,
                 on_block: Callable[[SignedBlock, State], None] | None = None) -> Iterator[tuple[State, EpochResult]]:
    """:func:`recorded_epochs` from ``prev``, the state after block ``start``."""
    for block, state in fold(store, start=prev, stop=min(stop + 1, store.height), verify_signatures=False,
                             check_headers=False):
        for ext in block.extrinsics:
            c = ext.call
            if isinstance(c, EpochResult) and c.netuid == netuid and start <= c.block <= stop:
                yield prev, c
        if on_block is not None:  # after the epochs it answers: what the block's own calls set counts from there
            on_block(block, prev)
        prev = state


def _check_subnet(store: FileStore, netuid: int, first: State, stop: int) -> None:
    """:class:`SubnetNotFound` unless ``netuid`` is in the state ``first`` or the state after ``stop``."""
    if first.subnet(netuid) is None and all(sn.netuid != netuid for sn in state_at(store, stop).subnets()):
        raise SubnetNotFound(netuid=netuid, block=first.height, last=stop)


def what_if(store: FileStore, netuid: int, changes: Mapping[str, int | bool] | None = None, *, start: int = 0,
            stop: int | None = None, weights: Weights | None = None,
            progress: Callable[[int, int], None] | None = None, workers: int = 1,
            cache: EpochCache | None = None, index: bool = True) -> WhatIf:
    """Re-run the epochs of ``netuid`` computed in ``start .. stop`` with hyperparameters ``changes`` (and the
    weights ``weights`` gives, when given), bonds carried from one re-run epoch to the next from ``start`` on;
    ``progress(blocks folded, blocks in all)`` is called as the log is read. Without ``weights`` (which must see
    every block, in one pass) the epochs' inputs come from :func:`epoch_states` (the node's epoch index unless
    ``index`` is False, ``workers``, ``cache``)."""
    changes = dict(changes or {})
    last = store.height if stop is None else stop
    if weights is None:
        epochs = epoch_states(store, netuid, start, last, workers=workers, cache=cache, progress=progress,
                              index=index)
    else:
        observe = weights.observe if hasattr(weights, "observe") else None
        epochs = recorded_epochs(store, netuid, start, last, _seen(observe, progress, start, last, store.height))
    pairs = rerun_epochs(epochs, netuid, changes, weights)
    return WhatIf(netuid=netuid, start=start, stop=last, changes=changes, epochs=tuple(pairs))


def _seen(observe: Callable[[SignedBlock, State], None] | None, progress: Callable[[int, int], None] | None,
          start: int, stop: int, head: int) -> Callable[[SignedBlock, State], None] | None:
    """The ``on_block`` of :func:`recorded_epochs`: the observer, then the progress."""
    if progress is None:
        return observe
    total = min(stop + 1, head) - start

    def seen(block: SignedBlock, before: State) -> None:
        if observe is not None:
            observe(block, before)
        progress(block.number - start, total)

    return seen


def epoch_states(store: FileStore, netuid: int, start: int, stop: int, *, workers: int = 1,
                 cache: EpochCache | None = None, progress: Callable[[int, int], None] | None = None,
                 index: bool = True) -> list[tuple[State, EpochResult]]:
    """(the state an epoch read — whole, or the part of it the epoch reads —, its recorded result) for every epoch of
    ``netuid`` computed in ``start .. stop``: from the node's epoch index when ``index`` and it covers the range
    (:func:`index_plan`), else from ``cache`` when it holds the range, else the index's epochs with only its gaps read
    from the log, else all read from the log (in ``workers`` processes when > 1 and the range, or a gap, holds a
    snapshot to cut it at); what was read from the log is kept in ``cache``."""
    if (index or cache is not None) and (start < 0 or stop > store.height):
        raise BlockNotFound(number=start if start < 0 else stop, head=store.height)
    plan = index_plan(store, netuid, start, stop) if index else None
    if plan is not None and not plan.gaps:
        return plan.epochs
    key = None
    if cache is not None:
        key = cache.key(store, netuid, start, stop)
        kept = cache.load(key)
        if kept:  # none kept (or none in the range): read the log, which says why
            return kept
    if plan is not None:
        epochs = _with_gaps(store, netuid, plan, workers)
        if cache is not None and key is not None:
            cache.save(key, [(pack_epoch_inputs(state, netuid), c) for state, c in epochs])
        return epochs
    if workers > 1:
        from ._whatif_workers import parallel_epochs

        shipped = parallel_epochs(store, netuid, start, stop, workers, snapshots=cache is not None)
        if shipped == []:  # no epoch in the range: say so as the one pass does when there is no such subnet
            _check_subnet(store, netuid, state_at(store, start), stop)
        if shipped is not None:
            if cache is not None and key is not None and shipped:
                cache.save(key, [(raw, c) for _, c, raw in shipped if raw is not None])
            return [(state, c) for state, c, _ in shipped]
    folded = list(recorded_epochs(store, netuid, start, stop, _seen(None, progress, start, stop, store.height)))
    if cache is not None and key is not None and folded:
        cache.save(key, [(pack_epoch_inputs(state, netuid), c) for state, c in folded])
    return folded


def _with_gaps(store: FileStore, netuid: int, plan: IndexPlan, workers: int) -> list[tuple[State, EpochResult]]:
    """The index's epochs and those of its gaps, read from the log (a long gap in ``workers`` processes), in order."""
    from ._whatif_workers import PARALLEL_FROM, parallel_epochs

    out = list(plan.epochs)
    for a, b in plan.gaps:
        shipped = parallel_epochs(store, netuid, a, b, workers) if workers > 1 and b - a >= PARALLEL_FROM else None
        if shipped is not None:
            out.extend((state, c) for state, c, _ in shipped)
        else:
            out.extend(_fold_epochs(store, netuid, state_at(store, a), a, b))
    return sorted(out, key=lambda e: e[1].block)


def rerun_epochs(epochs: Iterable[tuple[State, EpochResult]], netuid: int, changes: Mapping[str, int | bool],
                 weights: Weights | None = None) -> list[EpochPair]:
    """Each (recorded state, recorded result) re-run in order with ``changes`` (and ``weights``), bonds carried."""
    carried: dict[int, tuple[tuple[bytes, int], bytes, bytes]] = {}  # uid -> ((hotkey, registered_at), bonds)
    pairs = []
    for state, recorded in epochs:
        sn = state.subnet(netuid)
        assert sn is not None
        fork = state.fork()
        if changes:
            fork.put("subnet", netuid, attrs.evolve(sn, hyper=attrs.evolve(sn.hyper, **changes)))
        other = weights(state, netuid) if weights is not None else {}
        neurons = state.neurons(netuid)
        for n in neurons:
            edit: dict[str, Any] = {}
            held = carried.get(n.uid)
            if held is not None and held[0] == (n.hotkey, n.registered_at) and (held[1], held[2]) != (n.bond_uids,
                                                                                                      n.bond_values):
                edit.update(bond_uids=held[1], bond_values=held[2])
            if n.uid in other:
                edit.update(weight_uids=other[n.uid][0], weight_values=other[n.uid][1])
            if edit:
                fork.put_neuron(netuid, attrs.evolve(n, **edit))
        result = epoch_result(fork, netuid)
        v = result.vectors()
        rows, ptr = {u: k for k, u in enumerate(v["bond_rows"])}, v["bond_ptr"]
        for n in fork.neurons(netuid):
            if n.uid in rows:
                k = rows[n.uid]
                bonds = (result.bond_uids[2 * ptr[k]:2 * ptr[k + 1]], result.bond_values[2 * ptr[k]:2 * ptr[k + 1]])
            else:
                bonds = (n.bond_uids, n.bond_values)
            carried[n.uid] = ((n.hotkey, n.registered_at), *bonds)
        pairs.append(EpochPair(block=recorded.block, hotkeys=tuple(n.hotkey for n in neurons), recorded=recorded,
                               whatif=result))
    return pairs
