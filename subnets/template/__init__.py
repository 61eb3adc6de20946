"""The template subnet: the validator sends a number, the miner returns it doubled; the reward is for a correct
answer, and more for a fast one. The smallest complete plugin, and what `taonet subnet new` starts from.

Options (``--set name=value``) beside every neuron's: ``latency_weight`` (the share of the score that rewards
speed), and two to simulate bad miners in tests and demos: ``delay`` (seconds a miner waits before answering) and
``honest`` (false: the miner answers wrong).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from taonet.plugins import Option, Response, SubnetProtocol, Task, hookimpl

from .protocol import Double

__all__ = ["Double", "miner_forward", "reward", "subnet_protocol", "validator_organic", "validator_task"]

NAME = "template"


@hookimpl
def subnet_protocol() -> SubnetProtocol:
    """The template's name, description, synapse and options."""
    return SubnetProtocol(
        name=NAME,
        description="The validator sends a number, the miner returns it doubled; rewards correctness and speed.",
        synapses=(Double,),
        options={
            "timeout": Option(default=2.0, help="seconds a validator waits for the miners' answers"),
            "latency_weight": Option(default=0.5, help="share of the score that rewards a fast answer", lo=0, hi=1),
            "delay": Option(default=0.0, help="seconds a miner waits before answering (to simulate a slow miner)",
                            lo=0, hi=1e6),
            "honest": Option(default=True, help="false: the miner answers wrong (to simulate a dishonest miner)"),
        },
    )


@hookimpl
def validator_task(rng: random.Random) -> Task:
    """A random number; the truth is its double."""
    number = rng.randrange(1, 1_000_000)
    return Task(synapse=Double(number=number), truth=2 * number)


@hookimpl
def validator_organic(payload: Any) -> Task | None:
    """An organic query: the caller's number (an int, or a string of digits) to double; None for anything else,
    and for a number whose double the wire cannot carry (it holds 64-bit integers: -2**63 <= number < 2**63)."""
    text = str(payload) if isinstance(payload, int | str) and not isinstance(payload, bool) else ""
    if not text.lstrip("-").isdigit() or len(text) > 21:  # more digits than any 64-bit int (and than int() takes)
        return None
    number = int(text)
    if not -(1 << 63) <= number < 1 << 63:  # the miner's answer, 2 * number, must fit the wire too
        return None
    return Task(synapse=Double(number=number), truth=2 * number)


@hookimpl
async def miner_forward(synapse: Double, options: Mapping[str, Any]) -> Double:
    """Double the number (after ``delay`` seconds; wrong unless ``honest``)."""
    if options["delay"] > 0:
        await anyio.sleep(float(options["delay"]))
    answer = 2 * synapse.number if options["honest"] else 2 * synapse.number + 1
    return synapse.replace(doubled=answer)


@hookimpl
def reward(task: Task, responses: Sequence[Response], options: Mapping[str, Any]) -> dict[str, float]:
    """1 for a correct answer, less the latency share for a slow one; 0 for a wrong or missing answer."""
    weight = float(options["latency_weight"])  # 0..1: its bounds refuse anything else at start
    timeout = float(task.timeout or options["timeout"])
    scores = {}
    for r in responses:
        correct = r.ok and r.synapse.doubled == task.truth
        speed = 1.0 - min(1.0, r.latency / timeout) if timeout > 0 else 1.0
        scores[r.hotkey] = (1.0 - weight + weight * speed) if correct else 0.0
    return scores
