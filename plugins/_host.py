"""The neuron host: many neurons (any mix of miners and validators, plugins and subnets) in one process, on one
event loop, each with its own wallet, state directory, bound log context and status file.

Each neuron runs under a supervisor: a crash (an error escaping the neuron) is logged and that neuron alone is
restarted after a pause that doubles from ``backoff[0]`` up to ``backoff[1]`` seconds (back to the first after a
minute of good running); an error that a restart cannot fix (an unknown plugin, an unregistered hotkey, a locked
state directory, a wallet that does not open) stops that neuron for good, loudly. A watchdog notices the event loop
blocked for more than ``block_warn`` seconds (a plugin doing heavy work synchronously in an ``async def``) and
names the neuron whose code holds it. The neurons share what can be shared: one block-feed subscription per node
(the kernel's FeedWatcher), a few chain clients per node (one per ``neurons_per_client`` neurons), one metagraph
per subnet (read once per block however many neurons ask), and leaner axons, whose unfinished requests share one
memory budget (``max_pending_mb``; by default :data:`HOST_PENDING_MB`, or the largest its neurons' options give): the
host's axons together hold at most that much, however many there are, where each alone would have its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anyio
import attrs
import structlog

from ._log import get_logger
from ._neuron import NeuronConfig, load_off_loop
from ._neurons_file import NeuronSpec
from ._watchdog import BLOCK_WARN, watch_loop

__all__ = ["HOST_PENDING_MB", "HostedNeuron", "NeuronHost", "SharedChain"]

logger = get_logger("taonet.plugins.host")

GOOD_RUN = 60.0
"""Seconds of running after which a neuron's restart pause starts again from the shortest."""
HOST_PENDING_MB = 4096
"""MiB a host's axons may hold in unfinished requests in all, by default, unless a neuron's ``max_pending_mb`` option
is larger (one axon alone: that option, 1,024 by default). Each connection reserves its axon's receive limit: 1,008
connections at 4 MiB requests, of which one network (so one address) holds at most three quarters, 756. A localnet
of 64 miners and 8 validators in one host (template, oracle, prompting) holds 512 connections, all from 127.0.0.1
(one per validator at each miner), 2,080 MiB."""
MAX_STUCK_STARTS = 3
"""Restarts in a row whose neuron_start overran its hook_timeout, after the start's, before that neuron is stopped
for good (``neuron.failed``) instead of restarted for ever (a plain def left running holds a thread each time)."""


class SharedChain:
    """What a host's neurons share of the chain: pooled clients per node and one metagraph per subnet."""

    def __init__(self, *, neurons_per_client: int = 8, axon_config: Any = None) -> None:
        self.neurons_per_client = neurons_per_client
        self.axon_config = axon_config
        """The AxonConfig of the host's miners (None: the kernel's default); its ``pending_budget`` is the one
        budget the host's axons share."""
        self._clients: dict[str, list[list[Any]]] = {}
        self._metagraphs: dict[tuple[str, int], Any] = {}
        self._locks: dict[tuple[str, int], anyio.Lock] = {}
        self.reads = 0
        """Metagraphs read from the node (the rest were shared)."""

    async def client(self, endpoint: str | None, timeout: float) -> Any:
        """A chain client of ``endpoint``, shared with up to ``neurons_per_client`` neurons; :meth:`release` it."""
        from taonet.kernel import Subtensor
        from taonet.kernel.client import resolve_endpoint

        pool = self._clients.setdefault(resolve_endpoint(endpoint), [])
        entry = min(pool, key=lambda e: e[1], default=None)
        if entry is None or entry[1] >= self.neurons_per_client:
            sub = Subtensor(endpoint, timeout=timeout)
            await sub.__aenter__()
            entry = [sub, 0]
            pool.append(entry)
        entry[1] += 1
        return entry[0]

    def release(self, sub: Any) -> None:
        """A neuron no longer uses ``sub`` (the client stays open for the next one until :meth:`aclose`)."""
        for pool in self._clients.values():
            for entry in pool:
                if entry[0] is sub:
                    entry[1] -= 1

    async def metagraph(self, sub: Any, netuid: int, at_least: int, *, fresh: bool = False) -> Any:
        """The metagraph of ``netuid`` on ``sub``'s node at block ``at_least`` or later (one read for everyone);
        ``fresh``: read now in any case (the node's chain was replaced: the copy held may be of the old chain)."""
        key = (sub.endpoint, netuid)
        mg = self._metagraphs.get(key)
        if mg is not None and mg.block >= at_least and not fresh:
            return mg
        async with self._locks.setdefault(key, anyio.Lock()):
            mg = self._metagraphs.get(key)
            if mg is None or mg.block < at_least or fresh:
                mg = self._metagraphs[key] = await sub.metagraph(netuid)
                self.reads += 1
            return mg

    async def aclose(self) -> None:
        """Close every client."""
        for pool in self._clients.values():
            for sub, _ in pool:
                await sub.__aexit__(None, None, None)
        self._clients.clear()


