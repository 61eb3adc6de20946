"""`taonet localnet` and `taonet launch FILE|status|logs|stop`: a whole network on this machine, supervised, with a
live view (tools/launcher, docs/launcher.md)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..signals import PARENT_ENV
from ._node import MaxConnections, MaxPerAddress, MaxPerNetwork, _connection_bounds
from ._numbers import bounded

__all__ = ["launch_cmd", "localnet_cmd"]

ACTIONS = ("status", "logs", "stop")
DETACH_TIMEOUT = 180.0


def _home() -> Path:
    return Path.home() / ".taonet"


def _remember(dir: Path) -> None:
    _home().mkdir(parents=True, exist_ok=True)
    (_home() / "launch-last").write_text(str(dir))


def _last() -> Path:
    try:
        return Path((_home() / "launch-last").read_text().strip())
    except FileNotFoundError:
        return _home() / "localnet"


def _check_free(dir: Path, option: str) -> None:
    """Refuse a directory whose network runs; ``option`` is the command's option naming another directory."""
    from taonet.tools.launcher import read_status, runs_taonet

    from ..launcher.errors import NetworkDirBusy

    st = read_status(dir)
    pid = st.get("pid") if isinstance(st, dict) else None
    if type(pid) is int and st.get("state") not in ("stopped", None) and runs_taonet(pid):  # type: ignore[union-attr]
        raise NetworkDirBusy(dir=str(dir), pid=pid, option=option)


NETWORK_ENTRIES = frozenset({"launch.json", "launch.json.tmp", "logs", "node", "wallets", "state", "hosts",
                             "machines"})
"""What the launcher keeps in a network's directory: a directory holding anything else is not one."""


def _check_dir(dir: Path) -> None:
    """A network's directory: absent, empty, or one the launcher made (nothing of the user's is written beside, or
    later removed by --fresh, with it)."""
    from ..launcher.errors import InvalidNetworkFile

    if dir.exists() and not dir.is_dir():
        raise InvalidNetworkFile(where=str(dir), reason="is a file, not a directory: choose a directory for the "
                                                        "network")
    if dir.is_dir():
        other = sorted(p.name for p in dir.iterdir() if p.name not in NETWORK_ENTRIES)
        if other:
            shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
            raise InvalidNetworkFile(where=str(dir), reason=f"holds files that are not a network's ({shown}): choose "
                                                            "an empty or new directory")


def _fresh(dir: Path) -> None:
    """Empty ``dir`` for a new network: only a previous network's directory (it has launch.json) is removed."""
    from taonet.tools.launcher import STATUS_FILE

    from ..launcher.errors import InvalidNetworkFile

    if dir.exists() and any(dir.iterdir()):
        if not (dir / STATUS_FILE).exists():
            raise InvalidNetworkFile(where=str(dir), reason="is not empty and holds no network (no launch.json): "
                                                            "choose another directory")
        shutil.rmtree(dir)
    dir.mkdir(parents=True, exist_ok=True)


def _detach(dir: Path, argv: list[str]) -> None:
    """Run this command again in the background (its own session, output to DIR/logs/launcher.log); return once
    the network runs, printing where it is."""
    from taonet.tools.launcher import read_status

    (dir / "logs").mkdir(parents=True, exist_ok=True)
    log_path = dir / "logs" / "launcher.log"
    with open(log_path, "ab") as log:
        env = {k: v for k, v in os.environ.items() if k != PARENT_ENV}  # outlives this command, by design
        # -P: the current folder is not imported from (tools/launcher/_run.TAONET says why)
        proc = subprocess.Popen([sys.executable, "-P", "-m", "taonet.tools", *argv], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True, env=env)
    deadline = time.monotonic() + DETACH_TIMEOUT
    while time.monotonic() < deadline:
        st = read_status(dir)
        if st and st.get("state") == "running" and st.get("pid") == proc.pid:
            print(f"dir: {dir}\npid: {proc.pid}\nrpc: {st['endpoint']}\nlogs: {dir / 'logs'}", flush=True)
            print(f"stop it with: taonet launch stop --dir {dir}", file=sys.stderr)
            return
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            print(f"error: the network did not start (exit status {proc.returncode}): {tail[0]}", file=sys.stderr)
            raise typer.Exit(proc.returncode or 1)
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    print(f"error: the network did not start within {DETACH_TIMEOUT:g} s; see {log_path}", file=sys.stderr)
    raise typer.Exit(4)


