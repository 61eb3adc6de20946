"""A validator step holds at most ``reply_budget_mb`` of miners' replies, however many miners it asks and however
large they answer: each of the k miners asked may answer 1/k of it; a larger reply is refused as it arrives and
scored as a failed reply, the honest small replies are scored as before (miners as real axons in a process of their
own on 127.0.0.1, so that what this process allocates is the validator's alone; asyncio and trio)."""

from __future__ import annotations

import json
import sys
import tracemalloc
import types
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import anyio
import anyio.abc
import pytest

from taonet.kernel import Axon, AxonInfo, Dendrite, StreamingSynapse
from taonet.ledger import Keypair
from taonet.plugins import Plugin, Response, Scores, SubnetProtocol, Task, hookimpl, validator_step

from .reply_miners import Sized

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024
SCRIPT = Path(__file__).with_name("reply_miners.py")


class Sizes:
    """A plugin asking for Sized and scoring 1 for any reply with data."""

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        """The protocol."""
        return SubnetProtocol(name="sizes", description="replies of given sizes", synapses=(Sized,))

    @hookimpl
    def validator_task(self) -> Task:
        """Ask for the miner's bytes."""
        return Task(synapse=Sized())

    @hookimpl
    def miner_forward(self, synapse: Sized) -> Sized:
        """Not used here: the miners are reply_miners.py."""
        return synapse

    @hookimpl
    def reward(self, responses: Sequence[Response]) -> dict[str, float]:
        """1 for a reply with data."""
        return {r.hotkey: float(r.ok and bool(r.synapse.data)) for r in responses}


async def _miners(sizes: list[int], task_status: anyio.abc.TaskStatus[list[AxonInfo]]) -> None:
    """The miners' process, serving until this task is cancelled (its stdin then closes and it ends)."""
    async with await anyio.open_process([sys.executable, str(SCRIPT), *map(str, sizes)]) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        line = b""
        while not line.endswith(b"\n"):
            line += await proc.stdout.receive()
        task_status.started([AxonInfo(ip="127.0.0.1", port=port, hotkey=hk) for hk, port in json.loads(line)])
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                await proc.stdin.aclose()
                await proc.wait()
            if proc.returncode is None:
                proc.kill()


async def _step(axons: list[AxonInfo], options: dict[str, str]) -> tuple[dict[str, Any], int, list[Any]]:
    """One validator step over ``axons``: its record, the peak of what this process allocated meanwhile, and what
    the step said was cut."""
    plugin = Plugin.from_object("sizes", Sizes())
    told: list[Any] = []
    metagraph = types.SimpleNamespace(n=len(axons), axons=axons, hotkeys=[a.hotkey for a in axons])
    keypair = Keypair.generate()
    async with Dendrite(keypair) as dendrite:
        tracemalloc.start()
        try:
            record = await validator_step(plugin, plugin.options(options), Scores(), block=1, metagraph=metagraph,
                                          dendrite=dendrite, hotkey=keypair.ss58_address,
                                          on_cut=lambda cut, asked, budget: told.append((len(cut), asked, budget)))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert record is not None
    return record, peak, told


@pytest.fixture
async def six_miners() -> AsyncIterator[list[AxonInfo]]:
    """Four miners answering 4 MiB each, then two answering 1 KiB."""
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            yield await tg.start(_miners, [4 * MIB] * 4 + [1024] * 2)
            tg.cancel_scope.cancel()


async def test_a_step_holds_no_more_reply_bytes_than_its_budget_and_scores_the_cut_miners_as_failed(
        six_miners: list[AxonInfo]) -> None:
    """Six miners, four answering 4 MiB, asked with reply_budget_mb 2 (each may answer 256 KiB, the largest power
    of two within 2 MiB / 6): the step's peak allocation stays under 2 MiB (before: every 4 MiB reply was taken in,
    copied and decoded, over 32 MiB in all); the four are refused (500), score 0 and are reported once to on_cut; the
    two honest replies score 1."""
    hotkeys = [a.hotkey for a in six_miners]
    with anyio.fail_after(60):
        record, peak, told = await _step(six_miners, {"reply_budget_mb": "2", "sample_size": "6", "timeout": "20"})
    assert peak < 2 * MIB, f"the step allocated {peak} bytes at its peak"
    by_hotkey = {r["hotkey"]: r for r in record["responses"]}
    assert [by_hotkey[h]["status"] for h in hotkeys] == [500] * 4 + [200] * 2
    assert record["scores"] == {h: 0.0 for h in hotkeys[:4]} | {h: 1.0 for h in hotkeys[4:]}
    assert told == [(4, 6, 2 * MIB)]


