"""The README's main job: the chain demo runs and its replay matches the live chain."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from taonet.tools.cli import app


def test_demo_replays_its_log_to_the_live_digest(tmp_path: Path) -> None:
    """`taonet demo` writes a log, replays it, and reports a matching state digest."""
    result = CliRunner().invoke(app, ["demo", "--ledger", "--data-dir", str(tmp_path), "--blocks", "5"])
    assert result.exit_code == 0, result.output
    assert "matches the live chain" in result.output
    assert any((tmp_path / "blocks").iterdir())


def test_devnet_demo_shows_emissions_each_epoch(tmp_path: Path) -> None:
    """`taonet demo` runs a node and clients; after two epochs miners earn by quality and validators by stake."""
    import anyio
    from rich.console import Console

    from taonet.tools.devnet import MINERS, VALIDATORS, run_devnet

    console = Console(record=True, width=140)
    shown = anyio.run(lambda: run_devnet(console, data_dir=tmp_path, block_time=0.1, epochs=3))
    assert len(shown) == 3
    last = shown[-1]
    incentive = {m.name: last.I[last.hotkeys.index(m.hotkey.ss58_address)] for m in MINERS}
    assert incentive["miner1"] > incentive["miner2"] > incentive["miner3"] > incentive["miner4"]
    emission = {v.name: last.E[last.hotkeys.index(v.hotkey.ss58_address)] for v in VALIDATORS}
    assert emission["validator1"] > emission["validator2"] > 0
    assert "E (τ)" in console.export_text()
