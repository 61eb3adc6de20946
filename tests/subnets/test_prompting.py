"""The prompting subnet, unit level: the shipped model is deterministic, exact and cached with a checksum; the
check accepts the honest stream and rejects each forged one; the reward pays verified completions by speed."""

from __future__ import annotations

import math
import random
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.kernel import TerminalInfo
from taonet.plugins import Response, load_plugin
from taonet.subnets.prompting import MODES, Complete, load_model, log2_fixed, verify
from taonet.subnets.prompting._model import _MODELS, _build, _text


@given(num=st.integers(1, 2**80), den=st.integers(1, 2**80))
def test_log2_fixed_is_the_floor_of_the_logarithm_within_one_unit(num: int, den: int) -> None:
    """Property: integer-only log2 in 1/65536 bit is within one unit of floor(65536 * log2(num / den)), exact at
    powers of two."""
    got = log2_fixed(num, den)
    real = 65536 * (math.log2(num) - math.log2(den))
    assert math.floor(real) - 1 <= got <= math.floor(real) + 1
    assert log2_fixed(1, 2**20) == -20 * 65536 and log2_fixed(2**7, 1) == 7 * 65536


def test_the_model_is_a_probability_distribution_with_exact_fractions() -> None:
    """For seen and unseen contexts the exact probabilities of the whole vocabulary sum to 1."""
    model = load_model()
    h2, h1 = model.encode("thy sweet")
    for ctx in ((h2, h1), (None, h1), (None, None), (h1, h2)):
        assert sum(Fraction(*model.probability(*ctx, w)) for w in range(model.V)) == 1


def test_generation_is_deterministic_and_depends_on_the_seed() -> None:
    """The same prompt and seed give the same tokens and log-probabilities; another seed another completion."""
    model = load_model()
    ctx = model.encode("shall i compare thee to a summer's day")
    a = list(model.generate(ctx, 7, 128))
    assert a == list(model.generate(ctx, 7, 128))
    assert [w for w, _ in a] != [w for w, _ in model.generate(ctx, 8, 128)]
    assert all(lp < 0 for _, lp in a)


def test_the_model_is_cached_with_a_checksum_and_rebuilt_when_the_cache_is_damaged(tmp_path: Path) -> None:
    """First use writes the cache; a cache whose bytes changed is ignored and rewritten; the model is the same."""
    vocab, stream = _build(_text())
    _MODELS.clear()
    load_model(tmp_path)
    path = next(tmp_path.iterdir())
    assert path.name.startswith("prompting-model-v1-") and path.suffix == ".cbor"
    _MODELS.clear()
    cached = load_model(tmp_path)
    assert cached.vocab == vocab and cached.stream == stream
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF
    path.write_bytes(bytes(raw))
    _MODELS.clear()
    rebuilt = load_model(tmp_path)
    assert rebuilt.vocab == vocab and path.read_bytes() != bytes(raw)


def _stream(plugin, syn: Complete, mode: str, latency: float = 0.05) -> Complete:
    chunks = list(plugin.hook.miner_forward(synapse=syn, options=plugin.options({"mode": mode})))
    return syn.assemble(chunks).replace(dendrite=TerminalInfo(status_code=200, process_time=latency))


def test_the_check_accepts_the_honest_stream_and_rejects_each_forged_one() -> None:
    """Honest: accepted at every position. Random text, a unigram model, the right tokens with the prompt's
    log-probabilities, an earlier answer replayed to a new seed, one token changed, one logprob off by one, a short
    completion: each rejected (32 checked positions)."""
    plugin = load_plugin("prompting")
    options = plugin.options()
    model = load_model()
    first = plugin.hook.validator_task(options=options, rng=random.Random(1), step=0, block=1)
    task = plugin.hook.validator_task(options=options, rng=random.Random(2), step=1, block=2)
    honest = _stream(plugin, task.synapse, "honest")
    assert verify(model, task, honest, 128)
    replayer = load_plugin("prompting")
    _stream(replayer, first.synapse, "replay")
    forged = {mode: _stream(load_plugin("prompting"), task.synapse, mode) for mode in MODES[1:] if mode != "replay"}
    forged["replay"] = _stream(replayer, task.synapse, "replay")
    tokens, lps = list(honest.tokens), list(honest.logprobs)
    for i in (0, 64, 127):
        t = list(tokens)
        t[i] = (t[i] + 1) % model.V
        forged[f"token{i}"] = honest.replace(tokens=t)
        lp = list(lps)
        lp[i] -= 1
        forged[f"logprob{i}"] = honest.replace(logprobs=lp)
    forged["short"] = honest.replace(tokens=tokens[:-1], logprobs=lps[:-1])
    for name, syn in forged.items():
        full = verify(model, task, syn, 128)
        assert not full, name
    for name in ("random", "unigram", "prompt_lp", "replay"):
        assert not verify(model, task, forged[name], int(options["verify_positions"])), name


def test_reward_pays_verified_completions_by_tokens_per_second_and_forgeries_nothing() -> None:
    """A faster honest stream scores more than a slower one; every exploit scores 0."""
    plugin = load_plugin("prompting")
    options = plugin.options()
    task = plugin.hook.validator_task(options=options, rng=random.Random(5), step=0, block=1)
    syns = {"fast": _stream(plugin, task.synapse, "honest", 0.02), "slow": _stream(plugin, task.synapse, "honest", 1.0)}
    for mode in MODES[1:]:
        miner = load_plugin("prompting")
        earlier = plugin.hook.validator_task(options=options, rng=random.Random(6), step=0, block=1)
        _stream(miner, earlier.synapse, mode)  # the replay exploit keeps its first answer
        syns[mode] = _stream(miner, task.synapse, mode)
    responses = [Response(uid=i, hotkey=k, synapse=s) for i, (k, s) in enumerate(syns.items())]
    scores = plugin.hook.reward(task=task, responses=responses, metagraph=None, options=options)
    assert scores["fast"] > scores["slow"] > 0.5
    assert scores["fast"] == pytest.approx(0.5 + 0.5 * 6400 / (6400 + 2000))
    for mode in MODES[1:]:
        assert scores[mode] == 0.0, mode
