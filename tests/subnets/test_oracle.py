"""The oracle subnet, unit level: the series is a deterministic function of the block hashes, a matured prediction
scores as documented, pending predictions survive a restart, and over a simulated chain the honest forecaster
out-scores each exploit."""

from __future__ import annotations

import hashlib
import itertools
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.kernel import TerminalInfo
from taonet.plugins import Response, load_plugin
from taonet.subnets.oracle import MODES, SCALE, Forecast, advance, forecast, genesis, score_prediction
from taonet.subnets.oracle._series import DRIFTS_PPB, START_PRICE
from taonet.subnets.oracle._store import Pending, Series, read_saved, write_atomically


def _hashes(count: int, tag: bytes = b"chain") -> list[bytes]:
    return [hashlib.blake2b(tag + i.to_bytes(8, "big"), digest_size=32).digest() for i in range(count)]


@given(hashes=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=50))
def test_series_is_a_fold_of_the_block_hashes(hashes: list[bytes]) -> None:
    """Property: the same hashes give the same series; replaying from any point gives the same tail."""
    a, b = Series(), Series()
    a.extend(hashes)
    k = len(hashes) // 2
    b.extend(hashes[:k])
    b.extend(hashes[k:])
    assert a.point == b.point and a.prices == b.prices
    assert all(type(p) is int and p >= 1 for p in a.prices.values())


def test_series_changes_with_any_block_hash_and_keeps_its_regimes() -> None:
    """One different hash changes every later price; regimes last (a switch every ~48 blocks), all four occur, and
    the price stays within a factor of a few of the start price over 20,000 blocks."""
    hashes = _hashes(20_000)
    s = Series()
    s.extend(hashes)
    other = Series()
    other.extend([hashes[0], b"\x01" * 32, *hashes[2:100]])
    assert other.price(99) != s.price(99)
    regimes, point = [], genesis()
    for h in hashes:
        point = advance(point, h)
        regimes.append(point.regime)
    switches = sum(1 for x, y in itertools.pairwise(regimes) if x != y)
    assert 20_000 / 100 < switches < 20_000 / 30
    assert set(regimes) == set(range(len(DRIFTS_PPB)))
    window = list(s.prices.values())
    assert START_PRICE / 8 < min(window) and max(window) < START_PRICE * 8


def test_a_matured_prediction_scores_as_documented() -> None:
    """exp(-relative error / tolerance): 1 when exact, 1/e at the tolerance, 0 without a prediction."""
    actual = 120 * SCALE
    assert score_prediction(actual, actual, 0.01) == 1.0
    assert score_prediction(int(actual * 1.01), actual, 0.01) == pytest.approx(math.exp(-1))
    assert score_prediction(int(actual * 0.98), actual, 0.01) == pytest.approx(math.exp(-2))
    assert score_prediction(None, actual, 0.01) == 0.0
    plugin = load_plugin("oracle")
    task_truth = {"matured": [["a", 1, 9, actual, actual], ["b", 1, 9, None, actual],
                              ["a", 2, 10, int(actual * 1.01), actual]], "block": 10, "target": 18, "base": actual}
    from taonet.plugins import Task

    task = Task(synapse=Forecast(block=10, horizon=8, prices=[actual]), truth=task_truth)
    scores = plugin.hook.reward(task=task, responses=[], metagraph=None, options=plugin.options())
    assert scores == {"a": pytest.approx((1 + math.exp(-1)) / 2), "b": 0.0}


def test_pending_predictions_and_the_series_survive_a_restart(tmp_path: Path) -> None:
    """Both are saved atomically with their anchor (a block and its hash) and read back as they were; a damaged file
    is set aside."""
    path = tmp_path / "predictions.cbor"
    p = Pending(path)
    p.add(18, 10, 100 * SCALE, {"a": 101 * SCALE, "b": None})
    p.save([12, b"h" * 32])
    saved = read_saved(path)
    assert saved is not None and saved["anchor"] == [12, b"h" * 32]
    again = Pending(path)
    again.restore(saved)
    assert again.rounds == {18: {"made": 10, "base": 100 * SCALE, "preds": {"a": 101 * SCALE, "b": None}}}
    series = Series(b"g" * 32)
    series.extend(_hashes(20))
    matured = again.mature(series)
    assert matured == [["a", 10, 18, 101 * SCALE, series.price(18)], ["b", 10, 18, None, series.price(18)]]
    assert again.rounds == {}
    write_atomically(tmp_path / "series.cbor", series.checkpoint())
    back = Series.restore(read_saved(tmp_path / "series.cbor"))
    assert (back.point, back.prices, back.anchor) == (series.point, series.prices, [20, _hashes(20)[-1]])
    more = _hashes(30, b"more")
    back.extend(more)
    series.extend(more)
    assert back.point == series.point and back.prices == series.prices
    path.write_bytes(b"\xff\x00 not cbor")
    assert read_saved(path) is None and path.with_suffix(".damaged").exists() and not path.exists()
    assert read_saved(tmp_path / "nothing.cbor") is None


def test_honest_forecaster_out_scores_every_exploit_over_a_simulated_chain() -> None:
    """300 validator steps over a chain of blake2b hashes, through the plugin's own hooks (task, miners' forward,
    feedback, reward): the honest miner's mean score beats stale, constant, random and partial."""
    validator = load_plugin("oracle")
    options = validator.options()
    oracle = validator.pm.get_plugin("oracle")
    oracle.series = Series(b"\x00" * 32)
    miners = {mode: load_plugin("oracle") for mode in MODES}
    hashes = _hashes(400, b"sim")
    oracle.series.extend(hashes[:40])
    totals = {mode: 0.0 for mode in MODES}
    for b in range(40, 340):
        oracle.series.extend([hashes[b]])
        task = validator.hook.validator_task(step=b, block=b + 1, options=options, rng=None)
        responses = []
        for mode, m in miners.items():
            answer = m.hook.miner_forward(synapse=task.synapse, options=m.options({"mode": mode}))
            answer = answer.replace(dendrite=TerminalInfo(status_code=200, process_time=0.01))
            responses.append(Response(uid=len(responses), hotkey=mode, synapse=answer))
        for hk, s in validator.hook.reward(task=task, responses=responses, metagraph=None, options=options).items():
            totals[hk] += s
        validator.hook.validator_feedback(task=task, responses=responses, scores={}, options=options)
    for mode in MODES[1:]:
        assert totals["honest"] > 1.2 * totals[mode], totals


def test_forecast_extrapolates_the_recent_drift() -> None:
    """A steady 0.5% rise per block is forecast to continue; a flat series stays flat."""
    rising = [int(100 * SCALE * 1.005**i) for i in range(20)]
    assert forecast(rising, 8) == pytest.approx(rising[-1] * 1.04, rel=1e-3)
    assert forecast([50 * SCALE] * 10, 8) == 50 * SCALE
