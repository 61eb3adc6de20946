"""The README's main job: the chain demo runs and its replay matches the live chain."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from taonet.tools.cli import app


def test_demo_replays_its_log_to_the_live_digest(tmp_path: Path) -> None:
    """`taonet demo` writes a log, replays it, and reports a matching state digest."""
    result = CliRunner().invoke(app, ["demo", "--data-dir", str(tmp_path), "--blocks", "5"])
    assert result.exit_code == 0, result.output
    assert "matches the live chain" in result.output
    assert any((tmp_path / "blocks").iterdir())
