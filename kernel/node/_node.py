"""The node: the chain's only writer. Sequencer, RPC, block feed, and the block pipeline in lockstep with its actors.

Every ``block_time`` the node waits until each system actor (tempo scheduler, consensus, registrar) has answered the
last block, then seals the next one: the actors' answers first (signed by the node's authority key, in the order
scheduler, consensus, registrar), then the mempool's extrinsics in per-account nonce order. It appends the block to
its log (fsync), publishes it on the feed, and records what happened to each extrinsic (a bounded table of
receipts that clients read after each new block they see on the feed).

Three channels, so that nothing a client does slows sealing: the public RPC (short requests, each client held to
its share, see :class:`RpcServer`); the actors' RPC (its own socket and contexts, for out-of-process actors;
in-node actors call the same handlers directly); and the block feed (Pub0), on which clients wait for blocks.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import attrs
import pynng

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
    index_epochs,
    replay,
    ss58_encode,
    verify,
)
from taonet.ledger.errors import (
    ExtrinsicRejected,
    InvalidBlock,
    StorageFailed,
    TaonetError,
    error_leaves,
    error_to_wire,
)

from .._address import WILDCARD_HOSTS
from ..errors import ExtrinsicDropped, NodeHalted, NotAnActor, RpcBadRequest
from ..wire import ConnectionLimit, bound_address, get_logger, limit_connections
from ._actors import actor_answer_payload, run_local_actor
from ._chain_host import ChainHost
from ._config import ACTOR_MAX_REQUEST, ACTORS, STOP_REASON, NodeConfig
from ._datadir import hold_data_dir
from ._mempool import Mempool
from ._process import process_figures
from ._queries import extrinsic_param, int_param, key_param, read_handlers
from ._rpc_server import RpcServer, connection_figures

__all__ = ["Node", "NodeHalted"]

log = get_logger(__name__)


@attrs.frozen
class _Outcome:
    """What became of an extrinsic: included at (block, index), or rejected with a typed error."""

    status: str
    block: int | None = None
    index: int | None = None
    error: dict[str, Any] | None = None


_RECENT_BLOCKS = 64  # blocks whose events a receipt reads from memory (older ones from the store)
_REBUILT_BLOCKS = 64  # blocks whose inclusions a node reads back into its receipts when it opens its chain,
_REBUILT_EXTRINSICS = 20_000  # and at most this many of them (a full block by default; ~10 us each, decoding)
_ADMIT_SLICE = 256  # extrinsics of a batch admitted between two yields to the event loop (~15 ms)


class Node(ChainHost):
    """The sequencer: create with a :class:`NodeConfig` and run :meth:`run` in a task group."""

    role = "node"

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.log = log.bind(actor="node")
        self.mempool = Mempool(limit=config.mempool_limit, per_signer=config.mempool_per_signer,
                               expire_after=config.mempool_expire_blocks,
                               known_signers_only=config.mempool_known_signers_only,
                               max_bytes=config.mempool_limit_bytes)
        self._answers: dict[int, dict[str, list[bytes]]] = {}
        self._answered = anyio.Event()
        self._inbox: dict[tuple[str, int], dict[str, Any]] = {}
        self._inbox_event = anyio.Event()
        self._pending: dict[bytes, int] = {}  # admitted, not sealed yet: hash -> nonce (bounded by the mempool)
        self._receipts: OrderedDict[bytes, _Outcome] = OrderedDict()
        self._receipts_from = 1
        """Every extrinsic included at or after this block is in the receipts (read back from the log on opening,
        then kept as sealed; raised as the table drops its oldest): a client that saw its extrinsic pending at a
        node that has since restarted learns from an ``unknown`` at or after it that no block took it."""
        self._recent: OrderedDict[int, SignedBlock] = OrderedDict()
        self._published_at: dict[int, float] = {}
        self._last_sealed = 0.0
        self._rpc_server: RpcServer | None = None
        self._actors_server: RpcServer | None = None
        self._feed_limit: ConnectionLimit | None = None
        self._actor_keys: dict[bytes, set[str]] = {}
        self.halted: NodeHalted | None = None
        self.paused: dict[str, Any] | None = None
        """While production waits for actors past actor_timeout: the block, the actors, since when (monotonic) and
        what to do; None while it seals."""
        self.metrics: dict[str, Any] = {"seal_ms": [], "epoch_seal_ms": [], "epoch_total_ms": [], "gap_ms": [],
                                        "blocks": 0, "epoch_blocks": 0, "included": 0, "rejected": 0,
                                        "paused_s": 0.0}
        self._consensus_ms: dict[int, float] = {}
        self._sealing: anyio.Event | None = None  # set when the block being sealed is done; None between seals
        self._gc_full_at: float | None = None  # when the node last ran a full collection itself (monotonic)

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
                if cfg.genesis is not None:
                    self._check_same_genesis(store)
                state = replay(store, verify_signatures=False)
                store.check_head(state)
            genesis = store.get(0)
            if genesis.header.author != cfg.authority.public_key:
                raise InvalidBlock(number=0, reason=f"this node's authority key {cfg.authority.ss58_address} is not "
                                                    f"the authority of the chain in {cfg.data_dir} "
                                                    f"({ss58_encode(genesis.header.author)}): give that chain's "
                                                    "--authority, or another --data-dir")
            self._rebuild_receipts(store, state.height)
        except BaseException:
            store.close()
            raise
        self._adopt(store, state, genesis.hash)
        for key in state.params.actor_keys:
            self._actor_keys.setdefault(key, set()).update(ACTORS)
        self.log.info("node.opened", height=state.height, genesis=self.genesis_hash.hex()[:16],
                      recovered_bytes=store.recovered_bytes)

    def _rebuild_receipts(self, store: FileStore, head: int) -> None:
        """Read the inclusions of the last blocks back into the receipts (whole blocks: at most ``_REBUILT_BLOCKS``
        and ``_REBUILT_EXTRINSICS`` inclusions): the table lives in memory, and an extrinsic sealed just before a
        crash must still be ``included`` after the restart, never ``unknown`` (which a client that saw it pending
        takes as dropped). ``receipts_from`` says how far back that goes."""
        limit = min(self.config.receipts_limit, _REBUILT_EXTRINSICS)
        taken: list[tuple[int, list[tuple[int, bytes]]]] = []
        count = 0
        number = head
        while number >= max(1, head - _REBUILT_BLOCKS + 1):
            block = store.get(number)
            found = [(i, x.hash) for i, x in enumerate(block.extrinsics) if not isinstance(x.call, SystemCall)]
            if count + len(found) > limit:
                break
            count += len(found)
            taken.append((number, found))
            number -= 1
        self._receipts_from = number + 1
        for block_number, found in reversed(taken):
            for index, h in found:
                self._receipts[h] = _Outcome("included", block_number, index)

    def _check_same_genesis(self, store: FileStore) -> None:
        """Refuse a data directory whose chain is not the genesis the config gives (it would be resumed instead, and
        the given genesis silently ignored)."""
        cfg = self.config
        assert cfg.genesis is not None
        given, _ = build_genesis(cfg.genesis, cfg.authority)
        held = store.get(0).hash
        if given.hash != held:
            raise InvalidBlock(number=0, reason=f"{cfg.data_dir} holds another chain's genesis ({held.hex()[:16]}) "
                                                f"than the one given ({given.hash.hex()[:16]}): to resume that chain "
                                                "start the node without --dev or --genesis (with its --authority), or "
                                                "give another --data-dir for the new one")

    async def run(self, *, task_status: anyio.abc.TaskStatus[dict[str, str]] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open (or create) the chain, serve RPC and the feed, run the local actors, and produce blocks.

        Raises :class:`DataDirLocked` if another process writes the data directory, :class:`InvalidBlock` if it holds
        another chain than ``config.genesis`` (when given), and the store's errors (:class:`CorruptLog`,
        :class:`StorageFailed`, ...) as themselves, before any task starts, if it cannot open.
        """
        async with hold_data_dir(self.config.data_dir):  # one writer per directory, before any file is touched
            await anyio.to_thread.run_sync(self._open_chain)  # on failure it closes what it opened
            await self._serve_and_produce(task_status)

    async def _serve_and_produce(self, task_status: anyio.abc.TaskStatus[dict[str, str]]) -> None:
        assert self.store is not None
        # The GC's settings before this run, put back when it ends (None: tune_gc is off, nothing to put back).
        gc_before: tuple[tuple[int, ...], bool] | None = None
        if self.config.tune_gc:
            # The state is a large, long-lived object graph: keep the cyclic GC from rescanning it on every
            # collection (a full collection over 64 x 256 neurons costs tens of milliseconds inside a seal).
            # Process-wide, so only a process that is the node turns it on (taonet node run), and only for the run:
            # unfrozen at its end unless something had frozen objects before (one freeze cannot be told apart).
            gc_before = (gc.get_threshold(), gc.get_freeze_count() == 0)
            gc.freeze()
            gc.set_threshold(50_000, 20, 100)
        gc.callbacks.append(self._gc_watch)
        stopped = False
        try:
            with pynng.Pub0() as feed:
                self._feed_limit = limit_connections(feed, self.config.max_connections,
                                                     self.config.max_connections_per_address,
                                                     self.config.max_connections_per_network)
                feed.listen(self.config.feed)
                self._feed = feed
                self.addresses["feed"] = bound_address(feed, self.config.feed)
                async with anyio.create_task_group() as tg:
                    cfg = self.config
                    long = {m: 6 * cfg.rpc_budget for m in ("metagraph", "blocks", "events")}  # big answers
                    server = RpcServer(cfg.rpc, self._handlers(), max_in_flight=cfg.rpc_in_flight,
                                       per_client=cfg.rpc_per_client, budget=cfg.rpc_budget, budgets=long,
                                       name="node.rpc", max_connections=cfg.max_connections,
                                       max_connections_per_address=cfg.max_connections_per_address,
                                       max_connections_per_network=cfg.max_connections_per_network)
                    self._rpc_server = server
                    self.addresses["rpc"] = await tg.start(server.serve)
                    if cfg.actors_rpc is not None or set(ACTORS) - set(cfg.local_actors):
                        actors = RpcServer(cfg.actors_address, self.actor_handlers(), receivers=2, max_in_flight=32,
                                           per_client=8, budget=60.0, name="node.actors",
                                           max_request=ACTOR_MAX_REQUEST, max_bytes_in_flight=4 * ACTOR_MAX_REQUEST,
                                           max_connections=cfg.max_connections,
                                           max_connections_per_address=cfg.max_connections_per_address,
                                           max_connections_per_network=cfg.max_connections_per_network)
                        self._actors_server = actors
                        self.addresses["actors"] = await tg.start(actors.serve)
                    for name in self.config.local_actors:
                        key = Keypair.generate()
                        self._actor_keys.setdefault(key.public_key, set()).add(name)
                        await tg.start(run_local_actor, self, name, key, self.config.actor_delays.get(name, 0.0))
                    task_status.started(dict(self.addresses))
                    self.log.info("node.started", **self.addresses, block_time=self.config.block_time,
                                  clock=self.config.clock)
                    await self._produce()
        except anyio.get_cancelled_exc_class():
            stopped = True
            raise
        except BaseExceptionGroup as group:
            # Sealing stops on a storage failure (or a refused block); the task group wraps it with the
            # cancellations of its siblings. A caller catches the chain's typed error, not a group.
            alone = _only_chain_error(group)
            if alone is None:
                raise
            raise alone from None
        finally:
            if self._gc_watch in gc.callbacks:
                gc.callbacks.remove(self._gc_watch)
            if gc_before is not None:
                thresholds, unfreeze = gc_before
                gc.set_threshold(*thresholds)
                if unfreeze:  # what the run froze (the chain's state among it) may be collected again
                    gc.unfreeze()
            if len(self.mempool):  # kept in memory only: a restart starts with an empty mempool
                self.log.warning("node.mempool_dropped", count=len(self.mempool),
                                 note="extrinsics admitted but not sealed are not kept across a restart; their "
                                      "signers may submit them again")
            self._close_subscribers()
            self._feed = None
            self.store.close()
            if stopped:
                self.log.info("node.stopped", head=self.state.height if self.state is not None else None,
                              reason=STOP_REASON)

    _gc_started = 0.0
    _gc_own = False  # a full collection the node runs itself, between two seals: it stalls no seal

    def _gc_watch(self, phase: str, info: dict[str, int]) -> None:
        """Log full collections that take long: they stall sealing (and tell when to tune the thresholds)."""
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            ms = (time.perf_counter() - self._gc_started) * 1000
            self.metrics["gc_full_ms"] = self.metrics.get("gc_full_ms", 0.0) + ms
            self.metrics["gc_full_last_ms"] = ms
            if ms > 20 and not self._gc_own:
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
            self._collect_if_due()
            next_at = max(next_at + cfg.block_time, time.monotonic())

    def _collect_if_due(self) -> None:
        """Right after a seal (the quietest moment: the next one is a block time away), a full collection when
        ``gc_full_every`` seconds have passed since the last one, in a process whose GC the node tuned."""
        every = self.config.gc_full_every
        if not self.config.tune_gc or every <= 0:
            return
        now = time.monotonic()
        if self._gc_full_at is None:
            self._gc_full_at = now  # the first one a full period after the start
        elif now - self._gc_full_at >= every:
            self._gc_full_at = now
            self._gc_own = True
            try:
                collected = gc.collect()  # its pause is timed by _gc_watch
            finally:
                self._gc_own = False
            self.log.info("gc.collected", generation=2, ms=round(self.metrics.get("gc_full_last_ms", 0.0), 1),
                          collected=collected, note="the node's own full collection, between two seals")

    async def _await_answers(self, number: int) -> dict[str, list[bytes]]:
        expected = self._expected_actors()
        paused_at: float | None = None
        while True:
            got = self._answers.get(number, {})
            missing = [a for a in expected if a not in got]
            if not missing:
                if paused_at is not None:
                    self.paused = None
                    self.metrics["paused_s"] += time.monotonic() - paused_at
                    self.log.warning("node.resumed", block=number + 1, paused_s=round(time.monotonic() - paused_at, 3))
                return got
            event = self._answered
            with anyio.move_on_after(self.config.actor_timeout_s if paused_at is None else 5 * self.config.block_time):
                await event.wait()
                continue
            if paused_at is None:
                paused_at = time.monotonic()
            remedy = self._remedy(missing)
            self.paused = {"block": number + 1, "waiting_for": missing, "since": paused_at, "remedy": remedy}
            self.log.error("node.paused", block=number + 1, waiting_for=missing,
                           reason=f"no answer for block {number} within actor_timeout", remedy=remedy)

    def _remedy(self, missing: list[str]) -> str:
        """What to do about a pause waiting for the actors ``missing``: start the remote ones against this node."""
        remote = [a for a in missing if a not in self.config.local_actors]
        rpc = self.addresses.get("rpc", self.config.rpc)
        scheme, _, rest = rpc.partition("://")
        host, colon, port = rest.rpartition(":")
        wildcard = bool(colon) and host in WILDCARD_HOSTS  # listening on every interface: no one can dial that host
        if wildcard:
            rpc = f"{scheme}://THIS_HOST:{port}"
        if remote:
            return "; ".join(f"start `taonet actor run {a} --node {rpc}`" for a in remote) + (
                f", THIS_HOST being this machine's address as the actor's machine reaches it, not {host or '*'}: "
                "this node listens on every interface" if wildcard else "") + (
                " (or check that the one running reaches this node)")
        return "an actor inside the node is stuck: see the log above for its error, and restart the node"

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
                                        limit=self.config.max_block_extrinsics,
                                        max_bytes=self.config.max_block_extrinsics_bytes))
        started = time.perf_counter()
        self._sealing = sealing = anyio.Event()
        block: SignedBlock | None = None
        try:
            try:
                block, new_state, included, rejected = await self.on_chain_thread(
                    self._build, state, number, calls, ready)
                built = time.perf_counter()
                # the store refuses (InvalidBlock, nothing written) a block larger than its readers take
                await self.on_chain_thread(self._persist, block, new_state)
            except (InvalidBlock, ExtrinsicRejected) as e:
                reason = str(e)
                if block is not None and type(e) is InvalidBlock:  # built, then refused by the store as too large
                    reason += _sizes(block, len(calls))
                self.halted = NodeHalted(number=number, reason=reason)
                self.log.critical("node.halted", block=number, reason=reason)
                raise self.halted from e
        finally:
            self._sealing = None
            sealing.set()
        seal_ms = (time.perf_counter() - started) * 1000
        build_ms = (built - started) * 1000
        self.state = new_state
        self._answers.pop(number - 1, None)
        for key in [k for k in self._inbox if k[1] < number - 1]:
            del self._inbox[key]
        dropped = self.mempool.after_block(new_state, included, [x for x, _ in rejected])
        self._publish(block, new_state)
        now = time.monotonic()
        self._published_at[number] = now
        self._published_at.pop(number - 2, None)
        gap_ms = (now - self._last_sealed) * 1000 if self._last_sealed else 0.0
        self._last_sealed = now
        self._record(block, included, rejected, dropped)
        m = self.metrics
        m["gap_ms"] = [*m["gap_ms"][-999:], gap_ms]
        m["blocks"] += 1
        m["included"] += len(included)
        m["rejected"] += len(rejected)
        m["seal_ms"] = [*m["seal_ms"][-999:], seal_ms]
        if any(isinstance(c, EpochResult) for c in calls):
            m["epoch_blocks"] += 1
            m["epoch_seal_ms"] = [*m["epoch_seal_ms"][-999:], seal_ms]
            # the Yuma epoch the consensus actor computed for this block, then the seal
            total = self._consensus_ms.get(number - 1, 0.0) + seal_ms
            m["epoch_total_ms"] = [*m["epoch_total_ms"][-999:], total]
        self._consensus_ms.pop(number - 1, None)
        self.log.info("block.sealed", block=number, extrinsics=len(block.extrinsics), rejected=len(rejected),
                      dropped=len(dropped), mempool=len(self.mempool), seal_ms=round(seal_ms, 2),
                      build_ms=round(build_ms, 2))
        if self.config.epoch_index and any(isinstance(c, EpochResult) for c in calls):
            # after the block is published (the seal's time and the feed are not kept waiting), before the next seal
            await self.on_chain_thread(self._index_epochs, state, block)

    def _index_epochs(self, before: State, block: SignedBlock) -> None:
        """Keep the inputs of the block's epochs beside the log (a failure is logged: the index is optional)."""
        assert self.store is not None
        started = time.perf_counter()
        try:
            count = index_epochs(self.store, before, block)
        except StorageFailed as e:
            if (n := self._failed_again("epoch_index")) is not None:
                self.log.warning("epoch_index.not_written", block=block.number, reason=str(e), failures=n)
            return
        ms = (time.perf_counter() - started) * 1000
        self.metrics["epoch_index_ms"] = [*self.metrics.get("epoch_index_ms", [])[-999:], ms]
        self.log.debug("epoch_index.written", block=block.number, records=count, ms=round(ms, 2))

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
        budget = cfg.block_budget_s
        deadline = None if budget is None else time.perf_counter() + budget
        for ext in ready:
            if deadline is not None and time.perf_counter() > deadline:
                break  # the rest waits for the next block (the mempool keeps it ready)
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
        self.store.append(block, expected_height=block.number)  # a failure here stops sealing (StorageFailed)
        self._snapshot_if_due(block, state, note="snapshots are a cache: sealing goes on, and a restart folds from "
                                                 "an older snapshot or genesis; free space or fix the folder")

    def _record(self, block: SignedBlock, included: list[Extrinsic],
                rejected: list[tuple[Extrinsic, ExtrinsicRejected]], dropped: list[Extrinsic]) -> None:
        """Remember what became of each extrinsic this block settled (the receipts table, bounded)."""
        number = block.number
        self._recent[number] = block
        while len(self._recent) > _RECENT_BLOCKS:
            self._recent.popitem(last=False)
        receipts, pending = self._receipts, self._pending
        if included:
            offset = len(block.extrinsics) - len(included)  # the system calls come first
            for i, ext in enumerate(included):
                h = ext.hash
                pending.pop(h, None)
                receipts[h] = _Outcome("included", number, offset + i)
        for ext, err in rejected:
            pending.pop(ext.hash, None)
            receipts[ext.hash] = _Outcome("rejected", error=error_to_wire(err))
        for ext in dropped:
            pending.pop(ext.hash, None)
            err = ExtrinsicDropped(nonce=ext.nonce, reason="an earlier extrinsic of its signer was rejected, or "
                                                          "another extrinsic used its nonce")
            receipts[ext.hash] = _Outcome("rejected", error=error_to_wire(err))
        while len(receipts) > self.config.receipts_limit:
            _, gone = receipts.popitem(last=False)
            if gone.block is not None:  # inclusions enter in block order: those of its block and before are gone
                self._receipts_from = max(self._receipts_from, gone.block + 1)

    async def wait_sealed(self) -> None:
        """Return once no block is being sealed: admission (a signature check per extrinsic, on the event loop)
        waits here so that it never competes with the seal's worker thread for the interpreter."""
        sealing = self._sealing
        if sealing is not None:
            await sealing.wait()

    def admit(self, ext: Extrinsic) -> dict[str, Any]:
        """Admit ``ext`` to the mempool (typed error if it cannot enter); the same bytes again join the first.

        Returns ``{"hash", "head", "instance"}``: its outcome is in a block after ``head``, and ``instance`` names
        this run of the node (see :meth:`receipt`); with ``"joined": True`` when the same bytes were pending or
        included already (a client that signed them just now learns that another signed the very same extrinsic at
        once, at the same nonce: its own will not run a second time).
        """
        assert self.state is not None
        h = ext.hash
        known = self._receipts.get(h)
        if h not in self._pending and (known is None or known.status != "included"):
            self.mempool.admit(self.state, self.genesis_hash, ext)
            self._pending[h] = ext.nonce
            self._receipts.pop(h, None)
            return {"hash": h, "head": self.state.height, "instance": self.instance}
        return {"hash": h, "head": self.state.height, "instance": self.instance, "joined": True}

    async def receipt(self, h: bytes) -> dict[str, Any]:
        """What became of the extrinsic with hash ``h``: included (block, index, events), rejected (error),
        pending (waiting in the mempool, with its nonce) or unknown (never seen, or forgotten).

        Each answer names this run of the node (``instance``, new at each start) and ``receipts_from``: every
        extrinsic included at or after that block is known here. A restarted node's mempool is empty, so an
        extrinsic seen ``pending`` at another instance at head H, and ``unknown`` here with ``receipts_from`` <= H + 1,
        is in no block and waits nowhere: it was dropped with the old mempool."""
        assert self.state is not None
        head = self.state.height
        run = {"instance": self.instance, "receipts_from": self._receipts_from}
        nonce = self._pending.get(h)
        if nonce is not None:
            return {"status": "pending", "hash": h, "head": head, "nonce": nonce, **run}
        out = self._receipts.get(h)
        if out is None:
            return {"status": "unknown", "hash": h, "head": head, **run}
        if out.status == "rejected":
            return {"status": "rejected", "hash": h, "head": head, "error": out.error, **run}
        assert out.block is not None and out.index is not None
        block = self._recent.get(out.block)
        if block is None:
            assert self.store is not None
            block = await self.off_loop(lambda: self.store.get(out.block))  # type: ignore[union-attr]
        events = [encode(r.event) for r in block.events if r.phase == out.index]
        return {"status": "included", "hash": h, "head": head, "block": out.block, "index": out.index,
                "events": events, **run}

    async def submit_and_wait(self, ext: Extrinsic, wait: float) -> dict[str, Any]:
        """Admit ``ext`` and wait (up to ``wait`` s, at most ``rpc_wait_max``) for its outcome; "timeout" while
        it is still pending."""
        await self.wait_sealed()
        self.admit(ext)
        with anyio.move_on_after(min(wait, self.config.rpc_wait_max)):
            while True:
                r = await self.receipt(ext.hash)
                if r["status"] in ("included", "rejected"):
                    return r
                await self.wait_past(r["head"], self.config.rpc_wait_max)
        r = await self.receipt(ext.hash)
        if r["status"] in ("pending", "unknown"):
            r["status"] = "timeout"
        return r

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
        self._not_ahead("actor_answer", block)
        for raw in calls:
            decode(raw, SystemCall)  # malformed calls are refused at the door, not when sealing
        self._answers.setdefault(block, {})[actor] = list(calls)
        if actor == "consensus" and block in self._published_at:
            self._consensus_ms[block] = (time.monotonic() - self._published_at[block]) * 1000
        self._answered.set()
        self._answered = anyio.Event()

    def accept_post(self, actor: str, to: str, block: int, body: dict[str, Any], signer: bytes,
                    signature: bytes) -> None:
        """Accept a (signed) actor message from ``actor`` to actor ``to`` about ``block``."""
        payload = actor_answer_payload(self.genesis_hash, actor, block, [dumps([to, body])])
        if actor not in self._actor_keys.get(signer, set()) or not verify(signer, payload, signature):
            raise NotAnActor(actor=actor)
        if to not in ACTORS:
            raise RpcBadRequest(method="actor_post", reason=f"no actor {to[:64]!r}; the actors are {', '.join(ACTORS)}")
        self._not_ahead("actor_post", block)
        self.post(to, block, body)

    def _not_ahead(self, method: str, block: int) -> None:
        """Refuse an actor's word about a block past the head: actors follow the node, so none can be ahead, and
        the answers and inbox tables keep only the blocks up to the head (each sealed block drops the older ones)."""
        assert self.state is not None
        if block > self.state.height:
            raise RpcBadRequest(method=method, reason=f"block {block} is ahead of the head {self.state.height}")

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
        """The public RPC method table: the reads every chain host serves, plus submissions, receipts, metrics."""
        node = self

        def head() -> State:
            assert node.state is not None
            return node.state

        async def submit(p: dict[str, Any]) -> dict[str, Any]:
            ext = extrinsic_param(p.get("extrinsic"), "submit")
            await node.wait_sealed()
            return node.admit(ext)

        async def receipt(p: dict[str, Any]) -> dict[str, Any]:
            h = p.get("hash")
            if type(h) is not bytes or len(h) != 32:
                raise RpcBadRequest(method="receipt", reason="hash must be the extrinsic's 32-byte hash")
            return await node.receipt(h)

        async def submit_batch(p: dict[str, Any]) -> list[dict[str, Any]]:
            raws = p.get("extrinsics")
            if type(raws) is not list or len(raws) > 10_000:
                raise RpcBadRequest(method="submit_batch",
                                    reason="extrinsics must be a list of at most 10,000 encodings")
            out = []
            for i, raw in enumerate(raws):
                if i % _ADMIT_SLICE == 0:  # a signature check each: the block producer first
                    await anyio.lowlevel.checkpoint()
                    await node.wait_sealed()
                try:
                    out.append({"hash": node.admit(extrinsic_param(raw, "submit_batch"))["hash"]})
                except TaonetError as e:
                    out.append({"error": error_to_wire(e)})
            return out

        async def submit_wait(p: dict[str, Any]) -> dict[str, Any]:
            ext = extrinsic_param(p.get("extrinsic"), "submit_wait")
            wait = p.get("wait", node.config.rpc_wait_max)
            if type(wait) not in (int, float) or wait < 0:
                raise RpcBadRequest(method="submit_wait", reason="wait must be a number of seconds >= 0")
            return await node.submit_and_wait(ext, float(wait))

        async def next_nonce(p: dict[str, Any]) -> int:
            who = key_param(p, "address", "next_nonce")
            return head().account(who).nonce + node.mempool.waiting(who)

        async def metrics(_p: dict[str, Any]) -> dict[str, Any]:
            m = node.metrics
            seal = m["seal_ms"] or [0.0]
            ordered = sorted(seal)
            epoch = sorted(m["epoch_seal_ms"] or [0.0])
            total = sorted(m["epoch_total_ms"] or [0.0])
            gaps = m["gap_ms"]
            index = sorted(m.get("epoch_index_ms") or [0.0])
            lag = node.actor_lag()
            return {"head": head().height, "mempool": len(node.mempool), "mempool_bytes": node.mempool.bytes_held,
                    "mempool_max": node.mempool.limit, "mempool_max_bytes": node.mempool.max_bytes,
                    "blocks": m["blocks"], "included": m["included"], "rejected": m["rejected"],
                    "seal_ms_p50": statistics.median(seal), "seal_ms_p99": ordered[min(len(ordered) - 1,
                                                                                         int(0.99 * len(ordered)))],
                    "epoch_blocks": m["epoch_blocks"], "epoch_seal_ms_recent": m["epoch_seal_ms"][-200:],
                    "epoch_seal_ms_p50": statistics.median(epoch),
                    "epoch_seal_ms_p99": epoch[min(len(epoch) - 1, int(0.99 * len(epoch)))],
                    "epoch_total_ms_recent": m["epoch_total_ms"][-200:],
                    "epoch_total_ms_p50": statistics.median(total),
                    "epoch_total_ms_p99": total[min(len(total) - 1, int(0.99 * len(total)))],
                    "gap_ms_recent": gaps[-1000:], "gap_ms_max": max(gaps[-1000:], default=0.0),
                    "epoch_index_ms_p50": statistics.median(index),
                    "epoch_index_ms_p99": index[min(len(index) - 1, int(0.99 * len(index)))],
                    "rpc": {} if node._rpc_server is None else node._rpc_server.stats(),
                    "feed": connection_figures(node._feed_limit),
                    "actors_rpc": {} if node._actors_server is None else node._actors_server.stats(),
                    "receipts": len(node._receipts), "seal_ms_recent": m["seal_ms"][-1000:],
                    "gc_full_ms": m.get("gc_full_ms", 0.0), "gc_full_last_ms": m.get("gc_full_last_ms", 0.0),
                    **process_figures(),
                    "paused_s": m["paused_s"], "actor_lag": lag, "time": time.time(),
                    "halted": None if node.halted is None else str(node.halted), "paused": node._paused_status()}

        return {
            **read_handlers(self), "submit": submit, "submit_batch": submit_batch, "submit_wait": submit_wait,
            "receipt": receipt, "next_nonce": next_nonce, "metrics": metrics,
        }

    def _paused_status(self) -> dict[str, Any] | None:
        """The pause as the ``metrics`` RPC says it (None while the node seals)."""
        p = self.paused
        if p is None:
            return None
        return {"block": p["block"], "waiting_for": list(p["waiting_for"]), "remedy": p["remedy"],
                "for_s": round(time.monotonic() - p["since"], 1)}

    def actor_handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """The actors' method table: signed answers and actor messages, the inbox, and what a follower reads."""
        node = self

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
                                    min(float(p.get("wait", 30.0)), 30.0))

        reads = read_handlers(self)
        return {
            "info": reads["info"], "head": reads["head"], "block": reads["block"], "blocks": reads["blocks"],
            "actor_answer": actor_answer, "actor_post": actor_post, "actor_inbox": actor_inbox,
        }


def _sizes(block: SignedBlock, system: int) -> str:
    """What a sealed block's encoding is made of, for a halt at writing it (its system calls, its mempool
    extrinsics, its events): says which bound to lower."""
    sizes = [len(x.to_bytes()) for x in block.extrinsics]
    return (f" (its {system} system calls take {sum(sizes[:system])} bytes, its {len(sizes) - system} mempool "
            f"extrinsics {sum(sizes[system:])} bytes (max_block_extrinsics_bytes), its {len(block.events)} events the "
            "rest)")


def _only_chain_error(group: BaseExceptionGroup) -> TaonetError | None:
    """The group's one leaf if it is a chain error (StorageFailed, ...), else None (the group is raised as is)."""
    leaves = error_leaves(group)
    return leaves[0] if len(leaves) == 1 and isinstance(leaves[0], TaonetError) else None
