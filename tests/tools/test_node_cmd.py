"""`taonet node run --dev`: a localnet's pace from the first second, said in its first line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from taonet.kernel import subtensor

from .processes import taonet_node

FIRST_BLOCK_BOUND = 3.0
"""Seconds after its addresses are printed by which a dev node must have sealed block 1 (it takes 0.25 s; the
margin is for a loaded machine)."""


@pytest.mark.slow
def test_a_dev_node_seals_its_first_block_within_a_second_and_says_its_block_time(tmp_path: Path) -> None:
    """No --block-time with --dev: 0.25 s blocks, named in the first line; block 1 follows at once."""
    with taonet_node(tmp_path / "node") as (_proc, header, addresses):
        printed = time.monotonic()
        assert "a block every 0.25 s" in header and str(tmp_path / "node") in header
        assert ":" not in header.split(" log in ")[0]  # scripts read the `name: address` lines that follow
        assert set(addresses) == {"rpc", "feed"}
        with subtensor(addresses["rpc"], timeout=20) as sub:
            head = sub.wait_for_block(1, timeout=FIRST_BLOCK_BOUND)
            assert head >= 1
            assert time.monotonic() - printed < FIRST_BLOCK_BOUND
            assert sub.info()["block_time"] == 0.25


@pytest.mark.slow
def test_an_explicit_block_time_wins_over_the_dev_default(tmp_path: Path) -> None:
    """--block-time still sets the pace (and the first line says it)."""
    with taonet_node(tmp_path / "node", "--block-time", "0.5") as (_proc, header, addresses):
        assert "a block every 0.5 s" in header
        with subtensor(addresses["rpc"], timeout=20) as sub:
            assert sub.info()["block_time"] == 0.5
