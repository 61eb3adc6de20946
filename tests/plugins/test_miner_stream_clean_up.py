"""A miner's streaming forward (an async generator) is closed with the stream: its clean-up (``finally``) runs before
the axon frees the stream's slot, under the axon's bound (it ran later, when the garbage collector found the
generator, as a task nobody owned). A real dev node, a miner run in this process, a Dendrite on 127.0.0.1."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest

from taonet.kernel import Dendrite, StreamingSynapse
from taonet.ledger import Keypair
from taonet.plugins import NeuronConfig, Plugin, Response, SubnetProtocol, Task, hookimpl, run_miner

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio


class Words(StreamingSynapse):
    """Stream words."""

    CHUNK: ClassVar[Any] = str
    prompt: str = ""


class Talker:
    """A plugin whose miner streams words for ever and cleans up slowly (0.2 s) once stopped."""

    def __init__(self) -> None:
        self.cleaned: list[float] = []

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        """The protocol."""
        return SubnetProtocol(name="talker", description="talk", synapses=(Words,))

    @hookimpl
    def validator_task(self, rng: random.Random) -> Task:
        """A prompt."""
        return Task(synapse=Words(prompt="go"))

    @hookimpl
    async def miner_forward(self, synapse: Words) -> AsyncIterator[str]:
        """Words until stopped."""
        try:
            while True:
                yield "word"
        finally:
            await anyio.sleep(0.2)  # closing a session with a model server, say
            self.cleaned.append(anyio.current_time())

    @hookimpl
    def miner_blacklist(self, synapse: Words) -> bool:
        """Anyone may ask (the caller here holds no permit)."""
        return False

    @hookimpl
    def reward(self, task: Task, responses: Sequence[Response]) -> dict[str, float]:
        """Nothing scored here."""
        return {}


async def test_a_streaming_forward_is_closed_with_its_stream(tmp_path: Path) -> None:
    talker = Talker()
    async with running_node(tmp_path / "node") as (_node, sub):
        owner, miner = dev_wallet(tmp_path, "owner", "//Alice"), dev_wallet(tmp_path, "miner", "//Bob")
        with anyio.fail_after(30):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.burned_register(miner, 1)).success
        config = NeuronConfig(plugin=Plugin.from_object("talker", talker), netuid=1, wallet=miner,
                              endpoint=sub.endpoint, port=0, state_dir=tmp_path / "state")
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                info = await tg.start(run_miner, config)
                async with Dendrite(Keypair.from_uri("//Talker//caller")) as d:
                    for i in range(2):
                        got = []
                        async with d.stream(info, Words(prompt="go"), timeout=30) as stream:
                            async for chunk in stream:
                                got.append(chunk)
                                break  # the caller leaves: the axon cancels the stream
                        assert got == ["word"], stream.result.dendrite.status_message
                        left = anyio.current_time()
                        while len(talker.cleaned) < i + 1:
                            assert anyio.current_time() - left < 5, "the forward's clean-up did not run"
                            await anyio.sleep(0.01)
                tg.cancel_scope.cancel()
    assert len(talker.cleaned) == 2
