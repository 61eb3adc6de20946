"""`taonet bench consensus --json` prints one JSON object of positive timings (their values are not tested)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_consensus_json_prints_exactly_one_object_with_the_figures() -> None:
    """stdout is a single JSON object holding every figure, each a positive number of milliseconds."""
    # A child process: the bench pins its process to one core, which must not happen to the test runner.
    out = subprocess.run(
        [sys.executable, "-c", "from taonet.tools.cli import main; main()", "bench", "consensus", "--json",
         "--runs", "1"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    figures = json.loads(out)
    assert isinstance(figures, dict)
    for key in ("epoch_256_ms", "epoch_4096_ms", "dense_baseline_4096_ms", "epoch_4096_yuma3_liquid_alpha_ms"):
        assert figures[key] > 0, key
    assert figures["runs"] == 1
    assert "one process" in figures["process_layout"]