def _serve(spec: Any, dir: Path, *, epochs: int | None, live: bool | None, command: list[str],
           localnet: bool = False) -> None:
    """Run the network in this process until Ctrl-C/SIGTERM (or ``epochs`` epochs of every subnet); ``command``
    starts it again where it stopped. Stopped by a signal before it was ready: StoppedBeforeReady (exit 130; 143 for
    SIGTERM)."""
    import anyio
    from rich.console import Console

    from taonet.tools.launcher import Network, View

    from ..logs import configure_logging
    from ..signals import hold_stop_signals, signal_stopped_group, stopped_by

    configure_logging("warning")
    console = Console()
    _remember(dir)
    again = shlex.join(command)
    signalled: list[bool] = []  # a stop signal or a hangup ended the run (not --epochs)
    with View(console, live=console.is_terminal if live is None else live) as view:
        net = Network(spec=spec, dir=dir, view=view, command=again, localnet=localnet)

        async def until_epochs(scope: anyio.CancelScope) -> None:
            while epochs is None or len(net.epochs) < len(spec.subnets) or min(net.epochs.values()) < epochs:
                await anyio.sleep(0.1)
            seen = sorted(set(net.epochs.values()))
            counts = (f"{seen[0]}" if len(seen) == 1 else f"{seen[0]} to {seen[-1]}")  # several may end in one read
            view.line("done", f"{counts} epoch{'' if seen == [1] else 's'} of every subnet")
            scope.cancel()

        async def cancel_on_hangup(scope: anyio.CancelScope) -> None:
            with anyio.open_signal_receiver(signal.SIGHUP) as hangups:  # a closed terminal stops it all too
                async for _ in hangups:
                    view.line("stopping", "the terminal hung up")
                    signalled.append(True)
                    scope.cancel()
                    return

        def on_signal() -> None:
            signalled.append(True)
            view.line("stopping", "the neurons, then the node" if not spec.node.endpoint else
                      f"the neurons (the node at {spec.node.endpoint} is not this launcher's: it runs on)")

        async def main() -> None:
            async with signal_stopped_group(on_signal) as tg:
                tg.start_soon(cancel_on_hangup, tg.cancel_scope)
                if epochs is not None:
                    tg.start_soon(until_epochs, tg.cancel_scope)
                await net.run()

        view.line("dir", str(dir))
        hold_stop_signals()  # from here to the exit: the group takes them while it runs
        with contextlib.suppress(KeyboardInterrupt):
            anyio.run(main)
    if signalled and net.ready_s is None:  # a stop before `ready:` interrupted the command (after it: its normal end)
        from ._errors import StoppedBeforeReady

        raise StoppedBeforeReady(dir=str(dir), command=again, during="during its setup" if net.setup_s is None else
                                 "while its neurons started", terminated=stopped_by() == signal.SIGTERM)


Dir = Annotated[Path | None, typer.Option("--dir", help="The network's directory (chain, wallets, logs).")]
Detach = Annotated[bool, typer.Option("--detach", help="Run in the background; see `taonet launch status`.")]
Epochs = Annotated[int | None, typer.Option("--epochs", min=1, help="Stop after this many epochs of every subnet.")]
Live = Annotated[bool | None, typer.Option("--live/--lines", help="A live screen (default on a terminal) or one "
                                                                  "line per event.")]


