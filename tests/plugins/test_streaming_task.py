"""A task whose synapse is a StreamingSynapse: validator_step streams it from every chosen miner at once and the
reward model gets the assembled synapses (real Axons and a real Dendrite on loopback, asyncio and trio)."""

from __future__ import annotations

import random
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import anyio
import pytest

from taonet.kernel import Axon, Dendrite, StreamingSynapse
from taonet.ledger import Keypair
from taonet.plugins import (
    Journal,
    Plugin,
    Response,
    Scores,
    SubnetProtocol,
    Task,
    hookimpl,
    read_journal,
    validator_step,
)

pytestmark = pytest.mark.anyio


class Count(StreamingSynapse):
    """Stream the numbers 0..upto-1."""

    CHUNK: ClassVar[Any] = int
    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("numbers",)
    upto: int
    numbers: list[int] | None = None

    def assemble(self, chunks: Sequence[Any]) -> Self:
        """The numbers streamed."""
        return self.replace(numbers=list(chunks))


class Counting:
    """A plugin whose task streams."""

    def __init__(self, wrong: bool = False) -> None:
        self.wrong = wrong
        self.seen: list[list[int] | None] = []

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        """The protocol."""
        return SubnetProtocol(name="counting", description="count", synapses=(Count,))

    @hookimpl
    def validator_task(self, rng: random.Random) -> Task:
        """Count to a random number."""
        upto = rng.randrange(50, 300)
        return Task(synapse=Count(upto=upto), truth=upto)

    @hookimpl
    def miner_forward(self, synapse: Count) -> Iterator[int]:
        """The numbers, one chunk each (one of them off for the wrong miner)."""
        return iter([n + (1 if self.wrong and n == 7 else 0) for n in range(synapse.upto)])

    @hookimpl
    def reward(self, task: Task, responses: Sequence[Response]) -> dict[str, float]:
        """1 for the right numbers."""
        self.seen = [r.synapse.numbers for r in responses]
        return {r.hotkey: float(r.ok and r.synapse.numbers == list(range(task.truth))) for r in responses}


async def test_validator_step_streams_a_streaming_task_from_every_miner(tmp_path: Path) -> None:
    """Two honest miners and a wrong one stream hundreds of chunks each; the step scores 1, 1 and 0, and the journal
    keeps the assembled numbers."""
    validator = Plugin.from_object("counting", Counting())
    options = validator.options({"timeout": "5"})
    miners = [Counting(), Counting(), Counting(wrong=True)]
    async with anyio.create_task_group() as tg:
        axons = []
        for m in miners:
            plugin = Plugin.from_object("counting", m)

            def forward(syn: Count, p: Plugin = plugin) -> Iterator[int]:
                return p.hook.miner_forward(synapse=syn, options={})

            info = await tg.start(Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(forward, synapse=Count).serve)
            axons.append(info)
        metagraph = types.SimpleNamespace(n=3, axons=axons, hotkeys=[a.hotkey for a in axons])
        scores = Scores()
        journal = Journal(tmp_path / "journal", {"plugin": "counting"}).open()
        keypair = Keypair.generate()
        async with Dendrite(keypair) as dendrite:
            record = await validator_step(validator, options, scores, block=1, metagraph=metagraph, dendrite=dendrite,
                                          hotkey=keypair.ss58_address, journal=journal)
        journal.close()
        tg.cancel_scope.cancel()
    assert record is not None
    hk = [a.hotkey for a in axons]
    assert record["scores"] == {hk[0]: 1.0, hk[1]: 1.0, hk[2]: 0.0}
    upto = record["task"]["truth"]
    assert [len(n or ()) for n in validator.pm.get_plugin("counting").seen] == [upto] * 3
    [journaled] = list(read_journal(tmp_path / "journal"))
    assert [r["data"]["numbers"][:3] for r in journaled["responses"]] == [[0, 1, 2]] * 3
