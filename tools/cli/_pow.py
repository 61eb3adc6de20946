"""The progress bar of `subnet pow-register` (on stderr; nothing in --json mode or without a terminal)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from ._common import Out

__all__ = ["progress_bar"]


@contextlib.contextmanager
def progress_bar(out: Out, difficulty: int) -> Iterator[Callable[[int], None]]:
    """A callback ``tick(tries)`` that moves a bar toward the tries expected on average (``difficulty``)."""
    if out.json or not out.err.is_terminal:
        yield lambda _tries: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("proof of work"), BarColumn(), TextColumn("{task.completed:,.0f} tries of about "
                                                                    "{task.total:,.0f}"), TimeElapsedColumn())
    with Progress(*columns, console=out.err, transient=True) as bar:
        task = bar.add_task("pow", total=max(1, difficulty))
        yield lambda tries: bar.update(task, completed=min(tries, difficulty))
