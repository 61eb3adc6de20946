"""`taonet bench localnet` runs end to end (localnet in child processes, a shrunken scale run) and reports only what
it measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import taonet.tools.bench.localnet as bench
from taonet.tools.cli import app

HOW_IT_RAN = {"runs", "process_layout"}


@pytest.mark.slow
def test_bench_localnet_json_holds_only_what_it_measured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One measured run and a 4 + 2 scale run (3 neurons a host): one JSON object, every figure measured, p99 too.
    The scale run waits 2 tempos after ready: on a loaded machine the first epoch may come before any weights."""
    monkeypatch.setenv("HOME", str(tmp_path))  # the launcher remembers its last network under ~/.taonet
    for name, value in {"SCALE_MINERS": 4, "SCALE_VALIDATORS": 2, "SCALE_TEMPOS": 2}.items():
        monkeypatch.setattr(bench, name, value)
    result = CliRunner().invoke(app, ["bench", "localnet", "--json", "--runs", "1", "--per-host", "3"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) == set(bench.FIGURES) | HOW_IT_RAN
    assert all(figures[k] > 0 for k in bench.FIGURES), figures
    assert figures["first_emission_s_p99"] >= figures["first_emission_s"]
    assert 0 < figures["miners_paid_64_8"] <= 4
    assert figures["runs"] == 1 and "4 miners + 2 validators, 3 per host" in figures["process_layout"]
