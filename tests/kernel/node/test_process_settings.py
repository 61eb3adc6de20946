"""A node run as a library leaves its process's settings alone; only an entry point that is the node tunes them."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from .nodes import running_node

pytestmark = pytest.mark.anyio


async def test_an_in_process_node_leaves_the_gc_settings_alone(tmp_path: Path) -> None:
    """Running a Node in a test (or any library user's process) neither freezes objects nor moves GC thresholds."""
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    async with running_node(tmp_path) as (_node, sub):
        await sub.wait_for_block(3, timeout=30)
        assert gc.get_threshold() == thresholds
        assert gc.get_freeze_count() == frozen
    assert gc.get_threshold() == thresholds


async def test_a_node_that_owns_its_process_may_tune_the_gc(tmp_path: Path) -> None:
    """With ``tune_gc`` (what ``taonet node run`` sets) the opened state is frozen out of the cyclic GC."""
    thresholds = gc.get_threshold()
    try:
        async with running_node(tmp_path, tune_gc=True) as (_node, sub):
            await sub.wait_for_block(2, timeout=30)
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold() == (50_000, 20, 100)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
