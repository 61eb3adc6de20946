"""`taonet node run|follow` and `taonet actor run`: the chain's processes."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from ..addresses import IN_USE, listen_problem
from ._common import AsJson, Endpoint, Out, ReadTimeout, Wide, run
from ._numbers import bounded

node_app = typer.Typer(help="Run a node (the chain's sequencer) or a read replica; ask one how it is.\n\n"
                            "Example: taonet node run --dev", no_args_is_help=True)
actor_app = typer.Typer(help="Run a system actor in its own process.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option(help="Where the chain's log lives ($TAONET_DATA_DIR, ~/.taonet/node).")]
ReplicaDir = Annotated[Path | None, typer.Option(
    "--data-dir", help="Where the replica's own log lives ($TAONET_REPLICA_DIR, ~/.taonet/replica).")]
LOG_LEVELS = ("debug", "info", "warning", "error")
"""The levels --log-level takes (in any case)."""


def _log_level(value: str) -> str:
    """The --log-level lower-cased; any other word is a usage error (exit 2) listing the levels."""
    level = value.strip().lower()
    if level not in LOG_LEVELS:
        raise typer.BadParameter(f"{value!r} is not a log level: use {', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}")
    return level


LogLevel = Annotated[str, typer.Option(callback=_log_level, help="debug, info, warning or error.")]
MAX_CONNECTIONS_FLAG = 1 << 20
"""The most any --max-connections* flag may be (a bound beyond the descriptors a process can open means nothing)."""
MaxConnections = Annotated[int | None, typer.Option(
    min=1, max=MAX_CONNECTIONS_FLAG, help="Connections each listening socket (RPC, feed) accepts at once; one more "
                                          "is closed as it comes (default 4096).")]
MaxPerAddress = Annotated[int | None, typer.Option(
    min=1, max=MAX_CONNECTIONS_FLAG, help="Of those, connections one remote address (IPv4 address, IPv6 /64) may "
                                          "hold; behind a proxy, raise it (default 512, at most --max-connections).")]
MaxPerNetwork = Annotated[int | None, typer.Option(
    min=1, max=MAX_CONNECTIONS_FLAG, help="Of those, connections one remote network (IPv4 /24, IPv6 /48) may hold "
                                          "(default 4 x --max-connections-per-address, at most --max-connections).")]

DEV_BLOCK_TIME = 0.25
"""A dev chain's default block time, as the real localnet's."""
BLOCK_TIME = 12.0
MAX_BLOCK_TIME = 3600.0
"""The longest block time (the launcher's bound): a longer one is a node that, to anyone watching, never seals."""
MAX_ACTOR_TIMEOUT = 10 * MAX_BLOCK_TIME
"""The longest --actor-timeout: the default (10 block times) at the longest block time."""
MAX_PER_SIGNER = 200_000
"""The most --mempool-per-signer may be: the whole mempool at its default bound (NodeConfig.mempool_limit); never
more than --mempool-max either."""
PER_SIGNER = 256
"""--mempool-per-signer's default (NodeConfig.mempool_per_signer)."""
MAX_MEMPOOL = 10_000_000
"""The most --mempool-max may be (50 x its default of 200,000): a waiting transfer takes about 750 bytes decoded, so
this many take about 7.5 GB of memory."""
MAX_MEMPOOL_MB = 16_384
"""The most --mempool-max-mb may be (128 x its default of 128): a waiting extrinsic takes 3 to 20 times its
encoding in memory."""


async def _until_signal(main: Any, header: str | None = None) -> None:
    """Run ``main(task_status=...)`` until it ends or SIGINT/SIGTERM arrives; then cancel it cleanly.

    ``header`` is printed once ``main`` has started (its data directory opened: a directory refused prints only the
    error); then one ``name: address`` line per address (scripts and tests parse these)."""
    import anyio

    from ..signals import signal_stopped_group, stop_heard

    if stop_heard():  # a SIGTERM while the command started (taonet node run): stopped before the node started
        return
    async with signal_stopped_group() as tg:
        if tg.cancel_scope.cancel_called:  # one that came before the group took the signals
            return
        addresses = await tg.start(main)
        if header is not None:
            print(header, flush=True)
        for name in ("rpc", "feed"):
            if name in addresses:
                print(f"{name}: {addresses[name]}", flush=True)
        await anyio.sleep_forever()


def _check_addresses(**addresses: str) -> None:
    """Refuse an address nng cannot listen on before anything starts (a one-line usage error, exit 2)."""
    for option, address in addresses.items():
        if "://" not in address:
            raise typer.BadParameter(f"{address!r} is not an nng address; use tcp://HOST:PORT (port 0: any free "
                                     "port), ipc:///PATH or inproc://NAME", param_hint=f"--{option}")


def _connection_bounds(total: int | None, per_address: int | None, per_network: int | None) -> dict[str, int]:
    """The NodeConfig fields of the --max-connections* flags, checked together (a one-line usage error, exit 2)."""
    import re

    from taonet.kernel.wire import connection_bounds

    try:
        total, per_address, per_network = connection_bounds(total, per_address, per_network)
    except ValueError as e:  # the message names the settings: say them as the flags
        raise typer.BadParameter(re.sub(r"max_connections\w*", lambda m: "--" + m[0].replace("_", "-"), str(e))
                                 ) from None
    return {"max_connections": total, "max_connections_per_address": per_address,
            "max_connections_per_network": per_network}


def _mempool_bounds(count: int | None, mb: int | None, per_signer: int | None) -> dict[str, int]:
    """The NodeConfig fields of --mempool-max, --mempool-max-mb and --mempool-per-signer (those not given: the
    config's defaults); a signer's share above the whole mempool is a one-line usage error (exit 2)."""
    out: dict[str, int] = {"mempool_per_signer": PER_SIGNER if per_signer is None else per_signer}
    if count is not None:
        if per_signer is not None and per_signer > count:
            raise typer.BadParameter(f"--mempool-per-signer ({per_signer:,}) is above --mempool-max ({count:,}): "
                                     "lower the share, or raise --mempool-max")
        out["mempool_limit"] = count
    if mb is not None:
        out["mempool_limit_bytes"] = mb << 20
    return out


def _parse_delays(items: list[str]) -> dict[str, float]:
    from taonet.kernel.node import ACTORS

    out = {}
    for item in items:
        name, _, seconds = item.partition("=")
        try:
            value = float(seconds)
        except ValueError:
            value = -1.0
        if name not in ACTORS or not 0 <= value <= 3600:  # nan and inf fail too
            raise typer.BadParameter(f"{item!r}: use NAME=SECONDS with NAME one of {', '.join(ACTORS)} and "
                                     "SECONDS in 0..3600", param_hint="--actor-delay")
        out[name] = value
    return out


@node_app.command("run")
def node_run(
    dev: Annotated[bool, typer.Option("--dev", help="A funded development genesis (//Alice ... //Ferdie).")] = False,
    genesis: Annotated[Path | None, typer.Option(help="A genesis JSON file (for a new chain).")] = None,
    data_dir: DataDir = None,
    block_time: Annotated[float | None, typer.Option(help="Seconds between blocks (default: 0.25 with --dev, as a "
                                                         "localnet; else 12).", min=0.01, max=MAX_BLOCK_TIME,
                                                     parser=bounded(0.01, MAX_BLOCK_TIME))] = None,
    rpc: Annotated[str, typer.Option(help="RPC address (any nng address).")] = "tcp://127.0.0.1:9944",
    feed: Annotated[str, typer.Option(help="Block feed address (nng Pub0).")] = "tcp://127.0.0.1:9945",
    clock: Annotated[str, typer.Option(help="wall, or logical: timestamps are genesis + N x block time.")] = "wall",
    authority: Annotated[str | None, typer.Option(help="Secret URI of the authority key (dev: //Authority).",
                                                  envvar="TAONET_AUTHORITY_URI")] = None,
    remote_actor: Annotated[list[str], typer.Option(help="An actor run in its own process (repeatable).")] = [],  # noqa: B006
    actor_timeout: Annotated[float | None, typer.Option(help="Seconds before a silent actor pauses production "
                                                                "(default 10 block times).", min=0.01,
                                                        max=MAX_ACTOR_TIMEOUT,
                                                        parser=bounded(0.01, MAX_ACTOR_TIMEOUT))] = None,
    actor_delay: Annotated[list[str], typer.Option(help="NAME=SECONDS: delay an actor's answers (testing lockstep).")
                           ] = [],  # noqa: B006
    fsync: Annotated[bool, typer.Option(help="fsync each block before publishing it.")] = True,
    epoch_index: Annotated[bool, typer.Option(help="Keep each epoch's inputs beside the log (chain/epochs/) for "
                                              "`replay what-if`; --no-epoch-index saves the disk it takes.")] = True,
    mempool_per_signer: Annotated[int | None, typer.Option(
        min=1, max=MAX_PER_SIGNER, help=f"Extrinsics one signer may have waiting (default {PER_SIGNER}, at most "
                                        "--mempool-max).")] = None,
    mempool_max: Annotated[int | None, typer.Option(
        min=1, max=MAX_MEMPOOL, help="Extrinsics the mempool holds at most; one more gets MempoolFull (default "
                                     "200,000).")] = None,
    mempool_max_mb: Annotated[int | None, typer.Option(
        min=1, max=MAX_MEMPOOL_MB, help="MiB of encoded extrinsics the mempool holds at most; one more gets "
                                        "MempoolFull (default 128).")] = None,
    block_budget: Annotated[float | None, typer.Option(
        min=0.001, max=MAX_BLOCK_TIME, parser=bounded(0.001, MAX_BLOCK_TIME),
        help="Seconds a block may spend on waiting extrinsics (default one block time).")
                            ] = None,
    max_connections: MaxConnections = None,
    max_connections_per_address: MaxPerAddress = None,
    max_connections_per_network: MaxPerNetwork = None,
    log_level: LogLevel = "info",
    log_json: Annotated[bool | None, typer.Option(help="JSON log lines (default: when stderr is not a terminal).")
                        ] = None,
) -> None:
    """Run a node: seal a block every --block-time, serve RPC, publish blocks; resume from --data-dir."""
    from ..signals import hold_stop_signals, stop_heard

    # first: a SIGTERM from now on is a clean stop (the imports take most of a second; by default it killed the
    # process, status -15, no word); Ctrl-C stays KeyboardInterrupt until the node runs
    hold_stop_signals((signal.SIGTERM,))
    import anyio

    from taonet.kernel.node import ACTORS, Node, NodeConfig, default_data_dir, missing_dirs
    from taonet.ledger import DEV_AUTHORITY_URI, Keypair, dev_genesis, load_genesis

    from ..logs import configure_logging

    configure_logging(log_level, json=log_json)
    _check_addresses(rpc=rpc, feed=feed)
    bounds = _connection_bounds(max_connections, max_connections_per_address, max_connections_per_network)
    mempool = _mempool_bounds(mempool_max, mempool_max_mb, mempool_per_signer)
    if clock not in ("wall", "logical"):
        raise typer.BadParameter("--clock is wall or logical")
    for name in remote_actor:
        if name not in ACTORS:
            raise typer.BadParameter(f"unknown actor {name!r}; the actors are {', '.join(ACTORS)}")
    config = None
    if dev:
        config, _dev_key = dev_genesis()
        authority = authority or DEV_AUTHORITY_URI
    elif genesis is not None:
        config = load_genesis(genesis)
    if authority is None:
        raise typer.BadParameter("--authority (or $TAONET_AUTHORITY_URI) is needed without --dev")
    if block_time is None:
        block_time = DEV_BLOCK_TIME if dev else BLOCK_TIME
    data_dir = data_dir or default_data_dir()
    cfg = NodeConfig(
        data_dir=data_dir, authority=Keypair.from_uri(authority), genesis=config,
        block_time=block_time, rpc=rpc, feed=feed, clock=clock,  # type: ignore[arg-type]
        actor_timeout=actor_timeout, local_actors=tuple(a for a in ACTORS if a not in remote_actor),
        actor_delays=_parse_delays(actor_delay), fsync=fsync, block_budget=block_budget, epoch_index=epoch_index,
        **bounds, **mempool,
        tune_gc=True,  # this process is the node: it may tune the process-wide GC
    )
    listening = _listening(cfg, remote=bool(remote_actor))
    _check_listen(listening)  # before anything is written: a node that cannot listen leaves no data dir behind
    _raise_file_limit()
    if stop_heard():
        return
    node = Node(cfg)
    # no colon in this line: scripts read the "name: address" lines that follow
    header = f"taonet node{' (dev chain)' if dev else ''}, a block every {block_time:g} s, log in {data_dir}"
    created = missing_dirs(data_dir)
    hold_stop_signals()  # Ctrl-C too, from here to the exit: the node's signal group takes them while it runs
    try:
        with contextlib.suppress(KeyboardInterrupt):
            anyio.run(_until_signal, node.run, header)
    except Exception as e:
        _failed_to_listen(e, listening, created)
        raise
    if node.halted is not None:
        raise node.halted  # reported (one line, its exit status) by the command's error wrapper


def _listening(cfg: Any, *, remote: bool) -> list[tuple[str, str]]:
    """Where the node will listen, each with the option that gave it: --rpc, --feed, and the remote actors' address
    (derived from --rpc) when an actor runs in its own process."""
    out = [("--rpc", cfg.rpc), ("--feed", cfg.feed)]
    if remote:
        out.append(("the actors' address (from --rpc)", cfg.actors_address))
    return out


def _in_use(option: str, address: str) -> Exception:
    """The one-line error for an address another process listens on (exit 4), naming the option and what to do."""
    from taonet.tools.launcher.errors import AddressInUse

    port = address.rpartition(":")[2] if address.startswith("tcp") else ""
    find = f" (ss -ltnp 'sport = :{port}' names it)" if port.isdigit() else ""
    return AddressInUse(method="node run", address=address, option=option, reason=(
        f"another process listens there: stop it{find}, or give {option.split()[-1].strip('()')} another address "
        "(port 0: any free one)"))


def _check_listen(listening: list[tuple[str, str]]) -> None:
    """Refuse, before anything starts, an address the node could not listen on: one that is not this machine's (a
    usage error, exit 2) or that another process listens on (AddressInUse, exit 4), each naming its option."""
    seen: dict[str, str] = {}
    for option, address in listening:
        if address in seen and not address.endswith(":0"):
            raise typer.BadParameter(f"{address} is {seen[address]}'s address too: give each its own",
                                     param_hint=option)
        seen[address] = option
        problem = listen_problem(address)
        if problem == IN_USE:
            raise _in_use(option, address)
        if problem is not None:
            raise typer.BadParameter(f"{address} {problem}", param_hint=option)


def _failed_to_listen(e: BaseException, listening: list[tuple[str, str]], created: list[Path]) -> None:
    """After the node's run failed: when it could not listen (another process took an address between the check and
    the node's listen), remove what this start created of a new data dir, and name the address taken."""
    import pynng

    from taonet.kernel.node import remove_new_data_dir

    from ..errors import root_error

    leaf = root_error(e)
    if not isinstance(leaf, pynng.AddressInUse | pynng.AddressInvalid | pynng.NoEntry):
        return
    remove_new_data_dir(created)
    if isinstance(leaf, pynng.AddressInUse):
        for option, address in listening:
            if listen_problem(address) == IN_USE:
                raise _in_use(option, address) from e


NOFILE_WANTED = 65536
"""The open-files limit a node raises its own soft limit to (up to the hard limit): each of its RPC, feed and actors'
sockets keeps up to 4,096 connections by default (``--max-connections``), a descriptor each, and the node must still be
able to open its chain's files; a common default soft limit of 1,024 would run out first."""


def _raise_file_limit() -> None:
    """Raise this process's soft open-files limit toward NOFILE_WANTED (an entry point's process-wide setting)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE_WANTED if hard == resource.RLIM_INFINITY else min(hard, NOFILE_WANTED)
    if soft != resource.RLIM_INFINITY and soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


@node_app.command("follow")
def node_follow(
    leader: Annotated[str, typer.Option("--from", help="The leader's RPC address.")],
    data_dir: ReplicaDir = None,
    rpc: Annotated[str, typer.Option(help="This replica's RPC address.")] = "tcp://127.0.0.1:9954",
    feed: Annotated[str, typer.Option(help="This replica's block feed address.")] = "tcp://127.0.0.1:9955",
    epoch_index: Annotated[bool, typer.Option(help="As node run --epoch-index.")] = True,
    max_connections: MaxConnections = None,
    max_connections_per_address: MaxPerAddress = None,
    max_connections_per_network: MaxPerNetwork = None,
    log_level: LogLevel = "info",
) -> None:
    """Run a read replica: verify and store the leader's blocks, answer reads, forward submissions."""
    import anyio

    from taonet.kernel.node import NodeConfig, Replica, default_replica_dir, missing_dirs, remove_new_data_dir
    from taonet.ledger import Keypair

    from ..logs import configure_logging
    from ..signals import hold_stop_signals

    _check_addresses(rpc=rpc, feed=feed)
    bounds = _connection_bounds(max_connections, max_connections_per_address, max_connections_per_network)
    configure_logging(log_level)
    cfg = NodeConfig(data_dir=data_dir or default_replica_dir(), authority=Keypair.generate(), rpc=rpc, feed=feed,
                     epoch_index=epoch_index, **bounds)
    _raise_file_limit()
    replica = Replica(cfg, leader)
    # no colon in this line (scripts read the "name: address" lines that follow): the leader's address without them
    header = f"taonet node follow, a replica of the leader at {_without_colons(leader)}, log in {cfg.data_dir}"
    created = missing_dirs(cfg.data_dir)
    hold_stop_signals()  # from here to the exit: the replica's signal group takes them while it runs
    try:
        with contextlib.suppress(KeyboardInterrupt):
            anyio.run(_until_signal, replica.run, header)
    except Exception:
        if replica.state is None or replica.state.height <= 0:  # it failed before it held any block past genesis
            remove_new_data_dir(created)  # what this run made of a new --data-dir; never one that existed before
        raise


def _without_colons(address: str) -> str:
    """An nng address said without colons (for a first line scripts do not read as ``name: address``):
    ``tcp://10.0.0.5:9944`` is ``10.0.0.5 port 9944``, ``ipc:///run/node.sock`` is ``ipc /run/node.sock``."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        return address.replace(":", " ")
    host, colon, port = rest.rpartition(":")
    if scheme.startswith("tcp") and colon and port.isdigit():
        return f"{host.replace(':', '.')} port {port}"
    return f"{scheme} {rest.replace(':', ' ')}"


@actor_app.command("run")
def actor_run(
    name: Annotated[str, typer.Argument(help="scheduler, consensus or registrar.")],
    node: Annotated[str, typer.Option("--node", help="The node's RPC address.")] = "tcp://127.0.0.1:9944",
    key: Annotated[str, typer.Option(help="Secret URI of the actor's key (named in the genesis).",
                                     envvar="TAONET_ACTOR_URI")] = "//Actor",  # the ledger's DEV_ACTOR_URI
    delay: Annotated[float, typer.Option(min=0, max=3600, parser=bounded(0, 3600),
                                         help="Delay each answer by this many seconds (testing).")] = 0.0,
    log_level: LogLevel = "info",
) -> None:
    """Run a system actor against a node started with --remote-actor NAME."""
    import anyio

    from taonet.kernel.node import ACTORS, run_remote_actor
    from taonet.ledger import Keypair

    from ..logs import configure_logging
    from ..signals import hold_stop_signals, signal_stopped_group

    configure_logging(log_level)
    if name not in ACTORS:
        raise typer.BadParameter(f"unknown actor {name!r}; the actors are {', '.join(ACTORS)}")

    async def main() -> None:
        from taonet.kernel.errors import UnknownMethod

        from ._errors import NoRemoteActors

        async with signal_stopped_group() as tg:
            try:
                await _check_remote(name, node)
                await run_remote_actor(name, node, Keypair.from_uri(key), delay=delay)
            except UnknownMethod as e:  # a node not started with --remote-actor has no actors' RPC
                if not e.method.startswith("actor_"):
                    raise
                raise NoRemoteActors(method=e.method, reason="no remote actors", node=node, actor=name) from None
            tg.cancel_scope.cancel()

    hold_stop_signals()  # from here to the exit: the actor's signal group takes them while it runs
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(main)


async def _check_remote(name: str, node: str) -> None:
    """Refuse an actor the node runs itself: it would wait for work that never comes (NoRemoteActors, exit 2)."""
    from taonet.kernel import Subtensor

    from ._errors import NoRemoteActors

    async with Subtensor(node, timeout=30.0) as sub:
        info = await sub.info()
    if name in info.get("local_actors", ()):
        raise NoRemoteActors(method="info", reason="runs it itself", node=node, actor=name)


CONNECTION_FIGURES = ("connections", "addresses", "networks", "connections_refused",
                      "connections_refused_per_address", "connections_refused_per_network", "max_connections",
                      "max_connections_per_address", "max_connections_per_network")
"""What `node status` shows of each listening socket's metrics: the live counts and the bounds the node enforces."""
STATUS_FIGURES = ("mempool", "mempool_bytes", "mempool_max", "mempool_max_bytes", "rss_bytes", "gc_counts",
                  "gc_thresholds", "gc_collections", "gc_collected", "gc_frozen", "gc_full_ms", "gc_full_last_ms")
"""What `node status` shows of the node's other metrics (the same keys in its --json): the mempool beside its bounds
(a leader's), the process's resident memory and its garbage collector's state."""


def _connections_rows(name: str, figures: dict[str, Any]) -> list[tuple[str, str]]:
    """One socket's connections beside its bounds: a row for the total (NAME conns), one for each address
    (NAME/address) and one for each network (NAME/network); "-" for a figure the node did not report."""
    def n(key: str) -> str:
        value = figures.get(key)
        return f"{value:,}" if isinstance(value, int) else "-"

    return [(f"{name} conns", f"{n('connections')} of at most {n('max_connections')}; "
                                    f"{n('connections_refused')} refused in all"),
            (f"{name}/address", f"at most {n('max_connections_per_address')} each; {n('addresses')} connected; "
                                    f"{n('connections_refused_per_address')} refused"),
            (f"{name}/network", f"at most {n('max_connections_per_network')} each; {n('networks')} connected; "
                                    f"{n('connections_refused_per_network')} refused")]


@node_app.command("status")
def node_status(endpoint: Endpoint = None, as_json: AsJson = False, wide: Wide = False,
                timeout: ReadTimeout = 10.0) -> None:
    """A node's chain, role, head block and its age, block time, subnets, feed address, and the connections of its
    RPC and feed sockets beside their bounds (--max-connections*)."""
    import time

    out = Out(as_json)

    async def read(sub: Any) -> dict[str, Any]:
        info = await sub.info()
        head = await sub.get_block(info["head"])
        subnets = await sub.get_all_subnets_netuid()
        metrics = await sub.call("metrics")
        connections = {name: {k: figures[k] for k in CONNECTION_FIGURES if k in figures}
                       for name in ("rpc", "feed") if isinstance(figures := metrics.get(name), dict)}
        production = {"paused": metrics["paused"]} if "paused" in metrics else {}  # a leader's; a replica seals none
        figures = {k: metrics[k] for k in STATUS_FIGURES if k in metrics}  # a node older than them has none
        return {**info, "head_hash": head.header.hash, "head_time": head.header.timestamp / 1000,
                "subnets": len(subnets), "endpoint": sub.endpoint, "connections": connections, **production,
                **figures}

    st = run(read, endpoint, timeout, "node status")
    # the genesis block carries no production time (its timestamp is 0): its age would be the time since 1970
    st["head_age"] = round(time.time() - st["head_time"], 3) if st["head"] > 0 else None
    st.pop("actors", None)
    if out.json:
        out.emit(st)
        return
    rows = [("endpoint", st["endpoint"]), ("chain", st["chain_id"]), ("role", str(st["role"])),
            ("head", f"{st['head']:,} ({st['head_age']:.1f} s ago)" if st["head_age"] is not None else
                     f"{st['head']:,} (genesis: no block sealed yet)"), ("block time", f"{st['block_time']:g} s"),
            ("clock", str(st["clock"])), ("subnets", str(st["subnets"])), ("feed", str(st["feed"])),
            ("genesis", st["genesis_hash"].hex())]
    if st.get("leader") is not None:  # a replica: the leader it follows, and whether it answers now
        reachable = st.get("leader_reachable")
        state = "" if reachable is None else " (answers)" if reachable else " (not answering: reads go on from here)"
        rows.insert(3, ("leader", f"{st['leader']}{state}"))
    if "paused" in st:  # a leader: whether it seals, or waits for actors (and what to do)
        rows.insert(4, ("production", _production(st["paused"])))
    rows += _memory_rows(st)
    rows += [row for name, figures in st["connections"].items() for row in _connections_rows(name, figures)]
    # VALUE wraps: a row's remedy (production PAUSED ..., what to run) is never cut to fit the terminal
    out.table("node", ("NAME", "VALUE"), rows, left=("NAME", "VALUE"), wide=wide, wrap=("VALUE",))


def _size(n: int) -> str:
    """A byte count as people read it: ``512 B``, ``3.0 KiB``, ``84.2 MiB``, ``2.0 GiB``."""
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:,.1f} {unit}"


