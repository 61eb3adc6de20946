"""The node: the chain's only writer. Sequencer, RPC, block feed, and the block pipeline in lockstep with its actors.

Every ``block_time`` the node waits until each system actor (tempo scheduler, consensus, registrar) has answered the
last block, then seals the next one: the actors' answers first (signed by the node's authority key, in the order
scheduler, consensus, registrar), then the mempool's extrinsics in per-account nonce order. It appends the block to
its log (fsync), publishes it on the feed, and tells waiting submitters what happened to their extrinsics.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
import attrs
import pynng
import structlog

from taonet.ledger import (
    BlockBuilder,
    EpochResult,
    Extrinsic,
    FileStore,
    Keypair,
    SignedBlock,
    State,
    SystemCall,
    build_genesis,
    decode,
    dumps,
    encode,
    replay,
    verify,
)
from taonet.ledger.errors import ExtrinsicRejected, InvalidBlock, TaonetError, error_to_wire

from ..errors import ExtrinsicDropped, NodeHalted, NotAnActor, RpcBadRequest
from ..wire import bound_address
from ._actors import actor_answer_payload, run_local_actor
from ._chain_host import ChainHost
from ._config import ACTORS, NodeConfig
from ._datadir import check_head, lock_data_dir
from ._mempool import Mempool
from ._queries import extrinsic_param, int_param, key_param, read_handlers
from ._rpc_server import RpcServer

__all__ = ["Node", "NodeHalted"]

log = structlog.get_logger(__name__)


@attrs.define
class _Waiter:
    event: anyio.Event
    result: dict[str, Any] | None = None
    users: int = 0  # submitters waiting on this outcome (the same extrinsic may be submitted twice)


class Node(ChainHost):
    """The sequencer: create with a :class:`NodeConfig` and run :meth:`run` in a task group."""

    role = "node"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.log = log.bind(actor="node")
        self.mempool = Mempool(limit=config.mempool_limit, per_signer=config.mempool_per_signer,
                               expire_after=config.mempool_expire_blocks,
                               known_signers_only=config.mempool_known_signers_only)
        self._answers: dict[int, dict[str, list[bytes]]] = {}
        self._answered = anyio.Event()
        self._inbox: dict[tuple[str, int], dict[str, Any]] = {}
        self._inbox_event = anyio.Event()
        self._waiters: dict[bytes, _Waiter] = {}
        self._actor_keys: dict[bytes, set[str]] = {}
        self.halted: NodeHalted | None = None
        self.metrics: dict[str, Any] = {"seal_ms": [], "epoch_seal_ms": [], "blocks": 0, "epoch_blocks": 0,
                                        "included": 0, "rejected": 0, "paused_s": 0.0}

    # --- lifecycle -------------------------------------------------------------------------------------------
    def _open_chain(self) -> None:
        cfg = self.config
        store = FileStore(cfg.data_dir / "chain", fsync=cfg.fsync)
        try:
            if store.height < 0:
                if cfg.genesis is None:
                    raise InvalidBlock(number=0, reason=f"{cfg.data_dir} holds no chain and no genesis was given")
                block, state = build_genesis(cfg.genesis, cfg.authority)
                store.append(block, expected_height=0)
            else:
                state = replay(store, verify_signatures=False)
                check_head(store, state)
            genesis = store.get(0)
            if genesis.header.author != cfg.authority.public_key:
                raise InvalidBlock(number=0, reason="this node's authority key is not the chain's authority")
        except BaseException:
            store.close()
            raise
        for path, reason in store.refused_snapshots.items():
            self.log.warning("node.snapshot_refused", path=path, reason=reason)
        self.store, self.state, self.genesis_hash = store, state, genesis.hash
        for key in state.params.actor_keys:
            self._actor_keys.setdefault(key, set()).update(ACTORS)
        self._remember(state)
        self.log.info("node.opened", height=state.height, genesis=self.genesis_hash.hex()[:16],
                      recovered_bytes=store.recovered_bytes)

    async def run(self, *, task_status: anyio.abc.TaskStatus[dict[str, str]] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open (or create) the chain, serve RPC and the feed, run the local actors, and produce blocks.

        Raises :class:`DataDirLocked` if another process writes the data directory, and the store's errors
        (:class:`CorruptLog`, :class:`StorageFailed`, ...) as themselves, before any task starts, if it cannot open.
        """
        self._lock = lock_data_dir(self.config.data_dir)  # one writer per directory, before any file is touched
        try:
            await anyio.to_thread.run_sync(self._open_chain)
        except BaseException:
            if self.store is not None:
                self.store.close()
            self._lock.release()
            raise
        assert self.store is not None
        # The state is a large, long-lived object graph: keep the cyclic GC from rescanning it on every
        # collection (a full collection over 64 x 256 neurons costs tens of milliseconds inside a seal).
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        gc.callbacks.append(self._gc_watch)
        try:
            with pynng.Pub0() as feed:
                feed.listen(self.config.feed)
                self._feed = feed
                self.addresses["feed"] = bound_address(feed, self.config.feed)
                async with anyio.create_task_group() as tg:
                    server = RpcServer(self.config.rpc, self._handlers(), name="node.rpc")
                    self.addresses["rpc"] = await tg.start(server.serve)
                    for name in self.config.local_actors:
                        key = Keypair.generate()
                        self._actor_keys.setdefault(key.public_key, set()).add(name)
                        await tg.start(run_local_actor, self, name, key, self.config.actor_delays.get(name, 0.0))
                    task_status.started(dict(self.addresses))
                    self.log.info("node.started", **self.addresses, block_time=self.config.block_time,
                                  clock=self.config.clock)
                    await self._produce()
        finally:
            if self._gc_watch in gc.callbacks:
                gc.callbacks.remove(self._gc_watch)
            self._close_subscribers()
            self._feed = None
            self.store.close()
            self._lock.release()

    _gc_started = 0.0

    def _gc_watch(self, phase: str, info: dict[str, int]) -> None:
        """Log full collections that take long: they stall sealing (and tell when to tune the thresholds)."""
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            ms = (time.perf_counter() - self._gc_started) * 1000
            self.metrics["gc_full_ms"] = self.metrics.get("gc_full_ms", 0.0) + ms
            if ms > 20:
                self.log.warning("gc.slow", generation=2, ms=round(ms, 1), collected=info.get("collected"))

    # --- block production ------------------------------------------------------------------------------------
    async def _produce(self) -> None:
        cfg = self.config
        next_at = time.monotonic() + cfg.block_time
        while True:
            await anyio.sleep(max(0.0, next_at - time.monotonic()))
            assert self.state is not None
            answers = await self._await_answers(self.state.height)
            await self._seal(answers)
            next_at = max(next_at + cfg.block_time, time.monotonic())

    async def _await_answers(self, number: int) -> dict[str, list[bytes]]:
        expected = self._expected_actors()
        paused_at: float | None = None
        while True:
            got = self._answers.get(number, {})
            missing = [a for a in expected if a not in got]
            if not missing:
                if paused_at is not None:
                    self.metrics["paused_s"] += time.monotonic() - paused_at
                    self.log.warning("node.resumed", block=number + 1, paused_s=round(time.monotonic() - paused_at, 3))
                return got
            event = self._answered
            with anyio.move_on_after(self.config.actor_timeout_s if paused_at is None else 5 * self.config.block_time):
                await event.wait()
                continue
            if paused_at is None:
                paused_at = time.monotonic()
            self.log.error("node.paused", block=number + 1, waiting_for=missing,
                           reason=f"no answer for block {number} within actor_timeout")

    def _expected_actors(self) -> tuple[str, ...]:
        return ACTORS

    def _timestamp(self, number: int) -> int:
        if self.config.clock == "logical":
            return self._genesis_time + number * int(self.config.block_time * 1000)
        return int(time.time() * 1000)

    @property
    def _genesis_time(self) -> int:
        assert self.store is not None
        return self.store.get(0).header.timestamp

    async def _seal(self, answers: dict[str, list[bytes]]) -> None:
        assert self.state is not None and self.store is not None
        state, number = self.state, self.state.height + 1
        calls: list[SystemCall] = []
        for actor in ACTORS:
            for raw in answers.get(actor, []):
                calls.append(decode(raw, SystemCall))
        ready = list(self.mempool.ready(state, canonical=self.config.clock == "logical",
                                        limit=self.config.max_block_extrinsics))
        started = time.perf_counter()
        try:
            block, new_state, included, rejected = await anyio.to_thread.run_sync(
                self._build, state, number, calls, ready)
            built = time.perf_counter()
        except (InvalidBlock, ExtrinsicRejected) as e:
            self.halted = NodeHalted(number=number, reason=str(e))
            self.log.critical("node.halted", block=number, reason=str(e))
            raise self.halted from e
        await anyio.to_thread.run_sync(self._persist, block, new_state)
        seal_ms = (time.perf_counter() - started) * 1000
        build_ms = (built - started) * 1000
        self.state = new_state
        self._answers.pop(number - 1, None)
        for key in [k for k in self._inbox if k[1] < number - 1]:
            del self._inbox[key]
        dropped = self.mempool.after_block(new_state, included, [x for x, _ in rejected])
        self._publish(block, new_state)
        self._notify(block, included, rejected, dropped)
        m = self.metrics
        m["blocks"] += 1
        m["included"] += len(included)
        m["rejected"] += len(rejected)
        m["seal_ms"] = [*m["seal_ms"][-999:], seal_ms]
        if any(isinstance(c, EpochResult) for c in calls):
            m["epoch_blocks"] += 1
            m["epoch_seal_ms"] = [*m["epoch_seal_ms"][-999:], seal_ms]
        self.log.info("block.sealed", block=number, extrinsics=len(block.extrinsics), rejected=len(rejected),
                      dropped=len(dropped), mempool=len(self.mempool), seal_ms=round(seal_ms, 2),
                      build_ms=round(build_ms, 2))

    def _build(self, state: State, number: int, calls: list[SystemCall], ready: list[Extrinsic]
               ) -> tuple[SignedBlock, State, list[Extrinsic], list[tuple[Extrinsic, ExtrinsicRejected]]]:
        cfg = self.config
        builder = BlockBuilder(state, parent=self.store.head_hash, timestamp=self._timestamp(number),  # type: ignore
                               genesis=self.genesis_hash)
        for call in calls:
            builder.push(Extrinsic.sign(call, cfg.authority, nonce=number, genesis=self.genesis_hash))
        included: list[Extrinsic] = []
        rejected: list[tuple[Extrinsic, ExtrinsicRejected]] = []
        failed: set[bytes] = set()
        for ext in ready:
            if ext.signer in failed:  # an earlier extrinsic of this signer failed: its later nonces cannot apply
                continue
            try:
                builder.push(ext, check_signature=False)  # checked once, on entry to the mempool
            except ExtrinsicRejected as e:
                rejected.append((ext, e))
                failed.add(ext.signer)
            else:
                included.append(ext)
        block, new_state = builder.seal(cfg.authority)
        return block, new_state, included, rejected

    def _persist(self, block: SignedBlock, state: State) -> None:
        assert self.store is not None
        self.store.append(block, expected_height=block.number)
        if self.config.snapshot_every and block.number % self.config.snapshot_every == 0:
            self.store.save_snapshot(state)

    def _notify(self, block: SignedBlock, included: list[Extrinsic],
                rejected: list[tuple[Extrinsic, ExtrinsicRejected]], dropped: list[Extrinsic]) -> None:
        if not self._waiters:
            return
        index = {x.hash: i for i, x in enumerate(block.extrinsics)}
        for ext in included:
            w = self._waiters.pop(ext.hash, None)
            if w is not None:
                i = index[ext.hash]
                w.result = {"status": "included", "block": block.number, "index": i,
                            "events": [r.event for r in block.events if r.phase == i]}
                w.event.set()
        for ext, err in rejected:
            w = self._waiters.pop(ext.hash, None)
            if w is not None:
                w.result = {"status": "rejected", "error": error_to_wire(err)}
                w.event.set()
        for ext in dropped:
            w = self._waiters.pop(ext.hash, None)
            if w is not None:
                w.result = {"status": "rejected", "error": error_to_wire(ExtrinsicDropped(
                    reason="an earlier nonce of this signer was rejected, used, or never came"))}
                w.event.set()

    async def submit_and_wait(self, ext: Extrinsic, wait: float) -> dict[str, Any]:
        """Admit ``ext`` and wait (up to ``wait`` s) until it is sealed: included, rejected, or timeout."""
        assert self.state is not None
        waiter = self._waiters.setdefault(ext.hash, _Waiter(anyio.Event()))
        waiter.users += 1
        try:
            self.mempool.admit(self.state, self.genesis_hash, ext)
            with anyio.move_on_after(wait):
                await waiter.event.wait()
        finally:
            waiter.users -= 1
            if not waiter.users and self._waiters.get(ext.hash) is waiter:
                del self._waiters[ext.hash]
        result = {"status": "timeout"} if waiter.result is None else dict(waiter.result)
        result["hash"] = ext.hash
        return result

    def actor_lag(self) -> dict[str, int]:
        """How many blocks behind the head each actor's latest answer is."""
        assert self.state is not None
        h = self.state.height
        return {a: h - max((b for b, got in self._answers.items() if a in got), default=h) for a in ACTORS}

    # --- actors ----------------------------------------------------------------------------------------------
    def accept_answer(self, actor: str, block: int, calls: list[bytes], signer: bytes, signature: bytes) -> None:
        """Record an actor's (signed) answer for ``block``."""
        if actor not in self._actor_keys.get(signer, set()):
            raise NotAnActor(actor=actor)
        if not verify(signer, actor_answer_payload(self.genesis_hash, actor, block, calls), signature):
            raise NotAnActor(actor=actor)
        assert self.state is not None
        if block < self.state.height:
            return  # a late answer for a block already followed; nothing to do
        for raw in calls:
            decode(raw, SystemCall)  # malformed calls are refused at the door, not when sealing
        self._answers.setdefault(block, {})[actor] = list(calls)
        self._answered.set()
        self._answered = anyio.Event()

    def accept_post(self, actor: str, to: str, block: int, body: dict[str, Any], signer: bytes,
                    signature: bytes) -> None:
        """Accept a (signed) actor message from ``actor`` to actor ``to`` about ``block``."""
        payload = actor_answer_payload(self.genesis_hash, actor, block, [dumps([to, body])])
        if actor not in self._actor_keys.get(signer, set()) or not verify(signer, payload, signature):
            raise NotAnActor(actor=actor)
        self.post(to, block, body)

    def post(self, to: str, block: int, body: dict[str, Any]) -> None:
        """Leave an actor message for actor ``to`` about ``block`` (the scheduler tells consensus what is due)."""
        self._inbox[(to, block)] = body
        self._inbox_event.set()
        self._inbox_event = anyio.Event()

    async def inbox(self, actor: str, block: int, timeout: float) -> dict[str, Any] | None:
        """Wait for the message to ``actor`` about ``block`` (None after ``timeout``)."""
        with anyio.move_on_after(timeout):
            while (actor, block) not in self._inbox:
                await self._inbox_event.wait()
            return self._inbox[(actor, block)]
        return None

    # --- RPC -----------------------------------------------------------------------------------------------------
    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """The RPC method table: the reads every chain host serves, plus submissions, metrics and the actors."""
        node = self

        def head() -> State:
            assert node.state is not None
            return node.state

        async def submit(p: dict[str, Any]) -> dict[str, Any]:
            ext = extrinsic_param(p.get("extrinsic"), "submit")
            node.mempool.admit(head(), node.genesis_hash, ext)
            return {"hash": ext.hash}

        async def submit_batch(p: dict[str, Any]) -> list[dict[str, Any]]:
            raws = p.get("extrinsics")
            if type(raws) is not list or len(raws) > 10_000:
                raise RpcBadRequest(method="submit_batch",
                                    reason="extrinsics must be a list of at most 10,000 encodings")
            out = []
            state = head()
            for raw in raws:
                try:
                    ext = extrinsic_param(raw, "submit_batch")
                    node.mempool.admit(state, node.genesis_hash, ext)
                    out.append({"hash": ext.hash})
                except TaonetError as e:
                    out.append({"error": error_to_wire(e)})
            return out

        async def submit_wait(p: dict[str, Any]) -> dict[str, Any]:
            ext = extrinsic_param(p.get("extrinsic"), "submit_wait")
            result = await node.submit_and_wait(ext, min(float(p.get("wait", 60.0)), 600.0))
            if "events" in result:
                result["events"] = [encode(e) for e in result["events"]]
            return result

        async def next_nonce(p: dict[str, Any]) -> int:
            who = key_param(p, "address", "next_nonce")
            return head().account(who).nonce + node.mempool.waiting(who)

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
            node.accept_answer(str(p.get("actor")), int_param(p, "block", "actor_answer"), calls,
                               p.get("signer", b""), p.get("signature", b""))

        async def actor_post(p: dict[str, Any]) -> None:
            body = p.get("body")
            if type(body) is not dict:
                raise RpcBadRequest(method="actor_post", reason="body must be a map")
            node.accept_post(str(p.get("actor")), str(p.get("to")), int_param(p, "block", "actor_post"), body,
                             p.get("signer", b""), p.get("signature", b""))

        async def actor_inbox(p: dict[str, Any]) -> dict[str, Any] | None:
            return await node.inbox(str(p.get("actor")), int_param(p, "block", "actor_inbox"),
                                    min(float(p.get("wait", 30.0)), 300.0))

        return {
            **read_handlers(self), "submit": submit, "submit_batch": submit_batch, "submit_wait": submit_wait,
            "next_nonce": next_nonce, "metrics": metrics,
            "actor_answer": actor_answer, "actor_post": actor_post, "actor_inbox": actor_inbox,
        }

