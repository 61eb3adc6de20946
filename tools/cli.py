"""The `taonet` command line (typer + rich, in the spirit of btcli)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="taonet: a pure-Python Bittensor on one laptop or many machines.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
bench_app = typer.Typer(help="Measure taonet's speed (median of repeated runs after a warm-up).",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")
console = Console()


@app.command()
def demo(
    data_dir: Annotated[Path | None, typer.Option(help="Where the demo chain's log goes (a temp dir if unset).")] = None,
    blocks: Annotated[int, typer.Option(help="Blocks of transfers and stake to seal.")] = 5,
) -> None:
    """A short demo of the chain: genesis, blocks of transfers and stake on disk, then a replay of the log."""
    from .demo import run_demo

    run_demo(console, data_dir=data_dir, blocks=blocks)


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


@bench_app.command("wire")
def bench_wire(
    as_json: Annotated[bool, typer.Option("--json", help="Print only one JSON object.")] = False,
    runs: Annotated[int, typer.Option(help="Measured runs per figure (median reported).")] = 5,
) -> None:
    """Signed synapse round trips: sequential, 64 in flight, fan-out to 32 and 256 axons in other processes."""
    from .bench_wire import run

    _emit(run(runs=runs, progress=None if as_json else console), as_json, "taonet bench wire")


def main() -> None:
    """Entry point of the `taonet` console script."""
    app()
