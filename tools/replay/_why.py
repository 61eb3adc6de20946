"""``replay why``: one neuron's story from the log — how and when it registered and at what price, immune through when,
the weights it received per epoch and from whom, what it earned, and, if it lost its slot, who replaced it and why.

The blocks are read, not re-executed (a weight vector is taken from its ``SetWeights`` or ``RevealWeights`` call, an
epoch's outputs from its ``EpochResult``), and of each block only the calls and events of the subnet that the story
uses are decoded (:func:`subnet_items`), so a long range stays cheap; the state is folded only at the start and
before a pruning (forward from the previous pruning when that is closer than a snapshot), where the registrar's rule
is re-run (:func:`taonet.ledger.registrar_answer`) and every candidate's standing is shown.

Immunity: a neuron registered in block R is immune while ``block - R < period`` (the period in force where the rule
runs), so it is immune through block ``R + period - 1``; ``immune_until`` is ``R + period``, the first block it is not.
"""

from __future__ import annotations

from typing import Any

import attrs

from taonet.kernel.errors import BlockNotFound
from taonet.ledger import (
    EpochResult,
    FileStore,
    HyperparameterSet,
    NeuronRegistered,
    NeuronReplaced,
    RegistrationRequested,
    RevealWeights,
    SetWeights,
    State,
    SubnetCreated,
    registrar_answer,
    ss58_encode,
)
from taonet.ledger.errors import SubnetNotFound, UnknownHotkey

from .._pool import worker_pool
from .._words import counted
from ._log import StateCursor, state_at
from ._scan import subnet_items

__all__ = ["NeuronNotFound", "Tenure", "neuron_story", "pruning_of"]

_CALLS = (SetWeights, RevealWeights, EpochResult)
_EVENTS = (SubnetCreated, RegistrationRequested, NeuronRegistered, NeuronReplaced, HyperparameterSet)


@attrs.define(auto_exc=True, str=False, slots=False)
class NeuronNotFound(UnknownHotkey):
    """Raised when no neuron matching the question held a UID on the subnet in the range (exit 6)."""

    CODE = "replay_neuron_not_found"
    netuid: int = 0
    start: int = 0
    stop: int = 0
    data_dir: str = "DIR"
    """The data directory as the user gave it, quoted for a shell (the command sets it; ``DIR`` when not)."""

    def __str__(self) -> str:
        what = (f"no hotkey held {self.hotkey}" if self.hotkey.startswith("UID ") else
                f"{self.hotkey} held no UID")
        return (f"{what} on subnet {self.netuid} in blocks {self.start}..{self.stop}: `taonet replay {self.data_dir} "
                f"events --netuid {self.netuid} --type NeuronRegistered` lists who registered")


