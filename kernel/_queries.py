"""The node's RPC methods: submissions, chain reads, the metagraph at any block, metrics, and the actors' channel.

Keys may be passed as 32 raw bytes or SS58 strings. Ledger messages travel as their canonical encodings (blocks,
extrinsics, events) so the client rebuilds them with the codec. Numeric per-UID vectors travel packed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import numpy as np

from taonet.ledger import Extrinsic
from taonet.ledger._codec import encode
from taonet.ledger._keys import ss58_decode
from taonet.ledger._runtime import current_burn
from taonet.ledger._state import State
from taonet.ledger.errors import InvalidAddress, SubnetNotFound, TaonetError, error_to_wire

from .errors import RpcBadRequest

if TYPE_CHECKING:
    from ._node import Node

__all__ = ["handlers", "metagraph_payload"]

MAX_RANGE = 1000


def _key(p: dict[str, Any], name: str, method: str) -> bytes:
    v = p.get(name)
    if type(v) is bytes and len(v) == 32:
        return v
    if type(v) is str:
        try:
            return ss58_decode(v)
        except InvalidAddress as e:
            raise RpcBadRequest(method=method, reason=f"{name}: {e}") from None
    raise RpcBadRequest(method=method, reason=f"{name} must be a 32-byte key or an SS58 address")


def _int(p: dict[str, Any], name: str, method: str, default: Any = ..., lo: int = 0) -> Any:
    v = p.get(name, default)
    if v is ...:
        raise RpcBadRequest(method=method, reason=f"missing {name}")
    if v is None and default is None:
        return None
    if type(v) is not int or v < lo:
        raise RpcBadRequest(method=method, reason=f"{name} must be an integer >= {lo}")
    return v


def _subnet_info(state: State, netuid: int) -> dict[str, Any]:
    sn = state.subnet(netuid)
    if sn is None:
        raise SubnetNotFound(netuid=netuid)
    return {
        "netuid": sn.netuid, "owner": sn.owner, "owner_hotkey": sn.owner_hotkey, "created_at": sn.created_at,
        "lock": sn.lock, "n": sn.n, "max_n": sn.hyper.max_allowed_uids, "pending_emission": sn.pending_emission,
        "burn": current_burn(sn, state.height + 1), "difficulty": sn.difficulty, "tempo": sn.hyper.tempo,
        "last_epoch": sn.last_epoch, "hyperparameters": sn.hyper.as_dict(),
    }


def _neuron_info(state: State, netuid: int, uid: int) -> dict[str, Any] | None:
    n = state.neuron(netuid, uid)
    if n is None:
        return None
    axon = None if n.axon is None else {"ip": n.axon.ip, "port": n.axon.port, "protocol": n.axon.protocol,
                                        "version": n.axon.version, "block": n.axon.block}
    return {
        "netuid": netuid, "uid": uid, "hotkey": n.hotkey, "coldkey": n.coldkey, "stake": state.hotkey_stake(n.hotkey),
        "registered_at": n.registered_at, "last_update": n.last_update, "axon": axon,
        "rank": n.rank, "trust": n.trust, "consensus": n.consensus, "incentive": n.incentive,
        "dividends": n.dividends, "vtrust": n.vtrust, "validator_permit": n.validator_permit, "emission": n.emission,
        "weights": [n.weights()[0].tolist(), n.weights()[1].tolist()],
        "bonds": [n.bonds()[0].tolist(), n.bonds()[1].tolist()],
    }


def _pack(values: list[int], dtype: str) -> bytes:
    return np.asarray(values, dtype=dtype).tobytes()


def metagraph_payload(state: State, netuid: int, *, weights: bool = False) -> dict[str, Any]:
    """Everything a Metagraph holds for ``netuid`` at ``state``'s block, with per-UID vectors packed."""
    info = _subnet_info(state, netuid)
    neurons = state.neurons(netuid)
    cutoff = info["hyperparameters"]["activity_cutoff"]
    block = state.height
    out: dict[str, Any] = {
        "netuid": netuid, "block": block, "n": len(neurons), "subnet": info,
        "hotkeys": b"".join(n.hotkey for n in neurons), "coldkeys": b"".join(n.coldkey for n in neurons),
        "stake": _pack([state.hotkey_stake(n.hotkey) for n in neurons], "<u8"),
        "rank": _pack([n.rank for n in neurons], "<u2"), "trust": _pack([n.trust for n in neurons], "<u2"),
        "consensus": _pack([n.consensus for n in neurons], "<u2"),
        "incentive": _pack([n.incentive for n in neurons], "<u2"),
        "dividends": _pack([n.dividends for n in neurons], "<u2"),
        "vtrust": _pack([n.vtrust for n in neurons], "<u2"),
        "emission": _pack([n.emission for n in neurons], "<u8"),
        "permit": _pack([n.validator_permit for n in neurons], "<u1"),
        "active": _pack([n.last_update + cutoff >= block for n in neurons], "<u1"),
        "last_update": _pack([n.last_update for n in neurons], "<u8"),
        "registered_at": _pack([n.registered_at for n in neurons], "<u8"),
        "axons": [None if n.axon is None else [n.axon.ip, n.axon.port, n.axon.protocol, n.axon.version]
                  for n in neurons],
    }
    if weights:
        for kind in ("weight", "bond"):
            ptr, size = [0], 0
            for n in neurons:
                size += len(getattr(n, f"{kind}_uids")) // 2
                ptr.append(size)
            out[f"{kind}s"] = [_pack(ptr, "<u4"), b"".join(getattr(n, f"{kind}_uids") for n in neurons),
                               b"".join(getattr(n, f"{kind}_values") for n in neurons)]
    return out


