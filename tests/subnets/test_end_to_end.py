"""Each built-in subnet on a real dev node: 2 validators, 2 honest miners and one miner per exploit, the neurons in
one process; after 3 tempos every honest miner has more incentive than every dishonest one."""

from __future__ import annotations

from pathlib import Path

import cbor2
import pytest

from .net import incentives_after

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


def _check(incentive: dict[str, float]) -> None:
    honest = [v for k, v in incentive.items() if k.startswith("honest")]
    dishonest = [v for k, v in incentive.items() if not k.startswith("honest")]
    assert min(honest) > max(dishonest), incentive


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_compute_pays_honest_miners_over_every_exploit(tmp_path: Path) -> None:
    """compute: a wrong product, one wrong entry, zeros and a copied answer all earn less than both honest miners."""
    miners = {"honest0": {}, "honest1": {}, **{m: {"mode": m} for m in ("wrong", "one_wrong", "zero", "copy")}}
    _check(await incentives_after(tmp_path, "compute", miners,
                                  validator_options={"timeout": "3", "max_size": "128", "alpha": "0.2"}))


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_oracle_pays_honest_forecasters_over_every_exploit(tmp_path: Path) -> None:
    """oracle: the last price repeated, a constant, a random guess and a miner that answers every other query all
    earn less than both honest forecasters (tempo 30: a forecast is scored 8 blocks after it is made)."""
    miners = {"honest0": {}, "honest1": {}, **{m: {"mode": m} for m in ("stale", "constant", "random", "partial")}}
    _check(await incentives_after(tmp_path, "oracle", miners, validator_options={}, tempo=30))
    for v in ("validator0", "validator1"):  # what a restarted validator would score: the rounds not matured yet
        saved = cbor2.loads((tmp_path / "state" / v / "plugin" / "predictions.cbor").read_bytes())
        assert 1 <= len(saved["rounds"]) <= 8 and set(saved["rounds"][-1]["preds"]) == set(saved["rounds"][0]["preds"])


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_prompting_pays_honest_streams_over_every_exploit(tmp_path: Path) -> None:
    """prompting (streamed over the wire's streaming synapses): random text, a unigram model with made-up
    log-probabilities, the right tokens with the prompt's log-probabilities and a replayed earlier answer all earn
    less than both honest miners."""
    miners = {"honest0": {}, "honest1": {}, **{m: {"mode": m} for m in ("random", "unigram", "prompt_lp", "replay")}}
    _check(await incentives_after(tmp_path, "prompting", miners, validator_options={"alpha": "0.2"}))
    assert (tmp_path / "state" / "honest0" / "plugin").glob("prompting-model-v1-*.cbor")
