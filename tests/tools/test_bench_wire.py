"""`taonet bench wire` runs end to end with its axons in child processes and reports every figure."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import taonet.tools.bench_wire as bench
from taonet.tools.cli import app

FIGURES = {"sequential_rps", "sequential_p50_ms", "concurrent64_rps", "fanout32_p50_ms", "fanout256_p50_ms",
           "nng_raw_rps"}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_bench_wire_json_reports_every_figure_from_child_processes(monkeypatch: pytest.MonkeyPatch,
                                                                   backend: str) -> None:
    """A shrunken run (few axons, few requests) prints one JSON object with every figure measured (no targets)."""
    for name, value in {"SEQUENTIAL": 40, "CONCURRENT_EACH": 2, "FANOUT32_QUERIES": 2, "FANOUT256_QUERIES": 2,
                        "RAW": 40, "FANOUT_AXONS_PER_CHILD": 4}.items():
        monkeypatch.setattr(bench, name, value)
    result = CliRunner().invoke(app, ["bench", "wire", "--json", "--runs", "1", "--backend", backend])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert FIGURES <= set(figures)
    assert all(figures[k] > 0 for k in FIGURES)
    assert figures["bittensor_sdk_sequential_rps"] == 56.0
    assert "spawned children" in figures["process_layout"]
    assert figures["backend"] == backend


def test_bench_wire_names_the_backends_it_runs_on() -> None:
    """An event loop taonet does not run on is a usage error that names the choices, before anything starts."""
    result = CliRunner().invoke(app, ["bench", "wire", "--backend", "curio"])
    assert result.exit_code == 2
    assert "use asyncio or trio" in result.output
