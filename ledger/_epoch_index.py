"""The epoch index: for each epoch a block records, the part of the state that epoch read, kept beside the log.

A block holding an :class:`~taonet.ledger.EpochResult` for subnet K answers the state after the block before it.
Whoever appends such a block (the node, a replica, the in-process :class:`~taonet.ledger.Chain`) may also store
``pack_epoch_inputs(state before the block, K)`` with :meth:`BlockStore.save_epoch_inputs`, bound to the block's
number and hash: a reader (``replay what-if``) then gets every epoch's inputs without folding the log. The index is
beside the log, never in it: the log's bytes and the state digest do not depend on it, and a reader uses a record
only when it is sound and bound to the log's block at its height (see :meth:`FileStore.read_epoch_inputs`).

The packed form is canonical (rows sorted), so the same state always packs to the same bytes: ``replay verify``
checks a record by packing the state it re-derives and comparing bytes.
"""

from __future__ import annotations

from ._block import SignedBlock
from ._calls import EpochResult
from ._codec import decode, dumps, encode, loads
from ._params import ChainParams, ChainStatus
from ._state import Neuron, State, Subnet, neuron_bytes_at, neuron_from_bytes
from ._store import BlockStore

__all__ = ["EPOCH_INPUTS_FORMAT", "epoch_inputs", "epoch_netuids", "index_epochs", "pack_epoch_inputs",
           "unpack_epoch_inputs"]

EPOCH_INPUTS_FORMAT = 2
"""The layout of :func:`pack_epoch_inputs` (also what-if's cache entries). 2: neurons in the state digest's fixed
layout (8x cheaper to write than their CBOR, so ``replay verify``'s comparison of every record costs ~4x less, and
2x cheaper to read back for what-if); 1 (CBOR neurons) was never part of a release."""


def _selection(state: State, netuid: int) -> tuple[Subnet, list[Neuron], list[list], list[list], list[list]]:
    """The subnet, its neurons by UID, and the stake, take and owner rows of their hotkeys (sorted)."""
    sn = state.subnet(netuid)
    if sn is None:
        raise KeyError(netuid)
    neurons = state.neurons(netuid)
    hotkeys = sorted({n.hotkey for n in neurons})
    # looked up in bulk (``State.rows``: None where absent), as state.stakers, stake, take_of and owner_of read them
    pairs = [(cold, hot) for hot, colds in zip(hotkeys, state.rows("stakers", hotkeys), strict=True) if colds
             for cold in colds]
    stakes = sorted([cold, hot, rao] for (cold, hot), rao in zip(pairs, state.rows("stake", pairs), strict=True)
                    if rao)
    takes = [[hot, take] for hot, take in zip(hotkeys, state.rows("deleg", hotkeys), strict=True) if take is not None]
    owners = [[hot, cold] for hot, cold in zip(hotkeys, state.rows("owner", hotkeys), strict=True) if cold is not None]
    return sn, neurons, stakes, takes, owners


def epoch_inputs(state: State, netuid: int) -> State:
    """The part of ``state`` the epoch of ``netuid`` and its payouts read (chain parameters and status, the subnet,
    its neurons, and the stake, take and owner of their hotkeys), as a state of its own (KeyError: no such subnet)."""
    sn, neurons, stakes, takes, owners = _selection(state, netuid)
    out = State()
    for key in ("params", "status"):
        out.put("chain", key, state.get("chain", key))
    out.put("subnet", netuid, sn)
    for n in neurons:
        out.put("neuron", (netuid, n.uid), n)
    return _with_rows(out, stakes, takes, owners)


def _with_rows(out: State, stakes: list[list], takes: list[list], owners: list[list]) -> State:
    """``out`` with the stake, take and owner rows put in, its indexes rebuilt."""
    for cold, hot, rao in stakes:
        out.put("stake", (cold, hot), rao)
    for hot, take in takes:
        out.put("deleg", hot, take)
    for hot, cold in owners:
        out.put("owner", hot, cold)
    out.rebuild_indexes()
    return out


def pack_epoch_inputs(state: State, netuid: int) -> bytes:
    """:func:`epoch_inputs` of ``state`` as canonical bytes (each entry encoded alone, rows sorted): the same state
    always gives the same bytes, and :func:`unpack_epoch_inputs` rebuilds it without digesting it.

    That is ``dumps([EPOCH_INPUTS_FORMAT, encode(params), encode(status), [encode(subnet)], [[netuid, neuron_bytes(n)]
    for each neuron], stakes, takes, owners])``; the neurons' rows are laid out here (an array's CBOR is its head and
    then its items' CBOR), from the bytes the state digest laid each neuron out in when it was written.
    """
    sn, neurons, stakes, takes, owners = _selection(state, netuid)
    row = b"\x82" + dumps(netuid)  # [netuid, the neuron's bytes]
    raws = [neuron_bytes_at((netuid, n.uid), n) for n in neurons]
    return b"".join((
        _array_head(8), dumps(EPOCH_INPUTS_FORMAT), dumps(encode(state.params)), dumps(encode(state.status)),
        dumps([encode(sn)]), _array_head(len(raws)), *[b"".join((row, _bytes_head(len(r)), r)) for r in raws],
        dumps(stakes), dumps(takes), dumps(owners),
    ))


def _head(major: int, n: int) -> bytes:
    """The CBOR head of major type ``major`` with argument ``n`` (0 <= n < 2**64) in its shortest form."""
    m = major << 5
    if n < 24:
        return bytes((m | n,))
    if n < 0x100:
        return bytes((m | 24, n))
    if n < 0x10000:
        return bytes((m | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((m | 26,)) + n.to_bytes(4, "big")
    return bytes((m | 27,)) + n.to_bytes(8, "big")


def _bytes_head(n: int) -> bytes:
    return _head(2, n)


def _array_head(n: int) -> bytes:
    return _head(4, n)


def unpack_epoch_inputs(raw: bytes) -> State:
    """The state :func:`pack_epoch_inputs` packed (codec errors, ValueError or TypeError for other bytes)."""
    version, params, status, subnets, neurons, stakes, delegs, owners = loads(raw, max_size=1 << 32)
    if version != EPOCH_INPUTS_FORMAT:
        raise ValueError(f"epoch inputs of format {version!r}, not {EPOCH_INPUTS_FORMAT}")
    out = State()
    out.put("chain", "params", decode(params, ChainParams))
    out.put("chain", "status", decode(status, ChainStatus))
    for sn in subnets:
        subnet = decode(sn, Subnet)
        out.put("subnet", subnet.netuid, subnet)
    for netuid, n in neurons:
        neuron = neuron_from_bytes(n)
        out.put("neuron", (netuid, neuron.uid), neuron)
    return _with_rows(out, stakes, delegs, owners)


def epoch_netuids(block: SignedBlock) -> list[int]:
    """The subnets whose epoch result ``block`` records, in block order."""
    return [ext.call.netuid for ext in block.extrinsics if isinstance(ext.call, EpochResult)]


def index_epochs(store: BlockStore, before: State, block: SignedBlock) -> int:
    """Store the epoch inputs of every epoch result in ``block`` (appended to ``store``; ``before`` is the state it
    was applied to); returns how many records were written."""
    netuids = epoch_netuids(block)
    for netuid in netuids:
        store.save_epoch_inputs(block.hash, block.number, netuid, pack_epoch_inputs(before, netuid))
    return len(netuids)
