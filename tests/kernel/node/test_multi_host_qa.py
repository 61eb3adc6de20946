"""A network spread over machines (a QA pass): a leader listening on 0.0.0.0 is used by its replicas and remote
actors at the host they dialled; a remote actor rides out its leader's restart; a replica whose leader was replaced
by another genesis too fast for the outage to be noticed says so; a forwarded write to an absent leader says to
check the leader, not to start a dev node."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from contextlib import aclosing
from pathlib import Path

import anyio
import attrs
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Node, NodeConfig
from taonet.kernel.client import RpcClient
from taonet.kernel.errors import LeaderAway, NoNode
from taonet.kernel.node._follow import BlockFollower
from taonet.ledger import DEV_SUBNET_DEFAULTS, dev_genesis, dump_genesis
from taonet.ledger.errors import InvalidBlock

from .nodes import TAONET, read_addresses, replica, stop
from .test_replica_leader_restart import _free_ports

pytestmark = pytest.mark.anyio


async def _until(ok: object, timeout: float, what: str = "") -> None:
    """Poll ``ok()`` every 50 ms until it is true, at most ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not ok():  # type: ignore[operator]
            await anyio.sleep(0.05)


def _leader(data_dir: Path, host: str, rpc: int, *args: str) -> subprocess.Popen[str]:
    """`taonet node run --dev` listening on ``host`` (0.0.0.0: every interface) at fixed ports, consensus remote."""
    return subprocess.Popen([*TAONET, "node", "run", "--block-time", "0.1", "--data-dir", str(data_dir), "--rpc",
                             f"tcp://{host}:{rpc}", "--feed", f"tcp://{host}:{rpc + 1}", "--remote-actor", "consensus",
                             "--no-fsync", "--log-level", "warning", *(args or ("--dev",))],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _actor(node: str, log: Path) -> subprocess.Popen[str]:
    """`taonet actor run consensus --node NODE`, its JSON log lines in ``log``."""
    with log.open("w") as err:
        return subprocess.Popen([*TAONET, "actor", "run", "consensus", "--node", node, "--log-level", "info"],
                                stdout=subprocess.DEVNULL, stderr=err, text=True)


def _events(log: Path) -> list[dict[str, object]]:
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"event": line})
    return out


async def _head(rpc: str) -> int:
    async with RpcClient(rpc, timeout=5.0) as client:
        return (await client.call("head"))["number"]


@pytest.mark.slow
async def test_a_leader_on_the_wildcard_address_is_followed_and_served_at_the_host_dialled(tmp_path: Path) -> None:
    """A leader run with --rpc tcp://0.0.0.0:P (as docs/launcher.md tells operators): a replica and a remote actor
    given tcp://127.0.0.1:P dial its feed and actors' channel at 127.0.0.1 (not the 0.0.0.0 it announces, which
    on another machine is that machine), the actor answers (the chain moves: consensus runs only there), the
    leader counts their feed connections, and the replica's feed never falls back to polling."""
    port, _ = _free_ports()
    dialled = f"tcp://127.0.0.1:{port}"
    leader = _leader(tmp_path / "leader", "0.0.0.0", port)
    actor_log = tmp_path / "actor.log"
    actor = None
    try:
        assert read_addresses(leader)["feed"] == f"tcp://0.0.0.0:{port + 1}"  # what it announces
        actor = _actor(dialled, actor_log)
        rep = replica(tmp_path / "replica", dialled)
        with capture_logs() as logs:
            async with anyio.create_task_group() as tg:
                with anyio.fail_after(30):
                    await tg.start(rep.run)
                assert rep._follower is not None and rep._follower.feed == f"tcp://127.0.0.1:{port + 1}"
                await _until(lambda: rep.state is not None and rep.state.height >= 25, 30)  # the actor answers
                async with RpcClient(dialled, timeout=5.0) as client:
                    assert (await client.call("metrics"))["feed"]["connections"] >= 2  # the replica's, the actor's
                    lead = (await client.call("head"))["number"]
                await _until(lambda: rep.state.height >= lead, 1.0)  # the feed's pace, not a 2 s poll's
                tg.cancel_scope.cancel()
        assert not [e for e in logs if e["event"] == "follow.feed_not_connected"], logs
        started = next(e for e in _events(actor_log) if e.get("event") == "actor.started")
        assert started["actors"] == f"tcp://127.0.0.1:{port + 2}", started
        assert started["feed"] == f"tcp://127.0.0.1:{port + 1}", started
        assert actor.poll() is None
    finally:
        if actor is not None:
            stop(actor)
        stop(leader)


