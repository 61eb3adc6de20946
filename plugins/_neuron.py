"""What both neurons share: their configuration, the checks before starting, calling a plugin's hooks without
blocking the event loop, and the block loop's bookkeeping."""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import queue
import threading
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import attrs

from ._discovery import Plugin, load_plugin
from ._log import get_logger
from ._state_dir import StateDir, default_state_dir
from ._types import NeuronContext

__all__ = ["MAX_LATE_CALLS", "STOP_DEADLINE", "NeuronConfig", "call_hook", "call_within", "hook_failure",
           "load_off_loop", "log_traceback", "open_client", "plugin_place", "prepare", "read_metagraph", "uid_changed"]

logger = get_logger("taonet.plugins.neuron")

STOP_DEADLINE = 5.0
"""Seconds a neuron takes at most to stop after SIGINT/SIGTERM (its last save and the plugin's neuron_stop)."""


@attrs.frozen(kw_only=True)
class NeuronConfig:
    """How to run one neuron: which plugin on which subnet, with which wallet, where, and with which options."""

    plugin: str | Plugin
    """A plugin name (loaded from the installed entry points) or an already loaded :class:`Plugin`."""
    netuid: int
    wallet: Any
    """A :class:`taonet.kernel.Wallet` (or anything with ``hotkey``, ``coldkeypub``, ``dir``, ``hotkey_str``)."""
    endpoint: str | None = None
    timeout: float = 10.0
    port: int = 8091
    external_ip: str | None = None
    state_dir: Path | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    """``--set`` overrides (strings are converted to each option's type)."""
    gateway: str | None = None
    """A validator's gateway address for organic queries (``host:port`` or an nng URL); None: no gateway."""
    shared: Any = None
    """What a :class:`~taonet.plugins.NeuronHost` shares between its neurons (chain clients, metagraphs); None
    when the neuron runs alone."""


@contextlib.asynccontextmanager
async def open_client(config: NeuronConfig) -> AsyncIterator[Any]:
    """The neuron's chain client: its own, or its host's shared one (left open for the others)."""
    if config.shared is not None:
        sub = await config.shared.client(config.endpoint, config.timeout)
        try:
            yield sub
        finally:
            config.shared.release(sub)
        return
    from taonet.kernel import Subtensor

    async with Subtensor(config.endpoint, timeout=config.timeout) as sub:
        yield sub


async def read_metagraph(config: NeuronConfig, sub: Any, netuid: int, at_least: int = 0, *,
                         fresh: bool = False) -> Any:
    """The subnet's metagraph at block ``at_least`` or later: the host's shared copy, else read now (``fresh``: read
    now in any case, as after the node's chain was replaced: a shared copy may be of the old chain)."""
    if config.shared is not None:
        return await config.shared.metagraph(sub, netuid, at_least, fresh=fresh)
    return await sub.metagraph(netuid)


_LOADING = threading.Lock()
"""Held while :func:`load_off_loop` loads a plugin: one load at a time (a load swaps ``sys.stdout`` and
``sys.stderr`` to hold what its thread prints, and two at once would leave the streams swapped)."""


async def load_off_loop(name: str) -> Plugin:
    """``load_plugin(name)`` in a worker thread, so that the event loop serves the process's other neurons while the
    plugin imports (up to its load bound, 60 s); on cancellation the load is left to finish in its thread."""

    def load() -> Plugin:
        with _LOADING:
            return load_plugin(name)

    return await anyio.to_thread.run_sync(load, abandon_on_cancel=True)


@attrs.define(kw_only=True)
class Prepared:
    """A neuron ready to run: its plugin, options, state directory and identity on the chain."""

    plugin: Plugin
    options: dict[str, Any]
    state: StateDir
    hotkey: str
    uid: int
    log: Any

    def context(self, role: str, netuid: int, metagraph: Any = None) -> NeuronContext:
        """The context handed to the plugin's lifecycle hooks."""
        return NeuronContext(role=role, netuid=netuid, hotkey=self.hotkey, uid=self.uid, options=self.options,
                             plugin_dir=self.state.plugin_dir, metagraph=metagraph)


