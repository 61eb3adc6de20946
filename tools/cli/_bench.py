"""`taonet bench AREA`: measure one area (median of repeated runs after a warm-up); `--json` prints one object."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

bench_app = typer.Typer(help="Measure taonet's speed (median of repeated runs after a warm-up).",
                        no_args_is_help=True)


def _console() -> Any:
    """The rich console (imported when a command runs, not when `taonet --help` or a read loads this module)."""
    from rich.console import Console

    return Console()


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
    _console().print(table)


@bench_app.command("ledger")
def bench_ledger(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(min=1, help="Measured runs per figure (median reported).")] = 5,
) -> None:
    """Ledger throughput: transfers applied and appended, replay, state digest."""
    from ..bench.ledger import run

    _emit(run(runs=runs, progress=None if as_json else _console()), as_json, "taonet bench ledger")


@bench_app.command("consensus")
def bench_consensus(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(min=1, help="Measured runs per figure (median reported).")] = 5,
) -> None:
    """Yuma Consensus epoch: 256 and 4096 UIDs, and the naive dense baseline at 4096."""
    from ..bench.consensus import run

    _emit(run(runs=runs, progress=None if as_json else _console()), as_json, "taonet bench consensus")


@bench_app.command("density")
def bench_density(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(min=1, help="Measured runs per figure (median reported).")] = 5,
) -> None:
    """The density check on a peer's message: honest payloads accepted, dense ones refused, beside cbor2's decode."""
    from ..bench.density import run

    _emit(run(runs=runs, progress=None if as_json else _console()), as_json, "taonet bench density")


@bench_app.command("node")
def bench_node(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(min=1, help="Measured runs per figure (median reported).")] = 5,
    part: Annotated[list[str], typer.Option(help="tx, metagraph, big or waiters (repeatable; all by default).")
                    ] = [],  # noqa: B006
    window: Annotated[float, typer.Option(min=0.1, help="Seconds the waiting-clients part measures.")] = 60.0,
    waiters: Annotated[int, typer.Option(min=1, help="Waiting clients in the waiting-clients part.")] = 1000,
) -> None:
    """The node: capacity and inclusion latency, metagraph reads, 64 x 256 memory and epoch seal time, and the
    longest gap between blocks while crowds of clients wait."""
    from ..bench.node import run

    known = ("tx", "metagraph", "big", "waiters")
    if unknown := [p for p in part if p not in known]:  # else a success that measured nothing
        raise typer.BadParameter(f"no part {unknown[0]!r}; the parts are {', '.join(known)}", param_hint="--part")
    parts = tuple(part) or known
    _emit(run(runs=runs, progress=None if as_json else _console(), parts=parts, window=window, waiters=waiters),
          as_json, "taonet bench node")


@bench_app.command("wire")
def bench_wire(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(min=1, help="Measured runs per figure (median reported).")] = 5,
    backend: Annotated[str, typer.Option(help="Event loop for both sides: asyncio or trio.")] = "asyncio",
) -> None:
    """Signed synapse round trips: sequential, 64 in flight, fan-out to 32 and 256 axons in other processes."""
    from ..bench.wire import run

    if backend not in ("asyncio", "trio"):
        raise typer.BadParameter(f"{backend!r} is not an event loop taonet runs on; use asyncio or trio",
                                 param_hint="--backend")
    _emit(run(runs=runs, progress=None if as_json else _console(), backend=backend), as_json, "taonet bench wire")




@bench_app.command("plugins")
def bench_plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(min=1, help="Measured runs per figure (median reported).")] = 5,
) -> None:
    """Subnet plugins: a validator step against 256 template miners, a miner process's memory, the import cost."""
    from ..bench.plugins import run

    _emit(run(runs=runs, progress=None if as_json else _console()), as_json, "taonet bench plugins")


@bench_app.command("cli")
def bench_cli(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(min=1, help="Measured runs per figure (median reported).")] = 5,
) -> None:
    """The `taonet` command as a user waits for it: --help, a read, and an overview of 16 hotkeys on 256 UIDs."""
    from ..bench.cli import run

    _emit(run(runs=runs, progress=None if as_json else _console()), as_json, "taonet bench cli")


@bench_app.command("replay")
def bench_replay(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(min=1, help="Measured runs per figure (median reported).")] = 5,
    blocks: Annotated[int, typer.Option(min=1, help="Blocks in the generated log (cached under the temp directory).")
                      ] = 10_000,
) -> None:
    """Replay: `show` at random blocks, `verify` with and without the consensus re-run, on a generated log."""
    from ..bench.replay import run

    _emit(run(runs=runs, blocks=blocks, progress=None if as_json else _console()), as_json, "taonet bench replay")


@bench_app.command("localnet")
def bench_localnet(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(min=1, help="Measured runs per figure (median reported).")] = 5,
    scale: Annotated[bool, typer.Option(help="Also the 64 miners + 8 validators run (once).")] = True,
    per_host: Annotated[int, typer.Option("--per-host", min=1,
                                          help="Neurons per host process in that run (1: each in its own).")] = 36,
) -> None:
    """taonet localnet: command to the first miner emission, Ctrl-C to every process gone, and a 64 + 8 network's
    memory (summed PSS) and block gaps."""
    from ..bench.localnet import run

    _emit(run(runs=runs, progress=None if as_json else _console(), scale=scale, per_host=per_host), as_json,
          "taonet bench localnet")