def localnet_cmd(
    plugin: Annotated[list[str], typer.Option("--plugin", help="Subnet plugin(s), one subnet each (repeatable).")
                      ] = [],  # noqa: B006
    validators: Annotated[int, typer.Option(min=0, max=4096, help="Validators per subnet.")] = 2,
    miners: Annotated[int, typer.Option(min=0, max=4096, help="Miners per subnet.")] = 4,
    block_time: Annotated[float, typer.Option(min=0.01, max=3600, parser=bounded(0.01, 3600),
                                              help="Seconds between blocks.")] = 0.25,
    tempo: Annotated[int, typer.Option(min=1, help="Blocks per epoch.")] = 10,
    per_host: Annotated[int, typer.Option(min=0, help="Neurons per host process (1: one each; 0: up to 36).")
                        ] = 0,
    keep: Annotated[Path | None, typer.Option("--keep", help="Keep the network in DIR and restart it where it "
                                                             "stopped (default: a fresh ~/.taonet/localnet).")] = None,
    detach: Detach = False, epochs: Epochs = None, live: Live = None,
    max_connections: MaxConnections = None,
    max_connections_per_address: MaxPerAddress = None,
    max_connections_per_network: MaxPerNetwork = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help="Where the node listens for RPC, tcp://HOST:PORT (default: "
                                                          "127.0.0.1:9944 if free, else a free loopback port).")
                   ] = None,
    feed: Annotated[str | None, typer.Option("--feed", help="Where the node publishes its block feed, "
                                                            "tcp://HOST:PORT (default: a free loopback port).")
                    ] = None,
) -> None:
    """A whole network with no configuration: a dev node (0.25 s blocks), the template subnet, 2 validators and 4
    miners, and a live view; Ctrl-C stops everything. The --max-connections* flags are the node's (as `taonet node
    run`'s; `taonet node status` shows them).

    Example: taonet localnet --miners 8 --keep ./mynet
    """
    from taonet.tools.launcher import localnet_spec
    from taonet.tools.launcher.errors import InvalidNetworkFile

    # checked as `node run` checks them (one usage line); the node is given the flags as the user gave them
    bounds = _connection_bounds(max_connections, max_connections_per_address, max_connections_per_network)
    try:
        spec = localnet_spec(plugins=tuple(plugin) or ("template",), validators=validators, miners=miners,
                             block_time=block_time, tempo=tempo, per_host=per_host, max_connections=max_connections,
                             max_connections_per_address=max_connections_per_address,
                             max_connections_per_network=max_connections_per_network, rpc=rpc, feed=feed)
    except InvalidNetworkFile as e:  # a bound of the launcher's, or an address: the command line asked for it
        flag = next((f"--{k}" for k in ("rpc", "feed") if e.reason.startswith(f"{k} ")), None)
        raise typer.BadParameter(e.reason, param_hint=flag) from None
    binding = ("--max-connections-per-address" if max_connections_per_address is not None else
               "--max-connections-per-network" if max_connections_per_network is not None and (
                   max_connections is None or max_connections_per_network <= max_connections) else "--max-connections")
    _check_room(spec, bounds["max_connections_per_address"], binding)
    _check_plugins(spec)
    dir = (keep or _home() / "localnet").expanduser().resolve()
    if keep is not None:
        _check_dir(dir)
    _check_free(dir, "--keep")
    if keep is None:
        _fresh(dir)
    if detach:
        argv = [a for a in sys.argv[1:] if a != "--detach"]
        _remember(dir)
        _detach(dir, [*argv, *([] if keep else ["--keep", str(dir)])])
        return
    shaping = {"--plugin": list(plugin), "--validators": validators, "--miners": miners, "--block-time": block_time,
               "--tempo": tempo, "--per-host": per_host, "--max-connections": max_connections,
               "--max-connections-per-address": max_connections_per_address,
               "--max-connections-per-network": max_connections_per_network, "--rpc": rpc, "--feed": feed}
    _serve(spec, dir, epochs=epochs, live=live, command=_localnet_again(shaping, dir), localnet=True)


