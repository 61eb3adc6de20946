"""`taonet miner run` and `taonet validator run`: one neuron of an installed subnet plugin, until Ctrl-C or SIGTERM.

Flags take btcli's dotted spellings too (``--wallet.name``, ``--wallet.hotkey``, ``--subtensor.network``,
``--axon.port``), as subnet repositories' scripts use them. The neuron prints ``axon: IP:PORT`` (a miner) or
``state: DIR`` (both) once it runs; scripts and tests read these lines.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import READ_TIMEOUT as DEFAULT_TIMEOUT
from ._node import LogLevel
from ._numbers import bounded

miner_app = typer.Typer(help="Run a miner of a subnet plugin.", no_args_is_help=True)
validator_app = typer.Typer(help="Run a validator of a subnet plugin.", no_args_is_help=True)
neurons_app = typer.Typer(help="Run many neurons in one process (a neuron host).", no_args_is_help=True)

PluginName = Annotated[str, typer.Option("--plugin", help="The subnet plugin (see `taonet subnet plugins`).")]
Netuid = Annotated[int, typer.Option("--netuid", help="The subnet.", min=0, max=0xFFFF)]
WalletName = Annotated[str | None, typer.Option("--wallet-name", "-w", "--wallet.name",
                                                help="Wallet name ($TAONET_WALLET_NAME, default).")]
Hotkey = Annotated[str | None, typer.Option("--hotkey", "-H", "--wallet-hotkey", "--wallet.hotkey",
                                            help="Hotkey name ($TAONET_WALLET_HOTKEY, default).")]
WalletPath = Annotated[str | None, typer.Option("--wallet-path", "-p", "--wallet.path",
                                                help="Wallets folder ($TAONET_WALLET_PATH, ~/.taonet/wallets).")]
Endpoint = Annotated[str | None, typer.Option("--endpoint", "-e", "--subtensor.network", "--subtensor.chain_endpoint",
                                              help="Node RPC address ($TAONET_ENDPOINT, local).")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds to wait for each answer of the node "
                                                         "($TAONET_TIMEOUT).", envvar="TAONET_TIMEOUT", min=0.1,
                                         max=1e6, parser=bounded(0.1, 1e6))]
Port = Annotated[int, typer.Option("--port", "--axon.port", help="The axon's port (0: any free port).", min=0,
                                   max=65535)]


def _ip(value: str | None) -> str | None:
    """The --external-ip as given if it is an IPv4 or IPv6 address; else a usage error (exit 2) before anything
    starts (it was an internal error once the axon was up)."""
    import ipaddress

    if value is not None:
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not an IP address: give the IPv4 or IPv6 address the axon is "
                                     "reached at (e.g. 203.0.113.7; a host name is not taken)") from None
        if ip.is_unspecified or ip.is_multicast:  # published, no caller could reach it: the miner never served
            raise typer.BadParameter(f"{value} is not an address the axon can be reached at (it is for listening, or "
                                     "multicast): give the IPv4 or IPv6 address callers reach this machine at (e.g. "
                                     "203.0.113.7; 127.0.0.1 on one machine)") from None
    return value


ExternalIp = Annotated[str | None, typer.Option("--external-ip", "--axon.external_ip", callback=_ip,
                                                help="The IP published on the chain (default 127.0.0.1).")]
StateDirOpt = Annotated[Path | None, typer.Option("--state-dir", help="The neuron's state directory (default: "
                                                                     "under the wallet's hotkey folder).")]
SetOpt = Annotated[list[str], typer.Option("--set", help="A plugin option, name=value (repeatable; see "
                                                         "`taonet subnet plugins --options`).")]
GatewayOpt = Annotated[str | None, typer.Option("--gateway", help="Open a gateway for organic queries at HOST:PORT "
                                                             "(published on the chain; see `taonet query`).")]
LogJson = Annotated[bool | None, typer.Option(help="JSON log lines (default: when stderr is not a terminal).")]


def _options(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not name=value", param_hint="--set")
        out[key.strip()] = value.strip()
    return out


def _check_gateway(address: str) -> None:
    """Refuse a --gateway nng cannot listen on before the validator starts (a one-line usage error, exit 2)."""
    from taonet.plugins import gateway_problem

    if (problem := gateway_problem(address)) is not None:
        raise typer.BadParameter(problem, param_hint="--gateway")


def _check_port(port: int) -> None:
    """Refuse, before anything starts, an axon port another process listens on (AddressInUse, exit 4, naming it: it
    said "an address this command listens on is already in use", no port, after loading the plugin and the key)."""
    from ..addresses import IN_USE, listen_problem

    address = f"tcp://0.0.0.0:{port}"  # where the miner's axon listens
    if port and listen_problem(address) == IN_USE:
        from taonet.tools.launcher.errors import AddressInUse

        raise AddressInUse(method="miner run", address=address, option="--port", reason=(
            f"another process listens on port {port}: stop it (ss -ltnp 'sport = :{port}' names it), or give --port "
            "another (0: any free one)"))


def _run(role: str, plugin: str, netuid: int, wallet_name: str | None, hotkey: str | None, wallet_path: str | None,
         endpoint: str | None, timeout: float, port: int, external_ip: str | None, state_dir: Path | None,
         set_: list[str], log_level: str, log_json: bool | None, gateway: str | None = None) -> None:
    import anyio

    from taonet.plugins import NeuronConfig, load_plugin, run_miner, run_validator, watch_loop

    from ..logs import configure_logging
    from ..signals import hold_stop_signals, signal_stopped_group
    from ._common import wallet_of

    configure_logging(log_level, json=log_json)
    options = _options(set_)
    if gateway is not None:
        _check_gateway(gateway)
    if role == "miner":
        _check_port(port)
    loaded = load_plugin(plugin)
    loaded.options(options)  # a wrong --set is a usage error before anything connects
    wallet = wallet_of(wallet_name, hotkey, wallet_path)  # a bad name is a usage error, not an internal one
    wallet.hotkey  # noqa: B018 - unlock (or fail: missing key, wrong password) before connecting
    config = NeuronConfig(plugin=loaded, netuid=netuid, wallet=wallet, endpoint=endpoint, timeout=timeout, port=port,
                          external_ip=external_ip, state_dir=state_dir, options=options, gateway=gateway)
    runner: Any = run_miner if role == "miner" else run_validator

    async def main() -> None:
        async with signal_stopped_group() as tg:
            tg.start_soon(lambda: watch_loop(lambda _frame: f"{role} {wallet.hotkey.ss58_address}"))
            started = await tg.start(runner, config)
            if role == "miner":
                print(f"axon: {started.ip}:{started.port}", flush=True)
            else:
                print(f"state: {started}", flush=True)
                if gateway:
                    from taonet.plugins import StateDir

                    print(f"gateway: {(StateDir(started).read_status() or {}).get('gateway')}", flush=True)
            await anyio.sleep_forever()

    hold_stop_signals()  # from here to the exit (a password prompt is behind): the group takes them while it runs
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(main)


@miner_app.command("run")
def miner_run(plugin: PluginName, netuid: Netuid, wallet_name: WalletName = None, hotkey: Hotkey = None,
              wallet_path: WalletPath = None, endpoint: Endpoint = None, timeout: Timeout = DEFAULT_TIMEOUT,
              port: Port = 8091, external_ip: ExternalIp = None, state_dir: StateDirOpt = None,
              set_: SetOpt = [], log_level: LogLevel = "info", log_json: LogJson = None) -> None:  # noqa: B006
    """Serve a subnet plugin's forward on an axon, published on the chain; stops on Ctrl-C or SIGTERM."""
    _run("miner", plugin, netuid, wallet_name, hotkey, wallet_path, endpoint, timeout, port, external_ip, state_dir,
         set_, log_level, log_json)