async def prepare(config: NeuronConfig, sub: Any, role: str) -> Prepared:
    """Load the plugin, check it is the subnet's and that the hotkey holds a UID there; open no files yet."""
    from taonet.ledger.errors import HotkeyNotRegistered

    from .errors import PluginMismatch

    plugin = config.plugin if isinstance(config.plugin, Plugin) else await load_off_loop(config.plugin)
    options = plugin.options({k: v for k, v in config.options.items()})
    ident = await sub.get_subnet_identity(config.netuid)  # SubnetNotFound for a subnet that does not exist
    if ident is not None and ident["plugin"] != plugin.name:
        raise PluginMismatch(netuid=config.netuid, plugin=plugin.name, recorded=ident["plugin"])
    hotkey = config.wallet.hotkey
    uid = await sub.get_uid_for_hotkey_on_subnet(hotkey.public_key, config.netuid)
    if uid is None:
        raise HotkeyNotRegistered(hotkey=hotkey.ss58_address, netuid=config.netuid)
    path = config.state_dir or default_state_dir(config.wallet, role, plugin.name, config.netuid)
    log = logger.bind(neuron=role, netuid=config.netuid, uid=uid, hotkey=hotkey.ss58_address, plugin=plugin.name)
    if ident is None:
        log.warning("neuron.no_identity", hint=f"the subnet records no plugin; its owner may set one "
                                               f"(Subtensor.set_subnet_identity) to {plugin.name!r}")
    return Prepared(plugin=plugin, options=options, state=StateDir(Path(path)), hotkey=hotkey.ss58_address, uid=uid,
                    log=log)


HOOK_THREAD = "taonet-hook:"
"""The name of a thread running a plain-def hook starts with this, then ``PLUGIN.HOOK`` (the host's watchdog reads
it)."""

MAX_LATE_CALLS = 16
"""Calls of one sync hook that may still run after their caller gave up (the deadline passed, the neuron stops);
past this, calling the hook again is :class:`~taonet.plugins.errors.HookFailed` without starting a thread."""


class _LateCalls:
    """Per plugin and hook: how many calls in worker threads still run although nobody waits for them any more."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}


_LATE: weakref.WeakKeyDictionary[Plugin, _LateCalls] = weakref.WeakKeyDictionary()
_LATE_LOCK = threading.Lock()


def _late_calls(plugin: Plugin) -> _LateCalls:
    with _LATE_LOCK:
        late = _LATE.get(plugin)
        if late is None:
            late = _LATE[plugin] = _LateCalls()
        return late


class _DaemonWorkers:
    """Reused daemon threads for plain-def hooks (starting a thread per call doubled a call's cost): an idle worker
    takes the next job, a new one starts when none is idle, and a worker idle for ``idle_s`` ends. Daemon threads,
    unlike asyncio's worker threads, never keep the process from exiting behind a hook that blocks."""

    def __init__(self, idle_s: float = 10.0) -> None:
        self.idle_s = idle_s
        self.lock = threading.Lock()
        self.idle: list[queue.SimpleQueue[Any]] = []

    def submit(self, job: Any, name: str) -> None:
        """Run ``job()`` in an idle worker (renamed ``name`` while it runs) or a new one."""
        with self.lock:
            inbox = self.idle.pop() if self.idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._work, args=(inbox,), name=name, daemon=True).start()
        inbox.put((job, name))

    def _work(self, inbox: queue.SimpleQueue[Any]) -> None:
        me = threading.current_thread()
        while True:
            try:
                job, name = inbox.get(timeout=self.idle_s)
            except queue.Empty:
                with self.lock:
                    if inbox in self.idle:  # nobody took this worker meanwhile: it ends
                        self.idle.remove(inbox)
                        return
                job, name = inbox.get()  # taken just now: its job is on the way
            me.name = name
            job()
            me.name = "taonet-hook-worker (idle)"
            with self.lock:
                self.idle.append(inbox)


