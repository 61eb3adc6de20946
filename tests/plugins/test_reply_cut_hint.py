"""A validator that refuses a miner's reply for its size names the limit that cut it: the per-reply maximum (the
synapse's ``MAX_SIZE``, else the dendrite's 16 MiB ``max_response_size``), which ``reply_budget_mb`` does not raise,
is refused by design; only a cut by the budget's share points at ``--set reply_budget_mb`` (a real node, a hostile
miner's axon answering more than the limit, a validator; asyncio and trio)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Axon, AxonConfig, Synapse
from taonet.plugins import NeuronConfig, Plugin, Response, StateDir, SubnetProtocol, Task, hookimpl, run_validator

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024


class Blob(Synapse):
    """Ask a miner for its bytes (no MAX_SIZE: the dendrite's 16 MiB bounds a reply)."""

    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("data",)
    data: bytes | None = None


class Capped(Synapse):
    """The same question, bounded by the plugin at 64 KiB a reply."""

    NAME: ClassVar[str] = "Blob"
    MAX_SIZE: ClassVar[int | None] = 64 * 1024
    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("data",)
    data: bytes | None = None


class Blobs:
    """A plugin asking for ``synapse`` and scoring 1 for any reply with data."""

    def __init__(self, synapse: type[Synapse]) -> None:
        self.synapse = synapse

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        """The protocol."""
        return SubnetProtocol(name="blobs", description="replies of given sizes", synapses=(self.synapse,))

    @hookimpl
    def validator_task(self) -> Task:
        """Ask for the miner's bytes."""
        return Task(synapse=self.synapse())

    @hookimpl
    def miner_forward(self, synapse: Synapse) -> Synapse:
        """Not used: the miner here is a bare axon."""
        return synapse

    @hookimpl
    def reward(self, responses: Sequence[Response]) -> dict[str, float]:
        """1 for a reply with data."""
        return {r.hotkey: float(r.ok and bool(getattr(r.synapse, "data", None))) for r in responses}


@pytest.mark.parametrize(("synapse", "size", "named"), [
    (Blob, 17 * MIB, "the dendrite's max_response_size"), (Capped, 128 * 1024, "Capped's MAX_SIZE")])
async def test_a_reply_over_the_per_reply_maximum_is_said_to_be_refused_by_design_not_for_the_budget(
        tmp_path: Path, synapse: type[Synapse], size: int, named: str) -> None:
    """A hostile miner (an axon allowed to send 32 MiB) answers more than the most one reply may hold, with the
    default reply_budget_mb 256 (its share: all 256 MiB): the validator's validator.replies_cut names that maximum
    and says it is refused by design, reply_budget_mb not raising it (before: "--set reply_budget_mb=MIB", which
    changed nothing)."""

    def forward(q: Blob) -> Blob:
        return q.replace(data=b"\x07" * size)

    state = StateDir(tmp_path / "v")
    async with running_node(tmp_path / "node") as (_node, sub):
        owner, miner = dev_wallet(tmp_path, "owner", "//Alice"), dev_wallet(tmp_path, "miner", "//Bob")
        validator = dev_wallet(tmp_path, "validator", "//Charlie")
        with anyio.fail_after(30):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.set_subnet_identity(owner, 1, "blobs")).success
            for w in (miner, validator):
                assert (await sub.burned_register(w, 1)).success
        hostile = Axon(miner, "tcp://127.0.0.1:0", config=AxonConfig(max_response_size=32 * MIB)).attach(forward)
        config = NeuronConfig(plugin=Plugin.from_object("blobs", Blobs(synapse)), wallet=validator, netuid=1,
                              endpoint=sub.endpoint, port=0, state_dir=state.path, options={"timeout": "10"})
        with capture_logs() as logs, anyio.fail_after(60):
            async with hostile, anyio.create_task_group() as tg:
                port = int(hostile.address.rpartition(":")[2])
                assert (await sub.serve_axon(miner, 1, ip="127.0.0.1", port=port, protocol=4)).success
                await tg.start(run_validator, config)
                while not [e for e in logs if e["event"] == "validator.replies_cut"]:
                    await sub.wait_for_block()
                status = state.read_status() or {}
                while not any("replies_cut" in m for m in status.get("errors", [])):
                    await sub.wait_for_block()
                    status = state.read_status() or {}
                tg.cancel_scope.cancel()
    [cut] = [e for e in logs if e["event"] == "validator.replies_cut"]
    limit = synapse.MAX_SIZE or 16 * MIB
    assert (cut["reply_limit"], cut["budget_bytes"], cut["cut_by"]) == (limit, 256 * MIB, "per_reply_maximum")
    assert cut["hint"] == (f"the per-reply maximum ({named}); more is refused by design; reply_budget_mb does not "
                           "raise it")
    [said] = [m for m in status["errors"] if "replies_cut" in m]
    assert said == (f"step.replies_cut: 1 of 1 miners' replies passed {limit} bytes, the most one reply may hold at "
                    f"all ({named}), and were refused as they came, scored as failed replies: by design, a miner "
                    "sending more is refused (reply_budget_mb=256 does not raise it); if honest answers are larger, "
                    f"the plugin sets MAX_SIZE on {synapse.__name__} (and reply_budget_mb so each miner's share "
                    "holds it)")
