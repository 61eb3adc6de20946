"""A replica outlives its leader: it serves what it holds while the leader is away, refuses forwarded writes at once,
and follows again (catching up) when the leader comes back on the same chain; it stops on another chain. It reports
the leader's block time, not its own config's."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import attrs
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Node, NodeConfig, Subtensor
from taonet.kernel.client import RpcClient
from taonet.kernel.errors import NoNode
from taonet.ledger import DEV_SUBNET_DEFAULTS, FileStore, Keypair, SignedBlock, dev_genesis
from taonet.ledger.errors import ChainBroken, InvalidBlock

from .nodes import TAONET, read_addresses, replica, stop

BLOCK_TIME = 0.1


def _free_ports() -> tuple[int, int]:
    """An RPC port whose +2 (the node's actors' channel) is free too, and a feed port: a leader restarted on them
    listens where its replica dials."""
    for _ in range(50):
        with contextlib.ExitStack() as stack:
            socks = []
            try:
                first = stack.enter_context(socket.socket())
                first.bind(("127.0.0.1", 0))
                base = first.getsockname()[1]
                socks.append(first)
                for port in (base + 1, base + 2):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
                    socks.append(s)
            except OSError:
                continue
            return base, base + 1
    raise RuntimeError("no three free ports in a row")


@contextlib.contextmanager
def _leader(data_dir: Path, rpc: int, feed: int) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`taonet node run --dev` on fixed ports; stopped (SIGTERM, then SIGKILL) at the end if still running."""
    proc = subprocess.Popen([*TAONET, "node", "run", "--dev", "--block-time", str(BLOCK_TIME), "--data-dir",
                             str(data_dir), "--rpc", f"tcp://127.0.0.1:{rpc}", "--feed", f"tcp://127.0.0.1:{feed}",
                             "--no-fsync", "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc, read_addresses(proc)
    finally:
        stop(proc)


async def _until(what: str, ok: object, timeout: float) -> None:
    """Poll ``ok()`` every 50 ms until it is true, at most ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not ok():  # type: ignore[operator]
            await anyio.sleep(0.05)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_replica_survives_its_leader_killed_and_restarted_and_catches_up(tmp_path: Path) -> None:
    """The leader (a process) is killed with SIGKILL: the replica keeps its RPC up and answers reads, says in info
    and metrics that the leader is unreachable, refuses a forwarded write at once (NoNode); the leader restarted on
    the same data directory and ports is followed again, the blocks missed meanwhile caught up, the same chain."""
    rpc_port, feed_port = _free_ports()
    rep = replica(tmp_path / "replica", f"tcp://127.0.0.1:{rpc_port}")
    with capture_logs() as logs:
        async with anyio.create_task_group() as tg:
            with _leader(tmp_path / "leader", rpc_port, feed_port) as (proc, leader_addresses):
                with anyio.fail_after(20):
                    addresses = await tg.start(rep.run)
                async with RpcClient(addresses["rpc"], timeout=5.0) as client:
                    info = await client.call("info")
                    assert info["block_time"] == BLOCK_TIME  # the leader's, not the config's 12 s
                    assert info["leader_reachable"] is True
                    assert rep.state is not None
                    await _until("blocks", lambda: rep.state.height >= 3, 15)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
                    await _until("the outage noticed", lambda: rep.leader_down_since is not None, 15)
                    held = rep.state.height
                    info = await client.call("info")
                    assert info["head"] == held and info["leader_reachable"] is False
                    metrics = await client.call("metrics")
                    assert metrics["leader_reachable"] is False and metrics["leader_down_s"] >= 0
                    assert "failed" in metrics["leader_error"] or "no reply" in metrics["leader_error"]
                    started = time.monotonic()
                    with pytest.raises(NoNode, match="leader has not answered"):
                        await client.call("next_nonce", address=info["authority"])
                    assert time.monotonic() - started < 2.0  # at once, not after a call timeout
                    assert (await client.call("head"))["number"] == held
            with _leader(tmp_path / "leader", rpc_port, feed_port) as (proc, leader_addresses):
                async with RpcClient(leader_addresses["rpc"], timeout=5.0) as leader:
                    await _until("the leader back", lambda: rep.leader_down_since is None, 20)
                    await _until("following again", lambda: rep.state.height >= held + 5, 10)
                    height = rep.state.height
                    assert rep.store is not None
                    for n in (held, held + 1, height):
                        raw = await leader.call("block", number=n)
                        assert SignedBlock.from_bytes(raw).hash == rep.store.get(n).hash
                async with RpcClient(addresses["rpc"], timeout=5.0) as client:
                    assert (await client.call("info"))["leader_reachable"] is True
                tg.cancel_scope.cancel()
    events = [e["event"] for e in logs]
    assert events.count("replica.leader_unreachable") == 1 and events.count("replica.leader_back") == 1
    back = next(e for e in logs if e["event"] == "replica.leader_back")
    assert back["attempts"] >= 1 and back["down_s"] > 0
    assert rep.leader_error is not None  # kept after the leader is back


@pytest.mark.anyio
@pytest.mark.parametrize("other", ["genesis", "fork", "restored"])
async def test_a_replica_stops_when_its_leader_comes_back_with_another_chain(other: str, tmp_path: Path) -> None:
    """A leader restarted on the same ports with another genesis, with the same genesis and other blocks (a chain
    sealed anew), or restored from an older copy of its log (behind the replica, then sealing anew): the replica
    does not mix the chains; run ends with InvalidBlock (the CLI's exit 7) saying so, logged once, its log left as
    it was (a restored leader was followed, its blocks refused for ever once it passed the replica's head)."""
    rpc_port, feed_port = _free_ports()
    ports = {"rpc": f"tcp://127.0.0.1:{rpc_port}", "feed": f"tcp://127.0.0.1:{feed_port}"}
    rep = replica(tmp_path / "replica", ports["rpc"])

    def leader(data_dir: Path, *, rpc: str = ports["rpc"], feed: str = ports["feed"], **genesis_opts: object) -> Node:
        genesis, authority = dev_genesis(**genesis_opts)  # type: ignore[arg-type]
        # the logical clock: a leader restored from a copy of its log seals the very blocks it sealed before, until a
        # submission makes one differ
        return Node(NodeConfig(data_dir=data_dir, authority=authority, genesis=genesis, block_time=0.05,
                               fsync=False, rpc=rpc, feed=feed, clock="logical" if other == "restored" else "wall"))

    opts: dict[str, object] = {}
    if other == "restored":  # the leader's log at block 5, copied: it comes back from that copy, behind the replica
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                a = leader(tmp_path / "a", rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0")
                await tg.start(a.run)
                await _until("blocks", lambda: a.state is not None and a.state.height >= 5, 8)
                tg.cancel_scope.cancel()
        shutil.copytree(tmp_path / "a", tmp_path / "c")
    elif other == "genesis":
        opts["subnet_defaults"] = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=7)
    else:  # the same genesis, its blocks sealed beforehand elsewhere: they differ from the replica's
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                b = leader(tmp_path / "b", rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0")
                await tg.start(b.run)
                await _until("blocks", lambda: b.state is not None and b.state.height >= 8, 8)
                tg.cancel_scope.cancel()

    ended: list[BaseException | None] = []

    async def run_replica(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            await rep.run(task_status=task_status)
        except InvalidBlock as e:
            ended.append(e)
        else:
            ended.append(None)

    with capture_logs() as logs, anyio.fail_after(25):
        async with anyio.create_task_group() as outer:
            async with anyio.create_task_group() as tg:
                await tg.start(leader(tmp_path / "a").run)
                await outer.start(run_replica)
                ahead = 60 if other == "restored" else 3  # the restored leader is back well before it passes it
                await _until("blocks", lambda: rep.state is not None and rep.state.height >= ahead, 10)
                tg.cancel_scope.cancel()
            await _until("the outage noticed", lambda: rep.leader_down_since is not None, 10)
            held = rep.state.height  # type: ignore[union-attr]
            async with anyio.create_task_group() as tg:
                back = await tg.start(leader(tmp_path / ("c" if other == "restored" else "b"), **opts).run)
                if other == "restored":  # once followed again, behind the replica: its next blocks differ
                    await _until("the leader back", lambda: rep.leader_down_since is None, 10)
                    async with Subtensor(back["rpc"]) as sub:
                        await sub.transfer(Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob").ss58_address, 10**9,
                                           wait_for_inclusion=False)
                await _until("the replica stopped", lambda: bool(ended), 15)
                tg.cancel_scope.cancel()
    failure = ended[0]
    assert isinstance(failure, InvalidBlock), failure
    assert ("another chain" if other == "genesis" else "forked") in str(failure), failure
    assert [e["event"] for e in logs].count("replica.leader_forked" if other == "restored"
                                            else "replica.leader_other_chain") == 1
    store = FileStore(tmp_path / "replica" / "chain", fsync=False)
    try:
        assert store.verify().blocks == held + 1
    finally:
        store.close()


@pytest.mark.anyio
@pytest.mark.parametrize("replica_ahead", [True, False])
async def test_a_replica_on_a_data_dir_of_another_chain_of_the_same_genesis_stops_at_start(
        replica_ahead: bool, tmp_path: Path) -> None:
    """`node follow --data-dir` on a directory holding another dev chain than the leader's (the same genesis, other
    blocks), longer or shorter than the leader's: run ends before serving with ChainBroken naming the fork (it
    followed, refusing the leader's next block with backoff for ever); the directory's log is left as it was."""
    async def seal(data_dir: Path, height: int) -> None:
        genesis, authority = dev_genesis()
        node = Node(NodeConfig(data_dir=data_dir, authority=authority, genesis=genesis, block_time=0.05,
                               fsync=False, rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0"))
        with anyio.fail_after(15):
            async with anyio.create_task_group() as tg:
                await tg.start(node.run)
                await _until("blocks", lambda: node.state is not None and node.state.height >= height, 12)
                tg.cancel_scope.cancel()

    await seal(tmp_path / "mine", 12 if replica_ahead else 4)
    with FileStore(tmp_path / "mine" / "chain", fsync=False) as store:
        held = store.height
    await seal(tmp_path / "leader", 6)
    genesis, authority = dev_genesis()
    lead = Node(NodeConfig(data_dir=tmp_path / "leader", authority=authority, genesis=genesis, block_time=0.05,
                           fsync=False, rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0"))
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            addresses = await tg.start(lead.run)
            rep = replica(tmp_path / "mine", addresses["rpc"])
            with pytest.raises(ChainBroken, match="its chain forked from this one") as caught:
                await rep.run()
            tg.cancel_scope.cancel()
    assert 0 < caught.value.number <= held
    with FileStore(tmp_path / "mine" / "chain", fsync=False) as store:
        assert store.verify().blocks == held + 1


@pytest.mark.slow
def test_node_follow_keeps_running_across_a_leader_restart_and_shows_its_block_time(tmp_path: Path) -> None:
    """`taonet node follow` (a process) against a leader stopped with SIGTERM and started again 2 s later on the same
    data directory and ports: the replica does not exit, `node status` on it says the leader's block time (not
    12 s) and, during the outage, leader_reachable false; it then follows the restarted leader."""
    rpc_port, feed_port = _free_ports()
    leader_rpc = f"tcp://127.0.0.1:{rpc_port}"
    log = tmp_path / "follow.log"
    with _leader(tmp_path / "leader", rpc_port, feed_port) as (proc, _), log.open("w") as log_file:
        follower = subprocess.Popen([*TAONET, "node", "follow", "--from", leader_rpc, "--data-dir",
                                     str(tmp_path / "replica"), "--rpc", "tcp://127.0.0.1:0", "--feed",
                                     "tcp://127.0.0.1:0", "--log-level", "info"],
                                    stdout=subprocess.PIPE, stderr=log_file, text=True)
        try:
            replica_rpc = read_addresses(follower)["rpc"]
            table = _status(replica_rpc, "--wide")
            assert f"{BLOCK_TIME:g} s" in table and "12 s" not in table
            assert f"tcp://127.0.0.1:{rpc_port} (answers)" in table  # the leader row
            stop(proc)
            deadline = time.monotonic() + 15
            while _status_json(replica_rpc)["leader_reachable"]:
                assert time.monotonic() < deadline, "the replica did not notice its leader stopped"
                time.sleep(0.2)
            assert "(not answering: reads go on from here)" in _status(replica_rpc, "--wide")
            assert follower.poll() is None
            held = _status_json(replica_rpc)["head"]
            time.sleep(1.0)
            with _leader(tmp_path / "leader", rpc_port, feed_port):
                deadline = time.monotonic() + 20
                while not ((st := _status_json(replica_rpc))["leader_reachable"] and st["head"] > held + 3):
                    assert follower.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the replica did not follow the restarted leader"
                    time.sleep(0.2)
                assert st["block_time"] == BLOCK_TIME
        finally:
            code = stop(follower)
    err = log.read_text()
    assert code == 0, err
    assert "replica.leader_unreachable" in err and "replica.leader_back" in err
    assert "error:" not in err


def _status(rpc: str, *args: str) -> str:
    out = subprocess.run([*TAONET, "node", "status", "-e", rpc, "--timeout", "5", *args], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _status_json(rpc: str) -> dict[str, object]:
    return json.loads(_status(rpc, "--json"))