def _memory_rows(st: dict[str, Any]) -> list[tuple[str, str]]:
    """The `mempool`, `memory` and `gc` rows of `node status`, from the figures the node reported (a leader's
    mempool; a replica has none)."""
    rows = []
    if isinstance(st.get("mempool"), int) and isinstance(st.get("mempool_bytes"), int):
        bounds = (f"; at most {st['mempool_max']:,} and {_size(st['mempool_max_bytes'])}"
                  if isinstance(st.get("mempool_max"), int) and isinstance(st.get("mempool_max_bytes"), int) else "")
        rows.append(("mempool", f"{st['mempool']:,} extrinsics, {_size(st['mempool_bytes'])}{bounds}"))
    if isinstance(st.get("rss_bytes"), int):
        rows.append(("memory", f"{_size(st['rss_bytes'])} resident"))
    counts, thresholds, runs = st.get("gc_counts"), st.get("gc_thresholds"), st.get("gc_collections")
    if isinstance(counts, list) and isinstance(thresholds, list) and isinstance(runs, list):
        def gens(values: list[Any]) -> str:
            return " / ".join(f"{v:,}" if isinstance(v, int) else "-" for v in values)

        rows.append(("gc pending", f"{gens(counts)} of {gens(thresholds)} (gen 0 / 1 / 2)"))
        last, frozen = st.get("gc_full_last_ms"), st.get("gc_frozen")
        pause = f"; the last full one {last:.1f} ms" if isinstance(last, int | float) and last > 0 else ""
        rows.append(("gc runs", f"{gens(runs)}{pause}; {frozen if isinstance(frozen, int) else 0:,} objects frozen"))
    return rows


