"""The command's shape: help that fits a terminal and shows an example, and no command outlasting its --timeout
when no node answers (each says so in one line, exit 4)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from ..kernel.client.test_blocking import free_address
from .cli import Cli

GROUPS = ("wallet", "subnet", "stake", "delegate", "weights", "node")


def test_help_fits_80_columns_and_shows_an_example(tmp_path: Path) -> None:
    """`taonet --help` and each group's help: every line within 80 columns, an example in each group's."""
    cli = Cli(wallets=tmp_path, endpoint=free_address())
    top = cli.ok("--help").stdout
    assert all(len(line) <= 80 for line in top.splitlines()) and "Example: taonet node run --dev" in top
    for group in GROUPS:
        assert group in top
        text = cli.ok(group, "--help").stdout
        assert all(len(line) <= 80 for line in text.splitlines()), group
        assert f"Example: taonet {group}" in text, group
    usage = cli.ok("subnet", "show", "--help").stdout.splitlines()[1]
    assert "taonet subnet show [OPTIONS] [NETUID]" in usage and "{" not in usage


@pytest.mark.slow
def test_no_command_outlasts_its_timeout_without_a_node(tmp_path: Path) -> None:
    """Reads and writes against an address where no node answers end within --timeout: one line, exit 4."""
    cli = Cli(wallets=tmp_path, endpoint=free_address())
    cli.ok("wallet", "create", "-w", "w", "-H", "h", "--no-password")
    bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
    commands = [
        ("wallet", "balance", "-w", "w"), ("wallet", "transfer", "-w", "w", "--dest", bob, "--amount", "1", "-y"),
        ("wallet", "faucet", "-w", "w"), ("wallet", "overview", "-w", "w"), ("subnet", "list"),
        ("subnet", "show", "1"), ("subnet", "metagraph", "1"), ("subnet", "register", "1", "-w", "w", "-H", "h", "-y"),
        ("subnet", "create", "-w", "w", "-H", "h", "-y"), ("stake", "add", "-w", "w", "-H", "h", "--amount", "1", "-y"),
        ("stake", "list", "-w", "w"), ("delegate", "list"), ("weights", "show", "1"),
        ("weights", "set", "1", "--uids", "0", "--weights", "1", "-w", "w", "-H", "h", "-y"), ("node", "status"),
    ]
    for args in commands:
        started = time.monotonic()
        line = cli.fails(4, *args, "--timeout", "0.5")
        took = time.monotonic() - started
        assert "no node at" in line or "no reply within 0.5" in line, (args, line)
        assert took < 10, (args, took)  # 0.5 s, the process's start, and a wide margin for a shared machine


def _leaves(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    commands = getattr(group, "commands", None)
    if commands is None:
        return [path]
    return [leaf for name, cmd in commands.items() if not cmd.hidden for leaf in _leaves(cmd, (*path, name))]


def test_every_command_is_in_the_guide() -> None:
    """docs/cli.md names every visible command (`taonet wallet overview`, ...)."""
    import typer

    from taonet.tools.cli import app

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    leaves = [" ".join(p) for p in _leaves(typer.main.get_command(app))]
    # the benches are one row (`taonet bench ledger|consensus|...`), described in docs/benchmarks.md
    # a group may take an argument before its commands (`taonet replay DIR show`), and a row may name several
    # commands at once (`taonet replay DIR show|events|diff|verify`)
    def named(path: str) -> bool:
        *group, last = [re.escape(w) for w in path.split()]
        prefix = "".join(f" {w}(?: [A-Z_]+)?" for w in group)
        return re.search(rf"taonet{prefix} (?:[a-z-]+\\?\|)*{last}\b", text) is not None

    missing = [p for p in leaves if not named(p) and not p.startswith("bench ")]
    assert missing == [] and "taonet bench" in text


def test_btcli_spellings_are_ours() -> None:
    """`--wallet.name x`, `--wallet.hotkey=y`, `--subtensor.network z` become our options; values and `--` stay."""
    from taonet.tools.cli._common import btcli_aliases

    args = ["wallet", "balance", "--wallet.name", "w", "--wallet.hotkey=h", "--subtensor.network", "local",
            "--wallet.path=/x", "--", "--wallet.name"]
    assert btcli_aliases(args) == ["wallet", "balance", "--wallet-name", "w", "--hotkey=h", "--endpoint", "local",
                                   "--wallet-path=/x", "--", "--wallet.name"]