@attrs.define(kw_only=True, eq=False)
class HostedNeuron:
    """One neuron of a host: its name, role and config, and how it fares (``state``, ``restarts``, ``last_error``)."""

    name: str
    role: str
    config: NeuronConfig
    runner: Any = None
    """``async (config, *, task_status)``; default: run_miner or run_validator by role."""
    state: str = "new"
    """new, starting, running, backoff (waiting to restart), failed (will not restart), stopped."""
    restarts: int = 0
    last_error: str | None = None
    started: Any = None
    """What the neuron reported once running: a miner's AxonInfo, a validator's state directory."""
    failure: Exception | None = None
    """The error that stopped the neuron for good (state "failed")."""
    hotkey: str | None = None
    stuck_starts: int = 0
    """Starts in a row whose neuron_start overran its deadline (see MAX_STUCK_STARTS)."""


class _Started:
    """The task status a supervised neuron reports to (a restart reports again)."""

    def __init__(self, host: NeuronHost, n: HostedNeuron) -> None:
        self.host, self.n = host, n

    def started(self, value: Any = None) -> None:
        n = self.n
        n.started, n.state = value, "running"
        _keep_ports(n)
        from taonet.kernel.errors import WalletError

        try:
            n.hotkey = n.config.wallet.hotkey.ss58_address
        except (WalletError, OSError) as e:  # said: the watchdog cannot name this neuron when it blocks the loop
            logger.warning("host.hotkey_unknown", name=n.name, error=_one_line(e),
                           hint="the watchdog names this neuron '?' if it blocks the event loop")
        else:
            self.host._by_hotkey[n.hotkey] = n.name
        self.host._settled(n)


def _keep_ports(n: HostedNeuron) -> None:
    """After a start on port 0, pin the port it got, so that a restart serves where the chain says it does (the
    chain's serving rate limit would delay publishing a new one)."""
    cfg = n.config
    if n.role == "miner" and cfg.port == 0 and getattr(n.started, "port", 0):
        n.config = attrs.evolve(cfg, port=int(n.started.port))
    elif n.role == "validator" and cfg.gateway and cfg.gateway.endswith(":0"):
        from ._state_dir import StateDir

        bound = (StateDir(Path(n.started)).read_status() or {}).get("gateway") if n.started else None
        if bound:
            n.config = attrs.evolve(cfg, gateway=f"{cfg.gateway[:-2]}:{bound.rpartition(':')[2]}")


def _fatal(e: BaseException) -> BaseException | None:
    """The error in ``e`` that a restart cannot fix (None if a restart may help)."""
    from taonet.kernel.errors import WalletError
    from taonet.ledger.errors import HotkeyNotRegistered, SubnetNotFound

    from .errors import HookFailed, PluginError

    leaves = [e]
    while leaves and isinstance(leaves[0], BaseExceptionGroup):
        leaves = [*leaves[0].exceptions, *leaves[1:]]
    for leaf in leaves:
        if isinstance(leaf, BaseExceptionGroup):
            found = _fatal(leaf)
            if found is not None:
                return found
        elif isinstance(leaf, HotkeyNotRegistered | SubnetNotFound | WalletError) or (
                isinstance(leaf, PluginError) and not isinstance(leaf, HookFailed)):
            return leaf
    return None


