"""The prompting subnet: text completion verified the way the Targon subnet does it. The validator sends a prompt,
a sampling seed and a length; the miner streams tokens with fixed-point log-probabilities from the small language
model every neuron has (``_model.py``: a trigram model of Shakespeare's Sonnets, exact integer arithmetic); the
validator recomputes a random subset of positions and rewards exact agreement and tokens per second. See README.md.

Options beside every neuron's: ``length`` (tokens per completion), ``prompt_tokens``, ``verify_positions`` (how many
positions the validator recomputes), ``tps_half`` (the tokens per second worth half the speed share),
``latency_weight`` (the share of a score that rewards speed) and ``mode`` (what a miner does: ``honest``, or an
exploit that must lose: ``random``, ``unigram``, ``prompt_lp``, ``replay``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from taonet.plugins import NeuronContext, Option, Response, SubnetProtocol, Task, hookimpl

from ._model import Model, load_model, log2_fixed, tokenize
from .protocol import Complete

__all__ = ["MODES", "Complete", "Model", "Prompting", "check_options", "load_model", "log2_fixed", "plugin",
           "tokenize", "verify"]

NAME = "prompting"
MODES = ("honest", "random", "unigram", "prompt_lp", "replay")
"""What a miner does: the honest completion, or one of the exploits the reward model defeats."""
MAX_LENGTH = 16384
"""The longest completion: the honest miner generates it in about 0.15 s here (0.04 s for 4,096 tokens), well within
the 3 s timeout, and checking every position of it costs as much."""
MAX_PROMPT = 4096
"""The longest prompt: the model reads only the last two tokens, and the text (20,465 tokens) must hold the passage."""


def verify(model: Model, task: Task, syn: Complete, positions: int) -> bool:
    """True when the completion has the asked length and agrees exactly with the model at ``positions`` positions
    drawn from the task's secret check seed."""
    truth = task.truth
    length = int(truth["length"])
    tokens, lps = syn.tokens, syn.logprobs
    if tokens is None or lps is None or len(tokens) != length or len(lps) != length:
        return False
    if any(not 0 <= t < model.V for t in tokens):
        return False
    picked = random.Random(int(truth["check"])).sample(range(length), min(length, max(1, positions)))
    return model.check(model.encode(task.synapse.prompt), tokens, lps, int(task.synapse.seed), sorted(picked))


def check_options(options: Mapping[str, Any]) -> None:
    """The options together, before the neuron starts (InvalidOption, exit 2): ``verify_positions`` at most
    ``length`` (a completion has no more positions to check)."""
    from taonet.plugins.errors import InvalidOption

    if options["verify_positions"] > options["length"]:
        raise InvalidOption(name="verify_positions", reason=f"{options['verify_positions']!r} is above length "
                                                            f"({options['length']!r}); give verify_positions <= length")


def _check_mode(options: Mapping[str, Any]) -> None:
    """An unknown ``mode`` is an error, never honest mining by surprise. The option's ``choices`` refuse it before
    the neuron starts (InvalidOption, exit 2); options handed to the hooks without that check (a test, a dict)
    still fail here: at ``neuron_start`` and with a failed answer (500) to every query."""
    if str(options["mode"]) not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {options['mode']!r}")


