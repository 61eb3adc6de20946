"""Rough edges of the command line an operator met (a QA pass): `-y` taken by every write, even where nothing is
asked (`wallet create`, `wallet faucet`); `taonet --version`; `node wait`'s help says its true 60 s default."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .processes import taonet, taonet_node


def test_y_is_taken_by_wallet_create_and_faucet(tmp_path: Path) -> None:
    """`wallet create -y` makes the wallet (exit 0, not 2); `wallet faucet -y` (and `--yes`) pays it on a dev node."""
    wallets = str(tmp_path / "w")
    made, _ = taonet("wallet", "create", "-y", "--no-password", "-p", wallets, "-w", "op", "--json")
    assert made.returncode == 0, made.stderr
    with taonet_node(tmp_path / "node") as (_proc, _header, addresses):
        for flag in ("-y", "--yes"):
            paid, _ = taonet("wallet", "faucet", flag, "-p", wallets, "-w", "op", "--amount", "5", "-e",
                             addresses["rpc"], "--json")
            assert paid.returncode == 0, paid.stderr
            assert json.loads(paid.stdout)["balance"] > 0


def test_version_prints_the_installed_version() -> None:
    """`taonet --version`: one line `taonet X.Y.Z`, exit 0, nothing on stderr."""
    from importlib.metadata import version

    out, _ = taonet("--version")
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert out.stdout == f"taonet {version('taonet')}\n"
    assert re.fullmatch(r"taonet \d+\.\d+\.\d+\n", out.stdout)


def test_node_wait_help_says_its_60_s_default_and_why() -> None:
    """`node wait --help` names 60 (not a read's 10) and why; docs/cli.md's --timeout row says the same."""
    out, _ = taonet("node", "wait", "--help", env={"COLUMNS": "200"})
    assert out.returncode == 0
    text = " ".join(out.stdout.replace("│", " ").split())
    assert "else 60, not a read's 10" in text, text
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    assert "and `node wait`, which is no read but a wait for blocks" in doc
