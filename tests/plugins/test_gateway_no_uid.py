"""A `validator` UID the subnet does not have is said as such by the gateway lookup itself (NoValidatorUid, a
NoGateway: its UIDs named), not as a validator that "publishes no gateway" (the CLI asked the node again to tell
them apart, a Python caller could not). One real dev node, asyncio and trio."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.plugins import find_gateways
from taonet.plugins.errors import NoGateway, NoValidatorUid

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio


async def test_a_uid_the_subnet_lacks_is_no_such_uid_and_one_it_has_publishes_no_gateway(tmp_path: Path) -> None:
    async with running_node(tmp_path / "node") as (_node, sub):
        with anyio.fail_after(30):
            assert (await sub.create_subnet(dev_wallet(tmp_path, "owner", "//Alice"))).success
            assert (await sub.burned_register(dev_wallet(tmp_path, "miner", "//Bob"), 1)).uid == 1
            with pytest.raises(NoValidatorUid) as info:
                await find_gateways(sub, 1, "2")
            assert (info.value.uid, info.value.count, info.value.CODE) == (2, 2, "gateway_no_uid")
            assert str(info.value) == "subnet 1 has no UID 2 (its UIDs are 0..1): taonet metagraph 1 lists them"
            assert isinstance(info.value, NoGateway)  # a caller catching NoGateway still does
            with pytest.raises(NoGateway) as info:
                await find_gateways(sub, 1, "1")
            assert type(info.value) is NoGateway and "publishes no gateway" in str(info.value), str(info.value)
