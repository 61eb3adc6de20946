"""`taonet subnet plugins`, `taonet miner run`, `taonet validator run` through the installed command: every loading
error is one line with a non-zero exit; a neuron whose plugin differs from its subnet's refuses to start."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from taonet.kernel import Wallet, subtensor

from ..plugins.dists import CHATTY, EXITS_AT_IMPORT, FAILS_TO_IMPORT, FULL_PLUGIN, MISSING_HOOKS, install
from .processes import error_lines, taonet, taonet_node


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder of installed test plugin packages, put on the command's PYTHONPATH by :func:`env`."""
    folder = tmp_path / "site"
    install(folder, "echo-subnet", "echo", FULL_PLUGIN)
    install(folder, "broken-subnet", "broken", FAILS_TO_IMPORT)
    install(folder, "half-subnet", "half", MISSING_HOOKS)
    install(folder, "one-subnet", "same", FULL_PLUGIN, module="one_subnet")
    install(folder, "two-subnet", "same", FULL_PLUGIN, module="two_subnet")
    return folder


def env(site: Path, tmp_path: Path) -> dict[str, str]:
    """The command's environment: the test packages on the path, wallets under tmp_path."""
    return {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "TAONET_WALLET_PATH": str(tmp_path / "wallets")}


def test_subnet_plugins_options_show_what_each_option_takes(tmp_path: Path) -> None:
    """--options shows each option's default and the values it takes: a bounded number's range, a choice's values
    (it showed only the defaults, so a user met the bounds only when `--set` was refused)."""
    out, _ = taonet("subnet", "plugins", "--options", "--json", env={"TAONET_WALLET_PATH": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    compute = next(r for r in json.loads(out.stdout)["plugins"] if r["name"] == "compute")
    details = compute["option_details"]
    assert details["rounds"] == {"default": 0, "help": details["rounds"]["help"], "lo": 0, "hi": 16}
    assert details["mode"]["choices"] == ["honest", "wrong", "one_wrong", "zero", "copy"]
    assert details["sample_size"]["lo"] == 1 and "organic_scored" in details and "lo" not in details["organic_scored"]
    assert compute["options"] == {k: d["default"] for k, d in details.items()}
    out, _ = taonet("subnet", "plugins", "--options", env={"TAONET_WALLET_PATH": str(tmp_path), "COLUMNS": "400"})
    assert out.returncode == 0, out.stderr
    assert "rounds=0 [0..16]" in out.stdout and "mode=honest {honest|wrong|one_wrong|zero|copy}" in out.stdout
    assert "max_connections=4096 [1..1048576]" in out.stdout, out.stdout


def test_subnet_plugins_lists_installed_plugins_and_their_problems(site: Path, tmp_path: Path) -> None:
    """--json lists every declared plugin with package and version; a broken one carries its error, in one line."""
    out, _ = taonet("subnet", "plugins", "--json", env=env(site, tmp_path))
    assert out.returncode == 0, out.stderr
    rows = {(r["name"], r["package"]): r for r in json.loads(out.stdout)["plugins"]}
    assert rows[("template", "taonet")]["description"].startswith("The validator sends a number")
    assert rows[("echo", "echo-subnet")] | {"version": "1.0", "description": "echoes text"} == rows[
        ("echo", "echo-subnet")]
    assert "a_module_that_is_not_installed" in rows[("broken", "broken-subnet")]["error"]
    assert "validator_task, reward" in rows[("half", "half-subnet")]["error"]
    assert "two installed packages" in rows[("same", "one-subnet")]["error"]


@pytest.mark.parametrize(("plugin", "status", "text"), [
    ("nosuch", 6, "no subnet plugin named 'nosuch' is installed "
                  "(installed: broken, compute, echo, half, oracle, prompting, same, template)"),
    ("broken", 7, "failed to import: ModuleNotFoundError: No module named 'a_module_that_is_not_installed'"),
    ("half", 7, "does not implement the required hook(s) validator_task, reward"),
    ("same", 7, "two installed packages claim the subnet plugin name 'same'"),
])
@pytest.mark.parametrize("role", ["miner", "validator"])
def test_loading_errors_are_one_line_and_a_nonzero_exit(site: Path, tmp_path: Path, role: str, plugin: str,
                                                        status: int, text: str) -> None:
    """Unknown name, import failure, missing hook, duplicate name: one `error:` line, the documented status."""
    out, _ = taonet(role, "run", "--plugin", plugin, "--netuid", "1", "--endpoint", "127.0.0.1:9",
                    env=env(site, tmp_path))
    lines = error_lines(out.stderr)
    assert out.returncode == status, out.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], lines


def test_a_wrong_option_is_a_usage_error(site: Path, tmp_path: Path) -> None:
    """--set with an option the plugin does not take, or a value of the wrong type: status 2, one line."""
    for pair, text in (("nope=1", "takes no such option"), ("sample_size=many", "'many' is not a valid int"),
                       ("novalue", "is not name=value")):
        out, _ = taonet("miner", "run", "--plugin", "template", "--netuid", "1", "--set", pair,
                        env=env(site, tmp_path))
        lines = error_lines(out.stderr)
        assert out.returncode == 2 and len(lines) == 1 and text in lines[0], out.stderr


def test_a_plugin_other_than_the_subnets_refuses_to_start(site: Path, tmp_path: Path) -> None:
    """The subnet records `template`: a validator of `echo` stops with one line (status 2) naming both; a hotkey
    without a UID on the subnet is status 6."""
    wallet = Wallet("v", "default", tmp_path / "wallets")
    wallet.create_coldkey_from_uri("//Bob", encrypt=False)
    wallet.create_hotkey_from_uri("//Bob//v")
    owner = Wallet("owner", "default", tmp_path / "wallets")
    owner.create_coldkey_from_uri("//Alice", encrypt=False)
    owner.create_hotkey_from_uri("//Alice//owner")
    with taonet_node(tmp_path / "node") as (_proc, _header, addresses):
        with subtensor(addresses["rpc"], timeout=20) as sub:
            assert sub.create_subnet(owner).success
            assert sub.set_subnet_identity(owner, 1, "template", description="doubles").success
        common = ["--netuid", "1", "--wallet-name", "v", "--hotkey", "default", "--endpoint", addresses["rpc"]]
        out, _ = taonet("validator", "run", "--plugin", "echo", *common, env=env(site, tmp_path))
        lines = error_lines(out.stderr)
        assert out.returncode == 2, out.stderr
        assert lines == ["error: subnet 1 runs the plugin 'template', not 'echo': start the neuron with "
                         "--plugin template"]
        out, _ = taonet("miner", "run", "--plugin", "template", *common, env=env(site, tmp_path))
        lines = error_lines(out.stderr)
        assert out.returncode == 6, out.stderr
        assert len(lines) == 1 and lines[0].startswith("error: hotkey ") and "not registered on subnet 1" in lines[0]


def test_btcli_dotted_flags_are_accepted(site: Path, tmp_path: Path) -> None:
    """--wallet.name, --wallet.hotkey, --subtensor.network and --axon.port work as subnet repos spell them: the
    wallet is found and the endpoint used (no node there: status 4, naming it)."""
    wallet = Wallet("dotted", "hk", tmp_path / "wallets")
    wallet.create_coldkey_from_uri("//Bob", encrypt=False)
    wallet.create_hotkey_from_uri("//Bob//dotted")
    out, _ = taonet("miner", "run", "--plugin", "template", "--netuid", "1", "--wallet.name", "dotted",
                       "--wallet.hotkey", "hk", "--subtensor.network", "127.0.0.1:9", "--axon.port", "0",
                       env=env(site, tmp_path))
    lines = error_lines(out.stderr)
    assert out.returncode == 4, out.stderr
    assert len(lines) == 1 and "no node at tcp://127.0.0.1:9" in lines[0]
    missing, _ = taonet("validator", "run", "--plugin", "template", "--netuid", "1", "--wallet.name", "nobody",
                        "--subtensor.network", "127.0.0.1:9", env=env(site, tmp_path))
    assert missing.returncode == 5 and "nobody" in error_lines(missing.stderr)[0], missing.stderr


def test_a_plugin_that_prints_or_exits_while_loading_breaks_neither_the_list_nor_the_neuron(tmp_path: Path) -> None:
    """A plugin printing while it loads goes to stderr (the --json list stays one JSON object on stdout); one that
    calls sys.exit() at import (a GPU check, argparse at import as Bittensor templates do) is that plugin's import
    failure, listed with the others (exit 0), and a neuron of it stops with one line, exit 7 (it ended the command
    before: exit 1 with no word, the list gone)."""
    site = tmp_path / "site"
    install(site, "chatty-subnet", "chatty", CHATTY)
    install(site, "exits-subnet", "exits", EXITS_AT_IMPORT)
    out, _ = taonet("subnet", "plugins", "--json", env=env(site, tmp_path))
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)["plugins"]}
    assert rows["chatty"]["description"] == "echoes text" and "error" not in rows["chatty"]
    assert "Loading model weights... done" in out.stderr and "protocol!" in out.stderr
    assert rows["exits"]["error"] == (
        "subnet plugin 'exits' (package exits-subnet) failed to import: it called sys.exit('this plugin needs a "
        "GPU') while importing; a plugin must not exit the process (nor parse the command line: options come with "
        "--set); fix or reinstall that package")
    out, _ = taonet("miner", "run", "--plugin", "exits", "--netuid", "1", "--endpoint", "127.0.0.1:9",
                    env=env(site, tmp_path))
    lines = error_lines(out.stderr)
    assert out.returncode == 7 and len(lines) == 1 and "it called sys.exit('this plugin needs a GPU')" in lines[0]


