"""`taonet bench plugins` runs end to end (miners in a child process, a miner process on a dev node, fresh
interpreters) and reports only what it measured."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import taonet.tools.bench.builtin_subnets as subnets
import taonet.tools.bench.plugins as bench
from taonet.tools.cli import app

MEASURED = {"validator_step_256_p50_ms", "validator_step_256_p99_ms", "miner_process_rss_mb", "import_plugins_s",
            "python_startup_s", *subnets.FIGURES}
MEASURED |= {"neuron_host_rss_mb_64", "neuron_host_cpu_64", "gateway_query_p50_ms", "gateway_query_p99_ms"}
HOW_IT_RAN = {"runs", "process_layout"}


@pytest.mark.slow
def test_bench_plugins_json_holds_only_what_it_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shrunken run prints one JSON object: every figure measured and positive, a p99 beside the p50, how it
    ran, and nothing else."""
    for name, value in {"MINERS": 8, "STEPS": 3, "MINER_BLOCKS": 3, "IMPORT_RUNS": 1}.items():
        monkeypatch.setattr(bench, name, value)
    # the host's CPU is read in clock ticks (10 ms): in a 0.5 s load window on a loaded machine it can read 0
    # (a clean-clone CI run once found one figure at 0, most likely this one; the assertion now names it)
    for name, value in {"HOST_MINERS": 4, "GATEWAY_MINERS": 2, "HOST_TEMPOS": 1, "LOAD_SECONDS": 2.0,
                        "GATEWAY_QUERIES": 5}.items():
        monkeypatch.setattr(bench.host, name, value)
    for name, value in {"COMPLETIONS": 3, "REPEATS": 5, "MATMUL_REPEATS": 1}.items():
        monkeypatch.setattr(subnets, name, value)
    result = CliRunner().invoke(app, ["bench", "plugins", "--json", "--runs", "1"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) == MEASURED | HOW_IT_RAN
    assert set(bench.FIGURES) == MEASURED
    assert all(figures[k] > 0 for k in MEASURED), {k: figures[k] for k in MEASURED if not figures[k] > 0}
    assert figures["validator_step_256_p99_ms"] >= figures["validator_step_256_p50_ms"]
    assert figures["gateway_query_p99_ms"] >= figures["gateway_query_p50_ms"]
    for p50, p99 in (("prompting_verify_ms", "prompting_verify_p99_ms"),
                     ("freivalds_check_ms_512", "freivalds_check_p99_ms_512"),
                     ("oracle_score_ms_256", "oracle_score_p99_ms_256")):
        assert figures[p99] >= figures[p50]
    assert figures["runs"] == 1 and "spawned child" in figures["process_layout"]
