"""The node and a replica keep the epoch index beside their logs (the same records, each the inputs of its epoch);
a node run with --no-epoch-index keeps none."""

from __future__ import annotations

from pathlib import Path

import anyio
import attrs
import pytest

from taonet.kernel import Subtensor
from taonet.ledger import (
    DEV_SUBNET_DEFAULTS,
    TAO,
    FileStore,
    epoch_netuids,
    pack_epoch_inputs,
    replay,
)

from .nodes import Wallet, node_process, replica, running_node

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

HYPER = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=3)
OWNER = Wallet("Alice")


def _epochs(store: FileStore, upto: int) -> list[tuple[int, int]]:
    return sorted((n, k) for n in range(1, upto + 1) for k in epoch_netuids(store.get(n)))


async def test_a_replica_keeps_the_same_epoch_index_as_its_leader(tmp_path: Path) -> None:
    """Every epoch the leader sealed has its record on the leader and on the replica, the same bytes, each the
    packed inputs of the state before its block."""
    async with running_node(tmp_path / "leader", hyper=HYPER, block_time=0.05) as (leader, sub):
        assert (await sub.create_subnet(OWNER)).success
        assert (await sub.add_stake(OWNER, OWNER.hotkey, 10 * TAO)).success
        follower = replica(tmp_path / "replica", sub.endpoint)
        async with anyio.create_task_group() as tg:
            addresses = await tg.start(follower.run)
            async with Subtensor(addresses["rpc"]) as rsub:
                await rsub.wait_for_block(40, timeout=60)
            tg.cancel_scope.cancel()
        m = await sub.call("metrics")  # the leader times each write (after publishing the block)
        assert 0 < m["epoch_index_ms_p50"] <= m["epoch_index_ms_p99"]
        assert leader.store is not None and follower.store is not None
        upto = min(leader.store.height, follower.store.height) - 1  # the leader writes a record after publishing
        epochs = _epochs(leader.store, upto)
        assert len([k for _, k in epochs if k == 1]) >= 5
        assert [r for r in leader.store.epoch_index() if r[0] <= upto] == epochs
        assert [r for r in follower.store.epoch_index() if r[0] <= upto] == epochs
        for number, netuid in epochs:
            raw = leader.store.read_epoch_inputs(number, netuid)
            assert raw is not None and raw == follower.store.read_epoch_inputs(number, netuid)
            assert raw == pack_epoch_inputs(replay(leader.store, to=number - 1, verify_signatures=False), netuid)


async def test_a_node_run_with_no_epoch_index_keeps_none(tmp_path: Path) -> None:
    """`taonet node run --no-epoch-index`: epochs are sealed, no record is written (no epochs/ directory)."""
    data = tmp_path / "node"
    with node_process(data, "--no-epoch-index", "--no-fsync", block_time=0.1) as (_proc, addresses):
        async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
            assert (await sub.create_subnet(OWNER)).success
            created = await sub.get_current_block()
            await sub.wait_for_block(created + 25, timeout=60)
    with FileStore(data / "chain", read_only=True) as store:
        assert _epochs(store, store.height)
        assert store.epoch_index() == [] and not (data / "chain" / "epochs").exists()
