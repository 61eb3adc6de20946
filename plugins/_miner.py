"""The miner neuron: serves the plugin's forward on an Axon behind a blacklist and a priority, keeps its metagraph
fresh from the block feed, publishes its axon on the chain when it changed, and logs how it is paid each epoch."""

from __future__ import annotations

import os
import re
from typing import Any

import anyio

from taonet.kernel import Axon, StreamingSynapse, Subtensor, Synapse, unspecified_host
from taonet.ledger.errors import TaonetError

from ._checks import check_blacklist, check_priority
from ._neuron import (
    STOP_DEADLINE,
    HeadFollower,
    NeuronConfig,
    Prepared,
    RecentErrors,
    axon_config,
    call_hook,
    chain_replaced_uid,
    count_failure,
    hook_failure,
    lifecycle,
    log_traceback,
    now,
    open_client,
    prepare,
    read_metagraph,
    status_errors,
    uid_changed,
)
from ._standing import PruneWatch

__all__ = ["run_miner"]

MAX_ERRORS = 10
MAX_FAILURE_KINDS = 64
"""Distinct hook failures a miner counts (each is logged once, then at its 10th, 100th... time)."""
SILENT_BLOCKS = 10
"""Blocks the address that took this miner's hotkey on the chain must stay silent (not answer a ping) before the
miner publishes its own again."""
PING_TIMEOUT = 2.0
"""Seconds the miner waits for the other address's answer to its ping."""
SECRET_OPTION = re.compile(r"key|token|secret|password|passwd", re.IGNORECASE)
"""Options whose value ``miner.started`` does not show."""


async def run_miner(config: NeuronConfig, *, task_status: anyio.abc.TaskStatus[Any] = anyio.TASK_STATUS_IGNORED
                    ) -> None:
    """Run a miner until cancelled; ``task_status.started(axon_info)`` once its axon serves."""
    async with open_client(config) as sub:
        prepared = await prepare(config, sub, "miner")
        with prepared.state:
            await _Miner(config, sub, prepared).run(task_status)