@attrs.define(kw_only=True)
class Tenure:
    """One hotkey's time at one UID: its registration, its epochs, and how it ended (if it did)."""

    netuid: int
    uid: int
    hotkey: bytes
    coldkey: bytes
    registered_at: int
    method: str | None = None  # "burn", "pow" or "owner" (None when the request is outside what was read)
    paid: int | None = None
    requested_at: int | None = None
    immune_until: int = 0
    """The first block it is not immune in: ``registered_at`` + the immunity period its pruning used, or, when it was
    not pruned, the period in force at the story's last block."""
    immunity_period: int = 0
    """The immunity period behind ``immune_until``."""
    immunity_changes: list[dict[str, int]] = attrs.Factory(list)
    """Changes of the subnet's immunity period while it held the UID (up to its pruning's state, or the story's last
    block): ``{"block", "from", "to"}``."""
    epochs: list[dict[str, Any]] = attrs.Factory(list)
    replaced_at: int | None = None
    replaced_by: bytes | None = None
    pruning: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (keys as SS58, amounts in RAO, outputs as u16 and as ratios)."""
        return {"netuid": self.netuid, "uid": self.uid, "hotkey": ss58_encode(self.hotkey),
                "coldkey": ss58_encode(self.coldkey), "registered_at": self.registered_at, "method": self.method,
                "paid": self.paid, "requested_at": self.requested_at, "immune_until": self.immune_until,
                "immune_through": self.immune_until - 1, "immunity_period": self.immunity_period,
                "immunity_changes": self.immunity_changes, "epochs": self.epochs, "replaced_at": self.replaced_at,
                "replaced_by": None if self.replaced_by is None else ss58_encode(self.replaced_by),
                "pruning": self.pruning}


def pruning_of(state: State, netuid: int, uid: int) -> dict[str, Any]:
    """Why the registrar's answer to the block ``state`` ends with gave ``uid`` to a newcomer: every candidate with
    its standing (emission at the last epoch, registration block, immune or not), in the rule's order, and what it
    would have taken to keep the UID (``margin``: the emission to beat, or None when nothing but immunity would have
    saved it)."""
    sn = state.subnet(netuid)
    assert sn is not None
    block = state.height + 1
    answer = [a for a in registrar_answer(state).assignments if a.netuid == netuid]
    mine = next((k for k, a in enumerate(answer) if a.uid == uid), None)
    earlier = {a.uid for a in answer[:mine]} if mine is not None else set()
    immunity = sn.hyper.immunity_period
    rows = []
    for n in state.neurons(netuid):
        if n.hotkey == sn.owner_hotkey or n.uid in earlier:
            continue
        immune = block - n.registered_at < immunity
        rows.append({"uid": n.uid, "hotkey": ss58_encode(n.hotkey), "emission": n.emission,
                     "registered_at": n.registered_at, "immune": immune,
                     "immune_until": n.registered_at + immunity, "immune_through": n.registered_at + immunity - 1})
    rows.sort(key=lambda r: (r["immune"], r["emission"], r["registered_at"], r["uid"]))
    chosen = next((r for r in rows if r["uid"] == uid), None)
    pool = [r for r in rows if r["immune"] == (chosen or {}).get("immune", False)]
    rival = next((r for r in pool if r is not chosen), None)  # the next in the rule's order: it had to beat that one
    margin = None if chosen is None or rival is None else {
        "uid": rival["uid"], "hotkey": rival["hotkey"], "emission": rival["emission"],
        "gap": rival["emission"] - chosen["emission"]}
    reason = _reason(chosen, pool, len(rows), margin)
    newcomer = None if mine is None else ss58_encode(answer[mine].hotkey)
    return {"block": block, "immunity_period": immunity, "chosen": uid, "registrar_agrees": mine is not None,
            "newcomer": newcomer, "reason": reason, "margin": margin, "candidates": rows}


def _reason(chosen: dict[str, Any] | None, pool: list[dict[str, Any]], count: int,
            margin: dict[str, Any] | None) -> str:
    if chosen is None:
        return "the UID was not a candidate (the owner's, or assigned earlier in the same answer)"
    if count == 1:
        still = " and still immune" if chosen["immune"] else ""
        return (f"it was the only candidate (the owner's UID is never pruned){still}: nothing would have saved it, "
                "whatever its emission or stake")
    if len(pool) == 1 and not chosen["immune"]:  # past immunity, and the only one: the rule looks no further
        return (f"it was the only one of the {count} candidates past its immunity period, so it was pruned whatever "
                "its emission: only immunity would have saved it (stake does not count)")
    where = ("every candidate was still immune, so the rule ran over the immune ones" if chosen["immune"] else
             f"all {counted(count, 'candidate')} were past their immunity period" if len(pool) == count else
             f"{len(pool)} of the {counted(count, 'candidate')} were past their immunity period")
    tied = [r for r in pool if r["emission"] == chosen["emission"] and r["uid"] != chosen["uid"]]
    text = f"{where}; UID {chosen['uid']} had the lowest emission at the last epoch ({chosen['emission']:,} RAO)"
    if tied:
        older = [r for r in tied if r["registered_at"] == chosen["registered_at"]]
        text += (f", tied with UID{'s' if len(tied) > 1 else ''} {', '.join(str(r['uid']) for r in tied)}: "
                 + ("it has the lowest UID among those registered in the same block" if older else
                    f"it registered earliest (block {chosen['registered_at']})"))
    if margin is not None:
        next_ = "the next lowest" if chosen["immune"] else "the next lowest past immunity"
        short = (f": it had {margin['gap']:,} RAO less" if margin["gap"] > 0 else
                 ": it had as much, and lost the tie" if margin["gap"] == 0 else "")
        text += (f"; to keep its UID it needed more than {margin['emission']:,} RAO (UID {margin['uid']}'s emission, "
                 f"{next_}){short}")
    return text


def neuron_story(store: FileStore, netuid: int, *, uid: int | None = None, hotkey: bytes | None = None,
                 start: int = 0, stop: int | None = None, workers: int = 1) -> list[Tenure]:
    """Every tenure in blocks ``start .. stop`` of the neuron at ``uid`` (each hotkey that held it) or of ``hotkey``
    (each UID it held) on ``netuid``, in order. With ``workers`` > 1 and several prunings to explain, the states
    before them are folded in that many processes."""
    head = store.height
    last = head if stop is None else stop
    for number in (start, last):
        if number < 0 or number > head:
            raise BlockNotFound(number=number, head=head)
    state = state_at(store, start)
    sn = state.subnet(netuid)
    wanted = (lambda u, h: u == uid) if uid is not None else (lambda u, h: h == hotkey)
    holders: dict[int, tuple[bytes, bytes, int]] = {}  # uid -> (hotkey, coldkey, registered_at)
    weights: dict[bytes, tuple[int, dict[int, int], int]] = {}  # validator hotkey -> (block, {uid: w}, sum)
    open_: dict[int, Tenure] = {}
    done: list[Tenure] = []
    requests: dict[bytes, tuple[int, str, int]] = {}
    immunity = sn.hyper.immunity_period if sn is not None else None
    timeline: list[tuple[int, int]] = []  # (block, the immunity period in force from that block on), ascending
    if sn is not None:
        for n in state.neurons(netuid):
            holders[n.uid] = (n.hotkey, n.coldkey, n.registered_at)
            u, w = n.weights()
            if len(u):
                weights[n.hotkey] = (n.weights_block, dict(zip(u.tolist(), w.tolist(), strict=True)), int(w.sum()))
            if wanted(n.uid, n.hotkey):
                open_[n.uid] = Tenure(netuid=netuid, uid=n.uid, hotkey=n.hotkey, coldkey=n.coldkey,
                                      registered_at=n.registered_at,
                                      method="owner" if n.hotkey == sn.owner_hotkey else None)
        timeline = _timeline_before(store, netuid, start, immunity or 0,
                                    min((t.registered_at for t in open_.values()), default=start))
    for t in open_.values():  # how it registered: the request is answered in the next block
        if t.registered_at >= 1:
            for block in store.read(t.registered_at - 1, t.registered_at):
                for r in block.events:
                    e = r.event
                    if isinstance(e, RegistrationRequested) and e.netuid == netuid and e.hotkey == t.hotkey:
                        t.method, t.paid, t.requested_at = e.method, e.paid, block.number
    seen_subnet = sn is not None
    prunings: list[tuple[int, Tenure]] = []  # (block, the tenure it ended), explained once the blocks are read
    items = subnet_items(store, start + 1, last + 1, netuid, _CALLS, _EVENTS) if start < last else ()
    for number, extrinsics, records in items:
        for ext in extrinsics:
            c = ext.call
            if isinstance(c, SetWeights):
                weights[ext.signer] = (number, dict(zip(c.uids, c.weights, strict=True)), sum(c.weights))
            elif isinstance(c, RevealWeights):  # a reveal in a block sets the weights as SetWeights does
                weights[ext.signer] = (number, dict(zip(c.uids, c.values, strict=True)), sum(c.values))
            elif isinstance(c, EpochResult) and open_:
                _epoch(c, open_, holders, weights)
        for r in records:
            e = r.event
            if isinstance(e, SubnetCreated):  # the owner's hotkey takes UID 0, immune for good
                seen_subnet = True
                holders[0] = (e.hotkey, e.owner, number)
                if immunity is None:
                    now = state_at(store, number).subnet(netuid)
                    immunity = now.hyper.immunity_period if now is not None else 0
                    timeline.append((number, immunity))
                if wanted(0, e.hotkey):
                    open_[0] = Tenure(netuid=netuid, uid=0, hotkey=e.hotkey, coldkey=e.owner,
                                      registered_at=number, method="owner", paid=e.lock)
            elif isinstance(e, RegistrationRequested):
                requests[e.hotkey] = (number, e.method, e.paid)
            elif isinstance(e, NeuronRegistered | NeuronReplaced):
                seen_subnet = True
                if isinstance(e, NeuronReplaced) and e.uid in open_:
                    t = open_.pop(e.uid)
                    t.replaced_at, t.replaced_by = number, e.hotkey
                    prunings.append((number, t))
                    done.append(t)
                holders[e.uid] = (e.hotkey, e.coldkey, number)
                if isinstance(e, NeuronReplaced):
                    weights.pop(e.old_hotkey, None)
                if wanted(e.uid, e.hotkey):
                    if immunity is None:
                        now = state_at(store, number).subnet(netuid)
                        immunity = now.hyper.immunity_period if now is not None else 0
                        timeline.append((number, immunity))
                    req = requests.get(e.hotkey)
                    open_[e.uid] = Tenure(netuid=netuid, uid=e.uid, hotkey=e.hotkey, coldkey=e.coldkey,
                                          registered_at=number, method=req[1] if req else None,
                                          paid=req[2] if req else None, requested_at=req[0] if req else None)
            elif isinstance(e, HyperparameterSet) and e.name == "immunity_period":
                immunity = e.value
                timeline.append((number, e.value))
    if not seen_subnet and state_at(store, last).subnet(netuid) is None:
        raise SubnetNotFound(netuid=netuid, block=start, last=last)
    _explain(store, netuid, prunings, workers)
    tenures = sorted([*done, *open_.values()], key=lambda t: (t.registered_at, t.uid))
    for t in tenures:
        _immunity(t, timeline, last)
    if not tenures:
        who = f"UID {uid}" if uid is not None else ss58_encode(hotkey or b"\0" * 32)
        raise NeuronNotFound(hotkey=who, netuid=netuid, start=start, stop=last)
    return tenures


def _timeline_before(store: FileStore, netuid: int, start: int, period: int, first: int) -> list[tuple[int, int]]:
    """The immunity periods in force from block ``first`` to ``start`` (``period`` at ``start``), as (block, period)
    from the first block on: the changes in between are read (cheap: one event type of one subnet), and when there
    are any, the period before them is the state's before the first."""
    changes = [(number, e.value) for number, _, records in
               subnet_items(store, first + 1, start + 1, netuid, (), (HyperparameterSet,))
               for e in (r.event for r in records) if isinstance(e, HyperparameterSet) and e.name == "immunity_period"]
    if not changes:
        return [(0, period)]
    before = state_at(store, changes[0][0] - 1).subnet(netuid)
    return [(0, before.hyper.immunity_period if before is not None else period), *changes]