TYPED_PLUGIN = FULL_PLUGIN.replace('options={{"loud": False}}', 'options={{"loud": False, "ports": [8091], '
                                   '"seed": Option(default=None, type=int, help="a seed")}}').replace(
    "from taonet.plugins import SubnetProtocol,", "from taonet.plugins import Option, SubnetProtocol,")


def test_subnet_plugins_options_show_an_options_type(tmp_path: Path) -> None:
    """An option's declared type (`Option(default=None, type=int)`) or the one its list default shows (`[8091]`: a
    list of int) is shown, as the option errors name it: in --json as `type`, in the table after the default."""
    site = tmp_path / "site"
    install(site, "typed-subnet", "typed", TYPED_PLUGIN)
    out, _ = taonet("subnet", "plugins", "--options", "--json", env=env(site, tmp_path))
    assert out.returncode == 0, out.stderr
    details = next(r for r in json.loads(out.stdout)["plugins"] if r["name"] == "typed")["option_details"]
    assert (details["seed"]["type"], details["ports"]["type"]) == ("int", "list of int")
    assert "type" not in details["loud"]
    out, _ = taonet("subnet", "plugins", "--options", env={**env(site, tmp_path), "COLUMNS": "400"})
    assert "seed=None (int)" in out.stdout and "ports=[8091] (list of int)" in out.stdout, out.stdout
