"""Replay: fold a stored chain (or a snapshot plus the blocks after it) to any block."""

from __future__ import annotations

from collections.abc import Iterator

from ._block import SignedBlock
from ._genesis import state_from_genesis_block
from ._runtime import apply
from ._state import State
from ._store import BlockStore
from .errors import InvalidBlock

__all__ = ["fold", "replay"]


def fold(
    store: BlockStore,
    *,
    start: State | None = None,
    stop: int | None = None,
    verify_signatures: bool = True,
    check_headers: bool = True,
    consume: bool = False,
) -> Iterator[tuple[SignedBlock, State]]:
    """Yield (block, state after it) for each block from genesis (or after ``start``) up to ``stop`` inclusive.

    Without ``check_headers`` the blocks' roots and state digests are not recomputed (see :func:`apply`). With
    ``consume`` every block is applied in place (``apply(..., consume=True)``): each yielded state is the same object
    (``start`` itself, when given), changed by the next block, so it must be read before the fold goes on.
    """
    last = store.height if stop is None else min(stop, store.height)
    if start is None:
        if last < 0:
            return
        genesis = store.get(0)
        state = state_from_genesis_block(genesis, verify_signatures=verify_signatures)
        parent = genesis.hash
        yield genesis, state
        first = 1
    else:
        state = start
        first = start.height + 1
        parent = store.get(start.height).hash if start.height >= 0 else None
    for number in range(first, last + 1):
        block = store.get(number)
        if block.number != number:
            raise InvalidBlock(number=number, reason=f"the store returned block {block.number}")
        state, _ = apply(state, block, parent=parent, verify_signatures=verify_signatures, check_header=check_headers,
                         consume=consume)
        parent = block.hash
        yield block, state


def replay(
    store: BlockStore, *, to: int | None = None, verify_signatures: bool = True, use_snapshots: bool = True,
    check_every_block: bool = True,
) -> State:
    """The state after block ``to`` (the head when None), from the newest snapshot at or below it when allowed.

    Every replayed block's recomputed header is compared with the stored one; without ``check_every_block`` only
    the state digest reached at ``to`` is (faster: the roots are not recomputed and the digest is updated once).
    """
    target = store.height if to is None else to
    if target < 0 or target > store.height:
        raise InvalidBlock(number=target, reason=f"the store holds blocks 0..{store.height}")
    start = store.latest_snapshot(target) if use_snapshots else None
    if start is not None and start.height == target:
        return start
    state = start
    # only the last state is kept, and ``start`` is this function's own copy: the blocks are applied in place
    for _, state in fold(store, start=start, stop=target, verify_signatures=verify_signatures,  # noqa: B007
                         check_headers=check_every_block, consume=True):
        pass
    assert state is not None
    if not check_every_block and state.digest() != store.get(target).header.state_digest:
        raise InvalidBlock(number=target, reason="the state replayed to it does not have the state digest in its "
                                                 "header")
    return state
