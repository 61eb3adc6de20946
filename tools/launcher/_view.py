"""The launcher's view: on a terminal a live rich screen (processes, head block, epochs, each subnet's metagraph with
emissions, the latest events); elsewhere (a pipe, a file, a test) one ``what: text`` line per event."""

from __future__ import annotations

import collections
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .._words import counted

__all__ = ["View", "counted"]


class View:
    """Prints ``what: text`` lines, or keeps a live screen when ``live`` (a terminal)."""

    def __init__(self, console: Console, *, live: bool) -> None:
        self.console = console
        self.live: Live | None = None
        self._want_live = live
        self.events: collections.deque[str] = collections.deque(maxlen=8)
        self.tables: dict[int, Table] = {}
        self.net: Any = None

    def __enter__(self) -> View:
        if self._want_live:
            self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._render())
            self.live.__exit__(None, None, None)
            self.live = None

    def line(self, what: str, text: str) -> None:
        """An event: a line of its own, or the live screen's event list."""
        if self.live is None:
            self.console.print(f"{what}: {text}", markup=False, highlight=False, soft_wrap=True)
        else:
            self.events.append(f"{time.strftime('%H:%M:%S')} {what}: {text}")
            self.live.update(self._render())

    def metagraph(self, mg: Any, names: dict[str, str], epoch: int) -> None:
        """Keep (live) the metagraph of a subnet after an epoch."""
        table = Table(title=f"subnet {mg.netuid} after epoch {epoch} (block {mg.block})", title_justify="left")
        for col in ("uid", "neuron", "S τ", "vp", "I", "D", "E τ"):
            table.add_column(col, justify="left" if col == "neuron" else "right", no_wrap=True)
        for uid in range(mg.n):
            table.add_row(str(uid), Text(names.get(mg.hotkeys[uid], mg.hotkeys[uid][:10])), f"{float(mg.S[uid]):,.1f}",
                          "*" if mg.validator_permit[uid] else "", f"{float(mg.I[uid]):.3f}",
                          f"{float(mg.D[uid]):.3f}", f"{int(mg.E[uid]) / 1e9:,.4f}")
        self.tables[mg.netuid] = table
        if self.live is not None:
            self.live.update(self._render())

    def tick(self, net: Any) -> None:
        """A new head: refresh the live screen."""
        self.net = net
        if self.live is not None:
            self.live.update(self._render())

    def _render(self) -> Group:
        parts: list[Any] = []
        net = self.net
        if net is not None:
            parts.append(Text(f"taonet network {net.spec.name} in {net.dir} · rpc {net.endpoint} · block {net.head} · "
                              f"largest block gap {net.max_gap_ms:.0f} ms · Ctrl-C stops everything",
                              style="bold"))
            procs = Table(title="processes", title_justify="left")
            for col in ("name", "pid", "state", "restarts", "note"):
                procs.add_column(col, no_wrap=True)
            for c in net.children:
                procs.add_row(Text(c.name), str(c.pid or "-"), c.state, str(c.restarts), Text(c.note))  # as they are
            parts.append(procs)
        parts.extend(self.tables[k] for k in sorted(self.tables))
        parts.append(Text("\n".join(self.events) or "starting…"))
        return Group(*parts)
