"""The `taonet` command line (typer + rich, in the spirit of btcli)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="taonet: a pure-Python Bittensor on one laptop or many machines.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
bench_app = typer.Typer(help="Measure taonet's speed (median of repeated runs after a warm-up).",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")


def _add_subcommands() -> None:
    from .chain_cmd import metagraph_cmd, subnet_app
    from .node_cmd import actor_app, node_app

    app.add_typer(node_app, name="node")
    app.add_typer(actor_app, name="actor")
    app.add_typer(subnet_app, name="subnet")
    app.command("metagraph")(metagraph_cmd)


_add_subcommands()
console = Console()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="On an error, show the traceback too (also $TAONET_DEBUG=1; "
                                                        "may be given anywhere on the line).")] = False,
) -> None:
    """taonet: a pure-Python Bittensor on one laptop or many machines (exit statuses: see docs/cli.md)."""


@app.command()
def demo(
    data_dir: Annotated[Path | None, typer.Option(help="Where the demo's chain goes (default: ~/.taonet/demo/node, "
                                                       "or .../ledger, replaced on each run; $TAONET_DEMO_DIR).")
                        ] = None,
    epochs: Annotated[int | None, typer.Option(help="Stop after this many epochs (default: until Ctrl-C).")] = None,
    block_time: Annotated[float, typer.Option(help="Seconds between blocks.")] = 0.25,
    ledger: Annotated[bool, typer.Option("--ledger", help="Only the chain as data: blocks on disk, then a replay.")
                      ] = False,
    blocks: Annotated[int, typer.Option(help="With --ledger: blocks of transfers and stake to seal.")] = 5,
) -> None:
    """A dev node with clients that create a subnet, register, stake, set weights and earn emission (Ctrl-C stops)."""
    if ledger:
        from .demo import run_demo

        run_demo(console, data_dir=data_dir, blocks=blocks)
        return
    import anyio

    from .devnet import run_devnet
    from .logs import configure_logging

    configure_logging("warning")
    anyio.run(lambda: run_devnet(console, data_dir=data_dir, block_time=block_time, epochs=epochs))


def _emit(result: dict[str, object], as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(result))
        return
    from rich.table import Table

    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in result.items():
        table.add_row(k, f"{v:,.2f}" if isinstance(v, float) else str(v))
    console.print(table)


@bench_app.command("ledger")
def bench_ledger(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(help="Measured runs per figure (median reported).")] = 5,
) -> None:
    """Ledger throughput: transfers applied and appended, replay, state digest."""
    from .bench_ledger import run

    _emit(run(runs=runs, progress=None if as_json else console), as_json, "taonet bench ledger")


@bench_app.command("consensus")
def bench_consensus(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(help="Measured runs per figure (median reported).")] = 5,
) -> None:
    """Yuma Consensus epoch: 256 and 4096 UIDs, and the naive dense baseline at 4096."""
    from .bench_consensus import run

    _emit(run(runs=runs, progress=None if as_json else console), as_json, "taonet bench consensus")


@bench_app.command("node")
def bench_node(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(help="Measured runs per figure (median reported).")] = 5,
    part: Annotated[list[str], typer.Option(help="tx, metagraph, big or waiters (repeatable; all by default).")
                    ] = [],  # noqa: B006
    window: Annotated[float, typer.Option(help="Seconds the waiting-clients part measures.")] = 60.0,
    waiters: Annotated[int, typer.Option(help="Waiting clients in the waiting-clients part.")] = 1000,
) -> None:
    """The node: capacity and inclusion latency, metagraph reads, 64 x 256 memory and epoch seal time, and the
    longest gap between blocks while crowds of clients wait."""
    from .bench_node import run

    parts = tuple(part) or ("tx", "metagraph", "big", "waiters")
    _emit(run(runs=runs, progress=None if as_json else console, parts=parts, window=window, waiters=waiters),
          as_json, "taonet bench node")


@bench_app.command("wire")
def bench_wire(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(help="Measured runs per figure (median reported).")] = 5,
    backend: Annotated[str, typer.Option(help="Event loop for both sides: asyncio or trio.")] = "asyncio",
) -> None:
    """Signed synapse round trips: sequential, 64 in flight, fan-out to 32 and 256 axons in other processes."""
    from .bench_wire import run

    if backend not in ("asyncio", "trio"):
        raise typer.BadParameter(f"{backend!r} is not an event loop taonet runs on; use asyncio or trio",
                                 param_hint="--backend")
    _emit(run(runs=runs, progress=None if as_json else console, backend=backend), as_json, "taonet bench wire")


def main() -> None:
    """Entry point of the `taonet` console script: every command runs through one error wrapper (tools/errors.py)."""
    from .errors import run_cli

    args = sys.argv[1:]
    debug = "--debug" in args or os.environ.get("TAONET_DEBUG", "") not in ("", "0")
    sys.exit(run_cli(app, [a for a in args if a != "--debug"], debug=debug))
