"""`taonet bench node --json` prints one JSON object holding only what the run measured."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_node_waiters_part_reports_the_longest_gap_and_the_waiting_clients() -> None:
    """A short waiting-clients run: one JSON object with the gap between blocks and the clients that waited,
    and no figure of a part that did not run. 600 clients, more than one address's default share of the node's
    sockets (512), as the bench's 1,000 are: every one of them waits (the bench's node takes them all)."""
    out = subprocess.run(
        [sys.executable, "-c", "from taonet.tools.cli import main; main()", "bench", "node", "--json", "--runs", "1",
         "--part", "waiters", "--window", "3", "--waiters", "600"],
        capture_output=True, text=True, timeout=180, check=True,
    ).stdout
    figures = json.loads(out)
    assert isinstance(figures, dict)
    assert figures["max_block_gap_ms"] > 0
    assert figures["blocks_in_window"] > 0
    assert figures["waiting_clients"] == figures["waiting_clients_started"] == 600
    assert figures["submit_wait_outcomes"]["included"] > 0
    assert figures["window_s"] == 3
    for absent in ("included_tx_per_s", "epoch_seal_p99_ms", "metagraph_head_ms"):
        assert absent not in figures
