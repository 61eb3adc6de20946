"""A replica started on a data directory of another genesis than its leader's says what to do (another
--data-dir), not only that the directory holds another chain; its log is left untouched."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.ledger import FileStore, build_genesis, dev_genesis
from taonet.ledger.errors import InvalidBlock

from .nodes import replica, running_node

pytestmark = pytest.mark.anyio


async def test_a_replica_on_a_directory_of_another_genesis_says_to_use_another_data_dir(tmp_path: Path) -> None:
    config, authority = dev_genesis(chain_id="taonet-other")
    store = FileStore(tmp_path / "replica" / "chain", fsync=False)
    store.append(build_genesis(config, authority)[0], expected_height=0)
    store.close()
    async with running_node(tmp_path / "leader") as (_node, sub):
        rep = replica(tmp_path / "replica", sub.endpoint)
        with anyio.fail_after(20), pytest.raises(InvalidBlock) as caught:
            await rep.run()
    message = str(caught.value)
    assert message.startswith(f"block 0 is invalid: {tmp_path / 'replica'} holds another chain"), message
    assert f"than the leader at {sub.endpoint}" in message and "follow that leader with another --data-dir" in message
    store = FileStore(tmp_path / "replica" / "chain", read_only=True)
    assert store.height == 0
    store.close()