def handlers(node: Node) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    """The RPC method table of ``node``."""

    def head() -> State:
        assert node.state is not None
        return node.state

    async def info(_p: dict[str, Any]) -> dict[str, Any]:
        s = head()
        return {"chain_id": s.params.chain_id, "genesis_hash": node.genesis_hash, "head": s.height,
                "feed": node.addresses.get("feed"), "block_time": node.config.block_time,
                "clock": node.config.clock, "authority": s.params.authority, "role": "leader"}

    async def head_(_p: dict[str, Any]) -> dict[str, Any]:
        assert node.store is not None
        return {"number": head().height, "hash": node.store.head_hash, "digest": head().digest()}

    async def wait_block(p: dict[str, Any]) -> int:
        after = _int(p, "after", "wait_block")
        return await node.wait_past(after, min(float(p.get("wait", 30.0)), 120.0))

    async def block(p: dict[str, Any]) -> bytes:
        n = _int(p, "number", "block")
        assert node.store is not None
        if n > head().height:
            raise RpcBadRequest(method="block", reason=f"block {n} is beyond the head {head().height}")
        return await anyio.to_thread.run_sync(node.store.get_raw, n)

    async def blocks(p: dict[str, Any]) -> list[bytes]:
        start = _int(p, "start", "blocks")
        stop = min(_int(p, "stop", "blocks"), start + MAX_RANGE, head().height + 1)
        assert node.store is not None
        store = node.store
        return await anyio.to_thread.run_sync(lambda: [store.get_raw(n) for n in range(start, stop)])

    async def events(p: dict[str, Any]) -> list[list[Any]]:
        start = _int(p, "start", "events")
        stop = min(_int(p, "stop", "events"), start + MAX_RANGE, head().height + 1)
        tags = set(p.get("types") or [])
        netuid = p.get("netuid")
        account = _key(p, "account", "events") if p.get("account") is not None else None
        assert node.store is not None
        store = node.store

        def collect() -> list[list[Any]]:
            out = []
            for b in store.read(start, stop):
                for r in b.events:
                    e = r.event
                    if tags and e.TAG not in tags:
                        continue
                    if netuid is not None and getattr(e, "netuid", None) != netuid:
                        continue
                    if account is not None and account not in {v for v in vars_of(e) if type(v) is bytes}:
                        continue
                    out.append([b.number, r.phase, encode(e)])
            return out

        return await anyio.to_thread.run_sync(collect)

    async def submit(p: dict[str, Any]) -> dict[str, Any]:
        ext = _extrinsic(p.get("extrinsic"), "submit")
        node.mempool.admit(head(), node.genesis_hash, ext)
        return {"hash": ext.hash}

    async def submit_batch(p: dict[str, Any]) -> list[dict[str, Any]]:
        raws = p.get("extrinsics")
        if type(raws) is not list or len(raws) > 10_000:
            raise RpcBadRequest(method="submit_batch", reason="extrinsics must be a list of at most 10,000 encodings")
        out = []
        state = head()
        for raw in raws:
            try:
                ext = _extrinsic(raw, "submit_batch")
                node.mempool.admit(state, node.genesis_hash, ext)
                out.append({"hash": ext.hash})
            except TaonetError as e:
                out.append({"error": error_to_wire(e)})
        return out

    async def submit_wait(p: dict[str, Any]) -> dict[str, Any]:
        ext = _extrinsic(p.get("extrinsic"), "submit_wait")
        result = await node.submit_and_wait(ext, min(float(p.get("wait", 60.0)), 600.0))
        if "events" in result:
            result["events"] = [encode(e) for e in result["events"]]
        return result

    async def account(p: dict[str, Any]) -> dict[str, int]:
        s = node.state_at(p.get("block"))
        a = s.account(_key(p, "address", "account"))
        return {"free": a.free, "nonce": a.nonce}

    async def next_nonce(p: dict[str, Any]) -> int:
        who = _key(p, "address", "next_nonce")
        return head().account(who).nonce + node.mempool.waiting(who)

    async def stake(p: dict[str, Any]) -> int:
        s = node.state_at(p.get("block"))
        return s.stake(_key(p, "coldkey", "stake"), _key(p, "hotkey", "stake"))

    async def stakes(p: dict[str, Any]) -> list[list[Any]]:
        s = head()
        cold = _key(p, "coldkey", "stakes")
        return [[hot, amount] for (c, hot), amount in sorted(s.items("stake")) if c == cold]

    async def hotkey(p: dict[str, Any]) -> dict[str, Any]:
        s = head()
        hk = _key(p, "hotkey", "hotkey")
        owner = s.owner_of(hk)
        return {"owner": owner, "stake": s.hotkey_stake(hk), "take": s.take_of(hk),
                "netuids": [sn.netuid for sn in s.subnets() if s.uid_of(sn.netuid, hk) is not None]}

    async def delegates(_p: dict[str, Any]) -> list[dict[str, Any]]:
        s = head()
        return [{"hotkey": hk, "owner": s.owner_of(hk), "take": take, "stake": s.hotkey_stake(hk),
                 "nominators": len(s.stakers(hk))} for hk, take in sorted(s.items("deleg"))]

    async def subnets(_p: dict[str, Any]) -> list[dict[str, Any]]:
        s = head()
        return [_subnet_info(s, sn.netuid) for sn in s.subnets()]

    async def subnet(p: dict[str, Any]) -> dict[str, Any]:
        return _subnet_info(node.state_at(p.get("block")), _int(p, "netuid", "subnet"))

    async def neuron(p: dict[str, Any]) -> dict[str, Any] | None:
        s = node.state_at(p.get("block"))
        netuid = _int(p, "netuid", "neuron")
        uid = p.get("uid")
        if uid is None:
            uid = s.uid_of(netuid, _key(p, "hotkey", "neuron"))
            if uid is None:
                return None
        return _neuron_info(s, netuid, _int({"uid": uid}, "uid", "neuron"))

    async def metagraph(p: dict[str, Any]) -> dict[str, Any]:
        netuid = _int(p, "netuid", "metagraph")
        number = _int(p, "block", "metagraph", default=None)
        if number is None or number == head().height:
            return metagraph_payload(head(), netuid, weights=bool(p.get("weights")))
        state = await anyio.to_thread.run_sync(node.state_at, number)
        return metagraph_payload(state, netuid, weights=bool(p.get("weights")))

    async def metrics(_p: dict[str, Any]) -> dict[str, Any]:
        m = node.metrics
        seal = m["seal_ms"] or [0.0]
        ordered = sorted(seal)
        epoch = sorted(m["epoch_seal_ms"] or [0.0])
        lag = node.actor_lag()
        return {"head": head().height, "mempool": len(node.mempool), "blocks": m["blocks"],
                "included": m["included"], "rejected": m["rejected"],
                "seal_ms_p50": statistics.median(seal), "seal_ms_p99": ordered[min(len(ordered) - 1,
                                                                                     int(0.99 * len(ordered)))],
                "epoch_blocks": m["epoch_blocks"], "epoch_seal_ms_recent": m["epoch_seal_ms"][-200:],
                "epoch_seal_ms_p50": statistics.median(epoch),
                "epoch_seal_ms_p99": epoch[min(len(epoch) - 1, int(0.99 * len(epoch)))],
                "paused_s": m["paused_s"], "actor_lag": lag, "time": time.time(),
                "halted": None if node.halted is None else str(node.halted)}

    async def actor_answer(p: dict[str, Any]) -> None:
        calls = p.get("calls")
        if type(calls) is not list or any(type(c) is not bytes for c in calls):
            raise RpcBadRequest(method="actor_answer", reason="calls must be a list of encoded system calls")
        node.accept_answer(str(p.get("actor")), _int(p, "block", "actor_answer"), calls,
                           p.get("signer", b""), p.get("signature", b""))

    async def actor_post(p: dict[str, Any]) -> None:
        body = p.get("body")
        if type(body) is not dict:
            raise RpcBadRequest(method="actor_post", reason="body must be a map")
        node.accept_post(str(p.get("actor")), str(p.get("to")), _int(p, "block", "actor_post"), body,
                         p.get("signer", b""), p.get("signature", b""))

    async def actor_inbox(p: dict[str, Any]) -> dict[str, Any] | None:
        return await node.inbox(str(p.get("actor")), _int(p, "block", "actor_inbox"),
                                min(float(p.get("wait", 30.0)), 300.0))

    table = {
        "info": info, "head": head_, "wait_block": wait_block, "block": block, "blocks": blocks, "events": events,
        "submit": submit, "submit_batch": submit_batch, "submit_wait": submit_wait, "account": account,
        "next_nonce": next_nonce,
        "stake": stake, "stakes": stakes, "hotkey": hotkey, "delegates": delegates, "subnets": subnets,
        "subnet": subnet, "neuron": neuron, "metagraph": metagraph, "metrics": metrics,
        "actor_answer": actor_answer, "actor_post": actor_post, "actor_inbox": actor_inbox,
    }
    return table


def vars_of(event: Any) -> list[Any]:
    """The field values of an event (for filtering by account)."""
    return [getattr(event, f.name) for f in attrs.fields(type(event))]


def _extrinsic(raw: Any, method: str) -> Extrinsic:
    if type(raw) is not bytes:
        raise RpcBadRequest(method=method, reason="extrinsic must be its encoded bytes")
    return Extrinsic.from_bytes(raw)
