"""What tests of plugins share: a plugin object whose hooks do nothing but declare a protocol (for tests of what
loading checks in it), a query synapse, and a metagraph stand-in for ``validator_step``."""

from __future__ import annotations

from typing import Any

import attrs

from taonet.kernel import Synapse
from taonet.plugins import SubnetProtocol, hookimpl


class Double(Synapse):
    """The query: a number to double."""

    number: int = 0
    doubled: int | None = None


@attrs.frozen
class Subnet:
    """What validator_step reads of a metagraph (its documented needs: n, axons, hotkeys)."""

    axons: list[Any]
    hotkeys: list[str]

    @property
    def n(self) -> int:
        return len(self.axons)


def protocol_plugin(synapses: Any, options: Any = None, check: Any = None) -> Any:
    """A plugin named "proto" with these ``synapses``, ``options`` and options ``check``, and empty hooks."""

    class Proto:
        @hookimpl
        def subnet_protocol(self) -> SubnetProtocol:
            return SubnetProtocol(name="proto", description="", synapses=synapses, options=options or {}, check=check)

        @hookimpl
        def validator_task(self) -> None: ...

        @hookimpl
        def miner_forward(self) -> None: ...

        @hookimpl
        def reward(self) -> None: ...

    return Proto()