def _production(paused: Any) -> str:
    """The `production` row of `node status`: sealing, or paused waiting for actors (with the remedy)."""
    if not isinstance(paused, dict):
        return "sealing"
    waiting = ", ".join(str(a) for a in paused.get("waiting_for", ())) or "?"
    return (f"PAUSED for {paused.get('for_s', 0):g} s before block {paused.get('block')}, waiting for {waiting}: "
            f"{paused.get('remedy', '')}")


@node_app.command("wait")
def node_wait(blocks: Annotated[int, typer.Option("--blocks", "-n", min=1, help="How many blocks to wait for.")] = 1,
              endpoint: Endpoint = None, as_json: AsJson = False,
              timeout: Annotated[float, typer.Option("--timeout", min=0.1, max=1e6, envvar="TAONET_TIMEOUT",
                                                     parser=bounded(0.1, 1e6),
                                                     help="Seconds to wait at most ($TAONET_TIMEOUT, else "
                                                          "60, not a read's 10: it waits for blocks, and a "
                                                          "12 s chain seals few in 10 s; past it, exit 4)."
                                                     )] = 60.0) -> None:
    """Wait until the chain is --blocks past its head (for scripts: an epoch is a subnet's tempo in blocks)."""
    out = Out(as_json)

    async def wait(sub: Any) -> int:
        target = await sub.get_current_block() + blocks
        with out.status(f"waiting for block {target}"):
            return await sub.wait_for_block(target, timeout=timeout)

    head = run(wait, endpoint, timeout, "node wait")
    if out.json:
        out.emit({"block": head})
    else:
        out.line(f"block {head}")
