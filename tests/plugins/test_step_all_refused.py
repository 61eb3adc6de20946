"""A task too large for the miners (413 for every one) is the validator's mistake, as a malformed one (400) is: the
step is skipped with a HookFailed naming the synapse's size, the limit and the fix, never every miner scored 0 in
silence (asyncio and trio, real axons and a dendrite on 127.0.0.1)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from taonet.kernel import Axon, Dendrite, Synapse
from taonet.ledger import Keypair
from taonet.plugins import Plugin, Scores, SubnetProtocol, Task, hookimpl, validator_step
from taonet.plugins.errors import HookFailed

from .protocols import Subnet

pytestmark = pytest.mark.anyio

MINERS = [Keypair.from_uri(f"//AllRefused//miner{i}") for i in range(2)]


class Blob(Synapse):
    """A task of ``data`` bytes, with no MAX_SIZE: the 4 MiB of the axons' and dendrites' config."""

    data: bytes = b""
    size: int | None = None


class Capped(Synapse):
    """A task of ``data`` bytes, of at most 1 MiB."""

    MAX_SIZE = 1 << 20
    data: bytes = b""
    size: int | None = None


class OlderBlob(Synapse):
    """Blob as another version of the subnet declares it: of at most 1 MiB."""

    NAME = "Blob"
    MAX_SIZE = 1 << 20
    data: bytes = b""
    size: int | None = None


class Sizes:
    """A plugin whose task is a ``cls`` of ``size`` bytes; every answer scores 1."""

    def __init__(self, cls: type[Synapse], size: int) -> None:
        self.cls = cls
        self.size = size

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        return SubnetProtocol(name="sizes", description="tasks of a size", synapses=(self.cls,),
                              options={"timeout": 5.0})

    @hookimpl
    def validator_task(self) -> Task:
        return Task(synapse=self.cls(data=b"x" * self.size))

    @hookimpl
    def miner_forward(self, synapse: Any) -> Any:
        return synapse.replace(size=len(synapse.data))

    @hookimpl
    def reward(self, responses: list[Any]) -> dict[str, float]:
        return {r.hotkey: 1.0 for r in responses}


async def _steps(plugin: Plugin, sizes: Sizes, task_sizes: list[int], served: type[Synapse]) -> list[Any]:
    """A step for each of ``task_sizes`` against two miners serving ``served``: its record, or its HookFailed."""
    out: list[Any] = []
    scores = Scores()
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            axons = [await tg.start(Axon(kp, "tcp://127.0.0.1:0").attach(lambda s: s.replace(size=len(s.data)),
                                                                          synapse=served).serve)
                     for kp in MINERS]
            mg = Subnet(axons=axons, hotkeys=[kp.ss58_address for kp in MINERS])
            async with Dendrite(Keypair.from_uri("//AllRefused//validator")) as dendrite:
                for size in task_sizes:
                    sizes.size = size
                    try:
                        out.append(await validator_step(plugin, plugin.options(), scores, block=5, metagraph=mg,
                                                        dendrite=dendrite, hotkey="5Validator"))
                    except HookFailed as e:
                        out.append(e)
            tg.cancel_scope.cancel()
    if not any(isinstance(o, dict) for o in out):
        assert (scores.step, scores.scores) == (0, {})  # no miner scored 0 for the validator's mistake
    return out


async def test_a_task_over_the_miners_4_mib_skips_the_step_naming_its_size_and_the_limit() -> None:
    """A 9 MB task with no MAX_SIZE: 413 for every miner; the step is HookFailed (validator_task) naming the size,
    the 4 MiB limit and MAX_SIZE, and two tasks of about that size are the same failure (said once, then at its
    10th...): it used to score every miner 0 with nothing said. A task under the limit is scored as ever."""
    sizes = Sizes(Blob, 0)
    plugin = Plugin.from_object("sizes", sizes)
    first, second, fits = await _steps(plugin, sizes, [9_000_000, 9_000_100, 1000], Blob)
    assert isinstance(first, HookFailed) and first.hook == "validator_task", first
    assert first.error == (
        "its synapse is too large to send (413 for every miner): the task's Blob is 8.6 MiB, over the 4 MiB miners "
        "accept of a synapse without MAX_SIZE (their axons' max_request_size); send less (a reference the miners "
        "fetch, or the work split over steps), or set Blob.MAX_SIZE (bytes) on the class: the miners' axons and the "
        "validator's dendrite both use it")
    assert isinstance(second, HookFailed) and second.error == first.error
    assert isinstance(fits, dict) and {r["status"] for r in fits["responses"]} == {200}


async def test_a_task_over_its_max_size_names_max_size() -> None:
    """A task over its synapse's MAX_SIZE (1 MiB): the failure names Capped.MAX_SIZE in bytes and MiB."""
    sizes = Sizes(Capped, 0)
    plugin = Plugin.from_object("sizes", sizes)
    [failed] = await _steps(plugin, sizes, [2_000_000], Capped)
    assert isinstance(failed, HookFailed), failed
    assert "the task's Capped is 1.9 MiB, over Capped.MAX_SIZE (1048576 bytes, 1 MiB); " in failed.error
    assert failed.error.endswith("or raise Capped.MAX_SIZE (the miners run the same class: they refuse above their "
                                 "own)")


async def test_miners_refusing_below_what_the_validator_sends_are_said_to_have_a_lower_limit() -> None:
    """The miners serve the task's synapse with a lower MAX_SIZE than the validator's (another version): their 413
    for a task the validator could send says the limits differ."""
    sizes = Sizes(Blob, 0)
    plugin = Plugin.from_object("sizes", sizes)
    [failed] = await _steps(plugin, sizes, [2_000_000], OlderBlob)
    assert isinstance(failed, HookFailed), failed
    assert "the task's Blob is 1.9 MiB, over what the miners accept, though under the 4 MiB this validator sends" \
        in failed.error
    assert failed.error.endswith("make the miners' and the validator's Blob.MAX_SIZE agree")
