"""The `taonet` command line (typer + rich, in the spirit of btcli).

A command's process builds only the command it runs (its module, its typer group): ``taonet wallet list`` never
imports the replay's ledger code or the neurons' logging, nor builds the other 60 commands. ``taonet --help``, a name
this table does not know (typo suggestions) and shell completion build them all; so does ``app``, the full command
(tests and ``CliRunner`` use it).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from typing import Annotated, Any, NoReturn

import typer

__all__ = ["COMMANDS", "app", "build_app", "main"]

HELP = ("taonet: a pure-Python Bittensor on one laptop or many machines.\n\n"
        "Example: taonet node run --dev, then taonet wallet create and taonet wallet faucet "
        "(docs/quickstart.md walks a newcomer through a subnet).")

COMMANDS: dict[str, tuple[str, str]] = {
    # the name: (its module in this package, the typer group or function there), in the order they are added
    "wallet": ("_wallet", "wallet_app"),
    "subnet": ("_subnet", "subnet_app"),
    "stake": ("_stake", "stake_app"),
    "delegate": ("_stake", "delegate_app"),
    "weights": ("_weights", "weights_app"),
    "miner": ("_neurons", "miner_app"),
    "validator": ("_neurons", "validator_app"),
    "neurons": ("_neurons", "neurons_app"),
    "query": ("_query", "query_cmd"),
    "replay": ("_replay", "replay_app"),
    "node": ("_node", "node_app"),
    "actor": ("_node", "actor_app"),
    "metagraph": ("_subnet", "metagraph_cmd"),
    "demo": ("_demo", "demo"),
    "bench": ("_bench", "bench_app"),
    "localnet": ("_launch", "localnet_cmd"),
    "launch": ("_launch", "launch_cmd"),
}
"""Every top-level command; the only place that knows them all (each group lives in its own module)."""

_COMMAND_HELP = {"metagraph": "Alias of taonet subnet metagraph."}
"""Help a command has at the top level other than its function's docstring."""


@functools.cache
def _command(name: str) -> Any:
    """The typer group or function ``name`` runs, imported (and completed) on first use."""
    module, attribute = COMMANDS[name]
    found = getattr(importlib.import_module(f".{module}", __name__), attribute)
    if name == "wallet":  # commands that live in a module of their own, in their group's list after its own
        from ._overview import overview

        found.command("overview")(overview)
    elif name == "subnet":
        from ._plugins import subnet_new, subnet_plugins

        found.command("plugins")(subnet_plugins)
        found.command("new")(subnet_new)
    return found


_TYPE_COLUMN = 18
"""The widest an option's type and range ([0.01<=x<=36000.0]) are shown in help before they wrap."""


@functools.cache
def _help_tables() -> None:
    """Typer's option tables, laid out so that an option's name is never cut at any width (rich shrinks every column
    of a table too wide alike: at 80 columns `--max-connections-per-address` became `--max-connection…`).

    The names keep their width (``--no-NAME`` under ``--NAME``, not in a column of its own), the type column is at
    most :data:`_TYPE_COLUMN` wide, and the help beside them wraps, folding a word too long for its column rather than
    cutting it. Applied on the first help printed: a command that prints none does not load rich's help code.
    """
    from rich.table import Table
    from rich.text import Text
    from typer import rich_utils

    def stacked(name: Any, negative: Any) -> Any:
        return Text("\n").join([name, negative]) if negative.plain and name.plain else name if name.plain else negative

    class OptionTable(Table):
        def add_row(self, *cells: Any, **kwargs: Any) -> None:
            # typer's option row: [required], names, short names, --no-names, short --no-names, type, help
            if len(cells) in (6, 7) and all(isinstance(c, Text) for c in cells[-6:-2]):
                *required, long, short, negative, negative_short, kind, text = cells
                cells = (*required, stacked(long, negative), stacked(short, negative_short), kind, text)
                for item in getattr(text, "renderables", ()):
                    if isinstance(item, Text):
                        item.overflow = "fold"
            super().add_row(*cells, **kwargs)
            if len(self.columns) >= 4:  # not the commands' table (name, help)
                for column in self.columns[:-2]:
                    column.no_wrap = True
                self.columns[-2].max_width = _TYPE_COLUMN
                self.columns[-2].overflow = "fold"

    rich_utils.Table = OptionTable  # the name typer's help builds its tables with


def _on_first_help(cls: Any) -> None:
    """Make ``cls`` (a typer command class) lay out its help as :func:`_help_tables` says."""
    original = cls.format_help

    def format_help(self: Any, ctx: Any, formatter: Any) -> None:
        _help_tables()
        original(self, ctx, formatter)

    cls.format_help = format_help


_on_first_help(typer.core.TyperCommand)
_on_first_help(typer.core.TyperGroup)


_Debug = Annotated[bool, typer.Option("--debug", help="On an error, show the traceback too (also $TAONET_DEBUG=1; "
                                                         "may be given anywhere on the line).")]


def _say_version(given: bool) -> None:
    """``--version``: print ``taonet X.Y.Z`` (the installed package's version) and end, exit 0."""
    if given:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("taonet")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown (not installed)"
        print(f"taonet {number}")
        raise typer.Exit()


_Version = Annotated[bool, typer.Option("--version", is_eager=True, callback=_say_version,
                                        help="Print taonet's version (taonet X.Y.Z) and exit.")]


def _root(debug: _Debug = False, version: _Version = False) -> None:
    """taonet: a pure-Python Bittensor on one laptop or many machines (exit statuses: see docs/cli.md)."""


