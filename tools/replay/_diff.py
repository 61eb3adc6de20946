"""``replay diff``: what changed between two blocks — balances, stake, registrations, weights, hyperparameters,
epoch outputs."""

from __future__ import annotations

from typing import Any

from taonet.ledger import EpochCompleted, FileStore, Neuron, State, ss58_encode
from taonet.ledger.errors import SubnetNotFound

from ._events import EventFilter, list_events
from ._log import state_at

__all__ = ["diff_blocks", "diff_states"]


def diff_blocks(store: FileStore, start: int, stop: int, *, netuid: int | None = None) -> dict[str, Any]:
    """What changed from the state after ``start`` to the state after ``stop`` (JSON-ready)."""
    before, after = state_at(store, start), state_at(store, stop)
    epochs = [r.event for r in list_events(store, min(start + 1, stop), stop, EventFilter.of(["epoch_completed"],
                                                                                             netuid=netuid))
              if start < r.block <= stop]
    out = diff_states(before, after, netuid=netuid)
    for sub in out["subnets"]:
        sub["epochs"] = [{"block": e.block, "pot": e.pot, "owner_cut": e.owner_cut} for e in epochs
                         if isinstance(e, EpochCompleted) and e.netuid == sub["netuid"]]
    return out


def diff_states(before: State, after: State, *, netuid: int | None = None) -> dict[str, Any]:
    """The differences between two states of one chain (``netuid`` limits the subnet part to one subnet)."""
    accounts = dict(before.items("acct"))
    accounts_after = dict(after.items("acct"))
    balances = []
    for key in sorted(set(accounts) | set(accounts_after)):
        a = accounts.get(key)
        b = accounts_after.get(key)
        fa, fb = (a.free if a else 0), (b.free if b else 0)
        if fa != fb:
            balances.append({"address": ss58_encode(key), "before": fa, "after": fb, "change": fb - fa})
    stakes, stakes_after = dict(before.items("stake")), dict(after.items("stake"))
    stake = []
    for c, h in sorted(set(stakes) | set(stakes_after)):
        sa, sb = stakes.get((c, h), 0), stakes_after.get((c, h), 0)
        if sa != sb:
            stake.append({"coldkey": ss58_encode(c), "hotkey": ss58_encode(h), "before": sa, "after": sb,
                          "change": sb - sa})
    netuids = sorted({s.netuid for s in before.subnets()} | {s.netuid for s in after.subnets()})
    if netuid is not None:
        if netuid not in netuids:
            raise SubnetNotFound(netuid=netuid, block=before.height, last=after.height)
        netuids = [netuid]
    return {"from": before.height, "to": after.height, "balances": balances, "stake": stake,
            "subnets": [_subnet_diff(before, after, n) for n in netuids]}


def _subnet_diff(before: State, after: State, netuid: int) -> dict[str, Any]:
    sa, sb = before.subnet(netuid), after.subnet(netuid)
    ha = sa.hyper.as_dict() if sa else {}
    hb = sb.hyper.as_dict() if sb else {}
    hyper = [{"name": k, "before": ha.get(k), "after": hb.get(k)} for k in sorted(set(ha) | set(hb))
             if ha.get(k) != hb.get(k)]
    na = {n.uid: n for n in before.neurons(netuid)} if sa else {}
    nb = {n.uid: n for n in after.neurons(netuid)} if sb else {}
    new, replaced, removed, weights, outputs = [], [], [], [], []
    for uid in sorted(set(na) | set(nb)):
        a, b = na.get(uid), nb.get(uid)
        if a is None and b is not None:
            new.append({"uid": uid, "hotkey": ss58_encode(b.hotkey), "registered_at": b.registered_at})
        elif b is None and a is not None:
            removed.append({"uid": uid, "hotkey": ss58_encode(a.hotkey)})
        elif a is not None and b is not None and (a.hotkey != b.hotkey or a.registered_at != b.registered_at):
            replaced.append({"uid": uid, "old_hotkey": ss58_encode(a.hotkey), "hotkey": ss58_encode(b.hotkey),
                             "registered_at": b.registered_at})
        if b is not None and (a is None or (a.weight_uids, a.weight_values) != (b.weight_uids, b.weight_values)):
            weights.append({"uid": uid, "hotkey": ss58_encode(b.hotkey), "before": _weights(a) if a and
                            a.hotkey == b.hotkey else {}, "after": _weights(b)})
        if a is not None and b is not None and _outputs(a) != _outputs(b):
            outputs.append({"uid": uid, "hotkey": ss58_encode(b.hotkey), "before": _outputs(a), "after": _outputs(b)})
    return {"netuid": netuid, "exists": [sa is not None, sb is not None], "hyperparameters": hyper,
            "registrations": {"new": new, "replaced": replaced, "removed": removed}, "weights": weights,
            "outputs": outputs}


def _weights(n: Neuron) -> dict[str, int]:
    uids, values = n.weights()
    return {str(int(u)): int(v) for u, v in zip(uids, values, strict=True)}


def _outputs(n: Neuron) -> dict[str, Any]:
    return {"incentive": n.incentive, "dividends": n.dividends, "emission": n.emission, "rank": n.rank,
            "trust": n.trust, "consensus": n.consensus, "vtrust": n.vtrust, "validator_permit": n.validator_permit}