class Prompting:
    """The prompting plugin: the model (built at first use, cached in the neuron's plugin folder) and the ``replay``
    exploit's memory of its first answer."""

    def __init__(self) -> None:
        self.model: Model | None = None
        self.first: list[list[int]] | None = None

    def _model(self) -> Model:
        if self.model is None:
            self.model = load_model(None)
        return self.model

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        """The prompting subnet's name, description, synapse and options."""
        return SubnetProtocol(
            name=NAME,
            description="Complete a prompt with the shipped trigram model, streamed; verified exactly, paid by speed.",
            synapses=(Complete,),
            options={
                "timeout": Option(default=3.0, help="seconds a validator waits for a whole completion"),
                "length": Option(default=128, help="tokens per completion", lo=1, hi=MAX_LENGTH),
                "prompt_tokens": Option(default=8, help="tokens of the prompt (a random passage of the text)",
                                        lo=1, hi=MAX_PROMPT),
                "verify_positions": Option(default=32, help="positions the validator recomputes (at most length)",
                                           lo=1, hi=MAX_LENGTH),
                "tps_half": Option(default=2000.0, help="tokens per second worth half of the speed share",
                                   lo=1, hi=1e6),
                "latency_weight": Option(default=0.5, help="share of a verified completion's score that rewards "
                                                           "speed", lo=0, hi=1),
                "mode": Option(default="honest", choices=MODES,
                               help="the miner: honest, or an exploit (random, unigram, prompt_lp, replay)"),
            },
            check=check_options,
        )

    @hookimpl
    def neuron_start(self, context: NeuronContext) -> None:
        """Load the model (built and cached in the plugin's folder the first time); refuse an unknown ``mode``."""
        _check_mode(context.options)
        self.model = load_model(context.plugin_dir)

    # --- the validator -----------------------------------------------------------------------------------------
    @hookimpl
    def validator_task(self, options: Mapping[str, Any], rng: random.Random) -> Task:
        """A random passage of the text as the prompt, a sampling seed and the length; the truth is the secret seed
        of the positions to check."""
        model = self._model()
        k = int(options["prompt_tokens"])  # 1..MAX_PROMPT, length 1..MAX_LENGTH: their bounds refuse others at start
        start = rng.randrange(0, len(model.stream) - k)
        prompt = model.decode(model.stream[start:start + k])
        length = int(options["length"])
        syn = Complete(prompt=prompt, seed=rng.getrandbits(63), length=length)
        return Task(synapse=syn, truth={"check": rng.getrandbits(63), "length": length})

    @hookimpl
    def reward(self, task: Task, responses: Sequence[Response], options: Mapping[str, Any]) -> dict[str, float]:
        """0 unless the completion agrees exactly at every checked position; then ``1 - latency_weight`` plus
        ``latency_weight * tps / (tps + tps_half)`` for its tokens per second."""
        model = self._model()
        weight = float(options["latency_weight"])  # 0..1, tps_half 1..1e6: their bounds refuse others at start
        half = float(options["tps_half"])
        positions = int(options["verify_positions"])
        scores = {}
        for r in responses:
            if not (r.ok and verify(model, task, r.synapse, positions)):
                scores[r.hotkey] = 0.0
                continue
            tps = len(r.synapse.tokens or ()) / max(r.latency, 1e-6)
            scores[r.hotkey] = 1.0 - weight + weight * tps / (tps + half)
        return scores

    # --- the miner ---------------------------------------------------------------------------------------------
    @hookimpl
    def miner_forward(self, synapse: Complete, options: Mapping[str, Any]) -> Iterator[list[int]]:
        """Stream ``[token, logprob]`` chunks: the model's completion (or, with ``mode``, an exploit: random tokens,
        a unigram model with made-up log-probabilities, the right tokens with the prompt's log-probabilities, the
        first answer it ever gave)."""
        model = self._model()
        _check_mode(options)
        mode = str(options["mode"])
        context = model.encode(synapse.prompt)
        n = max(0, synapse.length)
        if mode == "random":
            rng = random.Random(synapse.seed)
            pairs = [[rng.randrange(model.V), -rng.randrange(1, 20 * 65536)] for _ in range(n)]
        elif mode == "unigram":
            rng = random.Random(synapse.seed)
            total = model.uni.total
            pairs = []
            for _ in range(n):
                w = model.uni.pick(rng.randrange(total))
                pairs.append([w, log2_fixed(model.uni.counts[w], total)])
        elif mode == "prompt_lp":
            prompt_lps = [model.logprob(context[i - 2] if i >= 2 else None, context[i - 1] if i else None, w)
                          for i, w in enumerate(context)] or [-65536]
            pairs = [[w, prompt_lps[i % len(prompt_lps)]]
                     for i, (w, _lp) in enumerate(model.generate(context, synapse.seed, n))]
        elif mode == "replay" and self.first is not None:
            pairs = self.first
        else:
            return self._stream(model, context, synapse.seed, n, remember=mode == "replay")
        return iter(pairs)

    def _stream(self, model: Model, context: list[int], seed: int, n: int, *, remember: bool
                ) -> Iterator[list[int]]:
        out = []
        for w, lp in model.generate(context, seed, n):
            out.append([w, lp])
            yield [w, lp]
        if remember:
            self.first = out


def plugin() -> Prompting:
    """A fresh plugin instance (the entry point: each neuron that loads the plugin gets its own)."""
    return Prompting()
