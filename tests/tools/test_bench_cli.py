"""`taonet bench cli` runs end to end against a node in a child process and reports only what it measured."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import taonet.tools.bench.cli as bench
from taonet.tools.cli import app

MEASURED = {"cli_help_s", "cli_help_p99_s", "cli_read_s", "cli_read_p99_s", "overview_256_s", "overview_256_p99_s"}
HOW_IT_RAN = {"runs", "uids", "hotkeys", "process_layout"}


@pytest.mark.slow
def test_bench_cli_json_holds_only_what_it_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shrunken run (a 24-UID subnet, 4 hotkeys, one run) prints one JSON object: each figure with its p99, and
    how it ran."""
    monkeypatch.setattr(bench, "UIDS", 24)
    monkeypatch.setattr(bench, "HOTKEYS", 4)
    result = CliRunner().invoke(app, ["bench", "cli", "--json", "--runs", "1"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) == MEASURED | HOW_IT_RAN and set(bench.FIGURES) == MEASURED
    assert all(figures[k] > 0 for k in MEASURED)
    assert (figures["uids"], figures["hotkeys"], figures["runs"]) == (24, 4, 1)
    for p50 in ("cli_help_s", "cli_read_s", "overview_256_s"):
        assert figures[p50.replace("_s", "_p99_s")] >= figures[p50]
