"""``replay plot``: PNG charts of a subnet from the log — incentive, dividends and emission per UID over epochs, stake
over time, the weight and bond matrices at a block as heat maps, and a what-if's two runs side by side.

matplotlib is optional (``pip install 'taonet[plot]'``) and imported only here, when a chart is drawn; each chart is
a ``Figure`` with its own Agg canvas (no pyplot, no process-wide backend). Every PNG carries in its text chunks the
names of the series drawn (``taonet.series``, JSON), so a reader (or a test) can tell what it holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from taonet.ledger import FileStore, State
from taonet.plugins.errors import NotInstalled

from ._log import state_at
from ._whatif import WhatIf, epoch_states
from ._whatif_cache import EpochCache

__all__ = ["PlotUnavailable", "Series", "check_plotting", "epoch_series", "write_plots"]


@attrs.define(auto_exc=True, str=False, slots=False)
class PlotUnavailable(NotInstalled):
    """Raised when matplotlib (the optional extra ``plot``) is not installed (exit 6, as a package not installed)."""

    CODE = "replay_plot_unavailable"
    needed_for: str = "plotting"
    package: str = "matplotlib"
    install: str = "pip install 'taonet[plot]'"


@attrs.frozen(kw_only=True)
class Series:
    """Per UID over the epochs of a range: the epoch blocks and each output (u16 ratios as 0..1, RAO, stake τ)."""

    netuid: int
    blocks: tuple[int, ...]
    incentive: Mapping[int, list[float]]
    dividends: Mapping[int, list[float]]
    emission: Mapping[int, list[int]]
    stake: Mapping[int, list[float]]


def epoch_series(store: FileStore, netuid: int, start: int, stop: int, *, workers: int = 1,
                 cache: EpochCache | None = None, index: bool = True) -> Series:
    """The recorded outputs of every epoch of ``netuid`` computed in ``start .. stop``, and each UID's stake then
    (the epochs' states read as what-if reads them: the epoch index unless ``index`` is False, ``workers``,
    ``cache``)."""
    blocks: list[int] = []
    out: dict[str, dict[int, list[Any]]] = {k: {} for k in ("incentive", "dividends", "emission", "stake")}
    for state, result in epoch_states(store, netuid, start, stop, workers=workers, cache=cache, index=index):
        v = result.vectors()
        k = len(blocks)
        blocks.append(result.block)
        stakes = [state.hotkey_stake(n.hotkey) / 1e9 for n in state.neurons(netuid)]
        for name, values in (("incentive", [x / 65535 for x in v["incentive"]]),
                             ("dividends", [x / 65535 for x in v["dividends"]]), ("emission", v["emission"]),
                             ("stake", stakes)):
            for uid, x in enumerate(values):
                out[name].setdefault(uid, [None] * k).append(x)
        for table in out.values():  # a UID without a value at this epoch (not there yet): a gap
            for row in table.values():
                row.extend([None] * (k + 1 - len(row)))
    return Series(netuid=netuid, blocks=tuple(blocks), **out)


def check_plotting() -> None:
    """:class:`PlotUnavailable` unless matplotlib can be imported."""
    _matplotlib()


def _matplotlib() -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailable() from None
    return Figure, FigureCanvasAgg


def _save(fig: Any, canvas: Any, path: Path, title: str, series: Sequence[str]) -> Path:
    fig.tight_layout()
    canvas.print_png(str(path), metadata={"Title": title, "Software": "taonet replay plot",
                                          "taonet.series": json.dumps(list(series))})
    return path


def _lines(out: Path, name: str, title: str, ylabel: str, blocks: Sequence[int],
           table: Mapping[int, list[Any]]) -> Path:
    Figure, Canvas = _matplotlib()
    fig = Figure(figsize=(8, 4.5), dpi=100)
    canvas = Canvas(fig)
    ax = fig.add_subplot()
    labels = []
    for uid, row in sorted(table.items()):
        y = np.array([np.nan if x is None else float(x) for x in row])
        if np.all(np.isnan(y)):
            continue
        ax.plot(blocks, y, marker=".", label=f"UID {uid}")
        labels.append(f"UID {uid}")
    ax.set(title=title, xlabel="epoch block", ylabel=ylabel)
    ax.grid(True, alpha=0.3)
    if labels:
        ax.legend(fontsize="small", ncol=max(1, len(labels) // 12), loc="upper left", bbox_to_anchor=(1.01, 1))
    return _save(fig, canvas, out / f"{name}.png", title, labels)


def _matrix(state: State, netuid: int, kind: str) -> np.ndarray:
    neurons = state.neurons(netuid)
    m = np.zeros((len(neurons), len(neurons)))
    for n in neurons:
        uids, values = n.weights() if kind == "weights" else n.bonds()
        ok = uids < len(neurons)
        m[n.uid, uids[ok]] = values[ok] / 65535
    return m


def _heat(out: Path, state: State, netuid: int, kind: str) -> Path:
    Figure, Canvas = _matplotlib()
    m = _matrix(state, netuid, kind)
    fig = Figure(figsize=(6, 5), dpi=100)
    canvas = Canvas(fig)
    ax = fig.add_subplot()
    image = ax.imshow(m, cmap="viridis", vmin=0.0, vmax=max(1e-9, float(m.max())), interpolation="nearest")
    fig.colorbar(image, ax=ax, label=f"{kind[:-1]} (u16 / 65535)")
    title = f"subnet {netuid}: {kind} at block {state.height}"
    ax.set(title=title, xlabel="to UID", ylabel="from UID")
    rows = [f"UID {n.uid}" for n in state.neurons(netuid) if m[n.uid].any()]
    return _save(fig, canvas, out / f"{kind}-{state.height}.png", title, rows)


def _side_by_side(out: Path, w: WhatIf) -> Path:
    Figure, Canvas = _matplotlib()
    per_uid: dict[int, list[int]] = {}
    for n in w.neurons():
        a = per_uid.setdefault(n["uid"], [0, 0])
        a[0] += n["emission"]
        a[1] += n["emission_whatif"]
    uids = sorted(per_uid)
    x = np.arange(len(uids))
    fig = Figure(figsize=(8, 4.5), dpi=100)
    canvas = Canvas(fig)
    ax = fig.add_subplot()
    ax.bar(x - 0.2, [per_uid[u][0] / 1e9 for u in uids], width=0.4, label="recorded")
    ax.bar(x + 0.2, [per_uid[u][1] / 1e9 for u in uids], width=0.4, label="what-if")
    changed = ", ".join(f"{k}={v}" for k, v in w.changes.items()) or "nothing changed"
    title = f"subnet {w.netuid}, blocks {w.start}..{w.stop}: emission, recorded and with {changed}"
    ax.set(title=title, xlabel="UID", ylabel="emission (τ)", xticks=x, xticklabels=[str(u) for u in uids])
    ax.title.set_fontsize("small")
    ax.legend()
    return _save(fig, canvas, out / "what-if.png", title, ["recorded", "what-if"])


def write_plots(out: Path, store: FileStore, netuid: int, start: int, stop: int, *, block: int | None = None,
                whatif: WhatIf | None = None, workers: int = 1, cache: EpochCache | None = None,
                notes: list[str] | None = None) -> list[Path]:
    """Draw every chart of ``netuid`` over ``start .. stop`` into ``out`` (created); the matrices at ``block`` (the
    last epoch block of the range by default); the epochs read as :func:`epoch_series` reads them. Returns the files
    written; a chart not drawn is said, one line each, in ``notes`` (the heat maps at a block before the subnet
    existed)."""
    _matplotlib()
    out.mkdir(parents=True, exist_ok=True)
    s = epoch_series(store, netuid, start, stop, workers=workers, cache=cache)
    tao = {uid: [None if x is None else x / 1e9 for x in row] for uid, row in s.emission.items()}
    files = [_lines(out, name, f"subnet {netuid}: {label} per UID", label, s.blocks, table)
             for name, label, table in (("incentive", "incentive", s.incentive),
                                        ("dividends", "dividends", s.dividends),
                                        ("emission", "emission per epoch (τ)", tao), ("stake", "stake (τ)", s.stake))]
    at = block if block is not None else (s.blocks[-1] if s.blocks else stop)
    state = state_at(store, at)
    if state.subnet(netuid) is not None:
        files += [_heat(out, state, netuid, "weights"), _heat(out, state, netuid, "bonds")]
    elif notes is not None:
        notes.append(f"no weight or bond heat maps: subnet {netuid} does not exist at block {at}"
                     + ("; give a --block at which it does" if block is not None else ""))
    if whatif is not None:
        files.append(_side_by_side(out, whatif))
    return files
