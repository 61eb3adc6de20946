"""What a `taonet` process builds and loads: only the command it runs (tools/cli/__init__.py), with the same help,
output and exit status as the full command; speed figures are in docs/benchmarks.md ("CLI startup"), not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..kernel.client.test_blocking import free_address
from .cli import Cli

_FULL = ("import sys; from taonet.tools.cli import app; from taonet.tools.errors import run_cli; "
         "sys.exit(run_cli(app, sys.argv[1:]))")
"""The full command (every top-level command built), run the way `main` runs the one it builds."""

_LOADED = """
import atexit, json, sys
from taonet.tools.cli import main
sys.argv = ["taonet", *sys.argv[1:]]
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))  # main ends the process
main()
"""
"""`taonet ARGS` that says, last on stderr, every module the process loaded."""


def _env(tmp_path: Path) -> dict[str, str]:
    return Cli(wallets=tmp_path, endpoint=free_address()).env()


def test_the_top_level_lists_every_command_in_the_table() -> None:
    """The full command is the table's commands, the metagraph alias with its own help, each group complete."""
    import typer

    from taonet.tools.cli import COMMANDS, app

    group = typer.main.get_command(app)
    assert sorted(group.commands) == sorted(COMMANDS)  # type: ignore[attr-defined]
    assert group.commands["metagraph"].help == "Alias of taonet subnet metagraph."  # type: ignore[attr-defined]
    assert {"overview"} <= set(group.commands["wallet"].commands)  # type: ignore[attr-defined]
    assert {"plugins", "new"} <= set(group.commands["subnet"].commands)  # type: ignore[attr-defined]


@pytest.mark.slow  # 42 processes: ~20 s on an idle machine
def test_each_command_alone_says_what_the_full_command_says(tmp_path: Path) -> None:
    """`taonet NAME --help` (only NAME built) prints what the full command prints for it, for every NAME; so do a
    usage error inside a group and a mistyped name (which builds them all, for click's suggestion)."""
    from taonet.tools.cli import COMMANDS

    env = _env(tmp_path)
    lines = [[name, "--help"] for name in COMMANDS]
    lines += [["wallet", "lst"], ["walet", "list"], ["subnet", "show", "x"], ["wallet", "list", "--bogus"]]
    for args in lines:
        alone = subprocess.run([sys.executable, "-m", "taonet.tools", *args], capture_output=True, text=True,
                               env=env, timeout=60)
        full = subprocess.run([sys.executable, "-c", _FULL, *args], capture_output=True, text=True, env=env,
                              timeout=60)
        assert (alone.stdout + alone.stderr).strip(), args
        assert (alone.returncode, alone.stdout, alone.stderr) == (full.returncode, full.stdout, full.stderr), args


@pytest.mark.parametrize(("args", "absent"), [
    (["--help"], ["taonet.ledger", "taonet.kernel", "structlog", "anyio"]),  # every group built, none run
    (["wallet", "list", "--help"], ["taonet.ledger", "taonet.kernel", "taonet.tools.cli._replay",
                                    "taonet.tools.cli._neurons", "taonet.tools.cli._bench",
                                    "taonet.tools.cli._launch"]),
    (["walet"], ["taonet.ledger", "taonet.kernel", "structlog"]),
    (["subnet", "show", "x"], ["taonet.ledger", "taonet.kernel", "taonet.tools.cli._wallet"]),
])
def test_a_command_loads_only_what_it_runs(tmp_path: Path, args: list[str], absent: list[str]) -> None:
    """Help and usage errors load neither the ledger nor the kernel; a group loads no other group; the top-level
    help and a mistyped name do not load structlog either (it is configured once the line names a command)."""
    out = subprocess.run([sys.executable, "-c", _LOADED, *args], capture_output=True, text=True,
                         env=_env(tmp_path), timeout=60)
    loaded = set(json.loads(out.stderr.splitlines()[-1]))
    assert "taonet.tools.cli" in loaded and out.returncode in (0, 2)
    assert [m for m in absent if m in loaded] == []


def test_a_command_that_runs_sends_warnings_to_stderr(tmp_path: Path) -> None:
    """structlog is configured by the time a command's code runs (warnings on stderr, nothing below them), though
    `main` no longer configures it before parsing the line."""
    code = ("import sys, structlog; import taonet.tools.cli._wallet as w; from taonet.tools.cli import main\n"
            "@w.wallet_app.command('shout', hidden=True)\n"
            "def shout() -> None:\n"
            "    structlog.get_logger().info('quiet'); structlog.get_logger().warning('loud')\n"
            "sys.argv = ['taonet', 'wallet', 'shout']; main()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**_env(tmp_path), "TAONET_DEBUG": "1"}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and "loud" in out.stderr and "quiet" not in out.stderr