_WORKERS = _DaemonWorkers()


async def _in_thread(plugin: Plugin, name: str, fn: Any) -> Any:
    """``fn()`` in a daemon thread, awaited; on cancellation the call is left to finish (it cannot be stopped) and
    counted as late, so a hook that blocks for ever neither stalls the loop, nor keeps the process from exiting,
    nor piles up threads without bound."""
    from .errors import HookFailed

    late = _late_calls(plugin)
    with late.lock:
        if late.counts.get(name, 0) >= MAX_LATE_CALLS:
            raise HookFailed(plugin=plugin.name, hook=name, error=(
                f"{MAX_LATE_CALLS} earlier calls still run long after their deadline: the hook blocks; make it "
                "return in time (bound its work, or make it an async def that awaits)"))
    token = anyio.lowlevel.current_token()
    done = anyio.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # handed to the awaiting task, raised there
            box["error"] = e
        with late.lock:
            if box.get("abandoned"):
                late.counts[name] -= 1
                return
            box["finished"] = True
        with contextlib.suppress(Exception):  # the loop is gone: nobody waits
            anyio.from_thread.run_sync(done.set, token=token)

    async with anyio.to_thread.current_default_thread_limiter():
        _WORKERS.submit(work, f"{HOOK_THREAD}{plugin.name}.{name}")
        try:
            await done.wait()
        except BaseException:
            with late.lock:
                if not box.get("finished"):
                    box["abandoned"] = True
                    late.counts[name] = late.counts.get(name, 0) + 1
            raise
    if "error" in box:
        raise box["error"]
    return box["value"]


async def call_hook(plugin: Plugin, name: str, **kwargs: Any) -> Any:
    """Call a hook: an ``async def`` implementation on the loop, a plain one in a worker thread (a daemon thread:
    one that overruns its caller's deadline is left to finish, at most :data:`MAX_LATE_CALLS` of them a hook)."""
    hook = getattr(plugin.hook, name)
    try:
        if plugin.is_async(name):
            result = hook(**kwargs)
        else:
            result = await _in_thread(plugin, name, lambda: hook(**kwargs))
        if isinstance(result, list) and not hook.spec.opts.get("firstresult"):
            return [await r if inspect.isawaitable(r) else r for r in result]  # a hook without firstresult: a list
        return await result if inspect.isawaitable(result) else result
    except SystemExit as e:  # a hook ends no neuron (nor a host of many): it is the hook's failure
        from .errors import HookFailed

        raise HookFailed(plugin=plugin.name, hook=name, error=f"it called sys.exit({e.code!r}); a hook must not exit "
                                                              "the process (raise an exception)") from None


LIFECYCLE_OVERRUN = {"neuron_start": "so the neuron did not start", "neuron_block": "this block's call was skipped",
                     "neuron_epoch": "this epoch's call was skipped"}
"""What an overrun of each bounded lifecycle hook costs (said in its HookFailed)."""


OVERRUN_HINT = ("make it return sooner (bound its work; run what takes long in a thread or task of its own) or give it "
                "longer: --set hook_timeout=SECONDS")


MAX_PLACE = 160
"""Characters of a plugin's source path an error line shows at most (the end of a longer one)."""
MAX_TRACEBACK = 16_000
"""Characters of a plugin's traceback a debug line holds at most (its end: the innermost frames)."""


def plugin_place(plugin: Plugin, e: BaseException) -> str:
    """Where in the plugin's own code ``e`` was raised: the innermost frame of its traceback in the plugin's code
    (:meth:`Plugin.code_roots`), as ``path:line, in function`` with the path from the plugin's package on; "" when no
    frame is the plugin's."""
    import traceback

    roots = plugin.code_roots()
    found = None
    for frame, line in traceback.walk_tb(e.__traceback__):
        file = frame.f_code.co_filename
        for root in roots:
            if file == root or file.startswith(root + os.sep):
                found = (os.path.relpath(file, os.path.dirname(root)), line, frame.f_code.co_name)
    if found is None:
        return ""
    path, line, function = found
    if len(path) > MAX_PLACE:
        path = "..." + path[-(MAX_PLACE - 3):]
    return f"{path}:{line}, in {function}"