@validator_app.command("run")
def validator_run(plugin: PluginName, netuid: Netuid, wallet_name: WalletName = None, hotkey: Hotkey = None,
                  wallet_path: WalletPath = None, endpoint: Endpoint = None, timeout: Timeout = DEFAULT_TIMEOUT,
                  port: Port = 8091, external_ip: ExternalIp = None, state_dir: StateDirOpt = None,
                  set_: SetOpt = [], gateway: GatewayOpt = None, log_level: LogLevel = "info",  # noqa: B006
                  log_json: LogJson = None) -> None:
    """Query miners with a subnet plugin's task, score them, set weights; stops on Ctrl-C or SIGTERM."""
    _run("validator", plugin, netuid, wallet_name, hotkey, wallet_path, endpoint, timeout, port, external_ip,
         state_dir, set_, log_level, log_json, gateway)


@neurons_app.command("run")
def neurons_run(file: Annotated[Path, typer.Argument(help="TOML with a \\[\\[neurons]] table (docs/subnets.md).")],
                wallet_path: Annotated[str | None, typer.Option(
                    "--wallet-path", "-p", "--wallet.path",
                    help="Wallets folder of the rows that set no wallet_path (over the file's own; else "
                         "$TAONET_WALLET_PATH, ~/.taonet/wallets).")] = None,
                endpoint: Annotated[str | None, typer.Option(
                    "--endpoint", "-e", help="Node RPC address of the rows that set no endpoint (over the file's "
                                             "own; else $TAONET_ENDPOINT, local).")] = None,
                log_level: LogLevel = "info", log_json: LogJson = None) -> None:
    """Run every neuron FILE describes in this one process; stops them all on Ctrl-C or SIGTERM."""
    import anyio

    from taonet.plugins import NeuronHost, load_neurons, load_plugin
    from taonet.plugins.errors import InvalidOption
    from taonet.tools.launcher.errors import InvalidOptionInFile

    from ..logs import configure_logging
    from ..signals import hold_stop_signals, signal_stopped_group

    configure_logging(log_level, json=log_json)
    if endpoint is not None:
        from ..addresses import dial_problem

        if (problem := dial_problem(endpoint)) is not None:
            raise typer.BadParameter(f"{endpoint!r} {problem}", param_hint="--endpoint")
    # relative to where the command runs, as every path option (the file's own are read from its folder)
    path = str(Path(wallet_path).expanduser().resolve()) if wallet_path else None
    specs = load_neurons(file, overrides={"wallet_path": path, "endpoint": endpoint})
    for name in sorted({s.plugin for s in specs}):  # an unknown plugin or bad option: one line before connecting
        plugin = load_plugin(name)
        for s in specs:
            if s.plugin == name:
                try:
                    plugin.options(dict(s.options))
                except InvalidOption as e:  # which neuron of the file, as the launcher names its row
                    raise InvalidOptionInFile(name=e.name, reason=e.reason, where=f"{file}: neuron {s.name!r}"
                                              ) from None
    host = NeuronHost(specs)

    async def main() -> None:
        async with signal_stopped_group() as tg:
            await tg.start(host.run)
            for n in host.neurons.values():
                what = (f"axon {n.started.ip}:{n.started.port}" if n.role == "miner" and n.started is not None
                        else f"state {n.started}" if n.started is not None else n.last_error or "")
                print(f"neuron: {n.name} {n.role} {n.state} {what}", flush=True)
            counts = host.counts()
            print(f"neurons: {counts['running']} running, {counts['restarting']} restarting, {counts['failed']} "
                  "failed", flush=True)
            if counts["failed"] == len(host.neurons):  # nothing left to run: say why, with its exit status
                raise next(n.failure for n in host.neurons.values() if n.failure is not None)
            await anyio.sleep_forever()

    hold_stop_signals()  # from here to the exit: the group takes them while it runs
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(main)