def _root_of_process(debug: _Debug = False, version: _Version = False) -> None:
    from ..logs import configure_logging

    # structlog's default prints every level to stdout, which is the command's output (one JSON document with
    # --json): warnings and errors go to stderr unless a command configures its own logging (node, neurons, ...).
    # Here, where a command is about to run (its line parsed this far), not in main: `taonet --help` and a mistyped
    # command do not load structlog (and rich behind it).
    configure_logging("warning")
    _say_open_key_files()


_root_of_process.__doc__ = _root.__doc__

OPEN_KEY_FILE = "keyfile.open_to_others"
"""The wallet's warning that a key file holding a secret is open to other users (taonet.kernel.wire's key files)."""


def _say_open_key_files() -> None:
    """The wallet's :data:`OPEN_KEY_FILE` warning said as one plain line on stderr (not a log record): ``warning: key
    file PATH can be read by other users (mode 644): chmod 600 PATH``. A command that configures its own logging
    (node, neurons, localnet) logs it as any other warning instead."""
    import structlog

    def say(_logger: Any, _method: str, event: Any) -> Any:
        if event.get("event") != OPEN_KEY_FILE:
            return event
        mode = int(str(event.get("mode", "0")), 8)
        what = " and ".join(w for w, bits in (("read", 0o044), ("changed", 0o022)) if mode & bits) or "used"
        print(f"warning: key file {event.get('path')} can be {what} by other users (mode {mode:o}): run "
              f"{event.get('fix')}", file=sys.stderr, flush=True)
        raise structlog.DropEvent

    structlog.configure(processors=[say, *structlog.get_config()["processors"]])


def build_app(only: str | None = None, *, process: bool = False) -> typer.Typer:
    """The `taonet` command with every command, or with only the one named ``only`` (which must be in COMMANDS);
    ``process``: the command this process runs (:func:`main`), which configures the process's logging."""
    built = typer.Typer(help=HELP, no_args_is_help=True, pretty_exceptions_enable=False)
    built.callback()(_root_of_process if process else _root)
    for name in COMMANDS if only is None else [only]:
        found = _command(name)
        if isinstance(found, typer.Typer):
            built.add_typer(found, name=name)
        else:
            built.command(name, help=_COMMAND_HELP.get(name))(found)
    return built


def __getattr__(name: str) -> Any:
    """``app``: the full command, built on first use (a `taonet` process builds only what it runs)."""
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _invoked(args: list[str]) -> str | None:
    """The top-level command ``args`` name when that is all the process needs to build, else None (all of them)."""
    if not args or args[0] not in COMMANDS or any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return None  # --help and the root's other options, a typo (click suggests a name), shell completion
    return args[0]


def main() -> NoReturn:
    """Run the `taonet` command (the console script's entry point, tools/_entry.py, imports and calls it): every
    command runs through one error wrapper (tools/errors.py)."""
    from .._end import end_process
    from ..errors import guard_stdout, run_cli
    from ..signals import interrupt_on_sigterm, watch_parent
    from ._common import btcli_aliases, clashing_options, list_hint

    # SIGTERM stops a command as Ctrl-C does, exit 143 (a long-running command takes it over); before, during these
    # imports, it ends the process as by default: nothing has been done yet
    interrupt_on_sigterm()
    watch_parent()  # a process the launcher started stops when the launcher is gone
    guard_stdout()  # a reader gone (`| head -1`) ends the command quietly, status 0

    typed = sys.argv[1:]
    args = btcli_aliases(typed)  # one for one: an alias is rewritten in its place
    spelled = {ours.partition("=")[0]: theirs.partition("=")[0] for ours, theirs in zip(args, typed, strict=True)
               if ours != theirs}
    debug = "--debug" in args or os.environ.get("TAONET_DEBUG", "") not in ("", "0")
    json_errors = "--json" in args
    if (bad := next((a for a in args if not _is_text(a)), None)) is not None:
        end_process(run_cli(_not_text(bad), [], debug=debug, json_errors=json_errors))
    if (clash := clashing_options(typed)) is not None:
        end_process(run_cli(_clashed(*clash), [], debug=debug, json_errors=json_errors))
    args = [a for a in args if a != "--debug"]
    end_process(run_cli(build_app(_invoked(args), process=True), args, debug=debug, json_errors=json_errors,
                        spelled=spelled, usage_hint=lambda message: list_hint(args, message)))


def _is_text(arg: str) -> bool:
    """Whether an argument is text (bytes that are not UTF-8 arrive as surrogates no name, key or file takes)."""
    try:
        arg.encode()
    except UnicodeEncodeError:
        return False
    return True


def _not_text(arg: str) -> typer.Typer:
    """A command that refuses ``arg`` as a usage error (exit 2) before any other runs."""
    refuse = typer.Typer()

    @refuse.command()
    def _refuse() -> None:
        shown = repr(os.fsencode(arg))[2:-1]  # the bytes as given: \xff...
        raise typer.BadParameter(f"an argument ({shown}) is not UTF-8 text; give names, keys, amounts and paths "
                                 "as UTF-8 text")

    return refuse


def _clashed(first: str, second: str, ours: str) -> typer.Typer:
    """A command that refuses one option given twice with two values (``-e X --subtensor.network Y``) as a usage
    error (exit 2) naming both: click would take the last without a word."""
    from ._common import conflict

    refuse = typer.Typer()

    @refuse.command()
    def _refuse() -> None:
        if first == second:
            raise typer.BadParameter("is given twice, with two values: give it once", param_hint=first)
        raise conflict(first, second, f"both give {ours}, with two values: give one")

    return refuse