def hook_failure(plugin: Plugin, name: str, e: Exception) -> Any:
    """A hook's exception as a HookFailed: its one-line cause (bounded), where in the plugin's code it was raised
    (``where``, for the neuron's own log and status) and the exception itself as its ``__cause__`` (its traceback,
    for :func:`log_traceback`). A HookFailed is returned as it is."""
    from .errors import HookFailed

    if isinstance(e, HookFailed):
        return e
    failed = HookFailed(plugin=plugin.name, hook=name, error=" ".join(f"{type(e).__name__}: {e}".split())[:300],
                        where=plugin_place(plugin, e))
    failed.__cause__ = e
    return failed


def log_traceback(log: Any, hook: str, e: BaseException | None) -> None:
    """The whole traceback of a plugin's exception ``e`` at debug level (``plugin.hook_traceback``; its end when
    longer than :data:`MAX_TRACEBACK`); nothing for None. Said where its ``plugin.hook_failed`` line is said."""
    import traceback

    if e is None:
        return
    text = "".join(traceback.format_exception(e))
    if len(text) > MAX_TRACEBACK:
        text = "..." + text[-(MAX_TRACEBACK - 3):]
    log.debug("plugin.hook_traceback", hook=hook, traceback=text)


async def _bounded(plugin: Plugin, name: str, deadline: float | None, **kwargs: Any) -> tuple[Any, str]:
    """``call_hook`` within ``deadline`` seconds (None: no deadline): its value and "", or None and why it overran
    (it did not return in time; or its previous plain-def call still runs, so it was not called). An exception of
    the hook is raised as a HookFailed."""
    from .errors import HookFailed

    if deadline is not None:
        late = _late_calls(plugin)
        with late.lock:
            if late.counts.get(name, 0) > 0:
                return None, ("its previous call still runs past its deadline (it is not called again until that "
                              "returns)")
    with anyio.move_on_after(math.inf if deadline is None else deadline) as scope:
        try:
            return await call_hook(plugin, name, **kwargs), ""
        except HookFailed:
            raise
        except Exception as e:  # the plugin's own code: one line with its type
            raise hook_failure(plugin, name, e) from e
    assert scope.cancelled_caught and deadline is not None
    return None, f"it did not return within {deadline:g} s (the hook_timeout option)"


async def call_within(plugin: Plugin, name: str, deadline: float | None, cost: str, **kwargs: Any) -> Any:
    """Call a hook within ``deadline`` seconds (the ``hook_timeout`` option; None: no deadline), as the validator's
    step hooks are: its value, or :class:`~taonet.plugins.errors.HookFailed` when it raised or overran (an ``async
    def`` is cancelled; a plain def is left to finish in its thread and, while it runs, each call of the hook fails at
    once without calling it). ``cost`` says what an overrun cost ("so this step was skipped")."""
    from .errors import HookFailed

    value, overran = await _bounded(plugin, name, deadline, **kwargs)
    if overran:
        raise HookFailed(plugin=plugin.name, hook=name, error=f"{overran}, {cost}; {OVERRUN_HINT}")
    return value


