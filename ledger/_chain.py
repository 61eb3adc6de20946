"""An in-process chain driver: a store, the head state, a mempool, and blocks sealed in pipeline order.

The node (taonet.kernel) does the same with actors answering over sockets; this driver computes those answers
itself with the same pure functions, for tests, demos and replay verification.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from ._block import SignedBlock
from ._calls import Call, Extrinsic, SystemCall
from ._consensus import consensus_answers, scheduler_answers
from ._epoch_index import index_epochs
from ._events import Event, EventRecord
from ._genesis import GenesisConfig, build_genesis
from ._keys import Keypair
from ._replay import replay
from ._runtime import BlockBuilder, registrar_answer
from ._state import State
from ._store import BlockStore, MemoryStore
from .errors import ExtrinsicRejected, InvalidBlock

__all__ = ["Chain", "SealResult", "system_answers"]


def system_answers(state: State) -> list[SystemCall]:
    """The system calls that answer the block ``state`` ends with, in pipeline order (empty answers omitted)."""
    answers: list[SystemCall] = [*scheduler_answers(state), *consensus_answers(state)]
    reg = registrar_answer(state)
    if not reg.is_empty:
        answers.append(reg)
    return answers


@attrs.frozen
class SealResult:
    """A sealed block with what happened to each submitted extrinsic."""

    block: SignedBlock
    included: tuple[Extrinsic, ...]
    rejected: tuple[tuple[Extrinsic, ExtrinsicRejected], ...]

    @property
    def events(self) -> tuple[EventRecord, ...]:
        """The block's events."""
        return self.block.events


class Chain:
    """A chain driven in process: submit extrinsics, seal blocks, read the head state."""

    def __init__(self, store: BlockStore, state: State, authority: Keypair, *, block_time_ms: int = 12_000,
                 snapshot_every: int = 0, epoch_index: bool = True,
                 answers: Callable[[State], list[SystemCall]] = system_answers) -> None:
        """``epoch_index``: keep each epoch's inputs beside the log as a node does (:func:`index_epochs`)."""
        self.store = store
        self.state = state
        self.authority = authority
        self.block_time_ms = block_time_ms
        self.snapshot_every = snapshot_every
        self.epoch_index = epoch_index
        self.answers = answers
        self.genesis_hash = store.get(0).hash
        self._genesis_time = store.get(0).header.timestamp
        self.mempool: list[Extrinsic] = []
        self._pending_nonce: dict[bytes, int] = {}

    @classmethod
    def create(cls, config: GenesisConfig, authority: Keypair, store: BlockStore | None = None,
               **kwargs: object) -> Chain:
        """Write block 0 for ``config`` into ``store`` (a new MemoryStore by default)."""
        store = store if store is not None else MemoryStore()
        if store.height >= 0:
            raise InvalidBlock(number=0, reason="the store already holds a chain; use Chain.open")
        block, state = build_genesis(config, authority)
        store.append(block, expected_height=0)
        return cls(store, state, authority, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def open(cls, store: BlockStore, authority: Keypair, **kwargs: object) -> Chain:
        """Resume a stored chain: replay it (from its newest snapshot) to the head."""
        return cls(store, replay(store), authority, **kwargs)  # type: ignore[arg-type]

    @property
    def height(self) -> int:
        """The number of the last sealed block."""
        return self.state.height

    def next_nonce(self, who: bytes) -> int:
        """The nonce ``who``'s next extrinsic must carry, counting the ones waiting in the mempool."""
        return self._pending_nonce.get(who, self.state.account(who).nonce)

    def sign(self, keypair: Keypair, call: Call) -> Extrinsic:
        """Sign ``call`` with ``keypair`` for this chain at its next nonce."""
        return Extrinsic.sign(call, keypair, nonce=self.next_nonce(keypair.public_key), genesis=self.genesis_hash)

    def submit(self, ext: Extrinsic) -> None:
        """Queue an extrinsic for the next block (rejections are reported when it is sealed)."""
        self.mempool.append(ext)
        self._pending_nonce[ext.signer] = max(self.next_nonce(ext.signer), ext.nonce + 1)

    def call(self, keypair: Keypair, call: Call) -> Extrinsic:
        """Sign and submit ``call``; returns the extrinsic."""
        ext = self.sign(keypair, call)
        self.submit(ext)
        return ext

    def seal(self, *, timestamp: int | None = None, check_signatures: bool = True) -> SealResult:
        """Seal the next block: system answers for the last block, then the mempool in submission order."""
        number = self.height + 1
        ts = self._genesis_time + number * self.block_time_ms if timestamp is None else timestamp
        builder = BlockBuilder(self.state, parent=self.store.head_hash or b"", timestamp=ts,
                               genesis=self.genesis_hash)
        for call in self.answers(self.state):
            builder.push(Extrinsic.sign(call, self.authority, nonce=number, genesis=self.genesis_hash))
        included, rejected = [], []
        for ext in self.mempool:
            try:
                builder.push(ext, check_signature=check_signatures)
            except ExtrinsicRejected as e:
                rejected.append((ext, e))
            else:
                included.append(ext)
        block, state = builder.seal(self.authority)
        self.store.append(block, expected_height=number)
        if self.epoch_index:
            index_epochs(self.store, self.state, block)
        self.state = state
        self.mempool = []
        self._pending_nonce = {}
        if self.snapshot_every and number % self.snapshot_every == 0:
            self.store.save_snapshot(state)
        return SealResult(block=block, included=tuple(included), rejected=tuple(rejected))

    def run(self, blocks: int) -> list[SealResult]:
        """Seal ``blocks`` blocks (the first takes the current mempool)."""
        return [self.seal() for _ in range(blocks)]

    def events(self, result: SealResult | Iterable[SealResult]) -> list[Event]:
        """The events of one or more sealed blocks, in order."""
        results = [result] if isinstance(result, SealResult) else list(result)
        return [r.event for res in results for r in res.block.events]