def _localnet_again(given: dict[str, Any], dir: Path) -> list[str]:
    """The `taonet localnet` command that starts the network in ``dir`` again: ``--keep DIR`` and the options that
    shape the network, where they differ from the defaults (``given``: flag -> value, a list for a repeated one)."""
    import inspect

    defaults = {f"--{name.replace('_', '-')}": p.default
                for name, p in inspect.signature(localnet_cmd).parameters.items()}
    out = ["taonet", "localnet"]
    for flag, value in given.items():
        if value is None or value == defaults.get(flag):
            continue
        for v in value if isinstance(value, list) else [value]:
            out += [flag, repr(v) if isinstance(v, float) else str(v)]
    return [*out, "--keep", str(dir)]


def _check_room(spec: Any, per_address: int, flag: str) -> None:
    """Refuse connection bounds that leave a localnet's own processes no room (one usage line, exit 2): they all dial
    the node from 127.0.0.1, one RPC and one feed connection each (the launcher and each neuron host), and a `taonet`
    command run beside them needs one more; a network refused its own connections would just never be ready.

    An address's share is the smallest of the three bounds (a network's is at least it, the total too); ``flag`` is
    the one that set it."""
    processes = _short_of_room(spec, per_address)
    if processes:
        hosts = processes - 1
        raise typer.BadParameter(
            f"the node would take {_connections(per_address)} from one address, but this localnet's launcher and "
            f"{hosts} neuron host{'s' * (hosts != 1)} hold {processes} from 127.0.0.1 (and each taonet command one "
            f"more): allow at least {processes + 1}", param_hint=flag)


def _short_of_room(spec: Any, per_address: int) -> int:
    """The connections a network's own processes hold from 127.0.0.1 when an address's share of ``per_address``
    leaves them (and a `taonet` command beside them) no room; 0 when it does."""
    from taonet.tools.launcher import own_connections

    processes = own_connections(spec)
    return processes if per_address < processes + 1 else 0


def _connections(n: int) -> str:
    return f"{n} connection{'s' * (n != 1)}"


def _check_file_room(spec: Any, source: str) -> None:
    """As :func:`_check_room`, for the node a network file starts (InvalidNetworkFile naming ``[node]``, exit 7)."""
    from taonet.kernel.wire import connection_bounds

    from ..launcher.errors import InvalidNetworkFile

    node = spec.node
    if node.endpoint:  # not our node: its bounds are its own
        return
    _, per_address, _ = connection_bounds(node.max_connections, node.max_connections_per_address,
                                          node.max_connections_per_network)  # checked already by load_network
    processes = _short_of_room(spec, per_address)
    if processes:
        hosts = processes - 1
        raise InvalidNetworkFile(where=f"{source}: [node]", reason=(
            f"the node would take {_connections(per_address)} from one address, but the "
            f"launcher and {hosts} neuron process{'es' * (hosts != 1)} on this machine hold {processes} from "
            f"127.0.0.1 (and each taonet command one more): give max_connections_per_address (and max_connections, "
            f"max_connections_per_network) at least {processes + 1}"))


def _check_plugins(spec: Any) -> None:
    """An unknown plugin or a bad option: one line before anything starts."""
    from taonet.plugins import load_plugin

    for name in sorted({s.plugin for s in spec.subnets} | {p.spec.plugin for p in spec.neurons}):
        plugin = load_plugin(name)
        for p in spec.neurons:
            if p.spec.plugin == name:
                plugin.options(dict(p.spec.options))