async def test_a_step_with_room_in_its_budget_takes_every_reply(six_miners: list[AxonInfo]) -> None:
    """The same miners with reply_budget_mb 64 (10 MiB each, over the 4 MiB replies): every reply is scored 1 and
    nothing is cut (the budget refuses only what passes it)."""
    with anyio.fail_after(60):
        record, _, told = await _step(six_miners, {"reply_budget_mb": "64", "sample_size": "6", "timeout": "20"})
    assert [r["status"] for r in record["responses"]] == [200] * 6
    assert set(record["scores"].values()) == {1.0}
    assert told == []


class BigSizes(Sizes):
    """Sizes whose miner answers 1 MiB, and whose gateway relays any payload as the same task."""

    @hookimpl
    def miner_forward(self, synapse: Sized) -> Sized:
        """1 MiB."""
        return synapse.replace(data=b"\x07" * MIB)

    @hookimpl
    def validator_organic(self, payload: Any) -> Task:
        """The step's task."""
        return Task(synapse=Sized())


async def test_a_validator_says_once_that_replies_passed_its_budget_naming_the_numbers_and_the_option(
        tmp_path: Path) -> None:
    """A real node, a miner answering 1 MiB and a validator with reply_budget_mb 0.25 and a gateway: its steps
    refuse the reply (the miner's score stays 0) and it logs validator.replies_cut once (not once a step) with the
    numbers and --set reply_budget_mb, kept in status.json; an organic query through its gateway (whose relays have
    1/16 of the budget) fails as no miner answered, logged once for the gateway."""
    from structlog.testing import capture_logs

    from taonet.plugins import NeuronConfig, NeuronHost, StateDir, aprompt
    from taonet.plugins.errors import QueryFailed

    from ..kernel.node.nodes import dev_wallet, running_node

    state = StateDir(tmp_path / "s" / "v")
    async with running_node(tmp_path / "node") as (_node, sub):
        owner = dev_wallet(tmp_path, "owner", "//Alice")
        miner, validator = dev_wallet(tmp_path, "miner", "//Bob"), dev_wallet(tmp_path, "validator", "//Charlie")
        with anyio.fail_after(30):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.set_subnet_identity(owner, 1, "sizes")).success
            for w in (miner, validator):
                assert (await sub.burned_register(w, 1)).success
            assert (await sub.add_stake(validator, validator.hotkey.ss58_address, 100.0)).success
        common = {"netuid": 1, "endpoint": sub.endpoint, "port": 0}
        host = NeuronHost()
        host.add(NeuronConfig(plugin=Plugin.from_object("sizes", BigSizes()), wallet=miner,
                              state_dir=tmp_path / "s" / "m", **common), "miner", name="miner")
        host.add(NeuronConfig(plugin=Plugin.from_object("sizes", BigSizes()), wallet=validator, state_dir=state.path,
                              gateway="127.0.0.1:0", options={"reply_budget_mb": "0.25", "timeout": "5"}, **common),
                 "validator", name="validator")
        with capture_logs() as logs, anyio.fail_after(40):
            async with anyio.create_task_group() as tg:
                await tg.start(host.run)
                while len([e for e in logs if e["event"] == "validator.replies_cut"]) < 1 \
                        or (state.read_status() or {}).get("step", 0) < 4:
                    await sub.wait_for_block()
                with pytest.raises(QueryFailed) as failed:
                    await aprompt(1, "x", endpoint=sub.endpoint, timeout=5.0)
                status = state.read_status() or {}
                tg.cancel_scope.cancel()
    assert "none of 1 miners answered" in str(failed.value)
    cut = [e for e in logs if e["event"] == "validator.replies_cut"]
    assert [(e["where"], e["times"]) for e in cut] == [("step", 1), ("gateway", 1)], cut
    step = cut[0]
    assert (step["cut"], step["asked"], step["reply_limit"], step["budget_bytes"]) == (1, 1, 1 << 18, 1 << 18)
    assert step["hint"] == "--set reply_budget_mb=MIB"
    assert cut[1]["reply_limit"] == 1 << 14  # the gateway's relays: 1/16 of the budget each
    said = [m for m in status["errors"] if m.startswith("step.replies_cut: ")]
    assert said == ["step.replies_cut: 1 of 1 miners' replies passed 262144 bytes, the most one reply may hold here "
                    "(262144 bytes shared by 1: reply_budget_mb=0.25; or the synapse's MAX_SIZE if smaller), and "
                    "were refused as they came, scored as failed replies; to take larger replies: --set "
                    "reply_budget_mb=MIB"]
    assert status["step"] >= 4 and status["last_score_update"] is not None
    scores = state.load_scores()
    assert scores is not None and scores.scores == {miner.hotkey.ss58_address: 0.0}