class _Miner:
    def __init__(self, config: NeuronConfig, sub: Subtensor, p: Prepared) -> None:
        self.config = config
        self.sub = sub
        self.p = p
        self.plugin = p.plugin
        self.options = p.options
        self.log = p.log
        self.netuid = config.netuid
        self.metagraph: Any = None
        self.uid: int | None = p.uid
        self.permits: dict[str, float] = {}
        """Hotkeys of registered validators with a permit, and their stake."""
        self.permits_block = -1
        """The block of the metagraph ``permits`` was read from (or the head a read of them was last tried at)."""
        self.permits_lock = anyio.Lock()
        self.stakes: dict[str, float] = {}
        self.recent = RecentErrors(MAX_ERRORS)
        """Errors for status.json: one entry per cause, with its count, block and time."""
        self.published_block: int | None = None
        """The block from which the chain has held our axon for our UID (None: not yet, or the UID changed)."""
        self.elsewhere: str | None = None
        """IP:PORT of another process serving our hotkey, which overwrote our axon on the chain (None: none)."""
        self.silent_since: int | None = None
        """The block from which ``elsewhere`` has not answered a ping (None: it answers, or none)."""
        self.replaced: str | None = None
        """IP:PORT of the axon record this miner published over at its start (asked about once)."""
        self.tg: anyio.abc.TaskGroup | None = None
        """The task group of the miner's run, for the one check made after publishing."""
        self.head = 0
        self.last_epoch: int | None = None
        self.served = 0
        self.failures: dict[tuple[str, str], int] = {}
        self.ready = anyio.Event()
        """Set once the plugin's neuron_start has returned: forwards wait for it."""
        self.follower: HeadFollower | None = None
        self.prune_watch = PruneWatch(self.log, "miner")

    # --- the axon's hooks -------------------------------------------------------------------------------------
    async def forward(self, synapse: Synapse) -> Synapse:
        from .errors import HookFailed

        self.served += 1
        if not self.ready.is_set():  # neuron_start still opens what the forward needs (a model...): wait for it,
            await self.ready.wait()  # within the caller's deadline (the axon's)
        try:
            out = await call_hook(self.plugin, "miner_forward", synapse=synapse, options=self.options)
        except Exception as e:  # the plugin's code: one log line here, a 500 for the caller, the axon serves on
            raise self._hook_failed("miner_forward", e) from None
        if isinstance(synapse, StreamingSynapse):
            return self._stream(out, synapse)
        if type(out) is not type(synapse):
            raise self._hook_failed("miner_forward", HookFailed(
                plugin=self.plugin.name, hook="miner_forward", error=f"it returned {type(out).__name__}, not the "
                f"{type(synapse).__name__} it got; return synapse.replace(field=...)"))
        return out

    def _stream(self, out: Any, synapse: Synapse) -> Any:
        """A streaming forward's chunks, passed on; an error while it produces them is the hook's (one log line, the
        stream ends with 500), a chunk the wire cannot carry is refused (see :meth:`_check_chunk`), and anything but an
        iterator is named."""
        from taonet.kernel.errors import ServerError

        from .errors import HookFailed

        if isinstance(out, Synapse) or not (hasattr(out, "__aiter__") or hasattr(out, "__iter__")):
            raise self._hook_failed("miner_forward", HookFailed(
                plugin=self.plugin.name, hook="miner_forward", error=f"it returned {type(out).__name__}; for the "
                f"streaming {type(synapse).__name__} return an iterator or generator (sync or async) of its chunks"))
        if hasattr(out, "__aiter__"):
            async def chunks() -> Any:
                n = 0
                try:
                    async for chunk in out:
                        self._check_chunk(synapse, n, chunk)
                        n += 1
                        yield chunk
                except _RefusedChunk as e:  # said already: the caller's 500 names the chunk
                    raise ServerError(str(e)) from None
                except Exception as e:  # the plugin's generator raised
                    raise self._hook_failed("miner_forward", e) from None
                finally:  # closed with this wrapper (the axon bounds it), not later by the GC as an unowned task
                    if (aclose := getattr(out, "aclose", None)) is not None:
                        try:
                            await aclose()
                        except Exception as e:  # the plugin's clean-up raised
                            raise self._hook_failed("miner_forward", e) from None
            return chunks()

        def sync_chunks() -> Any:
            n = 0
            try:
                for chunk in out:
                    self._check_chunk(synapse, n, chunk)
                    n += 1
                    yield chunk
            except _RefusedChunk as e:  # said already: the caller's 500 names the chunk
                raise ServerError(str(e)) from None
            except Exception as e:  # the plugin's generator raised (in the axon's worker thread)
                raise self._hook_failed("miner_forward", e) from None
        return sync_chunks()

    def _check_chunk(self, synapse: Synapse, n: int, chunk: Any) -> None:
        """A chunk the wire cannot carry (a set, a numpy number, an int over 64 bits...) is refused as a non-streamed
        answer's field is: ``axon.answer_refused`` in the miner's log (once per reason, then at its 10th, 100th...
        time) and status.json's errors, and a 500 naming it for the caller (the chunks before it still reach it)."""
        if type(chunk) in _PLAIN_CHUNKS or (why := _Chunk(chunk=chunk).unsendable()) is None:
            return
        name = type(synapse).NAME
        held = why.removeprefix("chunk holds ")
        reason = (f"the forward's chunk {n} of {name} holds {held}, which the wire cannot carry" if held != why else
                  f"the forward's chunk {n} of {name} cannot be encoded: {why}")[:300]
        cause = f"{name}: {why}"  # one cause whichever chunk it was
        if (count := count_failure(self.failures, ("axon.answer_refused", cause), MAX_FAILURE_KINDS)) is not None:
            self.log.warning("axon.answer_refused", synapse=name, reason=reason, times=count,
                             hint="a chunk the streaming forward yielded: the caller got 500 after the chunks before")
        self.recent.add(f"axon.answer_refused: {name}: {reason}", self.head, key=f"axon.answer_refused: {cause}")
        raise _RefusedChunk(reason)

    async def blacklist(self, synapse: Synapse) -> tuple[bool, str] | tuple[bool, str, float | None]:
        if self.plugin.implements("miner_blacklist"):
            try:
                out = await call_hook(self.plugin, "miner_blacklist", synapse=synapse, metagraph=self.metagraph,
                                      options=self.options)
                return check_blacklist(self.plugin, out)  # a "no" is the hook's mistake, not a refusal of everyone
            except Exception as e:  # the plugin's code: the caller gets a 500, the miner a log line
                raise self._hook_failed("miner_blacklist", e) from None
        caller = synapse.dendrite.hotkey or ""
        if caller in self.permits or (await self._newer_permits() and caller in self.permits):
            return False, ""
        return True, "not a registered validator with a permit on this subnet"

    async def _newer_permits(self) -> bool:
        """Read the permits again if a block came since they were read (at most once a block, however many callers):
        a validator given its permit since is answered now, not up to ``metagraph_interval`` blocks later (its first
        steps refused, its scores of every miner 0). False when there is nothing newer to read or the read failed."""
        if self.permits_block >= self.head:
            return False
        async with self.permits_lock:
            if self.permits_block < self.head:  # not read meanwhile by a caller that came with this one
                head, self.permits_block = self.head, self.head  # tried at this head, whatever comes of it
                try:
                    self._take_permits(await read_metagraph(self.config, self.sub, self.netuid, head))
                except TaonetError as e:  # the node away: the caller is refused on what we knew, the next block
                    self._error("metagraph.permits", str(e))  # may try again (not every caller: each would wait)
                    return False
        return True

    def _take_permits(self, mg: Any) -> None:
        self.stakes = {hk: float(mg.S[u]) for u, hk in enumerate(mg.hotkeys)}
        self.permits = {hk: float(mg.S[u]) for u, hk in enumerate(mg.hotkeys) if bool(mg.validator_permit[u])}
        self.permits_block = max(self.permits_block, mg.block)

    async def priority(self, synapse: Synapse) -> float:
        if self.plugin.implements("miner_priority"):
            try:
                return check_priority(self.plugin, await call_hook(self.plugin, "miner_priority", synapse=synapse,
                                                                   metagraph=self.metagraph, options=self.options))
            except Exception as e:  # the plugin's code: the caller gets a 500, the miner a log line
                raise self._hook_failed("miner_priority", e) from None
        return self.stakes.get(synapse.dendrite.hotkey or "", 0.0)

    def _hook_failed(self, hook: str, e: Exception) -> Exception:
        """Log a failing hook (each cause once, then at its 10th, 100th... time, with the count; where in the
        plugin's code it was raised, and its whole traceback at debug level) and return the error the axon answers
        the caller with (500 naming the hook and the error's type only)."""
        from taonet.kernel.errors import ServerError

        from .errors import HookFailed

        ours = isinstance(e, HookFailed)  # our words (a wrong return value, a hook that blocks), not the plugin's
        failed = hook_failure(self.plugin, hook, e)
        if (count := count_failure(self.failures, (hook, failed.said), MAX_FAILURE_KINDS)) is not None:
            self.log.warning("plugin.hook_failed", hook=hook, error=failed.said, times=count)
            log_traceback(self.log, hook, failed.__cause__)
        self._error(f"plugin.{hook}", failed.said)
        # the caller learns which hook failed and the error's type, not its text (it may hold the miner's secrets)
        # nor where in the miner's code it was raised
        told = e.error if ours else f"{type(e).__name__} (see the miner's log)"
        return ServerError(str(HookFailed(plugin=self.plugin.name, hook=hook, error=told)))

    def _lifecycle_failed(self, e: Any) -> None:
        """A lifecycle hook raised or overran its deadline: logged (each cause once, then at its 10th, 100th...
        time; its traceback at debug level) and kept in status.json's errors."""
        if (count := count_failure(self.failures, (e.hook, e.said), MAX_FAILURE_KINDS)) is not None:
            self.log.warning("plugin.hook_failed", hook=e.hook, error=e.said, times=count)
            log_traceback(self.log, e.hook, e.__cause__)
        self._error(f"plugin.{e.hook}", e.said)

    async def _lifecycle(self, name: str, **kwargs: Any) -> None:
        await lifecycle(self.plugin, name, self.log, deadline=float(self.options["hook_timeout"]),
                        failed=self._lifecycle_failed, raise_overrun=name == "neuron_start",
                        context=self.p.context("miner", self.netuid, self.metagraph), **kwargs)

    # --- chain ------------------------------------------------------------------------------------------------
    async def _chain_replaced(self, info: Any) -> None:
        """The node's chain was replaced (see HeadFollower): forget what the old chain said, read this neuron's
        registration, UID and axon from the new one, and publish the axon there."""
        self.uid, self.last_epoch, self.permits_block = None, None, -1
        self.published_block, self.elsewhere, self.silent_since, self.replaced = None, None, None, None
        await self._sync(fresh=True)
        chain_replaced_uid(self.log, self.uid, netuid=self.netuid, block=self.metagraph.block)
        await self._publish(info)

    async def _sync(self, *, fresh: bool = False) -> None:
        mg = await read_metagraph(self.config, self.sub, self.netuid, self.head, fresh=fresh)
        self.metagraph = mg
        if mg.block >= self.permits_block:  # not older than what a caller made us read
            self._take_permits(mg)
        uid = mg.hotkeys.index(self.p.hotkey) if self.p.hotkey in mg.hotkeys else None
        if uid != self.uid:
            if not fresh:  # a replaced chain's standing is said by _chain_replaced
                uid_changed(self.log, self.uid, uid, netuid=self.netuid, hotkey=self.p.hotkey, block=mg.block)
            self.uid = uid
            self.published_block, self.elsewhere, self.silent_since = None, None, None  # a new UID: publish on it
        self.prune_watch.update(mg, uid, self.netuid)
        epoch = int(mg.subnet.get("last_epoch", 0))
        if self.last_epoch is not None and epoch != self.last_epoch and self.uid is not None:
            u = self.uid
            self.log.info("miner.epoch", block=epoch, uid=u, stake=float(mg.S[u]), incentive=float(mg.I[u]),
                          emission=int(mg.E[u]), served=self.served)
            await self._lifecycle("neuron_epoch", block=epoch)
        self.last_epoch = epoch

    async def _publish(self, info: Any) -> None:
        """Serve the axon on the chain unless the chain already has this address for our UID, or another process
        serving our hotkey took the record after ours was on the chain and still answers (said, not fought over:
        ours is published again once that address has not answered for SILENT_BLOCKS blocks)."""
        mg = self.metagraph
        if self.uid is None:
            return
        have = mg.axons[self.uid]
        if have.ip == info.ip and have.port == info.port and have.version == info.version:
            if self.published_block is None:
                self.published_block = mg.block  # ours already (a restart), or ours just included
            self.elsewhere = self.silent_since = None
            return
        if unspecified_host(info.ip):
            self._publish_failed(
                f"the axon's address is {info.ip} (every interface: no address to dial), so it is not published and "
                "no validator can reach this miner; give --external-ip (Axon(external_ip=...) in Python): 127.0.0.1 "
                "on one machine, else this machine's address the validators reach")
            return
        if (self.published_block is not None and mg.block > self.published_block and have.is_serving
                and not await self._taken_back(have, info, mg.block)):
            return
        other = f"{have.ip}:{have.port}"
        replacing = self.published_block is None and have.is_serving and other != self.replaced
        result = await self.sub.serve_axon(self.config.wallet, self.netuid, info)
        if result.success:
            self.published_block = result.block
            self.log.info("axon.published", ip=info.ip, port=info.port, block=result.block)
            if replacing and self.tg is not None:  # asked after publishing: a restart is not held up by a ping
                self.replaced = other
                self.tg.start_soon(self._say_if_replaced_answers, have, info)
        else:
            self._publish_failed(result.message)

    async def _say_if_replaced_answers(self, have: Any, info: Any) -> None:
        """The axon record this miner published over at its start is another address: warn once if that answers (a
        second process on this hotkey, not this miner's own earlier run)."""
        if await _answers(have):
            other = f"{have.ip}:{have.port}"
            self.log.warning("miner.replaces_serving_axon", other=other, ours=f"{info.ip}:{info.port}",
                             note=f"the chain's record of this hotkey was {other}, which answers: this miner "
                                  "published its own over it; if another process serves this hotkey, stop one")

    async def _taken_back(self, have: Any, info: Any, block: int) -> bool:
        """The chain's record of our UID holds another address than the one we published (another process serving
        our hotkey): say so (once, then at the 10th, 100th... check), and whether to publish ours again: only once
        that address has not answered a ping for SILENT_BLOCKS blocks (its process stopped)."""
        other = f"{have.ip}:{have.port}"
        if other != self.elsewhere:
            self.elsewhere, self.silent_since = other, None
        answers = await _answers(have)
        block = max(block, self.head)  # the ping may have waited some blocks
        if answers:
            self.silent_since = None
        elif self.silent_since is None:
            self.silent_since = block
        silent = 0 if self.silent_since is None else block - self.silent_since
        if silent >= SILENT_BLOCKS:
            self.log.info("miner.axon_taken_back", other=other, silent_blocks=silent, block=block,
                          note=f"{other} has not answered for {silent} blocks: this miner publishes its axon again")
            self.elsewhere = self.silent_since = None
            return True
        message = (f"another process serves this hotkey at {other}: stop one (this one, at {info.ip}:{info.port}, "
                   f"does not publish its axon again while that address answers)")
        if (count := count_failure(self.failures, ("miner.hotkey_used_elsewhere", other),
                                   MAX_FAILURE_KINDS)) is not None:
            self.log.warning("miner.hotkey_used_elsewhere", other=other, ours=f"{info.ip}:{info.port}",
                             answers=answers, block=block, times=count, note=message)
        self._error("miner.hotkey_used_elsewhere", message)
        return False

    def _publish_failed(self, reason: str) -> None:
        """A publish failed: logged once per reason (then at its 10th, 100th... time), counted in status.json."""
        if (count := count_failure(self.failures, ("axon.publish", reason), MAX_FAILURE_KINDS)) is not None:
            self.log.warning("axon.publish_failed", reason=reason, times=count)
        self._error("axon.publish", reason)

    def _error(self, event: str, message: str) -> None:
        self.recent.add(f"{event}: {message}", self.head)

    def _status(self, info: Any, state: str = "running") -> dict[str, Any]:
        mg, u = self.metagraph, self.uid
        have = mg is not None and u is not None and u < mg.n
        return {"role": "miner", "plugin": self.plugin.name, "netuid": self.netuid, "hotkey": self.p.hotkey,
                "uid": u, "block": self.head, "metagraph_block": mg.block if mg is not None else None,
                "stake": float(mg.S[u]) if have else 0.0,
                "incentive": float(mg.I[u]) if have else 0.0, "emission": int(mg.E[u]) if have else 0,
                "axon": f"{info.ip}:{info.port}", "served": self.served, "state": state,
                "next_to_prune": self.prune_watch.next,
                **status_errors(self.recent, *([self.follower.recent] if self.follower else []), limit=MAX_ERRORS),
                "pid": os.getpid(), "time": now()}

    # --- the loop -----------------------------------------------------------------------------------------------
    async def run(self, task_status: anyio.abc.TaskStatus[Any]) -> None:
        await self._sync()
        self.head = self.metagraph.block
        if self.config.external_ip is None:
            self.log.info("axon.local_only", hint="no --external-ip: the axon is published as 127.0.0.1")
        axon = Axon(self.config.wallet, f"tcp://0.0.0.0:{self.config.port}",
                    external_ip=self.config.external_ip or "127.0.0.1",
                    config=axon_config(self.options, getattr(self.config.shared, "axon_config", None)))
        for cls in self.plugin.protocol.synapses:
            axon.attach(self.forward, self.blacklist, self.priority, synapse=cls)
        # an answer the axon cannot send (a numpy value where an int goes, ...) is the plugin's mistake: say it where
        # the operator looks, as a hook's failure is
        axon.on_refused = lambda synapse, reason: self._error("axon.answer_refused", f"{synapse}: {reason}")
        info = None
        try:
            async with anyio.create_task_group() as tg:
                self.tg = tg
                info = await tg.start(axon.serve)
                await self._publish(info)
                await self._lifecycle("neuron_start")
                self.ready.set()
                self.log.info("miner.started", axon=f"{info.ip}:{info.port}", state_dir=str(self.p.state.path),
                              endpoint=self.sub.endpoint, port=self.config.port,
                              external_ip=self.config.external_ip or "127.0.0.1", options=self._shown_options())
                task_status.started(info)
                await self._loop(info)
        finally:
            with anyio.move_on_after(STOP_DEADLINE, shield=True):
                await lifecycle(self.plugin, "neuron_stop", self.log,
                                context=self.p.context("miner", self.netuid, self.metagraph))
                if info is not None:
                    self.p.state.write_status(self._status(info, "stopped"))
                self.log.info("miner.stopped", served=self.served)

    async def _loop(self, info: Any) -> None:
        async with anyio.create_task_group() as tg:
            follower = HeadFollower(self.sub, self.head, self.log, on_block=lambda h: self._on_block(h, info),
                                    on_retry=lambda: self.p.state.write_status(self._status(info)))
            self.follower = follower
            tg.start_soon(follower.run)
            seen = self.head
            chains = said = 0
            while True:
                seen = await follower.next(seen)
                try:
                    if follower.chains != chains:  # the node runs another chain now: read our standing there
                        self.head = seen
                        try:
                            await self._chain_replaced(info)
                        except TaonetError as e:  # tried again at the next block; said once a chain
                            if said != follower.chains:
                                said = follower.chains
                                chain_replaced_uid(self.log, None, netuid=self.netuid, block=seen, error=e)
                            raise
                        chains = said = follower.chains
                    elif seen - self.metagraph.block >= int(self.options["metagraph_interval"]):
                        await self._sync()
                        await self._publish(info)
                except TaonetError as e:  # a read refused or the node away: the follower says so; go on
                    self._error("metagraph.sync", str(e))
                    continue
                if self.plugin.implements("neuron_block"):
                    await self._lifecycle("neuron_block", block=seen)

    def _shown_options(self) -> dict[str, Any]:
        """The effective options (defaults and --set), a secret-looking one's value hidden."""
        return {k: "***" if SECRET_OPTION.search(k) and v not in ("", None) else v for k, v in self.options.items()}

    def _on_block(self, head: int, info: Any) -> None:
        self.head = head
        self.p.state.write_status(self._status(info))


class _Chunk(Synapse):
    """One chunk of a stream as a field, checked as the wire checks what it sends (``Synapse.unsendable``)."""

    chunk: Any = None


_PLAIN_CHUNKS = frozenset((str, bytes, float, bool, type(None)))
"""Chunk types the wire always carries (checked no further: a token stream's chunks cost nothing more)."""


class _RefusedChunk(Exception):
    """A chunk the wire cannot carry, already said in the miner's log and status (its text is the caller's)."""


async def _answers(axon: Any) -> bool:
    """Whether an axon answers a ping (the base Synapse) within PING_TIMEOUT seconds."""
    from taonet.kernel import Dendrite
    from taonet.ledger import Keypair

    try:
        async with Dendrite(Keypair.generate()) as d:
            reply = await d(axon, Synapse(), timeout=PING_TIMEOUT)
    except (TaonetError, ValueError, OSError):
        return False
    return bool(reply.is_success)