def _leaf(e: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first error of type ``kind`` in ``e`` (inside task groups' ExceptionGroups), or None."""
    if isinstance(e, kind):
        return e
    if isinstance(e, BaseExceptionGroup):
        for sub in e.exceptions:
            if (found := _leaf(sub, kind)) is not None:
                return found
    return None


def _one_line(e: BaseException) -> str:
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    return " ".join(f"{type(e).__name__}: {e}".split())[:300]


class NeuronHost:
    """Many neurons on one event loop: ``await tg.start(NeuronHost(specs).run)``, cancelled to stop them all.

    ``neurons``: :class:`NeuronSpec` rows (from :func:`load_neurons`) or :class:`HostedNeuron` values; more with
    :meth:`add` before running. ``backoff``: the first and the longest pause before a restart, in seconds.
    ``block_warn``: seconds the loop may stay blocked before the watchdog names the neuron holding it.
    ``max_pending_mb``: MiB the host's axons may hold in unfinished requests in all (None: :meth:`pending_mb`); each
    connection reserves its axon's receive limit from that one budget (:attr:`pending_budget`, made by :meth:`run`),
    and each axon keeps its own bounds (its ``max_pending_mb`` option) within it. ``shared``: the chain, metagraphs and
    AxonConfig its neurons share (an AxonConfig that has a ``pending_budget`` keeps it, and ``max_pending_mb`` is
    then not used).
    """

    def __init__(self, neurons: Iterable[NeuronSpec | HostedNeuron] = (), *, backoff: tuple[float, float] = (1.0,
                 30.0), block_warn: float = BLOCK_WARN, shared: SharedChain | None = None,
                 max_pending_mb: int | None = None) -> None:
        from taonet.kernel import AxonConfig

        if max_pending_mb is not None and (not isinstance(max_pending_mb, int) or isinstance(max_pending_mb, bool)
                                           or max_pending_mb < 1):
            raise ValueError(f"max_pending_mb must be a whole number of MiB, at least 1, not {max_pending_mb!r}")
        self.shared = shared or SharedChain(axon_config=AxonConfig(max_concurrency=4, max_queue=16))
        self.max_pending_mb = max_pending_mb
        self.backoff = backoff
        self.block_warn = block_warn
        self.neurons: dict[str, HostedNeuron] = {}
        self._by_hotkey: dict[str, str] = {}
        self._pending = 0
        self._counted: set[str] = set()
        self._all_settled: anyio.Event | None = None
        self.blocked: list[tuple[str, float, str]] = []
        """The last loop blocks seen: (neuron name or "?", seconds, where), at most 10."""
        for n in neurons:
            if isinstance(n, NeuronSpec):
                self.add(n.config(shared=self.shared), n.role, name=n.name)
            else:
                self.neurons[n.name] = n

    def add(self, config: NeuronConfig, role: str, *, name: str | None = None, runner: Any = None) -> HostedNeuron:
        """Add a neuron (before :meth:`run`); the host's shared chain is put in its config."""
        name = name or f"{role}-{len(self.neurons)}"
        if name in self.neurons:
            raise ValueError(f"the host already has a neuron named {name!r}")
        n = HostedNeuron(name=name, role=role, config=attrs.evolve(config, shared=self.shared), runner=runner)
        self.neurons[name] = n
        return n

    def pending_mb(self) -> int:
        """MiB the host's axons may hold in unfinished requests in all: ``max_pending_mb`` if given, else the larger
        of :data:`HOST_PENDING_MB` and the largest ``max_pending_mb`` option its neurons set (a neuron given a larger
        budget for its own axon gives the host as much: a host holds no more than its largest axon would alone, or
        the default)."""
        if self.max_pending_mb is not None:
            return self.max_pending_mb
        own = [HOST_PENDING_MB]
        for n in self.neurons.values():
            value = n.config.options.get("max_pending_mb")
            if value is None and not isinstance(n.config.plugin, str):  # a loaded plugin's own default
                value = n.config.plugin.protocol.defaults().get("max_pending_mb")
            try:
                own.append(int(float(value)))
            except (TypeError, ValueError, OverflowError):  # not given, or not a number (refused at its start)
                continue
        return max(own)

    @property
    def pending_budget(self) -> Any:
        """The :class:`~taonet.kernel.wire.PendingBudget` the host's axons share, the shared AxonConfig's (from
        :meth:`run` on, unless that AxonConfig brought one; None before): its figures (``held``, ``connections``,
        ``refused``) say how full it is."""
        return getattr(self.shared.axon_config, "pending_budget", None)

    def _share_budget(self) -> None:
        """Make the budget the host's axons share, once: unless the shared AxonConfig has one (brought, or made by an
        earlier run), which is kept."""
        from taonet.kernel import AxonConfig
        from taonet.kernel.wire import PendingBudget

        if self.pending_budget is None:
            self.shared.axon_config = attrs.evolve(self.shared.axon_config or AxonConfig(),
                                                   pending_budget=PendingBudget(self.pending_mb()))

    # --- running ------------------------------------------------------------------------------------------------
    async def run(self, *, task_status: anyio.abc.TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run every neuron until cancelled; ``task_status.started(self)`` once each runs, or crashed once (and
        restarts), or failed for good."""
        for n in self.neurons.values():
            if n.config.shared is None:
                n.config = attrs.evolve(n.config, shared=self.shared)
        self._share_budget()
        self._pending = len(self.neurons)
        self._counted.clear()
        self._all_settled = settled = anyio.Event()
        if not self._pending:
            settled.set()
        log = logger.bind(neurons=len(self.neurons))
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watchdog)
                for n in self.neurons.values():
                    tg.start_soon(self._supervise, n, name=f"neuron {n.name}")
                await settled.wait()
                log.info("host.started", **self.counts())
                task_status.started(self)
        finally:
            with anyio.CancelScope(shield=True):
                await self.shared.aclose()
            log.info("host.stopped", restarts=sum(n.restarts for n in self.neurons.values()))

    def counts(self) -> dict[str, int]:
        """How many neurons are running, restarting (waiting to, or starting again) and failed for good."""
        states = [n.state for n in self.neurons.values()]
        failed, running = states.count("failed"), states.count("running")
        return {"running": running, "restarting": len(states) - running - failed, "failed": failed}

    def _settled(self, n: HostedNeuron) -> None:
        if n.name in self._counted:
            return
        self._counted.add(n.name)
        self._pending -= 1
        if self._pending <= 0 and self._all_settled is not None:
            self._all_settled.set()

    async def _supervise(self, n: HostedNeuron) -> None:
        from ._miner import run_miner
        from ._validator import run_validator

        runner = n.runner or (run_miner if n.role == "miner" else run_validator)
        pause = self.backoff[0]
        log = logger.bind(name=n.name, neuron=n.role)
        with structlog.contextvars.bound_contextvars(name=n.name):
            while True:
                n.state = "starting"
                t0 = anyio.current_time()
                try:
                    if isinstance(n.config.plugin, str):  # loaded once, off the loop; its restarts reuse it
                        n.config = attrs.evolve(n.config, plugin=await load_off_loop(n.config.plugin))
                    await runner(n.config, task_status=_Started(self, n))
                except Exception as e:  # the neuron's crash: logged; restarted unless it cannot help
                    n.last_error = _one_line(e)
                    fatal = _fatal(e) or self._stuck(n, e)
                    if fatal is not None:
                        n.state, n.failure = "failed", fatal if isinstance(fatal, Exception) else e
                        log.error("neuron.failed", error=" ".join(str(fatal).split()),
                                  hint="fix this and start the host again; the other neurons go on")
                        self._settled(n)
                        return
                    if anyio.current_time() - t0 > GOOD_RUN:
                        pause = self.backoff[0]
                    n.state, n.restarts = "backoff", n.restarts + 1
                    self._settled(n)  # the host has started; this one is restarting
                    log.warning("neuron.crashed", error=n.last_error, restart_in=pause, restarts=n.restarts)
                    await anyio.sleep(pause)
                    pause = min(2 * pause, self.backoff[1])
                    continue
                except BaseException:
                    n.state = "stopped"
                    raise
                n.state = "stopped"  # the runner returned on its own: nothing to restart
                log.info("neuron.exited")
                self._settled(n)
                return

    @staticmethod
    def _stuck(n: HostedNeuron, e: BaseException) -> BaseException | None:
        """A restart that cannot help: the neuron's neuron_start overran its deadline (the hook_timeout option) at
        its start and at MAX_STUCK_STARTS restarts in a row (each overrun may leave a plain def's call running in its
        thread: a thread cannot be stopped)."""
        from .errors import HookFailed

        overrun = _leaf(e, HookFailed)  # a neuron_start that raises is logged and the neuron runs: this overran
        if not isinstance(overrun, HookFailed) or overrun.hook != "neuron_start":
            n.stuck_starts = 0
            return None
        n.stuck_starts += 1
        if n.stuck_starts <= MAX_STUCK_STARTS:
            return None
        return HookFailed(plugin=overrun.plugin, hook=overrun.hook, error=(
            f"it did not return within hook_timeout at its start and at {MAX_STUCK_STARTS} restarts in a row, so "
            "the neuron is not restarted; make it return sooner, or give it longer: --set hook_timeout=SECONDS"))

    # --- the watchdog -------------------------------------------------------------------------------------------
    async def _watchdog(self) -> None:
        """The loop's watchdog (:func:`watch_loop`), naming the neuron whose code blocks it."""

        def blocked(name: str, seconds: float, where: str) -> None:
            self.blocked = [*self.blocked[-9:], (name, seconds, where)]

        await watch_loop(self._blame, block_warn=self.block_warn, on_blocked=blocked)

    def _blame(self, frame: Any) -> str:
        """The neuron whose code is on the blocked loop's stack (by the hotkey its objects carry), or "?"."""
        depth = 0
        while frame is not None and depth < 200:
            owner = frame.f_locals.get("self")
            for hotkey in (getattr(owner, "_ss58", None), getattr(getattr(owner, "p", None), "hotkey", None)):
                if isinstance(hotkey, str) and hotkey in self._by_hotkey:
                    return self._by_hotkey[hotkey]
            frame, depth = frame.f_back, depth + 1
        return "?"

