"""`taonet bench wire` runs end to end with its axons in child processes and reports only what it measured."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import taonet.tools.bench.wire as bench
from taonet.tools.cli import app

MEASURED = {
    "sequential_rps", "sequential_p50_ms", "sequential_p99_ms",
    "concurrent64_rps", "concurrent64_p50_ms", "concurrent64_p99_ms",
    "fanout32_p50_ms", "fanout32_p99_ms", "fanout256_p50_ms", "fanout256_p99_ms",
    "nng_echo_sequential_rps",
}
HOW_IT_RAN = {"runs", "backend", "process_layout"}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_bench_wire_json_holds_only_what_it_measured(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    """A shrunken run (few axons, few requests) prints one JSON object: every figure measured, a p99 beside every
    p50, how it ran, and nothing else (no figures of other systems, no ceilings)."""
    for name, value in {"SEQUENTIAL": 40, "CONCURRENT_EACH": 2, "FANOUT32_QUERIES": 3, "FANOUT256_QUERIES": 3,
                        "ECHO": 40, "FANOUT_AXONS_PER_CHILD": 4}.items():
        monkeypatch.setattr(bench, name, value)
    result = CliRunner().invoke(app, ["bench", "wire", "--json", "--runs", "1", "--backend", backend])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) == MEASURED | HOW_IT_RAN
    assert set(bench.FIGURES) == MEASURED
    assert not [k for k in figures if "bittensor" in k or "sdk" in k or "raw" in k]
    assert all(figures[k] > 0 for k in MEASURED)
    for p50 in (k for k in MEASURED if k.endswith("_p50_ms")):
        assert figures[p50.replace("_p50_", "_p99_")] >= figures[p50]
    assert "spawned children" in figures["process_layout"]
    assert (figures["backend"], figures["runs"]) == (backend, 1)



def test_bench_wire_names_the_backends_it_runs_on() -> None:
    """An event loop taonet does not run on is a usage error that names the choices, before anything starts."""
    result = CliRunner().invoke(app, ["bench", "wire", "--backend", "curio"])
    assert result.exit_code == 2
    assert "use asyncio or trio" in result.output
