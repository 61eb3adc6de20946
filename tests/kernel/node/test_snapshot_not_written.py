"""A snapshot the disk refuses does not stop the node: snapshots are a cache (a missing one costs a longer fold on the
next start, never correctness), so the node logs ``snapshot.not_written`` with the path and reason (the first
failure, then the 10th, 100th, ...) and goes on sealing; the block log refusing a write still stops it with
StorageFailed. The failure is made real for root too: each snapshot's temporary file is a folder already."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.ledger import FileStore

from .nodes import running_node
from .test_damage import _limit_file_size

pytestmark = pytest.mark.anyio


def _snapshots_blocked(data: Path, upto: int = 200) -> Path:
    """``data``'s snapshot folder, where the temporary file of every snapshot up to block ``upto`` is a folder already
    (so that no snapshot can be written, whoever runs the node: open() refuses a folder even to root)."""
    folder = data / "chain" / "snapshots"
    for n in range(1, upto + 1):
        (folder / f"{n:012d}.tmp").mkdir(parents=True)
    return folder


async def test_a_snapshot_that_cannot_be_written_is_a_warning_and_sealing_goes_on(tmp_path: Path) -> None:
    data = tmp_path / "node"
    folder = _snapshots_blocked(data)
    with capture_logs() as logs:
        async with running_node(data, block_time=0.02, snapshot_every=2) as (node, sub):
            with anyio.fail_after(30):
                await sub.wait_for_block(23, timeout=30)  # 11 snapshots due (blocks 2, 4, ... 22), none written
            assert node.halted is None
    said = [e for e in logs if e["event"] == "snapshot.not_written"]
    assert [e["failures"] for e in said] == [1, 10], said  # the first, then the 10th: not one line per snapshot
    first = said[0]
    assert first["log_level"] == "warning" and first["block"] == 2, first
    assert first["path"] == str(folder / f"{2:012d}.snap") and "directory" in first["reason"], first
    assert not list(folder.glob("*.snap"))
    with FileStore(data / "chain", fsync=False) as store:
        assert store.height >= 23 and store.verify().blocks == store.height + 1


_NODE = """
import sys
import anyio
from pathlib import Path
from taonet.kernel import Node, NodeConfig
from taonet.ledger import dev_genesis
from taonet.ledger.errors import StorageFailed

async def main() -> None:
    genesis, authority = dev_genesis()
    node = Node(NodeConfig(data_dir=Path(sys.argv[1]), authority=authority, genesis=genesis, block_time=0.02,
                           rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0", fsync=False, snapshot_every=2))
    try:
        with anyio.fail_after(60):
            await node.run()
    except StorageFailed as e:
        print("caught", type(e).__name__, e.operation, Path(e.path).parent.name, "at", node.state.height)

anyio.run(main)
"""


@pytest.mark.slow
def test_a_block_log_that_cannot_be_written_still_stops_the_node(tmp_path: Path) -> None:
    """Snapshots refused too (and warned about), the block log's own refusal (RLIMIT_FSIZE: EFBIG) stops the node
    with StorageFailed on the segment, as before."""
    data = tmp_path / "node"
    _snapshots_blocked(data)
    proc = subprocess.run([sys.executable, "-c", _NODE, str(data)], capture_output=True, text=True, timeout=90,
                          preexec_fn=lambda: _limit_file_size(16384))
    last = proc.stdout.strip().splitlines()[-1:]
    assert last and last[0].split()[:4] == ["caught", "StorageFailed", "write", "blocks"], \
        proc.stdout[-2000:] + proc.stderr[-2000:]
    assert int(last[0].split()[-1]) > 4 and "snapshot.not_written" in proc.stderr, proc.stderr[-2000:]


async def test_an_epoch_index_that_cannot_be_written_is_said_at_the_1st_and_10th_failure(tmp_path: Path) -> None:
    """The epoch index is a cache too: its refused writes are said as the snapshots' are (it was one warning per
    epoch, for ever, on a full disk), and sealing goes on. Made real for root: subnet 1's index folder is a file."""
    import attrs

    from taonet.ledger import DEV_SUBNET_DEFAULTS

    from .nodes import dev_wallet

    data = tmp_path / "node"
    (data / "chain" / "epochs").mkdir(parents=True)
    (data / "chain" / "epochs" / "1").write_text("not a folder")
    with capture_logs() as logs:
        async with running_node(data, hyper=attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=1), block_time=0.02) as (
                node, sub):
            with anyio.fail_after(60):
                assert (await sub.create_subnet(dev_wallet(tmp_path, "owner", "//Alice"))).success
                while len([e for e in logs if e["event"] == "epoch_index.not_written"]) < 2:
                    await sub.wait_for_block(timeout=30)
            assert node.halted is None
    said = [e for e in logs if e["event"] == "epoch_index.not_written"]
    assert [e["failures"] for e in said] == [1, 10], said
    assert said[0]["log_level"] == "warning"
