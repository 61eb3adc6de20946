"""Running a network: the node, the chain's setup, the neuron hosts, all supervised in one task group with a live
view, a status file (``launch.json``) for `taonet launch status|logs|stop`, and an ordered stop: neurons first
(SIGTERM, SIGKILL after NEURONS_DEADLINE), then the node (NODE_DEADLINE)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import attrs

from ._procs import (
    LOG_ROTATE_EVERY,
    Child,
    ChildExited,
    lines_from,
    port_holder,
    read_line_in,
    rotate_log,
    stop_children,
    tail_since_start,
)
from ._spec import NetworkSpec, PlacedNeuron
from ._view import View, counted
from .errors import NodeDidNotStart, SetupTimedOut

__all__ = ["NEURONS_DEADLINE", "NODE_DEADLINE", "STOP_DEADLINE", "Network", "only_here", "write_host_file",
           "write_machine_file"]

NEURONS_DEADLINE = 6.0
"""Seconds the neuron hosts get after SIGTERM (each neuron stops within 5 s) before SIGKILL."""
NODE_DEADLINE = 3.0
"""Seconds the node gets after SIGTERM before SIGKILL."""
STOP_DEADLINE = NEURONS_DEADLINE + NODE_DEADLINE + 1.0
"""Ctrl-C to every process gone, at worst (usually one or two seconds)."""
TAONET = [sys.executable, "-P", "-m", "taonet.tools"]
"""How the launcher runs `taonet` in a child. ``-P``: the current folder is not put first on ``sys.path``, where a
subnet author's project folder (``myplug/``, beside the installed ``myplug``) or a ``numpy.py`` of theirs would be
imported instead of the installed package (every host crashed: "does not implement the required hook(s)")."""
STATUS_FILE = "launch.json"
MAX_PROBLEM_LINES = 5
"""New neuron errors said as ``problem:`` lines after an epoch; more are counted in one line."""
MAX_KEPT_PROBLEMS = 20
"""The latest problems kept in launch.json, those the view only counted too (`taonet launch status` shows them)."""


DEFAULT_RPC_PORT = 9944
DEFAULT_RPC = f"tcp://127.0.0.1:{DEFAULT_RPC_PORT}"
"""Where taonet commands and ``Subtensor("local")`` look for a node when given no endpoint (and no
``$TAONET_ENDPOINT``)."""
ENDPOINT_ENV = "TAONET_ENDPOINT"
"""The variable taonet commands take their node from when given no ``--endpoint``."""


def _cli_default() -> str:
    """The node a `taonet` command run here with no ``--endpoint`` dials: ``$TAONET_ENDPOINT`` (``local``,
    ``HOST:PORT`` or an nng address, as the client resolves it), else :data:`DEFAULT_RPC`."""
    given = os.environ.get(ENDPOINT_ENV) or "local"
    return DEFAULT_RPC if given == "local" else given if "://" in given else f"tcp://{given}"


def _port_free(port: int) -> bool:
    """Whether no other process listens on the loopback ``port`` (closed connections left in TIME_WAIT, as a node
    that exits before its clients leaves them, do not count: the node binds with SO_REUSEADDR too)."""
    return not _held(f"tcp://127.0.0.1:{port}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NODE_START_TRIES = 3
"""Times the launcher starts its node on newly picked ports when another process took one of them first."""
PORTS_ENV = "TAONET_LAUNCH_PORTS"
"""Ports (comma-separated) the launcher uses first where it picks a free port for its node, in order (the feed's, then
the rpc's, at each start; 0: pick one): for tests that need a picked port to be taken (docs/launcher.md)."""
NODE_RESTARTS_IN_USE = 4
"""Restarts in a row of a crashed node that may find one of its addresses held by another process (the node keeps
its addresses: the neurons and `taonet` commands use them) before the launcher gives up and stops the network."""
WAITING_SAY_S = 60.0
"""Seconds after the start at which neurons still not running (nor failed for good) are named once in a
``waiting:`` line: one that crash-loops, or whose start takes longer, would otherwise leave ``ready:`` unsaid with
no word why."""
WAITING_ENV = "TAONET_LAUNCH_WAITING_S"
"""Overrides :data:`WAITING_SAY_S` (seconds; for tests, docs/launcher.md)."""
EVENTS_RANGE = 1000
"""The most blocks one ``events`` request reads (the node answers at most this many: MAX_RANGE)."""
ADDRESS_IN_USE = "already in use"
"""What a taonet process's error line says when it cannot listen on an address another process holds."""


def _waiting_say_s() -> float:
    """:data:`WAITING_SAY_S`, or ``$TAONET_LAUNCH_WAITING_S`` when that is a positive number."""
    try:
        value = float(os.environ.get(WAITING_ENV, ""))
    except ValueError:
        return WAITING_SAY_S
    return value if value > 0 else WAITING_SAY_S


def _forced_ports() -> list[int]:
    """The ports of ``$TAONET_LAUNCH_PORTS`` (the launcher's own setting: empty when unset or not numbers)."""
    raw = os.environ.get(PORTS_ENV, "")
    try:
        return [int(p) for p in raw.split(",") if p.strip()]
    except ValueError:
        return []


def _held(address: str) -> bool:
    """Whether another process listens on ``address`` (``tcp://HOST:PORT``): a bind there fails. SO_REUSEADDR, so
    that the closed connections a killed node leaves (TIME_WAIT) do not count, as they do not for the node."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("" if host in ("0.0.0.0", "*") else host, int(port)))
        except (OSError, ValueError):
            return True
        return False


def _port_of(address: str) -> int | None:
    try:
        return int(address.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(str(v))


def _last_error(log: str) -> str:
    """The last ``error: ...`` line a `taonet` child wrote (its one line saying why it ended), or ""."""
    return next((line.strip() for line in reversed(log.splitlines()) if line.startswith("error: ")), "")


def _with_plugin(err: str, plugin: str | None) -> str:
    """A neuron's status error as its ``problem:`` line says it: a hook's (``plugin.HOOK: ...``) names the neuron's
    plugin after the hook."""
    event, sep, rest = err.partition(": ")
    if not sep or not event.startswith("plugin.") or plugin is None:
        return err
    return f"{event} (subnet plugin {plugin!r}): {rest}"


def write_host_file(path: Path, neurons: list[PlacedNeuron], endpoint: str, comment: str = "") -> Path:
    """A ``[[neurons]]`` file for `taonet neurons run` holding ``neurons`` (one row each), pointed at ``endpoint``."""
    lines = [f"# {comment}" if comment else "# written by the taonet launcher", f"endpoint = {json.dumps(endpoint)}",
             ""]
    for p in neurons:
        s = p.spec
        row = {key: str(getattr(s, key)) for key in ("wallet_path", "external_ip", "gateway", "state_dir")
               if getattr(s, key) is not None}
        if s.endpoint:
            row["endpoint"] = s.endpoint
        lines += _neuron_row(s, row)
    return _write_lines(path, lines)


def write_machine_file(path: Path, machine: str, neurons: list[PlacedNeuron], endpoint: str, wallets: Path) -> Path:
    """The ``[[neurons]]`` file of the neurons that run on another ``machine``, with nothing of this machine's in it:
    no wallet folder or state directory of ours (a row's own, as written, is kept), so copied there with the wallets it
    names it runs as is: ``taonet neurons run FILE`` takes ``--wallet-path`` (else ``$TAONET_WALLET_PATH``, else
    ``~/.taonet/wallets``) and keeps each neuron's state beside its hotkey; ``--endpoint`` overrides ``endpoint``."""
    names = sorted({p.spec.wallet for p in neurons if "wallet_path" not in p.written})
    lines = [f"# The neurons that run on machine {machine}, written by taonet launch (docs/launcher.md, \"Running "
             "across hosts\").",
             f"# On {machine}: 1. copy this file, and the wallets {', '.join(names) or '(rows set wallet_path)'} "
             f"from {wallets} into ~/.taonet/wallets",
             "#    (each needs its hotkeys/ and coldkeypub.txt; another folder: --wallet-path DIR or "
             "$TAONET_WALLET_PATH);",
             f"# 2. run: taonet neurons run {path.name}   (another node, e.g. a replica near {machine}: "
             "--endpoint ADDRESS)",
             f"endpoint = {json.dumps(endpoint)}", ""]
    for p in neurons:
        s = p.spec
        row: dict[str, Any] = {k: p.written[k] for k in ("wallet_path", "state_dir", "endpoint") if k in p.written}
        row |= {key: str(getattr(s, key)) for key in ("external_ip", "gateway") if getattr(s, key) is not None}
        lines += _neuron_row(s, row)
    return _write_lines(path, lines)


def _neuron_row(s: Any, extra: dict[str, Any]) -> list[str]:
    """One ``[[neurons]]`` row of a neurons file: the neuron's name, role, plugin, subnet, keys and timeout, then
    ``extra`` (paths, addresses), its port and its options."""
    row: dict[str, Any] = {"name": s.name, "role": s.role, "plugin": s.plugin, "netuid": s.netuid,
                           "wallet": s.wallet, "hotkey": s.hotkey, "timeout": s.timeout, **extra}
    if s.port:
        row["port"] = s.port
    if s.options:
        row["options"] = dict(s.options)
    return ["[[neurons]]", *(f"{k} = {_toml_value(v)}" for k, v in row.items()), ""]


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def _host_of(address: str) -> str:
    """The host of ``tcp://HOST:PORT`` (brackets of an IPv6 one removed), or ""."""
    return address.partition("://")[2].rpartition(":")[0].strip("[]")


def only_here(host: str) -> bool:
    """Whether ``host`` is one another machine cannot dial this one at: loopback (127.0.0.0/8, ::1, localhost) or a
    wildcard (0.0.0.0, ::, *), which names every interface to a listener but no machine to a client."""
    import ipaddress

    from taonet.kernel import unspecified_host

    if host == "localhost" or unspecified_host(host):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@attrs.define(kw_only=True, eq=False)
class Network:
    """One launched network: its spec, directory, children and what the view has seen."""

    spec: NetworkSpec
    dir: Path
    view: View
    started: float = attrs.field(factory=time.monotonic)
    endpoint: str = ""
    children: list[Child] = attrs.Factory(list)
    state: str = "starting"
    head: int = -1
    max_gap_ms: float = 0.0
    epochs: dict[int, int] = attrs.Factory(dict)  # epochs of each subnet since this run's start (--epochs counts)
    numbers: dict[int, tuple[int, int, int]] = attrs.Factory(dict)  # netuid: (the chain's number of its latest epoch
    # counted from the subnet's creation, the block holding that EpochCompleted, the subnet's created_at)
    start_head: int = -1  # the head when this run began using the chain: later epochs are shown (and counted)
    setup_head: int = -1  # the head once the setup was done (the neurons start after it)
    seen: int = -1  # the last block whose events were read
    previous: dict[str, Any] | None = None  # the launch.json of the run before (--keep): where its count stopped
    first_emission_s: float | None = None
    setup_s: float | None = None
    ready_s: float | None = None
    waiting: list[Path] = attrs.Factory(list)  # status files of this machine's neurons not seen written yet
    said_waiting: bool = False  # the waiting: line naming neurons not running after WAITING_SAY_S was said
    names: dict[str, str] = attrs.Factory(dict)
    status_files: dict[Path, str] = attrs.Factory(dict)  # every status file of this machine's neurons: its name
    reported: set[tuple[str, str]] = attrs.Factory(set)  # (neuron, error) said as a problem line already
    problems: list[str] = attrs.Factory(list)  # the latest problem lines said (MAX_KEPT_PROBLEMS), for launch.json
    host_logs: dict[Path, int] = attrs.Factory(dict)  # each host's log: where this run's lines start / were read to
    failed: dict[str, str] = attrs.Factory(dict)  # neurons their host stopped for good (neuron.failed): the error
    node_in_use: int = 0  # restarts in a row of the crashed node that found an address of it in use
    command: str = ""
    """The command that starts this network again where it stopped (``taonet localnet --keep DIR ...``, ``taonet
    launch FILE --dir DIR``): said where the network stops for good, kept in launch.json for `taonet launch status`."""
    localnet: bool = False
    """Run by `taonet localnet` (no network file): what it says to do names that command's options."""
    created: set[int] = attrs.Factory(set)  # the subnets this run's setup created: first_emission is theirs alone
    machines: dict[str, tuple[str, int]] = attrs.Factory(dict)  # another machine: (its neurons file, its neurons)
    node_away_since: float | None = None  # wall clock: since when the node does not answer the launcher (None: it does)
    node_error: str = ""  # why it did not answer, the last time

    def started_wall(self) -> float:
        """When this run started, on the wall clock (status files carry wall-clock times)."""
        return time.time() - (time.monotonic() - self.started)

    def cli(self, *args: str) -> str:
        """A `taonet` command for the user to run against this network: with ``--endpoint`` unless the network's node
        is the one a command run here without it dials (:func:`_cli_default`)."""
        flag = ["--endpoint", self.endpoint] if self.endpoint and self.endpoint != _cli_default() else []
        return shlex.join(["taonet", *args, *flag])

    def cli_status(self) -> str:
        """The `taonet launch status` command for this network's directory."""
        return shlex.join(["taonet", "launch", "status", "--dir", str(self.dir)])

    # --- the whole run -----------------------------------------------------------------------------------------
    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start everything, supervise until cancelled, then stop everything in order (shielded)."""
        self.view.net = self
        self.previous = read_status(self.dir)
        for sub in ("logs", "hosts", "machines"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.write_status()  # "starting": the directory is taken from now (a second launcher there is refused)
        try:
            async with anyio.create_task_group() as tg:
                await self._start_node(tg)
                self._warn_unreachable()
                await self._setup()
                if self.spec.wallets:
                    overview = self.cli("wallet", "overview", "-p", str(self.wallet_path), "-w",
                                        self.spec.wallets[-1].name)
                    self.view.line("wallets", f"{', '.join(w.name for w in self.spec.wallets)} in {self.wallet_path} "
                                              f"({overview})")
                await self._start_hosts(tg)
                self.state = "running"
                self.write_status()
                self.view.line("running", f"{counted(len(self.children), 'process')}; Ctrl-C stops them all "
                                          f"(within {STOP_DEADLINE:g} s)")
                if not self.status_files:  # no neuron on this machine to wait for: ready as it runs
                    self._check_ready()
                task_status.started()
                tg.start_soon(self._rotate_logs)
                await self._watch()
        finally:
            with anyio.CancelScope(shield=True):
                await self.stop()

    async def stop(self) -> None:
        """Stop the neuron hosts, then the node (when it is this launcher's); write the final status."""
        self.state = "stopping"
        self.write_status()
        t = time.monotonic()
        await stop_children([c for c in self.children if c.kind != "node"], NEURONS_DEADLINE)
        await stop_children([c for c in self.children if c.kind == "node"], NODE_DEADLINE)
        # what the neurons kept last (an error after the last epoch, which an --epochs run or a Ctrl-C never showed)
        # and what the hosts logged last are said before `stopped:`
        await anyio.to_thread.run_sync(self._report_problems)
        await anyio.to_thread.run_sync(self._report_failed)
        self.state = "stopped"
        self.write_status()
        chain = ("" if self.spec.node.endpoint else  # no node of ours: its chain is not here
                 f", the chain in {self.dir / 'node'} ({shlex.join(['taonet', 'replay', str(self.dir), 'verify'])})")
        self.view.line("stopped", f"every process in {time.monotonic() - t:.1f} s; logs in {self.dir / 'logs'}{chain}")

    # --- starting ------------------------------------------------------------------------------------------------
    def _on_event(self, child: Child, what: str) -> None:
        if what == "crashed":
            said = _last_error(tail_since_start(child))  # why, from its log: what it said last before it ended
            self.view.line("crashed", f"{child.name} ({child.note})" + (f": {said}" if said else ""))
        elif what == "restarted":
            self.view.line("restarted", f"{child.name} pid {child.pid} (restart {child.restarts})")
        self.write_status()

    async def _start_node(self, tg: anyio.abc.TaskGroup) -> None:
        node = self.spec.node
        if node.endpoint:
            self.endpoint = node.endpoint
            return
        forced = _forced_ports()

        def pick(address: str) -> str:  # "...:0": a port free now (the node binds it a moment later)
            return f"{address[:-2]}:{(forced.pop(0) if forced else 0) or _free_port()}"

        default_rpc = not node.rpc and _port_free(DEFAULT_RPC_PORT)
        child = Child(name="node", kind="node", args=[], log=self.dir / "logs" / "node.log")
        self.children.append(child)
        for attempt in range(NODE_START_TRIES):
            # where taonet commands look with no --endpoint, unless another node is there; then any free port
            feed = pick(node.feed) if node.feed.endswith(":0") else node.feed
            rpc = (node.rpc if node.rpc else DEFAULT_RPC if attempt == 0 and default_rpc else "tcp://127.0.0.1:0")
            rpc = pick(rpc) if rpc.endswith(":0") else rpc
            child.args = [*TAONET, "node", "run", "--dev", "--block-time", str(node.block_time), "--data-dir",
                          str(self.dir / "node"), "--rpc", rpc, "--feed", feed, "--log-level", "warning",
                          "--log-json", *([] if node.fsync else ["--no-fsync"]), *node.connection_flags()]
            await child.start()
            try:
                self.endpoint = await read_line_in(child.log, "rpc", child, 60)
                break
            except ChildExited as e:
                if ADDRESS_IN_USE not in await anyio.to_thread.run_sync(tail_since_start, child):
                    raise NodeDidNotStart(method="node run", address=str(child.log), reason=str(e)) from e
                mine = [(what, a) for what, a in (("rpc", node.rpc), ("feed", node.feed))
                        if a and not a.endswith(":0") and (port := _port_of(a)) is not None and not _port_free(port)]
                if mine:  # an address of the network file is held by another process: picking again cannot help
                    what, a = mine[0]
                    given, option = (f"--{what}", f"--{what}") if self.localnet else ("the network file",
                                                                                     f"[node] {what}")
                    holder = await anyio.to_thread.run_sync(port_holder, _port_of(a))
                    raise NodeDidNotStart(method="node run", address=str(child.log), reason=(
                        f"its {what} address {a} (from {given}) is in use by another process"
                        f"{f' ({holder})' if holder else ''}: stop that process, or give {option} another port (0: "
                        "any free one)")) from e
                if attempt + 1 == NODE_START_TRIES:
                    fix = ("free some ports, then start it again" if self.localnet else  # localnet has no [node]
                           "free some ports, or give [node] rpc and feed ports")
                    raise NodeDidNotStart(method="node run", address=str(child.log), reason=(
                        f"another process took a port picked for it each of {NODE_START_TRIES} times (last: rpc "
                        f"{rpc}, feed {feed}); {fix}")) from e
                self.view.line("retry", f"a port picked for the node was taken before it listened (rpc {rpc}, "
                                        f"feed {feed}): starting it on other ports")
            except Exception as e:
                raise NodeDidNotStart(method="node run", address=str(child.log),
                                      reason=str(e) or "no rpc line") from e
        tg.start_soon(self._supervise_node, child)
        if node.public:
            self.endpoint = f"tcp://{node.public}:{rpc.rsplit(':', 1)[1]}"
        self.view.line("rpc", self.endpoint)
        if not node.rpc and self.endpoint != DEFAULT_RPC:
            self.view.line("note", f"{DEFAULT_RPC} is taken by another process: give taonet commands --endpoint "
                                   f"{self.endpoint} (or export TAONET_ENDPOINT={self.endpoint})")

    async def _supervise_node(self, child: Child) -> None:
        """Restart the node when it dies, on the same addresses; when another process holds one of them at
        NODE_RESTARTS_IN_USE restarts in a row, end the run (the network cannot work without its node)."""
        await child.supervise(self._on_event, give_up=self._node_address_taken)
        if child.state == "failed":
            raise NodeDidNotStart(method="node run", address=str(child.log), reason=child.note)

    async def _node_address_taken(self, child: Child) -> str | None:
        """After the node exited: None to restart it, or why restarting cannot help. A restart that exits with an
        address in use is counted; the first one is said once (``problem: node: ...``) with what to do."""
        if ADDRESS_IN_USE not in await anyio.to_thread.run_sync(tail_since_start, child):
            self.node_in_use = 0
            return None
        self.node_in_use += 1
        mine = {what: child.args[child.args.index(f"--{what}") + 1] for what in ("rpc", "feed")}
        held = [(what, a) for what, a in mine.items() if _held(a)]
        which = (" and ".join(f"port {_port_of(a)} (its {what} address {a})" for what, a in held)
                 or f"one of its addresses (rpc {mine['rpc']}, feed {mine['feed']})")
        find = " or ".join(f"'sport = :{_port_of(a)}'" for _, a in held) or "'sport = :PORT'"
        left = NODE_RESTARTS_IN_USE - self.node_in_use
        if self.node_in_use == 1:
            self._say_problems([("node", (
                f"{which} is taken by another process, so the node cannot start again there (the neurons use that "
                f"address); stop that process (ss -ltnp {find} names it): {left} more "
                f"{'try' if left == 1 else 'tries'}, then the network stops")[:280])])
        if left > 0:
            return None
        again = f"`{self.command}`" if self.command else "in this directory"
        return (f"it stopped, and each of {NODE_RESTARTS_IN_USE} restarts found {which} in use by another process; "
                f"stop that process (ss -ltnp {find} names it), then start the network again with {again} (it keeps "
                "its chain)")

    async def _setup(self) -> None:
        from taonet.kernel import Subtensor

        from ._setup import prepare_wallets, setup_chain

        wallet_path = self.wallet_path
        fund = await anyio.to_thread.run_sync(prepare_wallets, self.spec, wallet_path)
        async with Subtensor(self.endpoint, timeout=self.spec.timeout) as sub:
            self.start_head = self.head = await sub.get_current_block()
            self.write_status()
            try:
                self.created = await setup_chain(sub, self.spec, wallet_path, fund=fund,
                                                 say=lambda t: self.view.line("setup", t))
            except SetupTimedOut as e:  # say how to resume: the setup skips what the chain already has
                raise attrs.evolve(e, again=self.command) from None
            self.setup_head = self.head = await sub.get_current_block()
        self.setup_s = time.monotonic() - self.started
        from taonet.kernel import Wallet

        for s in self.spec.subnets:
            self.names[Wallet(s.owner, "default", wallet_path).hotkeypub.ss58_address] = f"{s.owner} (owner)"
        for p in self.spec.neurons:
            hot = Wallet(p.spec.wallet, p.spec.hotkey, wallet_path).hotkeypub.ss58_address
            self.names[hot] = p.spec.name

    @property
    def wallet_path(self) -> Path:
        """Where the network's wallets live (the file's wallet_path, else DIR/wallets)."""
        return Path(self.spec.wallet_path).expanduser() if self.spec.wallet_path else self.dir / "wallets"

    def _placed(self) -> list[PlacedNeuron]:
        out = []
        for p in self.spec.neurons:
            s = p.spec
            s = attrs.evolve(s, wallet_path=s.wallet_path or str(self.wallet_path),
                             state_dir=s.state_dir or self.dir / "state" / s.name)
            out.append(attrs.evolve(p, spec=s))
        return out

    async def _start_hosts(self, tg: anyio.abc.TaskGroup) -> None:
        groups: dict[str, list[PlacedNeuron]] = defaultdict(list)
        remote: dict[str, list[PlacedNeuron]] = defaultdict(list)
        for p in self._placed():
            if p.machine != "local":
                remote[p.machine].append(p)
            elif p.process == "own":
                groups[p.spec.name].append(p)
            else:
                groups[p.process].append(p)
        for machine, ps in remote.items():
            path = write_machine_file(self.dir / "machines" / f"{machine}.toml", machine, ps, self.endpoint,
                                      self.wallet_path)
            self.machines[machine] = (str(path), len(ps))
            self.view.line("machine", f"{machine}: {counted(len(ps), 'neuron')} in {path}")
        self.waiting = [Path(p.spec.state_dir) / "status.json" for ps in groups.values() for p in ps]
        self.status_files = {Path(p.spec.state_dir) / "status.json": p.spec.name for ps in groups.values() for p in ps}
        for name, ps in groups.items():
            path = write_host_file(self.dir / "hosts" / f"{name}.toml", ps, self.endpoint)
            child = Child(name=name, kind="host", log=self.dir / "logs" / f"{name}.log",
                          args=[*TAONET, "neurons", "run", str(path), "--log-json"])
            child.note = counted(len(ps), "neuron")
            self.children.append(child)
            self.host_logs[child.log] = child.log.stat().st_size if child.log.exists() else 0
            await child.start()
            tg.start_soon(child.supervise, self._on_event)
        self.view.line("neurons", f"{sum(len(p) for p in groups.values())} in {counted(len(groups), 'process')}")

    def _warn_unreachable(self) -> None:
        """One ``warning:`` line when the node address written into ``machines/*.toml`` is one only this machine
        reaches (loopback or a wildcard, and no ``[node] public``): the other machines' neurons would never reach it,
        and nothing else would say so."""
        away = sorted({p.machine for p in self.spec.neurons if p.machine != "local" and "endpoint" not in p.written})
        if not away:
            return
        node, there = self.spec.node, " and ".join(away)
        if node.endpoint:
            if only_here(_host_of(node.endpoint)):
                self.view.line("warning", f"the neurons of machine {there} get [node] endpoint {node.endpoint}, "
                                          f"which only this machine reaches: give an address {there} can reach the "
                                          "node at (e.g. tcp://10.0.0.5:9944)")
            return
        if not node.public and only_here(_host_of(self.endpoint)):
            self.view.line("warning", f"the neurons of machine {there} get the node address {self.endpoint}, "
                                      f"which only this machine reaches: set [node] public = \"ADDRESS\" (where "
                                      f"{there} reach{'es' * (len(away) == 1)} this machine), with rpc and feed on "
                                      "tcp://0.0.0.0:PORT")

    def _remote_note(self) -> str:
        """What ``ready:`` adds about the neurons that wait on other machines (empty when there are none)."""
        return "".join(f"; {counted(n, 'neuron')} on machine {m}: start {'them' if n > 1 else 'it'} there with "
                       f"taonet neurons run {Path(path).name} (copy {path} and the wallets it names there)"
                       for m, (path, n) in sorted(self.machines.items()))

    # --- watching ------------------------------------------------------------------------------------------------
    async def _rotate_logs(self) -> None:
        """Keep every child's log under LOG_MAX_BYTES (one older part kept beside it), looking every
        LOG_ROTATE_EVERY seconds; the hosts' logs are read on from their start again."""
        while True:
            await anyio.sleep(LOG_ROTATE_EVERY)
            for child in list(self.children):
                if await anyio.to_thread.run_sync(rotate_log, child) and child.log in self.host_logs:
                    self.host_logs[child.log] = 0

    async def _watch(self) -> None:
        """Follow the chain for the view; a node that stops answering (it crashed and is being restarted) is
        said and waited for, never fatal."""
        from taonet.ledger.errors import TaonetError

        while True:
            try:
                await self._follow()
            except (TaonetError, OSError, TimeoutError) as e:
                self.view.line("waiting", f"the node does not answer ({type(e).__name__}: {e}); retrying in 1 s")
                if self.node_away_since is None:
                    self.node_away_since = time.time()
                self.node_error = f"{type(e).__name__}: {e}"[:300]
                self.write_status()  # launch status says so now (and its uptime goes on), not the last head as news
                await anyio.sleep(1)

    async def _follow(self) -> None:
        from taonet.kernel import Subtensor

        miners = {hot for hot, name in self.names.items()
                  if any(p.spec.name == name and p.spec.role == "miner" for p in self.spec.neurons)}
        # the subnets of the network file (its [[subnets]], and those its neurons join): another's epochs on the same
        # chain (a node this launcher does not own) are not this network's, and its miners are not ours
        netuids = {s.netuid for s in self.spec.subnets} | {p.spec.netuid for p in self.spec.neurons}
        async with Subtensor(self.endpoint, timeout=self.spec.timeout) as sub:
            if self.seen < 0:  # the epochs before this run, counted on the chain (numbers follow the chain's)
                self.seen = max(self.start_head, 0)
                for s in self.spec.subnets:
                    await self._count_earlier(sub, s.netuid, self.seen)
            last_ts = None
            while True:
                head = await sub.wait_for_block(self.seen + 1, timeout=60)
                if self.node_away_since is not None:
                    self.view.line("node", f"answers again ({time.time() - self.node_away_since:.0f} s unreachable)")
                    self.node_away_since, self.node_error = None, ""
                for n in range(max(self.seen + 1, head - 16), head + 1):
                    ts = (await sub.get_block(n)).header.timestamp
                    if last_ts is not None and n > 1:
                        self.max_gap_ms = max(self.max_gap_ms, float(ts - last_ts))
                    last_ts = ts
                # every block since the last read, those of the setup (before the neurons started) and of a node
                # restart included: no epoch is missed, so the count is the chain's
                found = [(b, e) for b, e in await _epochs_in(sub, self.seen + 1, head + 1) if e.netuid in netuids]
                self.head = head
                for b, e in found:
                    if e.netuid not in self.numbers:  # a neuron's subnet the setup did not count: counted on the chain
                        await self._count_earlier(sub, e.netuid, b - 1)
                    number = self.numbers[e.netuid][0] + 1
                    mg = await sub.metagraph(e.netuid, block=b)
                    paid = [mg.hotkeys[u] for u in range(mg.n) if mg.hotkeys[u] in miners and int(mg.E[u]) > 0]
                    ours = [h for h in mg.hotkeys if h in miners]
                    # counted from the command: only for a subnet this run created (a resumed one pays from the
                    # weights of the run before, whatever this run's neurons do)
                    if paid and self.first_emission_s is None and e.netuid in self.created:
                        self.first_emission_s = time.monotonic() - self.started
                        self.view.line("first_emission", f"{self.first_emission_s:.1f} s")
                    self.view.metagraph(mg, self.names, number)
                    early = " (during the setup, before the neurons started)" if b <= self.setup_head else ""
                    self.view.line("epoch", f"subnet {e.netuid} epoch {number} (block {e.block}, paid in {b}): "
                                            f"{len(paid)}/{len(ours)} miners paid{early}")
                    self.numbers[e.netuid] = (number, b, self.numbers[e.netuid][2])
                    self.epochs[e.netuid] = self.epochs.get(e.netuid, 0) + 1  # --epochs stops on this count
                self.seen = head
                if found:
                    await anyio.to_thread.run_sync(self._report_problems)
                await anyio.to_thread.run_sync(self._report_failed)
                await anyio.to_thread.run_sync(self._check_ready)
                self.view.tick(self)
                self.write_status()

    async def _count_earlier(self, sub: Any, netuid: int, through: int) -> None:
        """Number a subnet's epochs as the chain does: count its EpochCompleted events from its creation
        (``created_at``) through block ``through`` (from where the run before stopped counting, when its launch.json
        says so for the same subnet); the follower reads on from there."""
        from taonet.ledger.errors import SubnetNotFound

        try:
            created = int((await sub.get_subnet_info(netuid))["created_at"])
        except SubnetNotFound:  # not on the chain (an existing node's, changed meanwhile): counted from here
            self.numbers[netuid] = (0, through, -1)
            return
        count, since = 0, created
        mark = ((self.previous or {}).get("epoch_numbers") or {}).get(str(netuid))  # [number, through, created_at]
        if (isinstance(mark, list) and len(mark) == 3 and all(type(x) is int for x in mark)
                and mark[2] == created and created <= mark[1] <= through):
            count, since = mark[0], mark[1] + 1
        if since <= through:
            count += sum(1 for _, e in await _epochs_in(sub, since, through + 1) if e.netuid == netuid)
        self.numbers[netuid] = (count, through, created)

    def _report_problems(self) -> None:
        """After an epoch, say once each new error this machine's neurons keep in their status files (a plugin's
        hook failing, weights refused, the node away): ``problem: NAME: error``, at most MAX_PROBLEM_LINES at a time,
        so a subnet whose miners are not paid says why without reading the logs. A hook's error names the plugin too
        (``plugin.reward (subnet plugin 'NAME'): ...``): a network may run several."""
        new = []
        plugins = {p.spec.name: p.spec.plugin for p in self.spec.neurons}
        since = self.started_wall()
        for path, name in self.status_files.items():
            try:
                if path.stat().st_mtime < since:  # the run before's (a resumed network): its errors are not this one's
                    continue
                errors = json.loads(path.read_text()).get("errors") or []
            except (OSError, ValueError, AttributeError):
                continue
            for err in errors[-10:]:
                key = (name, str(err))
                if key not in self.reported:
                    if len(self.reported) >= 4096:  # bounded: an old one may be said again
                        self.reported.clear()
                    self.reported.add(key)
                    new.append((name, _with_plugin(str(err), plugins.get(name))))
        self._say_problems(new)

    def _say_problems(self, new: list[tuple[str, str]]) -> None:
        """Say the first MAX_PROBLEM_LINES of ``new`` (then how many more), and keep every one of them (the latest
        MAX_KEPT_PROBLEMS) for launch.json: `taonet launch status` shows those the view only counted."""
        for i, (name, err) in enumerate(new):
            text = f"{name}: {err}"[:300]
            self.problems = [*self.problems[-(MAX_KEPT_PROBLEMS - 1):], text]
            if i < MAX_PROBLEM_LINES:
                self.view.line("problem", text)
        if len(new) > MAX_PROBLEM_LINES:
            self.view.line("problem", f"... and {len(new) - MAX_PROBLEM_LINES} more ({self.cli_status()} lists "
                                      f"them; each neuron's status.json under {self.dir / 'state'}, and the logs in "
                                      f"{self.dir / 'logs'})")

    def _report_failed(self) -> None:
        """Say once each neuron a host stopped for good (its ``neuron.failed`` log line: an unregistered hotkey, a
        state directory another process holds...): such a neuron never writes a status file, so it showed nowhere
        but in its host's log. Reads each host's log from where it was left (at most LOG_LOOK bytes a look)."""
        new = []
        for path, offset in self.host_logs.items():
            try:
                text, self.host_logs[path] = lines_from(path, offset)  # whole lines; a partial one is read again
            except OSError:
                continue
            for raw in text.splitlines():
                if '"neuron.failed"' not in raw:
                    continue
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(line, dict) or line.get("event") != "neuron.failed":
                    continue
                name, error = str(line.get("name") or "?"), " ".join(str(line.get("error") or "?").split())
                self.failed = {**self.failed, name: error}  # replaced whole: status() reads it meanwhile
                key = (name, f"failed: {error}")
                if key not in self.reported:
                    self.reported.add(key)
                    new.append((name, f"failed, not restarted: {error}"))
        self._say_problems(new)

    def _check_ready(self) -> None:
        """Say ``ready:`` once every neuron of this machine runs (its status file written since the start says
        "running": a running neuron rewrites it every block; one process per neuron takes a while to import on a small
        machine) or was stopped for good by its host (``neuron.failed``). A neuron whose start failed writes its
        status file too, "stopped": it is waited for until it runs or its host gives up on it."""
        if self.ready_s is not None:
            return
        since = self.started_wall()
        self.waiting = [f for f in self.waiting if not _runs_since(f, since)
                        and self.status_files.get(f) not in self.failed]
        if self.waiting and not self.said_waiting and time.monotonic() - self.started >= _waiting_say_s():
            self.said_waiting = True
            names = [self.status_files.get(f, f.parent.name) for f in self.waiting]
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            self.view.line("waiting", f"{len(names)} of {counted(len(self.status_files), 'neuron')} not running yet "
                                      f"{time.monotonic() - self.started:.0f} s after the start: {shown} (their "
                                      f"hosts' logs in {self.dir / 'logs'} say why: "
                                      f"`{shlex.join(['taonet', 'launch', 'logs', '--dir', str(self.dir)])}`)")
        if not self.waiting:
            self.ready_s = time.monotonic() - self.started
            failed = sum(1 for name in self.status_files.values() if name in self.failed)
            total, remote = len(self.status_files), self._remote_note()
            if failed:
                self.view.line("ready", f"{total - failed} of {counted(total, 'neuron')} run{'s' * (total == 1)}, "
                                        f"{failed} failed (the problem lines say why) ({self.ready_s:.1f} s after "
                                        f"the start){remote}")
            elif remote:  # the view's "every neuron runs" would count those the other machines have not started
                here = (f"the {counted(total, 'neuron')} of this machine run{'s' * (total == 1)}" if total else
                        "no neuron runs on this machine")
                self.view.line("ready", f"{here} ({self.ready_s:.1f} s after the start){remote}")
            else:
                self.view.line("ready", f"every neuron runs ({self.ready_s:.1f} s after the start)")

    # --- the status file -------------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What `taonet launch status` shows: the launcher, every process, the chain's head and epochs."""
        return {
            "name": self.spec.name, "dir": str(self.dir), "pid": os.getpid(), "state": self.state,
            "endpoint": self.endpoint, "head": self.head,
            "epochs": {str(k): n for k, (n, _, _) in self.numbers.items() if n},  # the chain's numbers
            "epoch_numbers": {str(k): list(v) for k, v in self.numbers.items() if v[2] >= 0},
            "first_emission_s": self.first_emission_s, "setup_s": self.setup_s, "ready_s": self.ready_s,
            "max_block_gap_ms": self.max_gap_ms, "command": self.command,
            "uptime_s": round(time.monotonic() - self.started, 1), "problems": list(self.problems),
            "failed": dict(self.failed), "node_unreachable_since": self.node_away_since, "node_error": self.node_error,
            "owns_node": not self.spec.node.endpoint,
            "machines": [{"name": m, "file": path, "neurons": n} for m, (path, n) in sorted(self.machines.items())],
            "processes": [{"name": c.name, "kind": c.kind, "pid": c.pid, "state": c.state, "restarts": c.restarts,
                           "last_exit": c.last_exit, "note": c.note, "log": str(c.log)} for c in self.children],
        }

    def write_status(self) -> None:
        """Write launch.json atomically."""
        tmp = self.dir / (STATUS_FILE + ".tmp")
        tmp.write_text(json.dumps(self.status(), indent=1))
        os.replace(tmp, self.dir / STATUS_FILE)


async def _epochs_in(sub: Any, start: int, stop: int) -> list[tuple[int, Any]]:
    """The EpochCompleted events of blocks ``start .. stop-1`` as (block, event), read in the node's ranges."""
    from taonet.ledger import EpochCompleted

    out = []
    for a in range(start, stop, EVENTS_RANGE):
        out += [(b, e) for b, _, e in await sub.get_events(a, min(a + EVENTS_RANGE, stop),
                                                           types=["ev.epoch_completed"])
                if isinstance(e, EpochCompleted)]
    return out


def _runs_since(path: Path, since: float) -> bool:
    """Whether the neuron status file ``path`` was written at or after ``since`` (wall clock) and says "running"."""
    try:
        if path.stat().st_mtime < since:
            return False
        return json.loads(path.read_text()).get("state") == "running"
    except (OSError, ValueError, AttributeError):
        return False  # not there yet, or being replaced: looked at again at the next block


def read_status(dir: Path) -> dict[str, Any] | None:
    """A network directory's launch.json, or None (none there, or ``dir`` is no directory)."""
    try:
        return json.loads((dir / STATUS_FILE).read_text())
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, ValueError):
        return None


def signal_name(code: int | None) -> str:
    """How a process ended, in words."""
    if code is None:
        return "running"
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
