"""The compute subnet: verifiable work. The validator sends two seeded integer matrices, the miner returns their
product, and the validator checks it with Freivalds' randomized test in quadratic time (exact: no tolerance) and
rewards a correct product by speed. See README.md.

Options beside every neuron's: ``min_size``/``max_size`` (the matrices' side, drawn per step), ``rounds`` (0: enough
for a false-accept chance below 1e-9), ``latency_weight`` (the share of a score that rewards speed), and ``mode``
(what a miner does: ``honest``, or an exploit that must lose: ``wrong``, ``one_wrong``, ``zero``, ``copy``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from taonet.plugins import NeuronContext, Option, Response, SubnetProtocol, Task, hookimpl

from ._freivalds import freivalds, make_matrices, round_vectors, rounds_for
from .protocol import MatMul

__all__ = ["MODES", "Compute", "MatMul", "check_options", "freivalds", "make_matrices", "multiply", "plugin",
           "product_digest", "round_vectors", "rounds_for", "verify"]

NAME = "compute"
MODES = ("honest", "wrong", "one_wrong", "zero", "copy")
"""What a miner does: the honest product, or one of the exploits the reward model defeats."""
SIDE_STEP = 32
"""The matrices' side is a multiple of this (the smallest side too)."""
MAX_SIDE = 2048
"""The largest side: a 2048 x 2048 product is 32 MiB of float64 (a MatMul answer carries only the product: within
its 64 MiB ``MAX_SIZE``), and its check is still exact in float64 (two 10-bit digits per round vector)."""
MAX_ROUNDS = 16
"""The most Freivalds rounds: a false-accept chance below 2**-320; more would make the check cost as much as the
product at the smallest side (32)."""


def multiply(syn: MatMul) -> np.ndarray:
    """The honest answer: ``a @ b`` in float64 (exact for these integer matrices)."""
    n = syn.n
    a = np.frombuffer(syn.a, dtype=np.int8).reshape(n, n).astype(np.float64)
    b = np.frombuffer(syn.b, dtype=np.int8).reshape(n, n).astype(np.float64)
    return a @ b


def product_digest(c: np.ndarray) -> str:
    """A product's digest as the journal keeps it (blake2b-128 of its float64 bytes, -0.0 read as 0.0)."""
    return hashlib.blake2b(np.ascontiguousarray(c + 0.0, dtype="<f8").tobytes(), digest_size=16).hexdigest()


def _as_matrix(raw: bytes | None, n: int) -> np.ndarray | None:
    if raw is None or len(raw) != n * n * 8:
        return None
    return np.frombuffer(raw, dtype="<f8").reshape(n, n)


def verify(task: Task, syn: MatMul, rounds: int = 0) -> bool:
    """True when the response's product is ``a @ b`` (Freivalds with the task's secret round vectors; a journaled
    digest is compared with the true product's instead)."""
    truth = task.truth
    n = int(truth["n"])
    if syn.product is None and syn.product_digest is not None:  # re-scored from a journal
        a, b = make_matrices(int(truth["seed"]), n)
        return syn.product_digest == product_digest(a @ b)
    c = _as_matrix(syn.product, n)
    if c is None:
        return False
    a, b = make_matrices(int(truth["seed"]), n)
    r = round_vectors(int(truth["check"]), n, rounds or rounds_for())
    return freivalds(a, b, c, r)


def check_options(options: Mapping[str, Any]) -> None:
    """The sides together, before the neuron starts (InvalidOption, exit 2): ``min_size`` at most ``max_size``, both
    multiples of 32 (the side is drawn among them: 33 would silently become 32, below ``min_size``)."""
    from taonet.plugins.errors import InvalidOption

    lo, hi = options["min_size"], options["max_size"]
    if lo > hi:
        raise InvalidOption(name="min_size", reason=f"{lo!r} is above max_size ({hi!r}); give min_size <= max_size")
    for key in ("min_size", "max_size"):
        if options[key] % SIDE_STEP:
            raise InvalidOption(name=key, reason=f"{options[key]!r} is not a multiple of {SIDE_STEP} (the side is "
                                                 f"drawn among multiples of {SIDE_STEP})")


def _check_mode(options: Mapping[str, Any]) -> None:
    """An unknown ``mode`` is an error, never honest mining by surprise. The option's ``choices`` refuse it before
    the neuron starts (InvalidOption, exit 2); options handed to the hooks without that check (a test, a dict)
    still fail here: at ``neuron_start`` and with a failed answer (500) to every query."""
    if str(options["mode"]) not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {options['mode']!r}")