def launch_cmd(
    target: Annotated[str, typer.Argument(help="A network file (TOML, docs/launcher.md), or status, logs, stop.")],
    name: Annotated[str | None, typer.Argument(help="With logs: the process whose log to show.")] = None,
    dir: Dir = None, detach: Detach = False, epochs: Epochs = None, live: Live = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start a new chain in --dir (a previous network's "
                                                        "directory is removed).")] = False,
    lines: Annotated[int, typer.Option("-n", "--tail", min=1, help="With logs: how many lines.")] = 40,
    as_json: Annotated[bool, typer.Option("--json", help="With status, logs or stop: one JSON document.")] = False,
) -> None:
    """Start the network a file describes (node, wallets, subnets, stake, neurons), or, for a network started with
    --detach: status, logs [NAME], stop.

    Example: taonet launch docs/network-one-subnet.toml --detach; taonet launch status; taonet launch stop
    """
    if target in ACTIONS:
        where = (dir or _last()).expanduser().resolve()
        {"status": lambda: _status(where, as_json), "logs": lambda: _logs(where, name, lines, as_json),
         "stop": lambda: _stop(where, as_json)}[target]()
        return
    from taonet.tools.launcher import load_network

    path = Path(target)
    spec = load_network(path)
    _check_file_room(spec, str(path))
    if epochs is not None and not spec.subnets:
        raise typer.BadParameter(f"{path} lists no [[subnets]] whose epochs to count", param_hint="--epochs")
    _check_plugins(spec)
    where = (dir or _home() / "networks" / path.stem).expanduser().resolve()
    _check_dir(where)
    _check_free(where, "--dir")
    if fresh:
        _fresh(where)
    where.mkdir(parents=True, exist_ok=True)
    if detach:
        _remember(where)
        _detach(where, ["launch", str(path.resolve()), "--dir", str(where),
                        *(["--epochs", str(epochs)] if epochs else [])])
        return
    _serve(spec, where, epochs=epochs, live=live,
           command=["taonet", "launch", str(path.resolve()), "--dir", str(where)])


def _read(dir: Path) -> dict[str, Any]:
    from taonet.tools.launcher import read_status, runs_taonet

    from ..launcher.errors import NoNetwork

    st = read_status(dir)
    if st is None:
        raise NoNetwork(dir=str(dir))
    if not (isinstance(st, dict) and type(st.get("pid")) is int and isinstance(st.get("processes"), list)
            and all(isinstance(p, dict) and {"name", "pid"} <= p.keys() and (p["pid"] is None or type(p["pid"]) is int)
                    for p in st["processes"])):
        from ..launcher.errors import InvalidNetworkFile

        raise InvalidNetworkFile(where=str(dir / "launch.json"), reason="not a network's status (damaged?); if no "
                                 "network runs there, remove the file")
    # a launcher that is gone (its pid free, or since taken by another program) left a "dead" network
    if st.get("state") != "stopped" and not runs_taonet(int(st.get("pid") or -1)):
        st["state"] = "dead"
    return st


def _status(dir: Path, as_json: bool) -> None:
    from taonet.tools.launcher import runs_taonet

    st = _read(dir)
    for p in st["processes"]:
        if p["pid"] is not None and not runs_taonet(p["pid"]):
            p["state"], p["pid"] = "gone", None
    if as_json:
        print(json.dumps(st))
        return
    state, over = st.get("state"), st.get("state") in ("stopped", "dead")
    said = {"dead": f"not running: its launcher (pid {st['pid']}) is gone, killed before it could stop the network",
            "stopped": "stopped" + (" before it was ready" if over and st.get("ready_s") is None else "")}
    print(f"network: {st.get('name')} {said.get(str(state), state)} "
          + ("" if state == "dead" else f"(launcher pid {st['pid']}) ") + f"in {dir}")
    epochs = ", ".join(f"subnet {k}: {v}" for k, v in sorted(dict(st.get("epochs") or {}).items())) or "none yet"
    gap = st.get("max_block_gap_ms")
    head = st.get("head")
    if not (isinstance(head, int) and head >= 0):  # the launcher read no block (-1)
        head = ("none (stopped before the launcher read a block, during the setup)" if over else
                "none read yet (the node is starting)")
    away = st.get("node_unreachable_since")
    if isinstance(away, int | float) and not over and isinstance(head, int):  # the head is the last one read
        head = f"{head} (the last read, before the node stopped answering)"
    print(f"rpc: {st.get('endpoint') or '-'}  head: {head}  epochs: {epochs}  largest block gap: "
          + (f"{gap:.0f} ms" if isinstance(gap, int | float) else "-"))
    if isinstance(away, int | float) and not over:
        whose = "" if st.get("owns_node", True) else " (not this launcher's: start it again where it runs)"
        print(f"node: unreachable since {time.strftime('%H:%M:%S', time.localtime(away))} "
              f"({max(0.0, time.time() - away):.0f} s){whose}: {st.get('node_error') or '?'}")
    for p in st["processes"]:
        print(f"process: {p['name']} {p.get('state')} pid {p['pid'] or '-'} restarts {p.get('restarts', 0)}"
              + (f" ({p['note']})" if p.get("note") else ""))
    machines = st.get("machines")
    for m in machines if isinstance(machines, list) else []:  # neurons of this network the launcher does not run
        if isinstance(m, dict) and {"name", "file", "neurons"} <= m.keys():
            n = m["neurons"]
            print(f"machine: {m['name']} {n} neuron{'s' * (n != 1)}, not run by this launcher: start "
                  f"{'them' if n != 1 else 'it'} there with taonet neurons run {Path(str(m['file'])).name} (copy "
                  f"{m['file']} and the wallets it names there)")
    problems = st.get("problems")
    for line in problems[-10:] if isinstance(problems, list) else []:  # the latest problem lines the view said
        print(f"problem: {line}")
    if over:
        left = [p["name"] for p in st["processes"] if p["pid"] is not None]
        if left:  # a killed launcher's children stop by themselves (they watch it), within seconds
            print(f"left running: {', '.join(left)} (they stop by themselves; `taonet launch stop --dir {dir}` "
                  "ends them now)")
        print(f"start it again with: {_again(st, dir)}")


