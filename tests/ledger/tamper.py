"""Tampered chains for the replay tests: a log rewritten from one block on and re-signed with the authority key, so
that every hash, link, signature, root and state digest is valid, and only re-running the actors can tell.

This is what an attacker holding the authority key (or a compromised consensus actor) could write. Its runtime is
this repository's, except where a test asks for a registrar answer the rules do not give: then the registrar check of
that one block is switched off while it is built (an attacker's modified node would simply not make it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from taonet.ledger import (
    BlockBuilder,
    Call,
    EpochResult,
    Extrinsic,
    FileStore,
    Keypair,
    RegistrarAnswer,
    State,
    _system_calls,
    epoch_result,
    registrar_answer,
    replay,
)

Edit = Callable[[int, State, Call], Call | None]
"""(block number, state before the block, a system call) -> the call to sign instead, or None to keep it."""


@contextlib.contextmanager
def _registrar_rule_off(answer: RegistrarAnswer) -> Iterator[None]:
    original = _system_calls.registrar_answer
    _system_calls.registrar_answer = lambda _state: answer  # type: ignore[assignment]
    try:
        yield
    finally:
        _system_calls.registrar_answer = original  # type: ignore[assignment]


def resign_from(src: FileStore, dst: Path, authority: Keypair, first: int, edit: Edit) -> int:
    """Write ``src``'s chain to a new store at ``dst``: blocks before ``first`` copied, the rest rebuilt with
    ``edit``'s replacements (the other registrar answers and epoch results recomputed on the new state, as the
    tampering node's actors would) and re-signed.
    Returns how many system calls ``edit`` replaced."""
    genesis_hash = src.get(0).hash
    replaced = 0
    with FileStore(dst, fsync=False) as out:
        for n in range(first):
            out.append(src.get(n))
        state = replay(src, to=first - 1, verify_signatures=False, use_snapshots=False)
        for n in range(first, src.height + 1):
            block = src.get(n)
            builder = BlockBuilder(state, parent=out.head_hash, timestamp=block.header.timestamp,  # type: ignore[arg-type]
                                   genesis=genesis_hash)
            for ext in block.extrinsics:
                call = ext.call
                new = edit(n, state, call) if isinstance(call, EpochResult | RegistrarAnswer) else None
                if new is not None:
                    replaced += 1
                    if isinstance(new, RegistrarAnswer) and new != registrar_answer(state):
                        with _registrar_rule_off(new):
                            builder.push(Extrinsic.sign(new, authority, nonce=n, genesis=genesis_hash))
                        continue
                elif isinstance(call, RegistrarAnswer):
                    new = registrar_answer(state)
                elif isinstance(call, EpochResult):
                    new = epoch_result(state, call.netuid)
                if new is not None and new != call:
                    ext = Extrinsic.sign(new, authority, nonce=n, genesis=genesis_hash)
                builder.push(ext, check_signature=False)
            sealed, state = builder.seal(authority)
            out.append(sealed)
    return replaced