class Compute:
    """The compute plugin. Its only state is the ``copy`` exploit's memory of the last product it computed."""

    def __init__(self) -> None:
        self.last: bytes | None = None

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        """The compute subnet's name, description, synapse and options."""
        return SubnetProtocol(
            name=NAME,
            description="Multiply two seeded integer matrices; checked with Freivalds' test, rewarded by speed.",
            synapses=(MatMul,),
            options={
                "timeout": Option(default=5.0, help="seconds a validator waits for the miners' products"),
                "min_size": Option(default=64, help="smallest side of the matrices (drawn per step, a multiple of 32)",
                                   lo=SIDE_STEP, hi=MAX_SIDE),
                "max_size": Option(default=256, help="largest side of the matrices (a multiple of 32, at least "
                                                     "min_size)", lo=SIDE_STEP, hi=MAX_SIDE),
                "rounds": Option(default=0, help="Freivalds rounds (0: enough for a false accept below 1e-9)",
                                 lo=0, hi=MAX_ROUNDS),
                "latency_weight": Option(default=0.5, help="share of a correct answer's score that rewards speed",
                                         lo=0, hi=1),
                "mode": Option(default="honest", choices=MODES,
                               help="the miner: honest, or an exploit (wrong, one_wrong, zero, copy)"),
            },
            check=check_options,
        )

    @hookimpl
    def neuron_start(self, context: NeuronContext) -> None:
        """Refuse an unknown ``mode``."""
        _check_mode(context.options)

    @hookimpl
    def validator_task(self, options: Mapping[str, Any], rng: random.Random) -> Task:
        """Two matrices of a side drawn from [min_size, max_size]; the truth is their seed and the secret seed of the
        round vectors (never sent)."""
        lo, hi = int(options["min_size"]), int(options["max_size"])  # multiples of 32, lo <= hi: checked at start
        n = rng.randrange(lo, hi + 1, SIDE_STEP)
        seed, check = rng.getrandbits(63), rng.getrandbits(63)
        a, b = make_matrices(seed, n)
        syn = MatMul(n=n, a=a.astype(np.int8).tobytes(), b=b.astype(np.int8).tobytes())
        return Task(synapse=syn, truth={"seed": seed, "check": check, "n": n})

    @hookimpl
    def miner_forward(self, synapse: MatMul, options: Mapping[str, Any]) -> MatMul:
        """The product (or, with ``mode``, an exploit: a random matrix, one wrong entry, zeros, the last answer)."""
        _check_mode(options)
        mode = str(options["mode"])
        n = synapse.n
        if mode == "copy" and self.last is not None:
            return synapse.replace(product=self.last)
        if mode == "zero":
            return synapse.replace(product=bytes(n * n * 8))
        if mode == "wrong":
            rng = np.random.default_rng(n)
            c = rng.integers(-(2**14), 2**14, size=(n, n)).astype(np.float64)
            return synapse.replace(product=c.astype("<f8").tobytes())
        c = multiply(synapse)
        if mode == "one_wrong":
            c[n // 2, n // 3] += 1.0
        out = np.ascontiguousarray(c, dtype="<f8").tobytes()
        self.last = out
        return synapse.replace(product=out)

    @hookimpl
    def reward(self, task: Task, responses: Sequence[Response], options: Mapping[str, Any]) -> dict[str, float]:
        """0 for a wrong or missing product; for a correct one ``1 - latency_weight * latency / timeout``."""
        weight = float(options["latency_weight"])  # 0..1: its bounds refuse anything else at start
        timeout = float(task.timeout or options["timeout"])
        rounds = int(options["rounds"])
        scores = {}
        for r in responses:
            ok = r.ok and verify(task, r.synapse, rounds)
            speed = 1.0 - min(1.0, r.latency / timeout) if timeout > 0 else 1.0
            scores[r.hotkey] = (1.0 - weight + weight * speed) if ok else 0.0
        return scores

    @hookimpl
    def journal_response(self, response: Response) -> Any:
        """The journal keeps a product's digest, not the product (half a megabyte at n = 256)."""
        c = _as_matrix(response.synapse.product, response.synapse.n) if response.ok else None
        return None if c is None else {"product_digest": product_digest(c)}


def plugin() -> Compute:
    """A fresh plugin instance (the entry point: each neuron that loads the plugin gets its own)."""
    return Compute()