async def lifecycle(plugin: Plugin, name: str, log: Any, *, deadline: float | None = None, failed: Any = None,
                    raise_overrun: bool = False, **kwargs: Any) -> Any:
    """Call an optional lifecycle hook, within ``deadline`` seconds when given (the ``hook_timeout`` option).

    Its failure is a :class:`~taonet.plugins.errors.HookFailed`, handed to ``failed`` (the neuron's throttled log and
    status) or else logged, and returned, never raised: it raised, or it overran its deadline (an ``async def`` is
    cancelled; a plain def is left to finish in its thread and, while it runs, the hook is not called again: each
    such call is an overrun at once). With ``raise_overrun`` an overrun is raised after it is handed over."""
    from .errors import HookFailed

    if not plugin.implements(name):
        return None
    error: HookFailed | None = None
    overran = ""
    try:
        _, overran = await _bounded(plugin, name, deadline, **kwargs)
    except HookFailed as e:
        error = e
    if overran:
        error = HookFailed(plugin=plugin.name, hook=name, error=(
            f"{overran}, {LIFECYCLE_OVERRUN.get(name, 'so it was cut')}; {OVERRUN_HINT}"))
    if error is not None:
        if failed is not None:
            failed(error)
        else:
            log.warning("plugin.hook_failed", hook=name, error=error.said)
            log_traceback(log, name, error.__cause__)
        if overran and raise_overrun:
            raise error
    return error


def axon_config(options: Mapping[str, Any], base: Any = None, *, shared: Any = None) -> Any:
    """An AxonConfig of the neuron's: ``base`` (None: the kernel's default) with the connection options' bounds
    (checked against each other by ``Plugin.options``) and its axon's own memory budget for unfinished requests; in a
    neuron host, the host's budget shared by all its axons comes with ``base`` (the host's AxonConfig) or with
    ``shared`` (the host's :class:`SharedChain`, for an axon built on another base)."""
    from taonet.kernel import AxonConfig

    base = base or AxonConfig()
    bounds: dict[str, Any] = {k: int(options[k]) for k in ("max_connections", "max_connections_per_address",
                                                             "max_connections_per_network", "max_pending_mb")
                              if k in options}
    budget = getattr(getattr(shared, "axon_config", None), "pending_budget", None)
    if budget is not None:
        bounds["pending_budget"] = budget
    return attrs.evolve(base, **bounds)


def count_failure(failures: dict[tuple[str, str], int], key: tuple[str, str], max_kinds: int = 64) -> int | None:
    """Count one more failure ``key`` (at most ``max_kinds`` distinct ones are counted); its count when it is to be
    said (the 1st, 10th, 100th... time), else None."""
    count = failures.get(key, 0) + 1
    if len(failures) < max_kinds or key in failures:
        failures[key] = count
    return count if count == 1 or math.log10(count).is_integer() else None


def uid_changed(log: Any, old: int | None, new: int | None, *, netuid: int, hotkey: str, block: int) -> None:
    """Log a change of this neuron's UID as a user needs it: lost (pruned), gained, or moved."""
    if old is not None and new is None:
        log.warning("neuron.deregistered", uid=old, netuid=netuid, block=block,
                    note=f"this hotkey no longer holds UID {old} on subnet {netuid}: a registration took the slot "
                         "(the pruning rule); it earns nothing until registered again",
                    hint=f"`taonet replay NODE_DIR why --netuid {netuid} --hotkey {hotkey}` says why; `taonet subnet "
                         f"register --netuid {netuid}` registers it again")
    elif old is None and new is not None:
        log.info("neuron.registered", uid=new, netuid=netuid, block=block)
    else:
        log.warning("neuron.uid_changed", old=old, new=new, netuid=netuid, block=block,
                    note=f"UID {old} was pruned and this hotkey registered again as UID {new}")


def chain_replaced_uid(log: Any, uid: int | None, *, netuid: int, block: int, error: Exception | None = None) -> None:
    """Say this neuron's standing on the chain that replaced its node's old one: its UID there, or that it holds
    none (it earns nothing there until registered), or why it could not be read (``error``: the subnet does not
    exist there, the node away...); never a deregistration by pruning."""
    if uid is not None:
        log.info("neuron.registered", uid=uid, netuid=netuid, block=block, note="on the node's new chain")
        return
    why = f"subnet {netuid} cannot be read there: {error}" if error is not None else \
        f"this hotkey holds no UID on subnet {netuid} there"
    log.warning("neuron.not_registered", netuid=netuid, block=block,
                note=f"on the node's new chain {why}; this neuron earns nothing there until registered (it keeps "
                     "running, reads the chain at each block and takes its UID as soon as it holds one)",
                hint=f"`taonet subnet register --netuid {netuid}` registers it on this chain (once the subnet exists)")


