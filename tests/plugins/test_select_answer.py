"""A plugin's `validator_select` that answers something other than UIDs is the plugin's error (HookFailed: the step
is skipped and logged), never a crash of the validator; a good answer chooses exactly those miners."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from taonet.kernel import Synapse
from taonet.plugins import Plugin, Scores, SubnetProtocol, Task, hookimpl, validator_step
from taonet.plugins.errors import HookFailed

pytestmark = pytest.mark.anyio


class Ask(Synapse):
    """The query."""

    q: int = 0
    a: int | None = None


class Chooser:
    """A plugin whose choice of miners is whatever the test sets."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        return SubnetProtocol(name="chooser", description="chooses as told", synapses=(Ask,), options={})

    @hookimpl
    def validator_task(self, step: int) -> Task:
        return Task(synapse=Ask(q=step), truth=step)

    @hookimpl
    def validator_select(self) -> Any:
        return self.answer

    @hookimpl
    def miner_forward(self, synapse: Ask) -> Ask:
        return synapse

    @hookimpl
    def reward(self, responses: list[Any]) -> dict[str, float]:
        return {r.hotkey: 1.0 for r in responses}


@attrs.frozen
class _Graph:
    """What a step reads of a metagraph: its size, axons and hotkeys."""

    n: int
    axons: list[Any]
    hotkeys: list[str]


async def _step(answer: Any) -> tuple[dict[str, Any] | None, list[int]]:
    asked: list[int] = []
    graph = _Graph(n=4, axons=list(range(4)), hotkeys=[f"hk{u}" for u in range(4)])

    async def dendrite(axons: list[Any], synapse: Ask, timeout: float) -> list[Ask]:
        asked.extend(axons)
        return [synapse.replace(a=synapse.q) for _ in axons]

    plugin = Plugin.from_object("chooser", Chooser(answer))
    record = await validator_step(plugin, {"timeout": 1.0, "alpha": 0.1}, Scores(), block=1, metagraph=graph,
                                  dendrite=dendrite, hotkey="v")
    return record, asked


@pytest.mark.parametrize("answer", ["12", None, 7, [1, "x"], [1.5], [True], b"\x01"])
async def test_an_answer_that_is_not_uids_is_the_plugins_error(answer: Any) -> None:
    with pytest.raises(HookFailed, match="validator_select"):
        await _step(answer)


async def test_a_good_answer_asks_exactly_those_miners_in_range() -> None:
    _record, asked = await _step((3, 1, 9))  # 9 is no UID of a 4-neuron subnet: left out
    assert asked == [3, 1]
