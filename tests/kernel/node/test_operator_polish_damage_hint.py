"""A damaged last record (a flipped bit, the index listing it) on a node that ran with fsync is damage: the error says
to restore a copy and offers no "remove chain/index" (docs/node.md: never delete files from chain/); only a log
written with --no-fsync, where a power loss can leave the index ahead of the records, gets that hint."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel import Node, NodeConfig
from taonet.ledger import FileStore, dev_genesis
from taonet.ledger.errors import CorruptLog

from .nodes import running_node

pytestmark = pytest.mark.anyio


def _flip_last_record(chain: Path) -> int:
    """Flip a byte in the middle of the head block's record; its number."""
    with FileStore(chain, read_only=True) as store:
        head = store.height
        path, offset = store.location(head)
        size = len(store.get_raw(head))
    with open(path, "r+b") as f:
        f.seek(offset + 8 + size // 2)
        byte = f.read(1)
        f.seek(offset + 8 + size // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    return head


async def _damaged_reopen(data_dir: Path, *, fsync: bool) -> str:
    """Run a node a few blocks (fsync as given), flip a bit in its last record, start it again: the error's text."""
    async with running_node(data_dir, fsync=fsync) as (node, _sub):
        with anyio.fail_after(10):
            while node.state is None or node.state.height < 3:
                await anyio.sleep(0.05)
    head = _flip_last_record(data_dir / "chain")
    genesis, authority = dev_genesis()
    node = Node(NodeConfig(data_dir=data_dir, authority=authority, genesis=genesis, rpc="tcp://127.0.0.1:0",
                           feed="tcp://127.0.0.1:0", fsync=fsync))
    with anyio.fail_after(10), pytest.raises(CorruptLog) as caught:
        await node.run()
    assert f"the record of block {head} is there but damaged" in str(caught.value)
    return str(caught.value)


async def test_a_bit_flip_on_a_node_that_ran_with_fsync_offers_no_index_removal(tmp_path: Path) -> None:
    text = await _damaged_reopen(tmp_path / "node", fsync=True)
    assert "restore the data directory from a copy" in text
    assert "--no-fsync" not in text and "remove" not in text and "index to keep" not in text, text


async def test_a_log_written_with_no_fsync_still_names_the_power_loss_case(tmp_path: Path) -> None:
    text = await _damaged_reopen(tmp_path / "node", fsync=False)
    assert f"only if the machine lost power while the node ran so, remove {tmp_path / 'node' / 'chain' / 'index'}" \
           in text, text


async def test_a_run_with_fsync_after_one_without_clears_the_mark(tmp_path: Path) -> None:
    """--no-fsync, then a run with fsync (which syncs what the first left): its damage gets no hint either."""
    async with running_node(tmp_path / "node", fsync=False):
        pass
    assert (tmp_path / "node" / "chain" / "unsynced").exists()
    text = await _damaged_reopen(tmp_path / "node", fsync=True)
    assert not (tmp_path / "node" / "chain" / "unsynced").exists() and "--no-fsync" not in text, text