async def test_a_follower_whose_feed_never_connects_says_so_once_naming_the_address(tmp_path: Path) -> None:
    """A follower given a feed address nothing listens on falls back to asking the head at each quiet spell: it logs
    follow.feed_not_connected once, naming the address it tried, and still follows."""
    genesis, authority = dev_genesis()
    node = Node(NodeConfig(data_dir=tmp_path / "n", authority=authority, genesis=genesis, block_time=0.05,
                           fsync=False, rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0"))
    port, _ = _free_ports()
    nowhere = f"tcp://127.0.0.1:{port}"
    got: list[int] = []
    with capture_logs() as logs, anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            addresses = await tg.start(node.run)
            async with RpcClient(addresses["rpc"], timeout=5.0) as rpc, \
                    BlockFollower(rpc, nowhere, lambda: got[-1] if got else -1, quiet=0.2) as f, \
                    aclosing(f.follow()) as blocks:
                async for block, _ in blocks:
                    got.append(block.number)
                    if block.number >= 20:
                        break
            tg.cancel_scope.cancel()
    warned = [e for e in logs if e["event"] == "follow.feed_not_connected"]
    assert len(warned) == 1, logs
    assert nowhere in warned[0]["note"] and warned[0]["feed"] == nowhere


@pytest.mark.slow
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # processes; the test only reads heads
async def test_a_remote_actor_rides_out_its_leader_killed_and_restarted(tmp_path: Path) -> None:
    """`taonet actor run consensus` against a leader killed with SIGKILL and restarted 8 s later on the same data
    directory and ports: the actor does not exit (it logs actor.leader_gone once), answers the restarted leader
    (the chain moves on without a human: consensus runs only in the actor) and logs actor.leader_back;
    SIGTERM then stops it at once, exit 0."""
    port, _ = _free_ports()
    rpc = f"tcp://127.0.0.1:{port}"
    actor_log = tmp_path / "actor.log"
    leader = _leader(tmp_path / "leader", "127.0.0.1", port)
    actor = None
    try:
        read_addresses(leader)
        actor = _actor(rpc, actor_log)
        deadline = time.monotonic() + 30
        while await _head(rpc) < 15:
            assert time.monotonic() < deadline and actor.poll() is None, actor_log.read_text()
            await anyio.sleep(0.2)
        leader.send_signal(signal.SIGKILL)
        stop(leader)  # reaps it, closes its output
        held = _head_of_log(tmp_path / "leader")
        await anyio.sleep(8.0)  # it exited 4 after ~6 s
        assert actor.poll() is None, actor_log.read_text()
        leader = _leader(tmp_path / "leader", "127.0.0.1", port)
        read_addresses(leader)
        deadline = time.monotonic() + 40
        while await _head(rpc) < held + 25:
            assert time.monotonic() < deadline and actor.poll() is None, actor_log.read_text()
            await anyio.sleep(0.2)
        events = [e.get("event") for e in _events(actor_log)]
        assert events.count("actor.leader_gone") == 1 and "actor.leader_back" in events, events
        stopping = time.monotonic()
        assert stop(actor) == 0
        assert time.monotonic() - stopping < 5
        actor = None
    finally:
        if actor is not None:
            stop(actor)
        stop(leader)


def _head_of_log(data_dir: Path) -> int:
    from taonet.ledger import FileStore

    with FileStore(data_dir / "chain", read_only=True) as store:
        return store.height


@pytest.mark.slow
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # processes; the test only reads heads
async def test_a_remote_actor_stops_at_once_when_its_leader_comes_back_with_another_genesis(tmp_path: Path) -> None:
    """The leader is replaced at its address by a node of another genesis: the actor ends with exit 7 and one line
    saying the node came back with another chain, within seconds of it answering."""
    port, _ = _free_ports()
    rpc = f"tcp://127.0.0.1:{port}"
    actor_log = tmp_path / "actor.log"
    genesis_file = tmp_path / "other.json"
    dump_genesis(dev_genesis(chain_id="other-chain")[0], genesis_file)
    leader = _leader(tmp_path / "leader", "127.0.0.1", port)
    actor = None
    try:
        read_addresses(leader)
        actor = _actor(rpc, actor_log)
        deadline = time.monotonic() + 30
        while await _head(rpc) < 10:
            assert time.monotonic() < deadline and actor.poll() is None, actor_log.read_text()
            await anyio.sleep(0.2)
        stop(leader)
        leader = _leader(tmp_path / "other", "127.0.0.1", port, "--genesis", str(genesis_file), "--authority",
                         "//Authority")
        read_addresses(leader)
        back = time.monotonic()
        try:
            assert actor.wait(30) == 7, actor_log.read_text()
        except subprocess.TimeoutExpired:
            raise AssertionError(actor_log.read_text()[-3000:]) from None
        assert time.monotonic() - back < 20
        errors = [line for line in actor_log.read_text().splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "came back with another chain" in errors[0], errors
    finally:
        if actor is not None:
            stop(actor)
        stop(leader)


async def test_a_replica_whose_leader_is_replaced_by_another_genesis_at_once_says_another_chain(
        tmp_path: Path) -> None:
    """The leader stops and a node of another genesis starts on its ports at once (the outage too short to be
    noticed: the feed reconnects by itself): the replica ends with the documented InvalidBlock "came back with
    another chain (genesis ...)", logging replica.leader_other_chain, not a fork of its chain."""
    port, _ = _free_ports()
    ports = {"rpc": f"tcp://127.0.0.1:{port}", "feed": f"tcp://127.0.0.1:{port + 1}"}

    def leader(data_dir: Path, **opts: object) -> Node:
        genesis, authority = dev_genesis(**opts)  # type: ignore[arg-type]
        return Node(NodeConfig(data_dir=data_dir, authority=authority, genesis=genesis, block_time=0.05,
                               fsync=False, **ports))

    rep = replica(tmp_path / "replica", ports["rpc"])
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
                await _until(lambda: rep.state is not None and rep.state.height >= 3, 10)
                tg.cancel_scope.cancel()
            async with anyio.create_task_group() as tg:
                await tg.start(leader(tmp_path / "b", subnet_defaults=attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=7)).run)
                await _until(lambda: bool(ended), 15)
                tg.cancel_scope.cancel()
    assert rep.leader_down_since is None  # the outage was never noticed: the feed's blocks told
    assert isinstance(ended[0], InvalidBlock) and "came back with another chain (genesis" in str(ended[0]), ended
    events = [e["event"] for e in logs]
    assert events.count("replica.leader_other_chain") == 1 and "replica.leader_forked" not in events, events


async def test_a_write_through_a_replica_whose_leader_is_away_says_to_check_the_leader(tmp_path: Path) -> None:
    """A forwarded write while the leader does not answer: LeaderAway (a NoNode, exit 4) naming the leader, saying to
    check it and send again once it answers, not to start a dev node (the user may be on another machine)."""
    genesis, authority = dev_genesis()
    node = Node(NodeConfig(data_dir=tmp_path / "n", authority=authority, genesis=genesis, block_time=0.05,
                           fsync=False, rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0"))
    with anyio.fail_after(30):
        async with anyio.create_task_group() as outer:
            async with anyio.create_task_group() as tg:
                addresses = await tg.start(node.run)
                rep = replica(tmp_path / "replica", addresses["rpc"])
                served = await outer.start(rep.run)
                await _until(lambda: rep.state is not None and rep.state.height >= 2, 10)
                tg.cancel_scope.cancel()
            await _until(lambda: rep.leader_down_since is not None, 15)
            async with RpcClient(served["rpc"], timeout=5.0) as client:
                with pytest.raises(NoNode) as caught:
                    await client.call("next_nonce", address=authority.public_key)
            outer.cancel_scope.cancel()
    message = str(caught.value)
    assert isinstance(caught.value, LeaderAway), message
    assert "node run --dev" not in message, message
    assert f"check that the leader at {addresses['rpc']} runs" in message and "once it answers" in message, message
