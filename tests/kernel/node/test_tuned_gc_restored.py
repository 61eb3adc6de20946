"""A node run with ``tune_gc`` tunes the process's GC for the run only: its end puts the old settings back."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from .nodes import running_node

pytestmark = pytest.mark.anyio


async def test_the_gc_settings_are_restored_when_a_tuned_run_ends(tmp_path: Path) -> None:
    """During the run the thresholds are raised and the state frozen; after it, both are as they were."""
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0, "the test process froze objects before this test"
    try:
        async with running_node(tmp_path, tune_gc=True) as (_node, sub):
            await sub.wait_for_block(2, timeout=30)
            assert gc.get_threshold() == (50_000, 20, 100)
            assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_objects_frozen_before_the_run_stay_frozen(tmp_path: Path) -> None:
    """A process that froze objects itself (a pre-fork server) keeps them frozen: the run cannot tell its own
    freeze apart, so it only puts the thresholds back."""
    before = gc.get_threshold()
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        async with running_node(tmp_path, tune_gc=True) as (_node, sub):
            await sub.wait_for_block(2, timeout=30)
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
