"""A replica whose leader is started anew on its address (its data directory wiped, the same dev genesis) while the
replica is ahead of it: the replica ends (exit 7) naming the fork within seconds, not once the new chain passes its
head; a leader merely behind on the same blocks (restored from an older copy) is followed, with one warning."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Node, NodeConfig
from taonet.ledger import dev_genesis

from .nodes import TAONET, read_addresses, replica, stop
from .test_replica_leader_restart import _free_ports, _until


def _leader(data_dir: Path, rpc: int, block_time: float) -> subprocess.Popen[str]:
    """`taonet node run --dev` on fixed ports (the feed on rpc + 1)."""
    return subprocess.Popen([*TAONET, "node", "run", "--dev", "--block-time", str(block_time), "--data-dir",
                             str(data_dir), "--rpc", f"tcp://127.0.0.1:{rpc}", "--feed", f"tcp://127.0.0.1:{rpc + 1}",
                             "--no-fsync", "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _head(rpc: str) -> int:
    out = subprocess.run([*TAONET, "node", "status", "-e", rpc, "--json", "--timeout", "5"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return int(json.loads(out.stdout)["head"])


@pytest.mark.slow
def test_a_replica_whose_leader_is_wiped_and_restarted_with_the_same_dev_genesis_exits_7_naming_the_fork(
        tmp_path: Path) -> None:
    """`node follow` ahead of its leader's new chain: the leader (`--dev`) is killed with SIGKILL, its data directory
    moved away, and it is started fresh on the same ports 2 s later, sealing slower than the replica's head could be
    passed within the bound; the replica exits 7 within 30 s with one error line saying the leader's chain forked
    from its own, and logs replica.leader_forked (it sat at its head, serving the old chain, saying nothing)."""
    port, _ = _free_ports()
    leader_rpc = f"tcp://127.0.0.1:{port}"
    log = tmp_path / "follow.log"
    leader = _leader(tmp_path / "leader", port, 0.1)
    follower = None
    try:
        read_addresses(leader)
        with log.open("w") as log_file:
            follower = subprocess.Popen([*TAONET, "node", "follow", "--from", leader_rpc, "--data-dir",
                                         str(tmp_path / "replica"), "--rpc", "tcp://127.0.0.1:0", "--feed",
                                         "tcp://127.0.0.1:0", "--log-level", "info"],
                                        stdout=subprocess.PIPE, stderr=log_file, text=True)
        replica_rpc = read_addresses(follower)["rpc"]
        deadline = time.monotonic() + 30
        while (held := _head(replica_rpc)) < 60:
            assert time.monotonic() < deadline and follower.poll() is None, log.read_text()
            time.sleep(0.3)
        leader.send_signal(signal.SIGKILL)
        stop(leader)
        (tmp_path / "leader").rename(tmp_path / "old-leader")
        time.sleep(2.0)
        leader = _leader(tmp_path / "leader", port, 1.0)  # 30 s: about 30 blocks, well below the replica's head
        read_addresses(leader)
        try:
            code = follower.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the replica still runs at head {_head(replica_rpc)} (held {held}), its leader "
                                 f"at {_head(leader_rpc)}: {log.read_text()[-2000:]}") from None
    finally:
        if follower is not None:
            stop(follower)  # reaps it (at once if it ended), closes its output
        stop(leader)
    err = log.read_text()
    assert code == 7, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "its chain forked from this one" in errors[0], errors
    assert leader_rpc in errors[0], errors
    assert err.count("replica.leader_forked") == 1, err


@pytest.mark.anyio
async def test_a_leader_restored_from_an_older_copy_of_the_same_chain_is_followed_with_one_warning(
        tmp_path: Path) -> None:
    """A leader (logical clock: it seals again the very blocks it sealed) restarted from a copy of its log at block
    5 while the replica holds 40 blocks: the replica logs replica.leader_behind once, keeps serving (its head stays)
    and follows the leader once it passes the replica's head; it never ends."""
    port, feed = _free_ports()
    ports = {"rpc": f"tcp://127.0.0.1:{port}", "feed": f"tcp://127.0.0.1:{feed}"}

    def leader(data_dir: Path, **over: str) -> Node:
        genesis, authority = dev_genesis()
        return Node(NodeConfig(data_dir=data_dir, authority=authority, genesis=genesis, block_time=0.1,
                               fsync=False, clock="logical", **{**ports, **over}))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            a = leader(tmp_path / "a", rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0")
            await tg.start(a.run)
            await _until("blocks", lambda: a.state is not None and a.state.height >= 5, 8)
            tg.cancel_scope.cancel()
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    rep = replica(tmp_path / "replica", ports["rpc"])
    ended: list[BaseException | None] = []

    async def run_replica(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            await rep.run(task_status=task_status)
        except Exception as e:
            ended.append(e)
        else:
            ended.append(None)

    with capture_logs() as logs, anyio.fail_after(40):
        async with anyio.create_task_group() as outer:
            async with anyio.create_task_group() as tg:
                await tg.start(leader(tmp_path / "a").run)
                await outer.start(run_replica)
                await _until("blocks", lambda: rep.state is not None and rep.state.height >= 40, 15)
                tg.cancel_scope.cancel()
            held = rep.state.height  # type: ignore[union-attr]
            async with anyio.create_task_group() as tg:
                await tg.start(leader(tmp_path / "copy").run)
                await _until("the warning", lambda: any(e["event"] == "replica.leader_behind" for e in logs), 10)
                assert rep.state.height == held and not ended  # type: ignore[union-attr]
                await _until("following again", lambda: rep.state.height > held + 5, 15)  # type: ignore[union-attr]
                tg.cancel_scope.cancel()
            assert not ended, ended
            outer.cancel_scope.cancel()
    events = [e["event"] for e in logs]
    assert events.count("replica.leader_behind") == 1, events
    assert "replica.leader_forked" not in events and "replica.leader_other_chain" not in events, events