def now() -> float:
    """Wall-clock seconds (for status files and journal records only; never for decisions)."""
    return time.time()


class RecentErrors:
    """The last ``limit`` distinct errors a neuron met, one entry per cause (its text, or the ``key`` it is added with;
    a cause met again moves to the end, counts one more and keeps its latest text): how many times, at which block
    and wall time the last one came, and the first block.
    Thread-safe (a plain-def streaming forward's failure is counted from the axon's worker thread)."""

    def __init__(self, limit: int = 10) -> None:
        self.limit = limit
        self._entries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def add(self, text: str, block: int | None, key: str | None = None) -> None:
        """Count the cause ``key`` (None: ``text`` itself) once more, said as ``text``, at ``block`` (None: not known)
        and now."""
        k = text if key is None else key
        with self._lock:
            entry = self._entries.pop(k, None) or {"count": 0, "first_block": block}
            entry.update(error=text, count=entry["count"] + 1, block=block, time=now())
            self._entries[k] = entry
            while len(self._entries) > self.limit:
                del self._entries[next(iter(self._entries))]

    def texts(self) -> list[str]:
        """The errors' texts, the most recent last."""
        with self._lock:
            return [e["error"] for e in self._entries.values()]

    def entries(self) -> list[dict[str, Any]]:
        """The entries (``error``, ``count``, ``first_block``, ``block``, ``time``), the most recent last."""
        with self._lock:
            return [dict(e) for e in self._entries.values()]


def status_errors(*sources: RecentErrors, limit: int = 10) -> dict[str, Any]:
    """status.json's ``errors`` (the texts) and ``error_details`` (their counts, blocks and times) of several
    sources, merged: the ``limit`` most recent causes, each once, the most recent last."""
    entries = sorted((e for s in sources for e in s.entries()), key=lambda e: e["time"])[-limit:]
    return {"errors": [e["error"] for e in entries], "error_details": entries}


CHAIN_CHECK = 3.0
"""Seconds without a new head after which a neuron asks the node its head directly: a head below the one it follows
means the node now runs another chain (restarted on a fresh data directory, same dev genesis): said once, and the
neuron re-reads its standing there."""

LONG_AWAY = 60.0
"""Seconds a node may be away before a neuron's retries slow down to ``HeadFollower.pauses[1]`` (until then they
come at most ``max(1 s, 4 block times)`` apart)."""