def _period_at(timeline: list[tuple[int, int]], block: int) -> int:
    """The immunity period in force after ``block``."""
    period = timeline[0][1] if timeline else 0
    for number, value in timeline:
        if number > block:
            break
        period = value
    return period


def _immunity(t: Tenure, timeline: list[tuple[int, int]], last: int) -> None:
    """Set the tenure's immunity: the period its pruning used (the one in force at ``last`` when not pruned), and
    the period's changes while it held the UID."""
    t.immunity_period = t.pruning["immunity_period"] if t.pruning is not None else _period_at(timeline, last)
    t.immune_until = t.registered_at + t.immunity_period
    end = last if t.replaced_at is None else t.replaced_at - 1  # a pruning runs on the state before its block
    before = _period_at(timeline, t.registered_at)
    t.immunity_changes = []
    for number, value in timeline:
        if t.registered_at < number <= end and value != before:
            t.immunity_changes.append({"block": number, "from": before, "to": value})
            before = value


def _explain(store: FileStore, netuid: int, prunings: list[tuple[int, Tenure]], workers: int) -> None:
    """Each pruning's ``pruning_of`` the state before its block: in order, each state folded forward from the one
    before when closer than a snapshot; with several and ``workers`` > 1, in contiguous runs, one per process."""
    asks = [(number, t.uid) for number, t in prunings]
    jobs = min(workers, len(prunings))
    if jobs < 2:
        answers = _prunings(store, netuid, asks)
    else:
        from ._whatif_workers import worker_init

        runs = [asks[len(asks) * k // jobs:len(asks) * (k + 1) // jobs] for k in range(jobs)]
        with worker_pool(jobs, initializer=worker_init) as pool:
            futures = [pool.submit(_pruning_job, str(store.path), netuid, run) for run in runs]
            answers = [a for f in futures for a in f.result()]
    for (_, t), answer in zip(prunings, answers, strict=True):
        t.pruning = answer


def _prunings(store: FileStore, netuid: int, asks: list[tuple[int, int]]) -> list[dict[str, Any]]:
    cursor = StateCursor(store)
    return [pruning_of(cursor.at(number - 1), netuid, uid) for number, uid in asks]


def _pruning_job(chain: str, netuid: int, asks: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """A worker's run of prunings (block, UID), each explained from the state before its block."""
    with FileStore(chain, read_only=True) as store:
        return _prunings(store, netuid, asks)


def _epoch(c: EpochResult, open_: dict[int, Tenure], holders: dict[int, tuple[bytes, bytes, int]],
           weights: dict[bytes, tuple[int, dict[int, int], int]]) -> None:
    v = c.vectors()
    uid_of = {h[0]: u for u, h in holders.items()}
    for t in open_.values():
        if t.uid >= len(v["emission"]):
            continue
        received = []
        for vk, (set_at, row, total) in weights.items():
            w = row.get(t.uid, 0)
            vuid = uid_of.get(vk)
            if not w or vuid is None or not total:
                continue
            permit = bool(v["permits"][vuid]) if vuid < len(v["permits"]) else False
            received.append({"uid": vuid, "hotkey": ss58_encode(vk), "share": round(w / total, 6), "set_at": set_at,
                             "counted": permit and set_at > t.registered_at, "permit": permit})
        received.sort(key=lambda r: r["uid"])
        t.epochs.append({"block": c.block, "incentive": v["incentive"][t.uid], "dividends": v["dividends"][t.uid],
                         "emission": v["emission"][t.uid], "trust": v["trust"][t.uid], "rank": v["rank"][t.uid],
                         "weights": received})
