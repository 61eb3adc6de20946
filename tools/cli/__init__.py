"""The `taonet` command line (typer + rich, in the spirit of btcli)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

app = typer.Typer(help="taonet: a pure-Python Bittensor on one laptop or many machines.\n\n"
                       "Example: taonet node run --dev, then taonet wallet create and taonet wallet faucet "
                       "(docs/quickstart.md walks a newcomer through a subnet).",
                  no_args_is_help=True, pretty_exceptions_enable=False)


def _add_subcommands() -> None:
    """Each group lives in its own module (one per verb family); this is the only place that knows them all."""
    from ._bench import bench_app
    from ._demo import demo
    from ._launch import launch_cmd, localnet_cmd
    from ._neurons import miner_app, neurons_app, validator_app
    from ._node import actor_app, node_app
    from ._overview import overview
    from ._plugins import subnet_new, subnet_plugins
    from ._query import query_cmd
    from ._replay import replay_app
    from ._stake import delegate_app, stake_app
    from ._subnet import metagraph_cmd, subnet_app
    from ._wallet import wallet_app
    from ._weights import weights_app

    wallet_app.command("overview")(overview)
    subnet_app.command("plugins")(subnet_plugins)
    subnet_app.command("new")(subnet_new)
    app.add_typer(wallet_app, name="wallet")
    app.add_typer(subnet_app, name="subnet")
    app.add_typer(stake_app, name="stake")
    app.add_typer(delegate_app, name="delegate")
    app.add_typer(weights_app, name="weights")
    app.add_typer(miner_app, name="miner")
    app.add_typer(validator_app, name="validator")
    app.add_typer(neurons_app, name="neurons")
    app.command("query")(query_cmd)
    app.add_typer(replay_app, name="replay")
    app.add_typer(node_app, name="node")
    app.add_typer(actor_app, name="actor")
    app.command("metagraph", help="Alias of taonet subnet metagraph.")(metagraph_cmd)
    app.command("demo")(demo)
    app.add_typer(bench_app, name="bench")
    app.command("localnet")(localnet_cmd)
    app.command("launch")(launch_cmd)


_add_subcommands()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="On an error, show the traceback too (also $TAONET_DEBUG=1; "
                                                        "may be given anywhere on the line).")] = False,
) -> None:
    """taonet: a pure-Python Bittensor on one laptop or many machines (exit statuses: see docs/cli.md)."""


def main() -> None:
    """Entry point of the `taonet` console script: every command runs through one error wrapper (tools/errors.py)."""
    from ..errors import run_cli
    from ..logs import configure_logging
    from ..signals import watch_parent
    from ._common import btcli_aliases

    watch_parent()  # a process the launcher started stops when the launcher is gone
    # structlog's default prints every level to stdout, which is the command's output (one JSON document with
    # --json): warnings and errors go to stderr unless a command configures its own logging (node, neurons, ...)
    configure_logging("warning")

    args = btcli_aliases(sys.argv[1:])
    debug = "--debug" in args or os.environ.get("TAONET_DEBUG", "") not in ("", "0")
    json_errors = "--json" in args
    if (bad := next((a for a in args if not _is_text(a)), None)) is not None:
        sys.exit(run_cli(_not_text(bad), [], debug=debug, json_errors=json_errors))
    sys.exit(run_cli(app, [a for a in args if a != "--debug"], debug=debug, json_errors=json_errors))


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
