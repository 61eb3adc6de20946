"""A plugin object whose hooks do nothing but declare a protocol: for tests of what loading checks in it."""

from __future__ import annotations

from typing import Any

from taonet.plugins import SubnetProtocol, hookimpl


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
