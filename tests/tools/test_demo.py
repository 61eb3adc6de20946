"""The README's main job: the chain demo runs and its replay matches the live chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from taonet.tools.cli import app

from .processes import taonet


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


def _long_demo_root(tmp_path: Path) -> Path:
    return tmp_path / ("a-demo-root-with-a-long-name-" * 3) / "demo"


def test_the_ledger_demo_reuses_one_documented_directory(tmp_path: Path) -> None:
    """Without --data-dir, `taonet demo --ledger` keeps its chain in $TAONET_DEMO_DIR/ledger, replaced on each
    run (nothing else is left behind), and prints that path whole on one line even at 80 columns."""
    root = _long_demo_root(tmp_path)
    env = {"TAONET_DEMO_DIR": str(root), "COLUMNS": "80"}
    for _ in range(2):
        out, _ = taonet("demo", "--ledger", "--blocks", "2", env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "matches the live chain" in out.stdout
        assert f"log: {root / 'ledger'}" in out.stdout.splitlines()
    assert [p.name for p in root.iterdir()] == ["ledger"]
    assert [p.name for p in (root / "ledger").iterdir() if p.name.startswith("run-")] == []


@pytest.mark.slow
def test_the_dev_network_demo_replaces_its_previous_chain(tmp_path: Path) -> None:
    """`taonet demo` (what `sh scripts/run` starts) runs in $TAONET_DEMO_DIR/node, emptied first, and prints its
    rpc, feed and log lines whole."""
    root = _long_demo_root(tmp_path)
    (root / "node").mkdir(parents=True)
    (root / "node" / "stale-from-last-run").write_text("old")
    out, _ = taonet("demo", "--epochs", "1", env={"TAONET_DEMO_DIR": str(root), "COLUMNS": "80"}, timeout=180)
    assert out.returncode == 0, out.stderr
    assert f"log: {root / 'node'}" in out.stdout.splitlines()
    assert any(line.startswith("rpc: tcp://127.0.0.1:") for line in out.stdout.splitlines())
    assert not (root / "node" / "stale-from-last-run").exists()
    assert [p.name for p in root.iterdir()] == ["node"]