class Text(StreamingSynapse):
    """Stream text."""

    CHUNK: ClassVar[Any] = str
    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("text",)
    text: str | None = None

    def assemble(self, chunks: Sequence[Any]) -> Self:
        """The text streamed."""
        return self.replace(text="".join(chunks))


class Streams:
    """A plugin whose task streams text; 1 for any text."""

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        """The protocol."""
        return SubnetProtocol(name="streams", description="stream text", synapses=(Text,))

    @hookimpl
    def validator_task(self) -> Task:
        """Ask for text."""
        return Task(synapse=Text())

    @hookimpl
    def miner_forward(self, synapse: Text) -> Iterator[str]:
        """Three words."""
        return iter(["a ", "b ", "c"])

    @hookimpl
    def reward(self, responses: Sequence[Response]) -> dict[str, float]:
        """1 for text."""
        return {r.hotkey: float(r.ok and bool(r.synapse.text)) for r in responses}


async def test_a_streamed_step_ends_each_stream_at_its_share_and_scores_it_as_failed() -> None:
    """A streamed task over two miners, one streaming 64 KiB chunks without end, asked with reply_budget_mb 1: that
    stream ends with 500 at its share (512 KiB: frames of at most 256 KiB, 256 KiB in all) long before the timeout
    and scores 0, reported to on_cut; the honest stream scores 1."""

    async def endless(synapse: Text) -> AsyncIterator[str]:
        while True:
            yield "x" * (64 * 1024)
            await anyio.sleep(0)

    plugin = Plugin.from_object("streams", Streams())

    def honest(synapse: Text) -> Iterator[str]:
        return plugin.hook.miner_forward(synapse=synapse, options={})

    told: list[Any] = []
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            axons = [await tg.start(Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(f, synapse=Text).serve)
                     for f in (endless, honest)]
            metagraph = types.SimpleNamespace(n=2, axons=axons, hotkeys=[a.hotkey for a in axons])
            keypair = Keypair.generate()
            async with Dendrite(keypair) as dendrite:
                record = await validator_step(
                    plugin, plugin.options({"reply_budget_mb": "1", "timeout": "20"}), Scores(), block=1,
                    metagraph=metagraph, dendrite=dendrite, hotkey=keypair.ss58_address,
                    on_cut=lambda cut, asked, budget: told.append(
                        [(r.uid, r.synapse.dendrite.reply_limit, len(r.synapse.text or "")) for r in cut]))
            tg.cancel_scope.cancel()
    assert record is not None
    assert [r["status"] for r in record["responses"]] == [500, 200]
    assert record["scores"] == {axons[0].hotkey: 0.0, axons[1].hotkey: 1.0}
    [[(uid, limit, held)]] = told
    assert (uid, limit) == (0, 256 * 1024) and 0 < held <= 256 * 1024
