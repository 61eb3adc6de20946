"""Help as a user reads it: square brackets shown as written (not eaten as rich markup), and every option's name whole
in an 80-column terminal."""

from __future__ import annotations

import os
from typing import Any

import pytest
import typer
from rich.markup import render

from tests.tools.processes import taonet


def _help(*args: str, columns: int = 80) -> str:
    out, _ = taonet(*args, "--help", env={"COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "dumb"}, timeout=60)
    assert out.returncode == 0 and out.stderr == "", out
    return out.stdout


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, group)]
    for name, cmd in getattr(group, "commands", {}).items():
        found += _commands(cmd, (*path, name))
    return found


def test_help_shows_square_brackets_as_written() -> None:
    """`replay DIR --help` and `replay DIR plot --help` say `pip install 'taonet[plot]'` (rich took `[plot]` for a
    style tag and dropped it); and no help text of any command holds a bracket rich would eat."""
    for args in (("replay", "DIR"), ("replay", "DIR", "plot")):
        text = " ".join(_help(*args, columns=200).split())
        assert "pip install 'taonet[plot]'" in text, text
    from taonet.tools.cli import app

    for path, cmd in _commands(typer.main.get_command(app)):
        texts = [cmd.help or "", *(getattr(p, "help", None) or "" for p in cmd.params)]
        for text in texts:  # what rich shows: the text itself, with its escapes (\[) undone
            assert render(text).plain == text.replace("\\[", "["), (path, text)


@pytest.mark.parametrize("args", [("node", "run"), ("localnet",), ("launch",), ("replay", "DIR", "what-if"),
                                  ("wallet", "create")])
def test_every_option_name_is_whole_at_80_columns(args: tuple[str, ...]) -> None:
    """At 80 columns each option's names (`--max-connections-per-address` and `--max-connections-per-network`,
    `--mempool-per-signer`, `--no-epoch-index`) appear whole in its help, and no line is wider than the terminal."""
    from taonet.tools.cli import app

    cmd = typer.main.get_command(app)
    for name in args:
        if name != "DIR":
            cmd = cmd.commands[name]  # type: ignore[attr-defined]
    text = _help(*args)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    words = {w.strip("│,") for line in text.splitlines() for w in line.split()}
    names = [n for p in cmd.params for n in (*p.opts, *p.secondary_opts) if n.startswith("--")]
    assert names and "…" not in "".join(w for w in words if w.startswith("-")), text
    missing = [n for n in names if n not in words]
    assert not missing, (missing, text)


def test_a_command_that_prints_no_help_leaves_its_layout_unloaded() -> None:
    """The help layout is set when help is printed: importing the command does not load typer's rich help code."""
    import subprocess
    import sys

    code = "import sys, taonet.tools.cli; print('typer.rich_utils' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "COLUMNS": "80"})
    assert out.stdout.strip() == "False", out
