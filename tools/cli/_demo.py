"""`taonet demo`: a dev network with clients that earn emission, or the chain as data alone (--ledger)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ._numbers import bounded


def _console() -> Any:
    """The rich console (imported when a command runs, not when `taonet --help` or a read loads this module)."""
    from rich.console import Console

    return Console()


def demo(
    data_dir: Annotated[Path | None, typer.Option(help="Where the demo's chain goes (default: ~/.taonet/demo/node, "
                                                       "or .../ledger, replaced on each run; $TAONET_DEMO_DIR).")
                        ] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Stop after this many epochs (default: until Ctrl-C).")
                      ] = None,
    block_time: Annotated[float, typer.Option(min=0.01, max=3600, parser=bounded(0.01, 3600),
                                              help="Seconds between blocks.")] = 0.25,
    ledger: Annotated[bool, typer.Option("--ledger", help="Only the chain as data: blocks on disk, then a replay.")
                      ] = False,
    blocks: Annotated[int, typer.Option(min=1, max=1_000_000, help="With --ledger: blocks of transfers and stake to "
                                                                   "seal.")] = 5,
) -> None:
    """A dev node with clients that create a subnet, register, stake, set weights and earn emission (Ctrl-C stops)."""
    if data_dir is not None and data_dir.exists() and not data_dir.is_dir():
        from taonet.kernel.errors import DataDirNotADirectory

        raise DataDirNotADirectory(path=str(data_dir))
    if ledger:
        from ..demo import run_demo

        run_demo(_console(), data_dir=data_dir, blocks=blocks)
        return
    import anyio

    from ..devnet import run_devnet
    from ..logs import configure_logging
    from ..signals import hold_stop_signals

    configure_logging("warning")
    hold_stop_signals()  # from here to the exit: the demo's signal group takes them while it runs
    anyio.run(lambda: run_devnet(_console(), data_dir=data_dir, block_time=block_time, epochs=epochs))


