"""A damaged log is refused, never silently cut; a failing disk stops sealing cleanly and loses nothing."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import anyio
import pytest

from taonet.kernel import Node, NodeConfig, Subtensor
from taonet.kernel.errors import KernelError
from taonet.ledger import FileStore, SignedBlock, dev_genesis, replay
from taonet.ledger.errors import CorruptLog, TaonetError

from .nodes import TAONET, node_process, read_addresses, running_node, stop

pytestmark = pytest.mark.anyio


def _files(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _dev_node(data_dir: Path) -> Node:
    genesis, authority = dev_genesis()
    return Node(NodeConfig(data_dir=data_dir, authority=authority, genesis=genesis, block_time=0.1,
                           rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0", fsync=False))


@pytest.mark.slow
async def test_a_flipped_byte_with_a_deleted_index_is_refused_and_the_log_is_untouched(tmp_path: Path) -> None:
    """The reproduction of issue 10: ~50 blocks, one byte flipped mid-segment, index deleted, restart: the node
    refuses with CorruptLog (as itself, not in an ExceptionGroup) and the log is byte for byte as it was."""
    data = tmp_path / "node"
    with node_process(data, block_time=0.05) as (proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
            await sub.wait_for_block(50, timeout=60.0)
        assert stop(proc) is not None
    with FileStore(data / "chain", read_only=True) as store:
        assert store.height >= 50
        seg, offset = store.location(store.height // 2)
    with open(seg, "r+b") as f:
        f.seek(offset + 40)
        b = f.read(1)
        f.seek(offset + 40)
        f.write(bytes([b[0] ^ 0x01]))
    os.remove(data / "chain" / "index")
    before = _files(data / "chain")

    again = subprocess.run([*TAONET, "node", "run", "--dev", "--block-time", "0.05", "--data-dir", str(data),
                            "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0"],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 7  # refused data, one line, no traceback
    assert "restore the data directory from a copy" in again.stderr.strip().splitlines()[-1]
    assert "Traceback" not in again.stderr and "ExceptionGroup" not in again.stderr
    assert "block.sealed" not in again.stdout + again.stderr
    assert _files(data / "chain") == before

    with pytest.raises(CorruptLog) as err:
        await _dev_node(data).run()
    assert err.value.path == seg and err.value.offset == offset
    assert _files(data / "chain") == before


async def _stopped_node_log(data: Path, blocks: int) -> None:
    async with running_node(data) as (_node, sub):
        await sub.wait_for_block(blocks, timeout=30.0)


def _reframe(data: Path, number: int, change: object) -> None:
    """Rewrite block ``number``'s record in place with ``change(block) -> block`` and a valid checksum."""
    with FileStore(data / "chain", read_only=True) as store:
        seg, off = store.location(number)
        block = store.get(number)
    raw = change(block).to_bytes()  # type: ignore[operator]
    with open(seg, "r+b") as f:
        f.seek(off)
        n, _ = (int.from_bytes(f.read(4), "little"), f.read(4))
        assert n == len(raw)
        f.seek(off + 4)
        f.write(zlib.crc32(raw).to_bytes(4, "little") + raw)


async def test_a_last_block_with_a_bad_signature_is_refused(tmp_path: Path) -> None:
    """A last block whose record is intact but whose authority signature fails is not folded on: CorruptLog."""
    data = tmp_path / "node"
    await _stopped_node_log(data, 5)
    with FileStore(data / "chain", read_only=True) as store:
        last = store.height
    _reframe(data, last, lambda b: SignedBlock(header=b.header, extrinsics=b.extrinsics, events=b.events,
                                               signature=bytes(64)))
    before = _files(data / "chain")
    with pytest.raises(CorruptLog, match="signature does not verify"):
        await _dev_node(data).run()
    assert _files(data / "chain") == before


