"""One writer per data directory: a second node or replica is refused naming the holder; readers take no lock."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import anyio
import pytest

from taonet.kernel import Node, NodeConfig, Replica, Subtensor
from taonet.kernel.errors import DataDirLocked
from taonet.kernel.node import default_data_dir, default_replica_dir, lock_data_dir
from taonet.ledger import FileStore, Keypair, dev_genesis, replay
from taonet.ledger.errors import InvalidBlock, StorageFailed

from .nodes import TAONET, node_process, read_addresses, running_node, stop

pytestmark = pytest.mark.anyio


def _dev_config(data_dir: Path) -> NodeConfig:
    genesis, authority = dev_genesis()
    return NodeConfig(data_dir=data_dir, authority=authority, genesis=genesis, block_time=0.1,
                      rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0", fsync=False)


@pytest.mark.slow
async def test_a_second_writer_is_refused_while_a_reader_reads_beside_the_node(tmp_path: Path) -> None:
    """Beside a running node process: a second Node, a Replica and a second `taonet node run` on its directory get
    DataDirLocked naming its pid, before touching the log; a read-only FileStore reads the growing log meanwhile."""
    data = tmp_path / "node"
    with node_process(data, block_time=0.05) as (proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
            await sub.wait_for_block(3, timeout=30.0)
            reader = FileStore(data / "chain", read_only=True)
            try:
                assert reader.height >= 3
                with pytest.raises(DataDirLocked) as err:
                    await Node(_dev_config(data)).run()
                assert err.value.pid == proc.pid and err.value.path == str(data)
                assert "stop that process" in str(err.value)
                with anyio.fail_after(10):  # refused before it contacts the (absent) leader
                    with pytest.raises(DataDirLocked):
                        await Replica(_dev_config(data), "tcp://127.0.0.1:9").run()
                second = subprocess.run([*TAONET, "node", "run", "--dev", "--data-dir", str(data),
                                         "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0"],
                                        capture_output=True, text=True, timeout=60)
                assert second.returncode == 7 and f"in use by process {proc.pid}" in second.stderr  # refused data
                assert [ln for ln in second.stderr.splitlines() if ln.startswith("error:")] == [
                    second.stderr.strip().splitlines()[-1]] and "Traceback" not in second.stderr
                assert (data / "LOCK").read_text().strip() == str(proc.pid)

                head = await sub.call("head")
                with anyio.fail_after(20):
                    while reader.refresh() < head["number"]:
                        await anyio.sleep(0.05)
                assert replay(reader, to=head["number"], use_snapshots=False).digest() == head["digest"]
                assert reader.verify().blocks == reader.height + 1
            finally:
                reader.close()
        assert await sub.wait_for_block(head["number"] + 5, timeout=30.0) > head["number"]


async def test_the_lock_is_released_when_run_ends(tmp_path: Path) -> None:
    """After a node's run ends (cancelled, or refused on opening) the directory can be taken again."""
    data = tmp_path / "node"
    async with running_node(data) as (_node, sub):
        await sub.wait_for_block(2, timeout=30.0)
    lock_data_dir(data).release()
    with pytest.raises(InvalidBlock, match="authority"):
        await Node(NodeConfig(data_dir=data, authority=Keypair.generate(), block_time=0.1,
                              rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0")).run()
    lock_data_dir(data).release()


def test_the_lock_is_released_when_its_process_dies(tmp_path: Path) -> None:
    """kill -9 of the holder frees the directory: no stale lock to clean up."""
    data = tmp_path / "node"
    with node_process(data) as (proc, _addresses):
        with pytest.raises(DataDirLocked):
            lock_data_dir(data)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    lock_data_dir(data).release()


def test_a_deleted_lock_file_does_not_let_a_second_writer_in(tmp_path: Path) -> None:
    """`rm LOCK` beside a running node (an operator taking it for a stale lock after a crash): a second node on the
    directory is still refused, naming the holder as it can (the pid was in the deleted file); before, it took a new
    LOCK and both wrote the log, which forked. The directory is free again once the holder is gone."""
    data = tmp_path / "node"
    with node_process(data) as (proc, _addresses):
        (data / "LOCK").unlink()
        with pytest.raises(DataDirLocked) as err:
            lock_data_dir(data)
        assert err.value.pid == -1 and str(err.value) == (
            f"{data} is in use by another process: stop that process, or use another --data-dir")
        second = subprocess.run([*TAONET, "node", "run", "--dev", "--data-dir", str(data), "--rpc",
                                 "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0"],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 7 and "is in use by another process" in second.stderr, second.stderr
        stop(proc)
    lock_data_dir(data).release()


def test_a_replica_does_not_default_to_the_node_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`$TAONET_REPLICA_DIR` or ~/.taonet/replica: never the node's default."""
    monkeypatch.delenv("TAONET_DATA_DIR", raising=False)
    monkeypatch.delenv("TAONET_REPLICA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_replica_dir() == tmp_path / ".taonet" / "replica" != default_data_dir()
    monkeypatch.setenv("TAONET_REPLICA_DIR", str(tmp_path / "r"))
    assert default_replica_dir() == tmp_path / "r"


@pytest.mark.slow
async def test_node_follow_without_data_dir_leaves_the_leader_log_alone(tmp_path: Path) -> None:
    """`taonet node follow --from ...` with no --data-dir writes its own directory, not the leader's default."""
    leader_dir, replica_dir = tmp_path / "leader", tmp_path / "replica"
    env = {"TAONET_DATA_DIR": str(leader_dir), "TAONET_REPLICA_DIR": str(replica_dir), "HOME": str(tmp_path)}
    with node_process(leader_dir, block_time=0.05, env=env) as (_leader, addresses):
        follower = subprocess.Popen([*TAONET, "node", "follow", "--from", addresses["rpc"],
                                     "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                    env={**os.environ, **env})
        try:
            replica = read_addresses(follower)
            async with Subtensor(replica["rpc"], timeout=20.0) as sub:
                assert await sub.wait_for_block(5, timeout=30.0) >= 5
            assert (replica_dir / "LOCK").read_text().strip() == str(follower.pid)
        finally:
            stop(follower)
    with FileStore(leader_dir / "chain", read_only=True) as leader, \
            FileStore(replica_dir / "chain", read_only=True) as mine:
        assert leader.verify().blocks == leader.height + 1
        assert mine.height >= 5 and mine.get(5).hash == leader.get(5).hash


def test_a_data_dir_that_cannot_be_created_is_a_storage_error(tmp_path: Path) -> None:
    """--data-dir under a plain file: StorageFailed naming the path, not a bare OSError."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageFailed) as err:
        lock_data_dir(tmp_path / "file" / "node")
    assert err.value.operation == "open" and "file" in err.value.path
