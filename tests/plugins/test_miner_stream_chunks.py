"""A streaming forward yielding a chunk the wire cannot carry (a set, a numpy number) is said where the miner's
author looks, as a non-streamed answer's bad field is: ``axon.answer_refused`` in the miner's log (once per cause,
then at its 10th, 100th... time) and an entry of status.json's errors; the caller gets the chunks before it and a
500 naming it (real miner, axon, dendrite and a dev node on 127.0.0.1). Before, the miner logged nothing and its
status errors stayed empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Dendrite, StreamingSynapse
from taonet.ledger import Keypair
from taonet.plugins import NeuronConfig, Plugin, StateDir, SubnetProtocol, Task, hookimpl, run_miner

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio


class Tokens(StreamingSynapse):
    """A streamed answer."""

    prompt: str = ""


class Streams:
    """A plugin whose streaming forward yields "one", then ``bad`` (sync or async, as ``mode`` says)."""

    def __init__(self) -> None:
        self.bad: Any = None
        self.mode = "sync"

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        return SubnetProtocol(name="streams", description="yields odd chunks", synapses=(Tokens,))

    @hookimpl
    def validator_task(self) -> Task:
        return Task(synapse=Tokens())

    @hookimpl
    def reward(self, responses: list[Any]) -> dict[str, float]:
        return {r.hotkey: 1.0 for r in responses}

    @hookimpl
    def miner_blacklist(self) -> bool:
        return False  # the test's caller is no validator

    @hookimpl
    def miner_forward(self, synapse: Any) -> Any:
        bad = self.bad

        def sync() -> Any:
            yield "one"
            yield bad

        async def agen() -> Any:
            yield "one"
            yield bad
        return sync() if self.mode == "sync" else agen()


@pytest.mark.slow
async def test_a_chunk_the_wire_cannot_carry_is_said_in_the_miners_log_and_status(tmp_path: Path) -> None:
    streams = Streams()
    plugin = Plugin.from_object("streams", streams)
    calls = [("sync", {1, 2}), ("sync", {3}), ("async", np.int64(3)), ("async", {"ok": 2**70})]
    async with running_node(tmp_path / "node") as (_node, sub):
        owner, miner = dev_wallet(tmp_path, "owner", "//Alice"), dev_wallet(tmp_path, "miner", "//Bob")
        with anyio.fail_after(30):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.set_subnet_identity(owner, 1, "streams")).success
            assert (await sub.burned_register(miner, 1)).success
        state = tmp_path / "state"
        config = NeuronConfig(plugin=plugin, netuid=1, wallet=miner, endpoint=sub.endpoint, port=0, state_dir=state)
        got = []
        with capture_logs() as logs, anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                info = await tg.start(run_miner, config)
                async with Dendrite(Keypair.from_uri("//Streams//caller")) as d:
                    for mode, bad in calls:
                        streams.mode, streams.bad = mode, bad
                        async with d.stream(info, Tokens(prompt="hi"), timeout=5.0) as st:
                            chunks = [chunk async for chunk in st]
                        got.append((chunks, st.result.dendrite.status_code, st.result.dendrite.status_message))
                tg.cancel_scope.cancel()
    said = [
        "the forward's chunk 1 of Tokens holds a set (send a list: sorted(...) if its order matters), which the "
        "wire cannot carry",
        "the forward's chunk 1 of Tokens holds a set (send a list: sorted(...) if its order matters), which the "
        "wire cannot carry",
        "the forward's chunk 1 of Tokens holds a numpy.int64 (send a plain value: .item() for a numpy number, "
        ".tolist() for an array, .tobytes() for its raw bytes), which the wire cannot carry",
        "the forward's chunk 1 of Tokens holds an int of 71 bits (at most 64: -2**64 .. 2**64-1), which the wire "
        "cannot carry"]
    assert [(chunks, code) for chunks, code, _ in got] == [(["one"], 500)] * 4  # the chunk before it still came
    assert [message for _, _, message in got] == said
    refused = [e for e in logs if e["event"] == "axon.answer_refused"]
    # one line per cause: the second set is the first's cause again (counted, not said again)
    assert [(e["log_level"], e["synapse"], e["reason"], e["times"]) for e in refused] == [
        ("warning", "Tokens", said[0], 1), ("warning", "Tokens", said[2], 1), ("warning", "Tokens", said[3], 1)]
    status = StateDir(state).read_status() or {}
    assert [e for e in status["errors"] if e.startswith("axon.answer_refused:")] == [
        f"axon.answer_refused: Tokens: {said[0]}", f"axon.answer_refused: Tokens: {said[2]}",
        f"axon.answer_refused: Tokens: {said[3]}"]
    assert [d["count"] for d in status["error_details"] if d["error"].startswith("axon.answer_refused:")] == [2, 1, 1]
    assert not [e for e in logs if e["event"] == "plugin.hook_failed"]  # the plugin's generator did not raise