async def test_a_snapshot_that_does_not_match_its_header_is_ignored_and_the_node_folds_past_it(
        tmp_path: Path) -> None:
    """A snapshot holding another state than its block's header says is skipped (a warning): the node opens at
    the true state, folded from genesis."""
    data, other = tmp_path / "node", tmp_path / "other"
    async with running_node(data, snapshot_every=4) as (_node, sub):
        await sub.wait_for_block(6, timeout=30.0)
    async with running_node(other, snapshot_every=4, clock="logical") as (_node, sub):
        await sub.wait_for_block(6, timeout=30.0)
    snap = data / "chain" / "snapshots" / f"{4:012d}.snap"
    foreign = (other / "chain" / "snapshots" / f"{4:012d}.snap").read_bytes()
    assert snap.read_bytes() != foreign
    snap.write_bytes(foreign)
    with FileStore(data / "chain", read_only=True) as store:
        truth = replay(store, use_snapshots=False)
    async with running_node(data, snapshot_every=0, block_time=5.0) as (node, _sub):
        assert node.state is not None and node.state.digest() == truth.digest()
        assert node.store is not None and str(snap) in node.store.refused_snapshots


def _limit_file_size(limit: int) -> None:
    """In the child: files may not grow past ``limit`` bytes (writes past it fail with EFBIG, not SIGXFSZ)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@pytest.mark.slow
async def test_a_full_disk_stops_sealing_with_storage_failed_and_loses_nothing(tmp_path: Path) -> None:
    """Segment writes past RLIMIT_FSIZE fail for real (EFBIG): the node stops with StorageFailed, never reports a
    block it did not store, and the log opens, verifies and grows again once there is room."""
    data = tmp_path / "node"
    limit = 16384  # the genesis block and a few dozen empty blocks
    cmd = [*TAONET, "node", "run", "--dev", "--block-time", "0.05", "--data-dir", str(data),
           "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: _limit_file_size(limit),
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    seen = -1
    try:
        addresses = read_addresses(proc)
        async with Subtensor(addresses["rpc"], timeout=2.0) as sub:
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                with anyio.move_on_after(2.0):
                    try:
                        seen = max(seen, await sub.get_current_block())
                    except (KernelError, TaonetError):  # the node is going away
                        break
                await anyio.sleep(0.02)
        proc.wait(30)
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        stop(proc)
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == 7  # refused data: the disk said no
    assert "failed: " in err and "free space or fix the disk, then restart" in err
    assert "Traceback" not in err
    assert seen > 5
    with FileStore(data / "chain", fsync=False) as store:
        assert store.recovered_bytes == 0  # the partial record was cut off when the write failed
        assert (data / "chain" / "blocks" / f"{0:012d}.seg").stat().st_size <= limit
        assert store.height >= seen
        assert store.verify().blocks == store.height + 1
        height = store.height
    with node_process(data, block_time=0.05) as (_proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
            assert await sub.wait_for_block(height + 3, timeout=30.0) >= height + 3


_LIBRARY_NODE = """
import sys
import anyio
from pathlib import Path
from taonet.kernel import Node, NodeConfig
from taonet.ledger import dev_genesis
from taonet.ledger.errors import StorageFailed

async def main() -> None:
    genesis, authority = dev_genesis()
    node = Node(NodeConfig(data_dir=Path(sys.argv[1]), authority=authority, genesis=genesis, block_time=0.02,
                           rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0", fsync=False))
    try:
        with anyio.fail_after(60):
            await node.run()
    except StorageFailed as e:
        print("caught", type(e).__name__, e.operation)
    except BaseException as e:
        print("other", type(e).__name__)

anyio.run(main, backend=sys.argv[2])
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_library_caller_catches_storage_failed_itself_not_an_exception_group(tmp_path: Path,
                                                                                backend: str) -> None:
    """Node.run used from Python on a disk that fills up: the caller's ``except StorageFailed`` catches it (the
    task group's ExceptionGroup and its siblings' cancellations are not what a library user should unwrap)."""
    proc = subprocess.run([sys.executable, "-c", _LIBRARY_NODE, str(tmp_path / "node"), backend],
                          capture_output=True, text=True, timeout=90, preexec_fn=lambda: _limit_file_size(16384))
    last = proc.stdout.strip().splitlines()[-1:]  # after the node's own log lines (structlog's default: stdout)
    assert last and last[0].split()[:2] == ["caught", "StorageFailed"], proc.stdout[-2000:] + proc.stderr[-2000:]
