"""The compute subnet's check and reward model, unit level: Freivalds accepts every correct product and rejects a
product with one wrong entry (10,000 seeded trials at one round), and each exploit scores 0."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.kernel import TerminalInfo
from taonet.plugins import Response, load_plugin
from taonet.subnets.compute import MODES, freivalds, make_matrices, product_digest, verify
from taonet.subnets.compute._freivalds import round_vectors, rounds_for


def test_freivalds_rejects_one_wrong_entry_in_at_least_999_of_10000_trials_at_one_round_and_accepts_correct() -> None:
    """10,000 seeded trials at one round: every correct product accepted, a product with one entry off by a random
    non-zero amount at a random place rejected in at least 99.9% of them."""
    rng = np.random.default_rng(14)
    accepted_wrong = 0
    for trial in range(10_000):
        n = int(rng.integers(2, 17))
        a, b = make_matrices(trial, n)
        c = a @ b
        r = round_vectors(10**6 + trial, n, 1)
        assert freivalds(a, b, c, r)
        wrong = c.copy()
        delta = int(rng.integers(1, 2**14)) * (1 if rng.integers(2) else -1)
        wrong[int(rng.integers(n)), int(rng.integers(n))] += delta
        accepted_wrong += freivalds(a, b, wrong, r)
    assert accepted_wrong <= 10


def test_rounds_for_a_false_accept_below_1e9_is_two_rounds_of_20_bits() -> None:
    """Each round accepts a wrong product with chance at most 2**-20; two rounds go below 1e-9."""
    assert rounds_for(1e-9) == 2 and 2.0 ** (-20 * rounds_for(1e-9)) < 1e-9


@pytest.mark.parametrize("n", [32, 512, 1100])
def test_freivalds_is_exact_on_both_sides_of_the_float64_limit(n: int) -> None:
    """Up to n = 512 a round vector fits float64 whole, above it is split in digits; both accept the product and
    reject one entry off by
    one, even where a tolerance would hide it."""
    a, b = make_matrices(n, n)
    c = a @ b
    r = round_vectors(7, n, 2)
    assert freivalds(a, b, c, r)
    c[n - 1, 0] += 1.0
    assert not freivalds(a, b, c, r)


@given(seed=st.integers(0, 2**32), n=st.integers(1, 40))
def test_freivalds_accepts_every_correct_product(seed: int, n: int) -> None:
    """Property: the exact product always passes, whatever the matrices and round vectors."""
    a, b = make_matrices(seed, n)
    assert freivalds(a, b, a @ b, round_vectors(seed + 1, n, 3))


@pytest.mark.parametrize("bad", ["nan", "inf", "fraction", "huge", "shape"])
def test_freivalds_rejects_malformed_products(bad: str) -> None:
    """Non-finite, non-integer, out-of-range entries and a wrong shape are rejected, never an exception."""
    a, b = make_matrices(1, 8)
    c = a @ b
    if bad == "shape":
        c = c[:7]
    else:
        c[0, 0] = {"nan": np.nan, "inf": np.inf, "fraction": c[0, 0] + 0.5, "huge": 2.0**60}[bad]
    assert not freivalds(a, b, c, round_vectors(2, 8, 2))


def _answer(plugin, syn, mode: str, latency: float = 0.1):
    options = plugin.options({"mode": mode})
    out = plugin.hook.miner_forward(synapse=syn, options=options)
    return out.replace(dendrite=TerminalInfo(status_code=200, process_time=latency))


def test_reward_pays_the_honest_product_by_speed_and_every_exploit_nothing() -> None:
    """One task, one miner per mode: the honest product scores, more when faster; wrong, one_wrong, zero and copy
    (the previous query's product) score 0; a missing answer scores 0."""
    plugin = load_plugin("compute")
    options = plugin.options()
    first = plugin.hook.validator_task(step=0, block=1, options=options, rng=random.Random(1))
    task = plugin.hook.validator_task(step=1, block=2, options=options, rng=random.Random(2))
    miners = {}
    for mode in MODES:
        m = load_plugin("compute")  # each neuron has its own instance (the copy exploit remembers one answer)
        _answer(m, first.synapse, mode)
        miners[mode] = _answer(m, task.synapse, mode)
    miners["slow"] = _answer(load_plugin("compute"), task.synapse, "honest", latency=4.0)
    miners["silent"] = task.synapse.replace(dendrite=TerminalInfo(status_code=408, process_time=None), timeout=5.0)
    responses = [Response(uid=i, hotkey=k, synapse=s) for i, (k, s) in enumerate(miners.items())]
    scores = plugin.hook.reward(task=task, responses=responses, metagraph=None, options=options)
    assert scores["honest"] > scores["slow"] > 0
    for bad in ("wrong", "one_wrong", "zero", "copy", "silent"):
        assert scores[bad] == 0.0, bad


def test_journal_keeps_a_digest_that_replay_scores_like_the_product() -> None:
    """journal_response keeps a 16-byte digest; a synapse rebuilt with it verifies iff the product was right."""
    plugin = load_plugin("compute")
    options = plugin.options()
    task = plugin.hook.validator_task(step=0, block=1, options=options, rng=random.Random(3))
    good = _answer(plugin, task.synapse, "honest")
    bad = _answer(load_plugin("compute"), task.synapse, "one_wrong")
    for syn, ok in ((good, True), (bad, False)):
        data = plugin.hook.journal_response(response=Response(uid=1, hotkey="h", synapse=syn), options=options)
        assert set(data) == {"product_digest"}
        rebuilt = task.synapse.replace(**data)
        assert verify(task, rebuilt) is ok
    a, b = make_matrices(task.truth["seed"], task.truth["n"])
    assert product_digest(-(a @ b) * -1.0) == product_digest(a @ b)

