"""The read methods of a chain host's RPC: chain reads, the state and metagraph at any block, and waiting for blocks.

Reads at a past block get their state through :meth:`ChainHost.past_state` (folded in worker threads, never on the
event loop that seals). ``wait_block`` is a short wait (at most ``rpc_wait_max`` seconds); clients wait on the
block feed instead. Keys may be passed as 32 raw bytes or SS58 strings. Ledger messages travel as their canonical
encodings (blocks, extrinsics, events) so the client rebuilds them with the codec. Numeric per-UID vectors travel
packed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import numpy as np

from taonet.ledger import Extrinsic, State, current_burn, encode, ss58_decode, subnet_lock_cost
from taonet.ledger.errors import InvalidAddress, SubnetNotFound

from ..errors import BlockNotFound, RpcBadRequest
from ._chain_host import ChainHost

__all__ = ["extrinsic_param", "int_param", "key_param", "metagraph_payload", "read_handlers"]

MAX_RANGE = 1000
"""Blocks (or blocks' events) one ``blocks`` or ``events`` call reads at most."""
BLOCKS_REPLY_BYTES = 64 << 20
"""Bytes of encoded blocks one ``blocks`` reply holds at most (always one block, however large): a block may hold
64 MiB of extrinsics, and a client takes at most 256 MiB in one reply; a reader asks again from where it stopped."""


def key_param(p: dict[str, Any], name: str, method: str) -> bytes:
    """Parameter ``name`` of ``p`` as a 32-byte key (given as bytes or SS58), else :class:`RpcBadRequest`."""
    v = p.get(name)
    if type(v) is bytes and len(v) == 32:
        return v
    if type(v) is str:
        try:
            return ss58_decode(v)
        except InvalidAddress as e:
            raise RpcBadRequest(method=method, reason=f"{name}: {e}") from None
    raise RpcBadRequest(method=method, reason=f"{name} must be a 32-byte key or an SS58 address")


def int_param(p: dict[str, Any], name: str, method: str, default: Any = ..., lo: int = 0) -> Any:
    """Parameter ``name`` of ``p`` as an int >= ``lo`` (``default`` if absent; None if that is None), else
    :class:`RpcBadRequest`."""
    v = p.get(name, default)
    if v is ...:
        raise RpcBadRequest(method=method, reason=f"missing {name}")
    if v is None and default is None:
        return None
    if type(v) is not int or v < lo:
        raise RpcBadRequest(method=method, reason=f"{name} must be an integer >= {lo}")
    return v


def _require_subnet(state: State, netuid: int, number: int | None) -> None:
    """:class:`SubnetNotFound` unless ``netuid`` exists in ``state``; it names the block asked about (None: the
    head)."""
    if state.subnet(netuid) is None:
        raise SubnetNotFound(netuid=netuid, block=number)


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


def read_handlers(node: ChainHost) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    """The read methods every chain host serves (a sequencer adds submissions and the actors' channel)."""

    def head() -> State:
        assert node.state is not None
        return node.state

    async def info(_p: dict[str, Any]) -> dict[str, Any]:
        s = head()
        return {"chain_id": s.params.chain_id, "genesis_hash": node.genesis_hash, "head": s.height,
                "feed": node.addresses.get("feed"), "block_time": node.config.block_time,
                "clock": node.config.clock, "authority": s.params.authority,
                "role": "leader" if node.role == "node" else node.role, "actors": node.addresses.get("actors"),
                "local_actors": list(getattr(node.config, "local_actors", ())),
                "existential_deposit": getattr(s.params, "existential_deposit", 0),
                "extrinsic_fee": s.params.extrinsic_fee, "block_emission": s.params.block_emission,
                "max_take": s.params.max_take, "instance": node.instance, "started_at": node.started_at}

    async def head_(_p: dict[str, Any]) -> dict[str, Any]:
        assert node.store is not None
        return {"number": head().height, "hash": node.store.head_hash, "digest": head().digest()}

    async def wait_block(p: dict[str, Any]) -> int:
        after = int_param(p, "after", "wait_block")
        wait = p.get("wait", node.config.rpc_wait_max)
        if type(wait) not in (int, float) or wait < 0:
            raise RpcBadRequest(method="wait_block", reason="wait must be a number of seconds >= 0")
        return await node.wait_past(after, float(wait))

    async def block(p: dict[str, Any]) -> bytes:
        n = int_param(p, "number", "block")
        assert node.store is not None
        if n > head().height:
            raise BlockNotFound(number=n, head=head().height)
        store = node.store
        return await node.off_loop(lambda: store.get_raw(n))

    async def blocks(p: dict[str, Any]) -> list[bytes]:
        start = int_param(p, "start", "blocks")
        stop = min(int_param(p, "stop", "blocks"), start + MAX_RANGE, head().height + 1)
        assert node.store is not None
        store = node.store

        def read() -> list[bytes]:
            out, size = [], 0
            for n in range(start, stop):
                raw = store.get_raw(n)
                size += len(raw)
                if out and size > BLOCKS_REPLY_BYTES:
                    break
                out.append(raw)
            return out

        return await node.off_loop(read)

    async def events(p: dict[str, Any]) -> list[list[Any]]:
        start = int_param(p, "start", "events")
        stop = min(int_param(p, "stop", "events"), start + MAX_RANGE, head().height + 1)
        tags = set(p.get("types") or [])
        netuid = p.get("netuid")
        account = key_param(p, "account", "events") if p.get("account") is not None else None
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

        return await node.off_loop(collect)

    async def account(p: dict[str, Any]) -> dict[str, int]:
        s = await node.past_state(int_param(p, "block", "account", default=None))
        a = s.account(key_param(p, "address", "account"))
        return {"free": a.free, "nonce": a.nonce}

    async def stake(p: dict[str, Any]) -> int:
        s = await node.past_state(int_param(p, "block", "stake", default=None))
        return s.stake(key_param(p, "coldkey", "stake"), key_param(p, "hotkey", "stake"))

    async def stakes(p: dict[str, Any]) -> list[list[Any]]:
        s = head()
        cold = key_param(p, "coldkey", "stakes")
        return [[hot, amount] for (c, hot), amount in sorted(s.items("stake")) if c == cold]

    async def hotkey(p: dict[str, Any]) -> dict[str, Any]:
        s = head()
        hk = key_param(p, "hotkey", "hotkey")
        owner = s.owner_of(hk)
        return {"owner": owner, "stake": s.hotkey_stake(hk), "take": s.take_of(hk),
                "netuids": [sn.netuid for sn in s.subnets() if s.uid_of(sn.netuid, hk) is not None]}

    async def delegates(_p: dict[str, Any]) -> list[dict[str, Any]]:
        s = head()
        return [{"hotkey": hk, "owner": s.owner_of(hk), "take": take, "stake": s.hotkey_stake(hk),
                 "nominators": len(s.stakers(hk))} for hk, take in sorted(s.items("deleg"))]

    async def lock_cost(_p: dict[str, Any]) -> int:
        s = head()
        return subnet_lock_cost(s, s.height + 1)

    async def subnets(_p: dict[str, Any]) -> list[dict[str, Any]]:
        s = head()
        return [_subnet_info(s, sn.netuid) for sn in s.subnets()]

    async def subnet(p: dict[str, Any]) -> dict[str, Any]:
        netuid, number = int_param(p, "netuid", "subnet"), int_param(p, "block", "subnet", default=None)
        s = await node.past_state(number)
        _require_subnet(s, netuid, number)
        return _subnet_info(s, netuid)

    async def subnet_identity(p: dict[str, Any]) -> dict[str, Any] | None:
        netuid = int_param(p, "netuid", "subnet_identity")
        number = int_param(p, "block", "subnet_identity", default=None)
        s = await node.past_state(number)
        _require_subnet(s, netuid, number)
        ident = s.identity(netuid)
        return None if ident is None else {"plugin": ident.plugin, "description": ident.description,
                                           "url": ident.url, "block": ident.block}

    async def neuron(p: dict[str, Any]) -> dict[str, Any] | None:
        netuid = int_param(p, "netuid", "neuron")
        s = await node.past_state(int_param(p, "block", "neuron", default=None))
        uid = p.get("uid")
        if uid is None:
            uid = s.uid_of(netuid, key_param(p, "hotkey", "neuron"))
            if uid is None:
                return None
        return _neuron_info(s, netuid, int_param({"uid": uid}, "uid", "neuron"))

    async def commitment(p: dict[str, Any]) -> dict[str, Any] | None:
        netuid, number = int_param(p, "netuid", "commitment"), int_param(p, "block", "commitment", default=None)
        s = await node.past_state(number)
        _require_subnet(s, netuid, number)
        if p.get("uid") is not None:
            n = s.neuron(netuid, int_param(p, "uid", "commitment"))
            if n is None:
                return None
            hotkey = n.hotkey
        else:
            hotkey = key_param(p, "hotkey", "commitment")
        c = s.commitment(netuid, hotkey)
        return None if c is None else {"hotkey": hotkey, "block": c.block, "data": c.data}

    async def weight_commits(p: dict[str, Any]) -> list[dict[str, Any]]:
        netuid, number = int_param(p, "netuid", "weight_commits"), int_param(p, "block", "weight_commits", default=None)
        s = await node.past_state(number)
        _require_subnet(s, netuid, number)
        only = None if p.get("hotkey") is None else key_param(p, "hotkey", "weight_commits")
        return [{"hotkey": hk, "commit_hash": c.commit_hash, "block": c.block, "reveal_from": c.reveal_from,
                 "reveal_until": c.reveal_until}
                for hk, commits in sorted(s.weight_commits_of(netuid).items()) if only in (None, hk)
                for c in commits]

    payloads: OrderedDict[tuple[int, int, bool], dict[str, Any]] = OrderedDict()  # states never change

    async def metagraph(p: dict[str, Any]) -> dict[str, Any]:
        netuid = int_param(p, "netuid", "metagraph")
        number = int_param(p, "block", "metagraph", default=None)
        weights = bool(p.get("weights"))
        state = await node.past_state(number)
        _require_subnet(state, netuid, number)
        key = (netuid, state.height, weights)
        out = payloads.get(key)
        if out is None:  # a full subnet takes milliseconds: in a worker thread, never on the sealing loop
            out = await node.off_loop(lambda: metagraph_payload(state, netuid, weights=weights))
            payloads[key] = out
            while len(payloads) > 16:
                payloads.popitem(last=False)
        return out

    return {
        "info": info, "head": head_, "wait_block": wait_block, "block": block, "blocks": blocks, "events": events,
        "account": account, "stake": stake, "stakes": stakes, "hotkey": hotkey, "delegates": delegates,
        "subnets": subnets, "subnet": subnet, "lock_cost": lock_cost,
        "commitment": commitment, "neuron": neuron, "metagraph": metagraph, "subnet_identity": subnet_identity,
        "weight_commits": weight_commits,
    }


def vars_of(event: Any) -> list[Any]:
    """The field values of an event (for filtering by account)."""
    return [getattr(event, f.name) for f in attrs.fields(type(event))]


def extrinsic_param(raw: Any, method: str) -> Extrinsic:
    """``raw`` decoded as an :class:`Extrinsic` (it must be bytes, else :class:`RpcBadRequest`)."""
    if type(raw) is not bytes:
        raise RpcBadRequest(method=method, reason="extrinsic must be its encoded bytes")
    return Extrinsic.from_bytes(raw)