class HeadFollower:
    """Follows the node's head on the block feed in a task of its own, so a neuron busy with a step never reads
    stale blocks afterwards: ``await follower.next(after)`` returns the newest head past ``after``.

    A node that does not answer is retried after a pause growing from ``pauses[0]``, at most ``max(1 s, 4 block
    times)`` (the node's block time, once known) while it has been away less than :data:`LONG_AWAY` seconds, then up
    to ``pauses[1]`` seconds: a node restarted is followed again within a few blocks, one away for long is not asked
    several times a second. It is said once (``node.error``), then at the 10th, 100th... retry in a row, and its
    return is said once (``node.back``, with how long it was away and how many retries it took). ``on_retry``, when
    given, is called after each retry that had no answer (and each quiet minute).

    A node that answers but makes no block for ``quiet`` seconds (60) is said each time (``node.quiet``, naming its
    endpoint; behind a replica, its leader and whether the replica still reaches it).

    When no new head came for :data:`CHAIN_CHECK` seconds it asks the node its head: one below the head followed
    means the node's chain was replaced; that is said once (``neuron.chain_replaced``), :attr:`head` goes back to the
    new chain's, :attr:`chains` counts one more (the neuron re-reads its standing from the new chain) and
    :meth:`next` returns the new head."""

    def __init__(self, sub: Any, head: int, log: Any, on_block: Any = None,
                 pauses: tuple[float, float] = (0.5, 10.0), on_retry: Any = None, quiet: float = 60.0) -> None:
        self.sub = sub
        self.quiet = quiet
        """Seconds without a new block, the node answering, after which ``node.quiet`` is said."""
        self.head = head
        self.log = log
        self.on_block = on_block
        self.on_retry = on_retry
        self.pauses = pauses
        self.recent = RecentErrors()
        self.retries = 0
        """Retries in a row the node has not answered (0: it answers)."""
        self.block_time: float | None = None
        """The node's block time in seconds (from its info; None until read)."""
        self._heard = 0.0  # when the node last answered (the event loop's clock)
        self._changed = anyio.Event()
        self.chains = 0
        """How many times the node's chain was found replaced (see above)."""
        self._new_head_at = 0.0  # when the head followed last moved (the event loop's clock)
        self._waiting: anyio.CancelScope | None = None  # the wait for the next head, cut when the chain is replaced

    @property
    def errors(self) -> list[str]:
        """The last 10 distinct errors' texts, the most recent last."""
        return self.recent.texts()

    def pause_after(self, pause: float) -> float:
        """The pause after a retry that paused ``pause``: twice it, bounded by the node's block time (see above)."""
        most = self.pauses[1]
        if self.block_time is not None and anyio.current_time() - self._heard < LONG_AWAY:
            most = min(most, max(1.0, 4 * self.block_time, self.pauses[0]))
        return min(2 * pause, most)

    async def _read_block_time(self) -> None:
        from taonet.ledger.errors import TaonetError

        try:
            bt = float((await self.sub.info()).get("block_time") or 0)
        except (TaonetError, TypeError, ValueError, AttributeError):  # asked again once the node answers
            return
        if bt > 0:
            self.block_time = bt

    async def run(self) -> None:
        """Wait for each next block until cancelled (node errors are logged and retried with a growing pause)."""
        self._new_head_at = anyio.current_time()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._check_chain)
            await self._follow()

    async def _check_chain(self) -> None:
        """Every :data:`CHAIN_CHECK` seconds without a new head, ask the node its head: below ours, its chain was
        replaced (errors are the follower's to say: the node away is retried there)."""
        from taonet.ledger.errors import TaonetError

        while True:
            await anyio.sleep(max(0.0, self._new_head_at + CHAIN_CHECK - anyio.current_time()))
            if anyio.current_time() - self._new_head_at < CHAIN_CHECK:
                continue
            self._new_head_at = anyio.current_time()  # the next check comes CHAIN_CHECK seconds on
            before = self.head  # read before asking: the feed may bring a newer block while the answer travels
            try:
                with anyio.fail_after(max(CHAIN_CHECK, 10.0)):
                    head = await self.sub.get_current_block()
            except (TaonetError, TimeoutError, TypeError):
                continue
            if head < before and self.head == before:  # not a block the feed moved us past meanwhile
                self._replaced(head)

    def _replaced(self, head: int) -> None:
        old = self.head
        self.log.warning("neuron.chain_replaced", old_head=old, new_head=head,
                         note=f"the node's head went from {old} to {head}: the node was restarted on another chain "
                              "(a fresh data directory); this neuron reads its registration, UID and axon from the "
                              "new chain and carries on there")
        self._error(f"neuron.chain_replaced: the node's head went from {old} to {head}")
        self.head = head
        self.chains += 1
        self._new_head_at = anyio.current_time()
        if self._waiting is not None:
            self._waiting.cancel()
        self._changed.set()
        self._changed = anyio.Event()

    async def _follow(self) -> None:
        from taonet.kernel.errors import BlockWaitTimeout
        from taonet.ledger.errors import TaonetError

        pause = self.pauses[0]
        self._heard = anyio.current_time()
        while True:
            if self.block_time is None and not self.retries:
                await self._read_block_time()
            try:
                with anyio.CancelScope() as self._waiting:
                    # the client's wait follows a replaced chain's lower head itself (its feed watcher)
                    head = await self.sub.wait_for_block(self.head + 1, timeout=self.quiet)
                if self._waiting.cancelled_caught:  # the chain was replaced meanwhile: wait from its head
                    continue
            except BlockWaitTimeout:  # the node answers, no block came: wait again at once
                self._answered()
                pause = self.pauses[0]
                await self._quiet()
                if self.on_retry is not None:
                    self.on_retry()
                continue
            except TaonetError as e:  # the node went away or did not answer in time (RpcTimeout): say so, wait, go
                # on (a pause also lets the other waiters of the shared block feed read it: a reveal's receipt)
                self._unanswered(e, pause)
                if self.on_retry is not None:
                    self.on_retry()
                await anyio.sleep(pause)
                pause = self.pause_after(pause)
                continue
            finally:
                self._waiting = None
            self._answered()
            pause = self.pauses[0]
            if head > self.head:
                self.head = head
                self._new_head_at = anyio.current_time()
                if self.on_block is not None:
                    self.on_block(head)
                self._changed.set()
                self._changed = anyio.Event()

    async def _quiet(self) -> None:
        """Say that the node answers but made no block for :attr:`quiet` seconds: which node, and, when it is a
        replica (its info names a leader), whether it still reaches its leader, whose blocks it serves."""
        from taonet.ledger.errors import TaonetError

        endpoint = getattr(self.sub, "endpoint", None) or "?"
        try:
            with anyio.fail_after(10.0):
                info = await self.sub.info()
        except (TaonetError, TimeoutError, TypeError, AttributeError):  # said without what it could not tell
            info = {}
        leader = info.get("leader") if isinstance(info, dict) else None
        waited = round(self.quiet)
        if leader:
            reachable = info.get("leader_reachable")
            lost = ("it does not reach its leader now: the leader is stopped or unreachable" if reachable is False
                    else "its leader makes no blocks either, or the replica lost it meanwhile")
            note = (f"the node at {endpoint} is a replica of {leader} and made no block for {waited} s: {lost}; "
                    f"`taonet node status --endpoint {leader}` says what the leader does")
            self._error(f"node.quiet: no new block for {waited} s from the replica at {endpoint} (leader {leader})")
            self.log.warning("node.quiet", waited=waited, endpoint=endpoint, leader=leader,
                             leader_reachable=reachable, note=note)
            return
        note = (f"the node at {endpoint} answers but made no block for {waited} s (its production paused or "
                f"stopped); `taonet node status --endpoint {endpoint}` says why")
        self._error(f"node.quiet: no new block for {waited} s from the node at {endpoint}")
        self.log.warning("node.quiet", waited=waited, endpoint=endpoint, note=note)

    def _unanswered(self, e: Exception, pause: float) -> None:
        """One more retry without an answer: said the 1st, 10th, 100th... time in a row."""
        self.retries += 1
        if self.retries == 1 or math.log10(self.retries).is_integer():
            self._error(f"node.error: {e}")
            self.log.warning("node.error", error=str(e), retry_in=pause, times=self.retries,
                             away_s=round(anyio.current_time() - self._heard, 1))

    def _answered(self) -> None:
        """The node answered: if it had not, say once that it is back, and how long since its last answer."""
        now = anyio.current_time()
        if self.retries:
            self.log.info("node.back", away_s=round(now - self._heard, 1), retries=self.retries)
            self.retries = 0
        self._heard = now

    def _error(self, message: str) -> None:
        self.recent.add(message, self.head)

    async def next(self, after: int) -> int:
        """The head once it is past ``after`` (blocks that came meanwhile are folded into one), or at once below it
        when the node's chain was replaced (:attr:`chains` counts one more)."""
        while self.head == after:
            await self._changed.wait()
        return self.head
