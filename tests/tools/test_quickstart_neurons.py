"""The newcomer's path extended to neurons (docs/quickstart.md, step 8): after the page's first steps, a subnet made
with `subnet create --plugin template`, `miner run` and `validator run` as processes, and the miner's emission in
`wallet overview` — the page's commands only, run as written."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

from .cli import Cli
from .processes import TAONET_EXE, taonet_node
from .test_quickstart import DOC, doc_commands

pytestmark = pytest.mark.slow


def neuron_commands() -> list[str]:
    """The `$ ...` lines of the page's shell blocks (step 8), in order."""
    blocks = re.findall(r"```shell\n(.*?)```", DOC.read_text(), flags=re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_the_neurons_step_is_commands_of_the_cli_only() -> None:
    """Step 8 is `taonet` commands only: a plugin subnet, the two neurons as processes, the overview last."""
    commands = neuron_commands()
    assert all(c.startswith("taonet ") for c in commands), commands
    assert any("subnet create" in c and "--plugin template" in c for c in commands)
    assert [c.split()[1] for c in commands if c.endswith(" &")] == ["miner", "validator"]
    assert commands[-1].startswith("taonet wallet overview")


def test_a_newcomer_runs_a_plugin_s_neurons_and_the_miner_earns(tmp_path: Path) -> None:
    """The page's steps 2-8 against a fresh dev node: the plugin's miner on subnet 2 is paid by its validator."""
    with taonet_node(tmp_path / "node", "--block-time", "0.25") as (_proc, _header, addresses):
        env: dict[str, str] = {}
        cli = Cli(wallets=tmp_path / "wallets", endpoint=addresses["rpc"], password=None)
        background: list[subprocess.Popen[str]] = []
        try:
            for command in doc_commands()[1:] + neuron_commands():
                if command.startswith("export "):
                    name, _, value = command.removeprefix("export ").partition("=")
                    env[name] = shlex.split(value)[0]
                    continue
                if command.endswith(" &"):
                    args = shlex.split(command[:-2])[1:]
                    log = open(tmp_path / f"{args[0]}.log", "w")  # noqa: SIM115 - the child holds it
                    background.append(subprocess.Popen([TAONET_EXE, *args], stdout=log, stderr=log, text=True,
                                                       stdin=subprocess.DEVNULL, env=cli.env(**env)))
                    log.close()
                    continue
                run = cli(*shlex.split(command)[1:], **env)
                assert run.status == 0 and run.stderr == [], (command, run)
            assert all(p.poll() is None for p in background), [p.returncode for p in background]
            view = cli.ok("wallet", "overview", "--wallet-name", "owner", "--json", **env).json
        finally:
            for p in background:
                p.send_signal(signal.SIGTERM)
            codes = []
            for p in background:
                try:
                    codes.append(p.wait(15))
                except subprocess.TimeoutExpired:
                    p.kill()
                    codes.append(p.wait())
        assert codes == [0, 0], (codes, (tmp_path / "miner.log").read_text()[-2000:])
        subnet2 = next(s for s in view["subnets"] if s["netuid"] == 2)
        neurons = {n["hotkey_name"]: n for n in subnet2["neurons"]}
        assert neurons["miner2"]["emission"] > 0 and neurons["miner2"]["incentive"] > 0
        assert neurons["validator2"]["dividends"] > 0
