"""A network file's plugin and option mistakes name the file, the table and the row (docs/launcher.md, "The file"):
an unknown plugin is said as unknown (exit 6), in [[subnets]] or in [[neurons]] (not as a mismatch with the
subnet's plugin), and a bad option value of a [[neurons]] row names the row and the option (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taonet.plugins.errors import InvalidOption, UnknownPlugin
from taonet.tools.errors import exit_status
from taonet.tools.launcher import localnet_spec, parse_network

from .processes import error_lines, taonet

SUBNET = {"netuid": 1, "plugin": "template"}


def _row(**kw):
    return {"role": "miner", "plugin": "template", "netuid": 1, "wallet": "m", "hotkey": "h{i}", **kw}


@pytest.mark.parametrize(("data", "kind", "start", "status"), [
    ({"subnets": [SUBNET], "neurons": [_row(), _row(hotkey="g{i}", options={"delay": "slow"})]}, InvalidOption,
     "f.toml: [[neurons]] row 2: options: option 'delay': 'slow'", 2),
    ({"subnets": [SUBNET], "neurons": [_row(options={"nosuch": 1})]}, InvalidOption,
     "f.toml: [[neurons]] row 1: options: option 'nosuch': ", 2),
    # it was "plugin 'nosuch', but [[subnets]] says subnet 1 runs 'template'" (exit 7)
    ({"subnets": [SUBNET], "neurons": [_row(plugin="nosuch")]}, UnknownPlugin,
     "f.toml: [[neurons]] row 1: plugin: no subnet plugin named 'nosuch' is installed", 6),
    ({"subnets": [SUBNET, {"netuid": 2, "plugin": "nosuch"}]}, UnknownPlugin,
     "f.toml: [[subnets]] row 2: plugin: no subnet plugin named 'nosuch' is installed", 6),
])
def test_plugin_and_option_mistakes_name_the_file_table_and_row(data, kind, start, status) -> None:
    with pytest.raises(kind) as e:
        parse_network(data, source="f.toml")
    assert str(e.value).startswith(start), str(e.value)
    assert exit_status(e.value) == status


def test_a_known_plugin_that_differs_from_the_subnets_is_still_a_mismatch() -> None:
    with pytest.raises(ValueError, match=r"row 1: plugin 'compute', but \[\[subnets\]\] says subnet 1 runs"):
        parse_network({"subnets": [SUBNET], "neurons": [_row(plugin="compute")]}, source="f.toml")


def test_localnet_says_an_unknown_plugin_without_a_file() -> None:
    with pytest.raises(UnknownPlugin) as e:
        localnet_spec(plugins=("nosuch",))
    assert str(e.value).startswith("no subnet plugin named 'nosuch' is installed"), str(e.value)


def test_the_installed_command_says_one_line_naming_the_row(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    head = '[[subnets]]\nnetuid = 1\nplugin = "template"\n[[neurons]]\nrole = "miner"\nnetuid = 1\n'
    for text, status, says in (
            (head + 'plugin = "template"\noptions = { delay = "slow" }\n', 2,
             "[[neurons]] row 1: options: option 'delay': 'slow'"),
            (head + 'plugin = "nosuch"\n', 6, "[[neurons]] row 1: plugin: no subnet plugin named 'nosuch'"),
            ('[[subnets]]\nnetuid = 1\nplugin = "nosuch"\n', 6, "[[subnets]] row 1: plugin: no subnet plugin")):
        path = tmp_path / "net.toml"
        path.write_text(text)
        out, _ = taonet("launch", str(path), "--dir", str(tmp_path / "n"), env=home)
        assert out.returncode == status and len(error_lines(out.stderr)) == 1, out.stderr
        assert out.stderr.startswith(f"error: {path}: {says}"), out.stderr
        assert not (tmp_path / "n").exists()


def test_a_bad_option_in_a_neurons_file_names_the_file_and_the_neuron(tmp_path: Path) -> None:
    """`taonet neurons run FILE` with a row whose option value is wrong: exit 2, one line naming the file and the
    neuron before anything connects (it was "option 'delay': 'slow' is not a valid float", naming neither)."""
    path = tmp_path / "host.toml"
    path.write_text('[[neurons]]\nname = "m{i}"\ncount = 2\nrole = "miner"\nplugin = "template"\nnetuid = 1\n'
                    'wallet = "m"\nhotkey = "h{i}"\noptions = { delay = "slow" }\n')
    out, _ = taonet("neurons", "run", str(path), timeout=60, env={"TAONET_WALLET_PATH": str(tmp_path / "w")})
    assert out.returncode == 2, out.stderr
    assert error_lines(out.stderr) == [f"error: {path}: neuron 'm0': options: option 'delay': 'slow' is not a valid "
                                       "float"]
