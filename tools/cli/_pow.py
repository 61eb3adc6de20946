"""The progress bar of `subnet pow-register` (on stderr; nothing in --json mode or without a terminal)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from ._common import Out

__all__ = ["progress_bar"]


@contextlib.contextmanager
def progress_bar(out: Out, difficulty: int) -> Iterator[Callable[[int], None]]:
    """A callback ``tick(tries)`` for the solver: the bar fills toward the tries expected on average (``difficulty``)
    and says the tries the solver reported, past that average too (it reports every 50,000, or 200,000 with several
    processes: until its first report, or when it solves sooner, the bar pulses and says how many tries are expected,
    never "0 tries")."""
    if out.json or not out.err.is_terminal:
        yield lambda _tries: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    expected = max(1, difficulty)
    columns = (TextColumn("proof of work"), BarColumn(), TextColumn("{task.fields[said]}"), TimeElapsedColumn())
    with Progress(*columns, console=out.err, transient=True) as bar:
        task = bar.add_task("pow", total=None, said=f"about {expected:,} tries expected")

        def tick(tries: int) -> None:
            bar.update(task, total=expected, completed=min(tries, expected),
                       said=f"{tries:,} tries (about {expected:,} expected)")

        yield tick
