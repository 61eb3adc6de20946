"""`taonet bench replay --json` prints one JSON object with its figures (their values are not tested)."""

from __future__ import annotations

import json
import os
import tempfile

import pytest

from tests.tools.processes import taonet


@pytest.mark.slow
def test_bench_replay_json_prints_exactly_one_object_with_the_figures() -> None:
    """On a small generated log, stdout is a single JSON object holding every figure, each positive."""
    with tempfile.TemporaryDirectory(prefix="taonet-test-bench-replay-") as tmp:
        out, _ = taonet("bench", "replay", "--json", "--runs", "1", "--blocks", "150", timeout=300,
                        env={"TMPDIR": tmp})
        assert out.returncode == 0, out.stderr
        assert any(name.startswith("taonet-bench-replay-150-") for name in os.listdir(tmp))  # the cached log
    figures = json.loads(out.stdout)
    assert isinstance(figures, dict)
    for key in ("show_random_block_s", "verify_blocks_per_s", "verify_full_blocks_per_s", "what_if_100_epochs_s",
                "verify_floor_blocks_per_s", "verify_share_of_floor",
                "what_if_100_epochs_warm_s", "what_if_cache_bytes", "why_s", "reward_rescore_1000_steps_s",
                "what_if_100_epochs_fold_s", "epoch_index_bytes", "epoch_index_records", "log_bytes"):
        assert figures[key] > 0, key
    assert figures["what_if_inputs"] == "index"  # the generator keeps the index as a node does
    assert figures["blocks"] == 151 and figures["runs"] == 1
    assert "worker process per core" in figures["process_layout"] and figures["workers"] >= 1