def _again(st: dict[str, Any], dir: Path) -> str:
    """The command that starts the network of ``st`` (its launch.json) again where it stopped."""
    command = st.get("command")
    if isinstance(command, str) and command:
        return command
    if st.get("name") == "localnet":  # a launch.json written before the command was kept in it
        return shlex.join(["taonet", "localnet", "--keep", str(dir)])
    return shlex.join(["taonet", "launch", "FILE", "--dir", str(dir)])


def _logs(dir: Path, name: str | None, lines: int, as_json: bool) -> None:
    _read(dir)
    logs = dir / "logs"
    if name is None:
        found = [{"name": f.stem, "path": str(f), "bytes": f.stat().st_size} for f in sorted(logs.glob("*.log"))]
        if as_json:
            print(json.dumps({"logs": found}))
            return
        for x in found:
            print(f"{x['name']}: {x['path']} ({x['bytes']:,} bytes)")
        return
    path = logs / f"{name}.log"
    if not path.is_file():
        from ..launcher.errors import NoLog

        raise NoLog(dir=str(dir), name=name, have=", ".join(sorted(f.stem for f in logs.glob("*.log"))) or "none")
    tail = path.read_text(errors="replace").splitlines()[-lines:]
    if as_json:
        print(json.dumps({"name": name, "path": str(path), "lines": tail}))
        return
    for line in tail:
        print(line)


def _end_children(st: dict[str, Any]) -> None:
    """SIGKILL the sessions of the processes a network's launch.json records that still run taonet (never a pid
    another program has since taken)."""
    from taonet.tools.launcher import runs_taonet

    for p in st["processes"]:
        if p["pid"] and runs_taonet(p["pid"]):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p["pid"], signal.SIGKILL)


def _stop(dir: Path, as_json: bool) -> None:
    from taonet.tools.launcher import STOP_DEADLINE, alive

    st = _read(dir)
    pid = int(st["pid"])
    if st.get("state") == "dead":  # what a killed launcher left may still be stopping: end it, as a hung launcher's
        _end_children(st)
    if st.get("state") in ("stopped", "dead"):
        if as_json:
            print(json.dumps({"dir": str(dir), "stopped": False, "state": st.get("state")}))
        else:
            print(f"stopped: the network in {dir} was not running ({st.get('state')})")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_DEADLINE + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):  # the launcher hangs: end it and what it started, by their recorded ids
        _end_children(st)
        os.kill(pid, signal.SIGKILL)
    if as_json:
        print(json.dumps({"dir": str(dir), "stopped": True, "state": "stopped"}))
    else:
        print(f"stopped: the network in {dir}")
