"""The oracle subnet: price forecasting. The price series advances with blocks (each step from the block's hash,
with persistent drift regimes); miners forecast the price ``horizon`` blocks ahead; the validator keeps every
prediction and scores it when its block comes, across restarts. See README.md.

Options beside every neuron's: ``horizon`` (blocks ahead), ``history`` (prices sent with each query),
``tolerance`` (the relative error that costs a forecast a factor e of its score), and ``mode`` (what a miner does:
``honest``, or an exploit that must lose: ``stale``, ``constant``, ``random``, ``partial``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio

from taonet.plugins import NeuronContext, Option, Response, SubnetProtocol, Task, hookimpl

from ._series import PPB, SCALE, START_PRICE, SeriesPoint, advance, genesis
from ._store import MAX_PENDING, PENDING_FILE, SERIES_FILE, WINDOW, Pending, Series, read_saved, write_atomically
from .protocol import Forecast

__all__ = ["MODES", "PPB", "SCALE", "Forecast", "Oracle", "SeriesPoint", "advance", "forecast", "genesis", "plugin",
           "score_prediction"]

NAME = "oracle"
MODES = ("honest", "stale", "constant", "random", "partial")
"""What a miner does: the honest forecast, or one of the exploits the reward model defeats."""
RANGE = 1000
"""Blocks fetched per request while the validator catches up with the chain."""
CHECKPOINT = 256
"""Blocks between two saves of the validator's series."""


