"""The ``metrics`` RPC of a node and of a replica says what their process holds: its resident memory and its
cyclic GC's state per generation (live figures, not a copy taken at start), and a node's mempool bounds."""

from __future__ import annotations

import gc
from pathlib import Path

import anyio
import pytest

from taonet.kernel import Subtensor

from .nodes import replica, running_node

pytestmark = pytest.mark.anyio


def _check_process(m: dict) -> None:
    assert isinstance(m["rss_bytes"], int) and m["rss_bytes"] > 10 << 20, m["rss_bytes"]
    assert m["gc_thresholds"] == list(gc.get_threshold()), m
    assert m["gc_frozen"] == gc.get_freeze_count(), m
    for key in ("gc_counts", "gc_collections", "gc_collected"):
        assert len(m[key]) == 3 and all(type(v) is int and v >= 0 for v in m[key]), m


async def test_a_nodes_metrics_say_its_memory_its_gc_and_its_mempool_bounds(tmp_path: Path) -> None:
    """A node with a mempool of 1,234 extrinsics and 5 MiB: its metrics carry the bounds, the process's RSS and
    the GC's figures; a full collection in the process shows in the next answer's gen-2 count."""
    async with running_node(tmp_path, mempool_limit=1234, mempool_limit_bytes=5 << 20) as (_node, sub):
        m = await sub.call("metrics")
        assert (m["mempool_max"], m["mempool_max_bytes"]) == (1234, 5 << 20), m
        _check_process(m)
        gc.collect()
        again = await sub.call("metrics")
        assert again["gc_collections"][2] == m["gc_collections"][2] + 1, (m["gc_collections"],
                                                                          again["gc_collections"])


async def test_a_replicas_metrics_say_its_memory_and_its_gc(tmp_path: Path) -> None:
    """A replica (its own process in production, the same figures): RSS and the GC's state in its metrics."""
    async with running_node(tmp_path / "node") as (node, _sub):
        r = replica(tmp_path / "replica", node.addresses["rpc"])
        async with anyio.create_task_group() as tg:
            addresses = await tg.start(r.run)
            async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
                _check_process(await sub.call("metrics"))
            tg.cancel_scope.cancel()


async def test_a_tuned_node_runs_a_full_collection_between_seals_every_gc_full_every(tmp_path: Path) -> None:
    """``tune_gc`` with ``gc_full_every=0.3`` on 0.1-s blocks: within 3 s the node has run full collections itself
    (gen 2's count rises, ``gc_full_last_ms`` is their pause), each right after a seal."""
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0, "the test process froze objects before this test"
    try:
        async with running_node(tmp_path, tune_gc=True, gc_full_every=0.3) as (_node, sub):
            first = await sub.call("metrics")
            with anyio.fail_after(10):
                while (m := await sub.call("metrics"))["gc_collections"][2] < first["gc_collections"][2] + 2:
                    await anyio.sleep(0.1)
            assert m["gc_full_last_ms"] > 0 and m["gc_full_ms"] >= m["gc_full_last_ms"], m
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
