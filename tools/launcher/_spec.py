"""A network description: the TOML file `taonet launch FILE` reads, and the one `taonet localnet` builds itself.

Tables: ``[node]`` (block_time, rpc, feed, public, fsync, max_connections*, or endpoint = an existing node),
``[[subnets]]`` (netuid, plugin, owner, hyperparameters), ``[[wallets]]`` (name, uri or existing, fund), and the neuron
host's ``[[neurons]]`` table (parsed by ``taonet.plugins.parse_neurons``) with the launcher's own keys: ``stake`` (τ
staked on each neuron's hotkey), ``process`` (``"own"``: a process per neuron; any other name: one shared host process
per name) and ``machine`` (``"local"``; another name: written to ``machines/NAME.toml`` for that host to run).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .errors import InvalidNetworkFile

__all__ = ["LAUNCH_KEYS", "MAX_BLOCK_TIME", "MAX_PROCESSES", "NetworkSpec", "NodeSpec", "PlacedNeuron",
           "SubnetSpec", "WalletSpec", "load_network", "own_connections", "parse_network"]

MAX_PROCESSES = 256
"""The most neuron processes the launcher starts on this machine (each "own" neuron, each named host)."""
LOCALNET_SOURCE = "localnet"
"""The ``source`` `taonet localnet` parses its network under (no file: its errors name the command's options)."""
MAX_BLOCK_TIME = 3600.0
"""The longest block time a launched node may have, in seconds."""
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
LAUNCH_KEYS = ("stake", "process", "machine")
"""The keys the launcher adds to a ``[[neurons]]`` row (the neuron host passes them over)."""
TOP_KEYS = {"node", "subnets", "wallets", "neurons", "name", "wallet_path", "timeout"}
NODE_KEYS = {"block_time": (int, float), "rpc": str, "feed": str, "public": str, "endpoint": str, "fsync": bool,
             "max_connections": int, "max_connections_per_address": int, "max_connections_per_network": int}
SUBNET_KEYS = {"netuid": int, "plugin": str, "owner": str, "hyperparameters": dict, "description": str}
WALLET_KEYS = {"name": str, "uri": str, "existing": bool, "fund": (int, float)}
TOP_TYPES = {"subnets": list, "wallets": list, "neurons": list, "name": str, "wallet_path": str,
             "timeout": (int, float)}
"""The types of the top-level keys but ``node`` (a table, checked with its keys)."""


@attrs.frozen(kw_only=True)
class NodeSpec:
    """The node: started by the launcher (block time, addresses) or, with ``endpoint``, an existing one."""

    block_time: float = 0.25
    rpc: str = ""
    """Where the node listens; empty: 127.0.0.1:9944 (taonet commands' default) when free, else a free port."""
    feed: str = "tcp://127.0.0.1:0"
    public: str | None = None
    endpoint: str | None = None
    fsync: bool = False
    max_connections: int | None = None
    """The node's connection bounds (``taonet node run --max-connections*``); None: the node's default."""
    max_connections_per_address: int | None = None
    max_connections_per_network: int | None = None

    def connection_flags(self) -> list[str]:
        """The ``taonet node run`` flags of the bounds the file gives."""
        return [arg for key in ("max_connections", "max_connections_per_address", "max_connections_per_network")
                if (value := getattr(self, key)) is not None for arg in (f"--{key.replace('_', '-')}", str(value))]


@attrs.frozen(kw_only=True)
class SubnetSpec:
    """A subnet to create (or find, on a kept network): its netuid, plugin, owner wallet and hyperparameters."""

    netuid: int
    plugin: str
    owner: str = "owner"
    hyperparameters: Mapping[str, int] = attrs.field(factory=dict)
    description: str = ""


@attrs.frozen(kw_only=True)
class WalletSpec:
    """A wallet: its coldkey from a secret URI (dev keys), an existing one, or a new key; ``fund`` τ from //Alice."""

    name: str
    uri: str | None = None
    existing: bool = False
    fund: float = 0.0


@attrs.frozen(kw_only=True)
class PlacedNeuron:
    """One expanded neuron (a ``NeuronSpec``) with where it runs and what it stakes."""

    spec: Any
    process: str = "host"
    machine: str = "local"
    stake: float = 0.0
    written: Mapping[str, str] = attrs.field(factory=dict)
    """The row's own ``wallet_path``, ``state_dir`` and ``endpoint`` as written (``{i}`` replaced, no path resolved):
    what a machine file carries for another machine, where this one's paths mean nothing."""


@attrs.frozen(kw_only=True)
class NetworkSpec:
    """A whole network: node, wallets, subnets, neurons; ``rows`` are the ``[[neurons]]`` rows as written."""

    name: str = "network"
    node: NodeSpec = NodeSpec()
    subnets: tuple[SubnetSpec, ...] = ()
    wallets: tuple[WalletSpec, ...] = ()
    neurons: tuple[PlacedNeuron, ...] = ()
    wallet_path: str | None = None
    timeout: float = 30.0

    def wallet(self, name: str) -> WalletSpec:
        """The wallet spec called ``name`` (a new, funded one if the file does not list it)."""
        for w in self.wallets:
            if w.name == name:
                return w
        return WalletSpec(name=name, fund=10_000.0)


MAX_TAO = ((1 << 64) - 1) / 1e9
"""The most τ an amount in the file may be (u64 RAO)."""


def _wallet(where: str, row: Any) -> WalletSpec:
    """A ``[[wallets]]`` row: a name a wallet can have, a URI that is not empty, a fund of 0..MAX_TAO τ."""
    t = _check(where, row, WALLET_KEYS, ("name",))
    _check_wallet_name(where, t["name"])
    if "uri" in t and not t["uri"].strip():  # an empty URI is the well-known development root key
        raise InvalidNetworkFile(where=where, reason="uri is empty: give one (//Alice), or leave it out for a new key")
    fund = float(t.get("fund", 0.0))
    if not 0 <= fund <= MAX_TAO:  # nan fails too
        raise InvalidNetworkFile(where=where, reason=f"fund must be a number of τ in 0..{int(MAX_TAO)}")
    return WalletSpec(**{**t, **({"fund": fund} if "fund" in t else {})})


def _check(where: str, table: Any, known: Mapping[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise InvalidNetworkFile(where=where, reason="is not a table")
    for key, value in table.items():
        if key not in known:
            raise InvalidNetworkFile(where=where, reason=f"unknown key {key!r} (known: {', '.join(sorted(known))})")
        want = known[key]
        if (isinstance(value, bool) and want is not bool) or not isinstance(value, want):
            raise InvalidNetworkFile(where=where, reason=f"{key} has the wrong type ({type(value).__name__})")
    for key in required:
        if key not in table:
            raise InvalidNetworkFile(where=where, reason=f"missing key {key!r}")
    return dict(table)


def parse_network(data: Mapping[str, Any], *, base: Path | None = None, source: str = "network") -> NetworkSpec:
    """Check and expand a network description (InvalidNetworkFile naming the table and key otherwise)."""
    from taonet.ledger import HYPERPARAMETER_BOUNDS
    from taonet.plugins import parse_neurons

    for key in data:
        if key not in TOP_KEYS:
            known = ", ".join(sorted(TOP_KEYS))
            raise InvalidNetworkFile(where=source, reason=f"unknown table {key!r} (known: {known})")
    _check(source, {k: v for k, v in data.items() if k in TOP_TYPES}, TOP_TYPES)
    for key in ("subnets", "wallets", "neurons"):
        if not all(isinstance(row, Mapping) for row in data.get(key, [])):
            raise InvalidNetworkFile(where=source, reason=f"{key} must be an array of tables ([[{key}]])")
    node = NodeSpec(**{k: float(v) if k == "block_time" else v
                       for k, v in _check(f"{source}: [node]", data.get("node", {}), NODE_KEYS).items()})
    _check_node_addresses(f"{source}: [node]", node)
    try:
        from taonet.kernel.wire import connection_bounds

        connection_bounds(node.max_connections, node.max_connections_per_address, node.max_connections_per_network)
    except ValueError as e:
        raise InvalidNetworkFile(where=f"{source}: [node]", reason=str(e)) from None
    if not 0.01 <= node.block_time <= MAX_BLOCK_TIME:
        raise InvalidNetworkFile(where=f"{source}: [node]",
                                 reason=f"block_time must be 0.01 .. {MAX_BLOCK_TIME:g} s, not {node.block_time:g}")
    plugins = _Plugins()
    subnets = []
    for n, row in enumerate(data.get("subnets", []), 1):
        t = _check(f"{source}: [[subnets]] row {n}", row, SUBNET_KEYS, ("netuid", "plugin"))
        plugins.check_known(f"{source}: [[subnets]] row {n}", t["plugin"])
        hyper = t.pop("hyperparameters", {})
        for k, v in hyper.items():
            if isinstance(v, bool) or not isinstance(v, int):
                raise InvalidNetworkFile(where=f"{source}: [[subnets]] row {n}",
                                         reason=f"hyperparameter {k} must be an integer")
            if k not in HYPERPARAMETER_BOUNDS:
                raise InvalidNetworkFile(where=f"{source}: [[subnets]] row {n}", reason=(
                    f"no hyperparameter {k!r} (see `taonet subnet hparams`)"))
            lo, hi = HYPERPARAMETER_BOUNDS[k]
            if not lo <= v <= hi:
                raise InvalidNetworkFile(where=f"{source}: [[subnets]] row {n}",
                                         reason=f"hyperparameter {k}: {v} is outside [{lo}, {hi}]")
        if not 1 <= t["netuid"] <= 65535:
            raise InvalidNetworkFile(where=f"{source}: [[subnets]] row {n}",
                                     reason=f"netuid must be 1..65535, not {t['netuid']}")
        subnets.append(SubnetSpec(hyperparameters=hyper, **t))
    if len({s.netuid for s in subnets}) != len(subnets):
        raise InvalidNetworkFile(where=f"{source}: [[subnets]]", reason="two subnets share a netuid")
    wallets = [_wallet(f"{source}: [[wallets]] row {n}", row) for n, row in enumerate(data.get("wallets", []), 1)]
    for n, sn in enumerate(subnets, 1):
        _check_wallet_name(f"{source}: [[subnets]] row {n}", sn.owner)
    rows = data.get("neurons", [])
    defaults = {k: data[k] for k in ("wallet_path", "timeout") if k in data}
    if node.endpoint:
        defaults["endpoint"] = node.endpoint
    parse_neurons(rows, defaults=defaults, base=base, extra_keys=LAUNCH_KEYS, source=source)  # checks the whole
    placed = []
    for n, row in enumerate(rows, 1):
        where = f"{source}: [[neurons]] row {n}"
        process, machine, stake = row.get("process", "host"), row.get("machine", "local"), row.get("stake", 0)
        if not isinstance(process, str) or not process.replace("-", "").replace("_", "").isalnum():
            raise InvalidNetworkFile(where=where, reason="process must be \"own\" or a name of letters, digits, - _")
        if not isinstance(machine, str) or not machine.replace("-", "").replace("_", "").replace(".", "").isalnum() \
                or machine.startswith("."):
            raise InvalidNetworkFile(where=where, reason="machine must be a name of letters, digits, - _ . "
                                                         "(\"local\": this one)")
        if isinstance(stake, bool) or not isinstance(stake, int | float) or not 0 <= stake <= MAX_TAO:
            raise InvalidNetworkFile(where=where, reason=f"stake must be a number of τ in 0..{int(MAX_TAO)}")
        for i, spec in enumerate(parse_neurons([row], defaults=defaults, base=base, extra_keys=LAUNCH_KEYS,
                                               source=source)):
            plugins.check_known(where, spec.plugin)  # an unknown plugin is said as such (6), not as a mismatch
            if i == 0:  # a row's neurons share its options
                plugins.check_options(where, spec.plugin, spec.options)
            if not _NAME.match(spec.name):  # the launcher names files after it: state/NAME, hosts/NAME.toml
                raise InvalidNetworkFile(where=where, reason=f"name {spec.name!r} must be 1-64 of A-Z a-z 0-9 _ . - "
                                                             "(not starting with . or -)")
            if spec.netuid not in {s.netuid for s in subnets} and not node.endpoint:
                raise InvalidNetworkFile(where=where, reason=f"subnet {spec.netuid} is not in [[subnets]]")
            runs = next((s.plugin for s in subnets if s.netuid == spec.netuid), None)
            if runs is not None and spec.plugin != runs:  # its neuron would stop at once (PluginMismatch)
                raise InvalidNetworkFile(where=where, reason=f"plugin {spec.plugin!r}, but [[subnets]] says subnet "
                                                             f"{spec.netuid} runs {runs!r}: a neuron runs its "
                                                             "subnet's plugin")
            _check_neuron_addresses(where, spec, local=machine == "local", node_endpoint=node.endpoint)
            written = {k: str(row[k]).replace("{i}", str(i)) for k in ("wallet_path", "state_dir", "endpoint")
                       if k in row}
            placed.append(PlacedNeuron(spec=spec, process=process, machine=machine, stake=float(stake),
                                       written=written))
    _check_bounds(source, placed)
    timeout = data.get("timeout", 30.0)
    if not 0 < timeout < float("inf"):
        raise InvalidNetworkFile(where=source, reason=f"timeout must be a number of seconds > 0, not {timeout}")
    return NetworkSpec(name=str(data.get("name", source)), node=node, subnets=tuple(subnets), wallets=tuple(wallets),
                       neurons=tuple(placed), wallet_path=data.get("wallet_path"), timeout=float(timeout))


class _Plugins:
    """The installed plugins, looked up and loaded once a file: a row's ``plugin`` must be one (UnknownPluginInFile,
    exit 6) that loads (PluginFailedInFile, exit 7: it fails to import, exits or hangs while loading...), and a
    ``[[neurons]]`` row's ``options`` ones its plugin takes (InvalidOptionInFile, exit 2), each naming the file,
    table and row (the first row naming the plugin)."""

    def __init__(self) -> None:
        self.installed: list[Any] | None = None
        self.loaded: dict[str, Any] = {}

    def check_known(self, where: str, name: str) -> None:
        from taonet.plugins import installed_plugins, load_plugin
        from taonet.plugins.errors import PluginError

        from .errors import PluginFailedInFile, UnknownPluginInFile

        if self.installed is None:
            self.installed = installed_plugins()
        if not any(i.name == name for i in self.installed):
            raise UnknownPluginInFile(name=name, installed=tuple(sorted({i.name for i in self.installed})),
                                      where=where)
        if name not in self.loaded:
            try:
                self.loaded[name] = load_plugin(name, installed=self.installed)
            except PluginError as e:  # its own line, after the file and row that name it
                raise PluginFailedInFile(where=where, name=name, error=str(e)) from e

    def check_options(self, where: str, name: str, options: Mapping[str, Any]) -> None:
        from taonet.plugins.errors import InvalidOption

        from .errors import InvalidOptionInFile

        if not options:
            return
        self.check_known(where, name)
        try:
            self.loaded[name].options(dict(options))
        except InvalidOption as e:
            raise InvalidOptionInFile(name=e.name, reason=e.reason, where=where) from None


def _check_node_addresses(where: str, node: NodeSpec) -> None:
    """``[node]``'s addresses, asked of nng as the node and the clients ask it, before anything starts: ``rpc`` and
    ``feed`` must be addresses this machine can listen on (one another process holds is said when the node starts),
    ``endpoint`` one a client can dial, ``public`` a host other machines can dial."""
    from ..addresses import IN_USE, dial_problem, listen_problem

    if node.endpoint is not None and (problem := dial_problem(node.endpoint)) is not None:
        raise InvalidNetworkFile(where=where, reason=f"endpoint {node.endpoint!r} {problem}")
    for key in ("rpc", "feed"):
        address = getattr(node, key)
        if not address or address == "tcp://127.0.0.1:0" or node.endpoint is not None:  # the default; no node of ours
            continue
        if "://" not in address:
            raise InvalidNetworkFile(where=where, reason=(
                f"{key} {address!r} is not an nng address; use tcp://HOST:PORT (port 0: any free port) or ipc:///PATH"))
        if (problem := listen_problem(address)) not in (None, IN_USE):
            raise InvalidNetworkFile(where=where, reason=f"{key} {address!r} {problem}")
    if node.endpoint is None and node.rpc and node.rpc == node.feed and not node.rpc.endswith(":0"):
        raise InvalidNetworkFile(where=where, reason=f"rpc and feed are both {node.rpc!r}: give each its own address")
    if node.public is not None and (not node.public or any(c in node.public for c in "/ ")
                                    or dial_problem(f"tcp://{node.public}:1") is not None):
        raise InvalidNetworkFile(where=where, reason=(
            f"public {node.public!r} is not a host other machines can reach the node at: give an address or name, "
            "e.g. \"10.0.0.5\" (an IPv6 address in brackets: \"[fd00::5]\")"))


def _check_neuron_addresses(where: str, spec: Any, *, local: bool, node_endpoint: str | None) -> None:
    """A ``[[neurons]]`` row's addresses, before anything starts: its own ``endpoint`` one a client can dial (the
    file's ``[node] endpoint`` is checked at ``[node]``); a validator's ``gateway`` on this machine one it can listen
    on (one on another machine is that machine's to resolve)."""
    from ..addresses import IN_USE, dial_problem, listen_problem

    if spec.endpoint and spec.endpoint != node_endpoint and (problem := dial_problem(spec.endpoint)) is not None:
        raise InvalidNetworkFile(where=where, reason=f"endpoint {spec.endpoint!r} {problem}")
    gateway = spec.gateway
    if local and gateway:
        url = gateway if "://" in gateway else f"tcp://{gateway}"
        if (problem := listen_problem(url)) not in (None, IN_USE):
            raise InvalidNetworkFile(where=where, reason=f"gateway {gateway!r} {problem}")


def _check_wallet_name(where: str, name: str) -> None:
    from taonet.kernel import Wallet

    try:
        Wallet(name, "default", "/")  # checks the name (nothing is read)
    except ValueError as e:
        raise InvalidNetworkFile(where=where, reason=str(e)) from None


def _check_bounds(source: str, placed: Sequence[PlacedNeuron]) -> None:
    """At most MAX_PROCESSES neuron processes on this machine (parse_neurons bounds the neurons: 4,096 a file)."""
    local = {p.spec.name if p.process == "own" else p.process for p in placed if p.machine == "local"}
    if len(local) > MAX_PROCESSES:
        share = ("give a larger --per-host (neurons share host processes)" if source == LOCALNET_SOURCE else
                 "share host processes (process = NAME)")  # each command's own way to say it
        raise InvalidNetworkFile(where=f"{source}: [[neurons]]", reason=(
            f"{len(local)} neuron processes on this machine, more than the {MAX_PROCESSES} the launcher starts: "
            f"{share}"))


def own_connections(spec: NetworkSpec) -> int:
    """The connections the launcher's own processes hold on each socket of the node it starts, all from 127.0.0.1:
    the launcher's, and one for each neuron process on this machine (each ``"own"`` neuron, each named host)."""
    return 1 + len({p.spec.name if p.process == "own" else p.process for p in spec.neurons if p.machine == "local"})


def load_network(path: str | Path) -> NetworkSpec:
    """Read a network file (TOML); its relative paths are read from its folder."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidNetworkFile(where=str(path), reason="no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidNetworkFile(where=str(path), reason=f"cannot be read ({getattr(e, 'strerror', None) or e})"
                                 ) from None
    except tomllib.TOMLDecodeError as e:
        raise InvalidNetworkFile(where=str(path), reason=f"not valid TOML: {e}") from None
    return parse_network(data, base=path.parent.resolve(), source=str(path))