def forecast(prices: Sequence[int], horizon: int, window: int = 8) -> int:
    """The honest miner's forecast: the last price moved by ``horizon`` times the mean return of the last ``window``
    blocks (integer arithmetic)."""
    if not prices:
        return START_PRICE
    recent = list(prices[-(window + 1):])
    rets = [(b - a) * PPB // a for a, b in itertools.pairwise(recent) if a > 0]
    drift = sum(rets) // len(rets) if rets else 0
    return max(1, recent[-1] * (PPB + horizon * drift) // PPB)


def score_prediction(predicted: int | None, actual: int, tolerance: float) -> float:
    """A matured prediction's score: ``exp(-|predicted - actual| / actual / tolerance)``; 0 for no prediction."""
    if predicted is None or actual <= 0 or tolerance <= 0:
        return 0.0
    return math.exp(-abs(predicted - actual) / actual / tolerance)


def _check_mode(options: Mapping[str, Any]) -> None:
    """An unknown ``mode`` is an error, never honest mining by surprise. The option's ``choices`` refuse it before
    the neuron starts (InvalidOption, exit 2); options handed to the hooks without that check (a test, a dict)
    still fail here: at ``neuron_start`` and with a failed answer (500) to every query."""
    if str(options["mode"]) not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {options['mode']!r}")


class Oracle:
    """The oracle plugin. A validator's instance follows the price series and keeps the pending predictions; each
    neuron that loads the plugin gets its own instance (the entry point is :func:`plugin`)."""

    def __init__(self) -> None:
        self.series: Series | None = None
        self.series_path: Path | None = None
        self.saved_at = 0
        self.pending = Pending()
        self.sub: Any = None

    # --- the protocol -----------------------------------------------------------------------------------------
    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        """The oracle's name, description, synapse and options."""
        return SubnetProtocol(
            name=NAME,
            description="Forecast a block-driven price series k blocks ahead; scored when the block comes.",
            synapses=(Forecast,),
            options={
                "timeout": Option(default=2.0, help="seconds a validator waits for the forecasts"),
                "sample_size": Option(default=256, help="miners asked each step (every miner: each matured "
                                                        "prediction is scored at a step that asks its miner)"),
                "alpha": Option(default=0.05, help="weight of a new score in the moving average (forecasts are noisy)"),
                "horizon": Option(default=8, help="blocks ahead a miner forecasts", lo=1, hi=MAX_PENDING),
                "history": Option(default=32, help="recent prices sent with each query", lo=2, hi=WINDOW),
                "tolerance": Option(default=0.01, help="relative error that costs a forecast a factor e of its score",
                                    lo=0.001, hi=1),
                "mode": Option(default="honest", choices=MODES,
                               help="the miner: honest, or an exploit (stale, constant, random, partial)"),
            },
        )

    # --- following the chain (validators) ---------------------------------------------------------------------
    @hookimpl
    async def neuron_start(self, context: NeuronContext) -> None:
        """A validator reads back its series and pending predictions (those of this chain) and follows the series up
        to the head (an unknown ``mode`` is refused)."""
        _check_mode(context.options)
        if context.role == "validator":
            await self._open(context)
            await self.catch_up(int(context.metagraph.block))

    @hookimpl
    async def neuron_block(self, context: NeuronContext, block: int) -> None:
        """A validator advances the series to the new block (and saves it every ``CHECKPOINT`` blocks); if reading
        its files or the chain failed at start, it tries again here."""
        if context.role != "validator":
            return
        if self.series is None:
            await self._open(context)
        assert self.series is not None
        await self.catch_up(block)
        if self.series.head - self.saved_at >= CHECKPOINT:
            await anyio.to_thread.run_sync(self._save_series)

    async def _open(self, context: NeuronContext) -> None:
        self.sub = context.metagraph.subtensor
        self.series_path = context.plugin_dir / SERIES_FILE
        self.pending = Pending(context.plugin_dir / PENDING_FILE)
        saved = read_saved(self.series_path)
        if saved is not None and await self._on_chain(saved["anchor"]):
            series = Series.restore(saved)
        else:
            series = Series((await self.sub.get_block(0)).hash)
        saved = read_saved(self.pending.path)
        if saved is not None and await self._on_chain(saved["anchor"]):
            self.pending.restore(saved)
        self.series, self.saved_at = series, series.head

    @hookimpl
    def neuron_stop(self, context: NeuronContext) -> None:
        """A validator saves its series."""
        if context.role == "validator" and self.series is not None:
            self._save_series()

    def _save_series(self) -> None:
        assert self.series is not None and self.series_path is not None
        write_atomically(self.series_path, self.series.checkpoint())
        self.saved_at = self.series.head

    async def _on_chain(self, anchor: list[Any]) -> bool:
        """True when the chain has block ``anchor[0]`` with hash ``anchor[1]``."""
        from taonet.ledger.errors import TaonetError

        block, h = anchor
        try:
            return (await self.sub.get_block(int(block))).hash == h
        except TaonetError:  # no such block (yet): another chain
            return False

    async def catch_up(self, head: int) -> None:
        """Advance the series to ``head``, reading the blocks' hashes from the node in ranges."""
        from taonet.ledger import SignedBlock

        assert self.series is not None
        while self.series.head < head:
            start = self.series.head + 1
            raws = await self.sub.call("blocks", start=start, stop=min(head + 1, start + RANGE))
            if not raws:
                return
            hashes = await anyio.to_thread.run_sync(lambda r=raws: [SignedBlock.from_bytes(x).hash for x in r])
            self.series.extend(hashes)

    # --- the validator -----------------------------------------------------------------------------------------
    @hookimpl
    def validator_task(self, block: int, options: Mapping[str, Any]) -> Task:
        """The recent prices up to the series' head and the horizon; the truth carries every prediction that matured
        at this block (scored by the reward model) and the round's target."""
        if self.series is None:
            raise RuntimeError("the oracle validator follows the chain: run it as a neuron (neuron_start never ran)")
        head = min(block, self.series.head)
        horizon = int(options["horizon"])  # 1..MAX_PENDING, history 2..WINDOW: their bounds refuse others at start
        prices = self.series.history(head, int(options["history"]))
        matured = self.pending.mature(self.series)
        return Task(synapse=Forecast(block=head, horizon=horizon, prices=prices),
                    truth={"block": head, "target": head + horizon, "base": prices[-1], "matured": matured})

    @hookimpl
    def reward(self, task: Task, options: Mapping[str, Any]) -> dict[str, float]:
        """Each hotkey's mean score over its predictions that matured at this step (see :func:`score_prediction`);
        a miner that did not answer a round scores 0 for it."""
        tolerance = float(options["tolerance"])
        per: dict[str, list[float]] = {}
        for hotkey, _made, _target, predicted, actual in task.truth["matured"]:
            per.setdefault(hotkey, []).append(score_prediction(predicted, int(actual), tolerance))
        return {hk: sum(s) / len(s) for hk, s in per.items()}

    @hookimpl
    def validator_feedback(self, task: Task, responses: Sequence[Response]) -> None:
        """Once a step is scored, keep its predictions until their block comes (saved atomically); nothing is sent
        back to the miners."""
        t = task.truth
        preds = {r.hotkey: (r.synapse.prediction if r.ok else None) for r in responses}
        self.pending.add(int(t["target"]), int(t["block"]), int(t["base"]), preds)
        if self.series is not None:
            self.pending.save(self.series.anchor)
        return None

    # --- the miner ---------------------------------------------------------------------------------------------
    @hookimpl
    def miner_forward(self, synapse: Forecast, options: Mapping[str, Any]) -> Forecast:
        """The forecast (or, with ``mode``, an exploit: the last price, a constant, a random guess, or an answer to
        only every other query)."""
        _check_mode(options)
        mode = str(options["mode"])
        prices = synapse.prices
        last = prices[-1] if prices else START_PRICE
        if mode == "stale":
            guess = last
        elif mode == "constant":
            guess = START_PRICE
        elif mode == "random":
            guess = int(last * random.Random(synapse.block).uniform(0.95, 1.05))
        elif mode == "partial" and synapse.block % 2:
            return synapse
        else:
            guess = forecast(prices, synapse.horizon)
        return synapse.replace(prediction=guess)


def plugin() -> Oracle:
    """A fresh plugin instance (the entry point: each neuron that loads the plugin gets its own)."""
    return Oracle()
