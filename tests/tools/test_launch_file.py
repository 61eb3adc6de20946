"""The network file (docs/launcher.md): its tables parsed and checked, the localnet's placement, and the installed
command's one-line errors with their exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from taonet.plugins.errors import PluginError
from taonet.tools.launcher import load_network, localnet_spec, parse_network

from .processes import error_lines, taonet

ROOT = Path(__file__).resolve().parents[2]
SUBNET = {"netuid": 1, "plugin": "template"}


def _row(**kw):
    return {"role": "miner", "plugin": "template", "netuid": 1, "wallet": "m", "hotkey": "h{i}", **kw}


def test_example_files_parse_with_their_placement() -> None:
    """Both example files parse; the two-subnet file runs two plugins, each with an exploit miner, and puts the
    exploit miner of subnet 1 in its own process."""
    one = load_network(ROOT / "docs" / "network-one-subnet.toml")
    assert [s.netuid for s in one.subnets] == [1] and len(one.neurons) == 6
    assert {p.process for p in one.neurons} == {"host"}
    assert sum(p.stake for p in one.neurons) == 2000
    two = load_network(ROOT / "docs" / "network-two-subnets.toml")
    assert [s.netuid for s in two.subnets] == [1, 2] and len(two.neurons) == 12
    own = [p.spec.name for p in two.neurons if p.process == "own"]
    assert own == ["exploit-1-0"]
    exploits = {p.spec.netuid: (p.spec.plugin, p.spec.options) for p in two.neurons if "exploit" in p.spec.name}
    assert exploits[1] == ("template", {"honest": "false"})  # subnet 1: the template's wrong answers
    assert exploits[2] == ("compute", {"mode": "one_wrong"})  # subnet 2: a product with one wrong entry


@pytest.mark.parametrize(("data", "needle"), [
    ({"subnets": [SUBNET], "nodes": {}}, "unknown table 'nodes'"),
    ({"subnets": [{"plugin": "template"}]}, "missing key 'netuid'"),
    ({"subnets": [SUBNET, SUBNET]}, "two subnets share a netuid"),
    ({"subnets": [{**SUBNET, "hyperparameters": {"tempo": "fast"}}]}, "hyperparameter tempo must be an integer"),
    ({"node": {"block_time": 0.001}}, "block_time must be at least 0.01 s"),
    ({"subnets": [SUBNET], "neurons": [_row(stake=-1)]}, "stake must be a number"),
    ({"subnets": [SUBNET], "neurons": [_row(process="a b")]}, "process must be"),
    ({"subnets": [SUBNET], "neurons": [_row(netuid=2)]}, "subnet 2 is not in [[subnets]]"),
    ({"subnets": [SUBNET], "neurons": [_row(colour="red")]}, "unknown key 'colour'"),
    # each of these started the network (or funded a wallet with nothing) and failed at its setup, or not at all
    ({"wallets": [{"name": "../evil", "uri": "//Alice"}]}, "wallet name '../evil' must be"),
    ({"wallets": [{"name": "w", "uri": ""}]}, "uri is empty"),
    ({"wallets": [{"name": "w", "fund": 1e30}]}, "fund must be a number of τ in 0..18446744073"),
    ({"wallets": [{"name": "w", "fund": float("nan")}]}, "fund must be a number"),
    ({"subnets": [{**SUBNET, "netuid": 70000}]}, "netuid must be 0..65535"),
    ({"subnets": [{**SUBNET, "hyperparameters": {"nosuch": 5}}]}, "no hyperparameter 'nosuch'"),
    ({"subnets": [{**SUBNET, "hyperparameters": {"tempo": 99999999}}]}, "tempo: 99,999,999 is outside its bounds"),
    ({"subnets": [SUBNET], "neurons": [_row(stake=float("nan"))]}, "stake must be a number"),
    ({"node": {"block_time": float("inf")}}, "at most 86400 s"),
])
def test_parse_network_refuses_a_bad_table_naming_it(data, needle) -> None:
    """Each mistake is one error (exit 7) naming the file and what is wrong."""
    with pytest.raises(PluginError) as e:  # InvalidNetworkFile, or the [[neurons]] table's InvalidNeuronFile
        parse_network(data, source="f.toml")
    assert needle in str(e.value) and "f.toml" in str(e.value)


def test_localnet_places_neurons_per_host() -> None:
    """per_host 0: up to 36 a host; 1: one process each; 3: at most three per host, validators first."""
    assert {p.process for p in localnet_spec().neurons} == {"host-0"}
    big = localnet_spec(miners=64, validators=8).neurons
    assert [sum(p.process == h for p in big) for h in ("host-0", "host-1")] == [36, 36]
    assert len({p.process for p in localnet_spec(per_host=1).neurons}) == 6
    spec = localnet_spec(validators=2, miners=7, per_host=3)
    assert [p.process for p in spec.neurons] == ["host-0"] * 3 + ["host-1"] * 3 + ["host-2"] * 3
    assert [p.stake > 0 for p in spec.neurons] == [True, True] + [False] * 7
    assert [s.netuid for s in localnet_spec(plugins=("template", "template")).subnets] == [1, 2]


def test_launch_commands_say_one_line_with_their_status(tmp_path: Path) -> None:
    """A bad file: exit 7; an unknown plugin: 6; status/stop where nothing was launched: 6; each one line."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[[subnets]]\nnetuid = 1\n")
    home = {"HOME": str(tmp_path)}
    out, _ = taonet("launch", str(bad), "--dir", str(tmp_path / "n"), env=home)
    assert out.returncode == 7 and len(error_lines(out.stderr)) == 1 and "missing key 'plugin'" in out.stderr
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[[subnets]]\nnetuid = 1\nplugin = "nosuch"\n')
    out, _ = taonet("launch", str(unknown), "--dir", str(tmp_path / "n"), env=home)
    assert out.returncode == 6 and len(error_lines(out.stderr)) == 1 and "nosuch" in out.stderr
    for action in ("status", "stop", "logs"):
        out, _ = taonet("launch", action, "--dir", str(tmp_path / "none"), env=home)
        assert out.returncode == 6 and len(error_lines(out.stderr)) == 1, out.stderr
        assert "no network was launched" in out.stderr
    for path, says in ((tmp_path / "absent.toml", "no such file"), (tmp_path, "cannot be read"),
                       (tmp_path / "latin1.toml", "cannot be read")):
        if path.name == "latin1.toml":
            path.write_bytes(b"name = \"caf\xe9\"\n")
        out, _ = taonet("launch", str(path), "--dir", str(tmp_path / "n"), env=home)
        assert out.returncode == 7 and len(error_lines(out.stderr)) == 1, out.stderr
        assert out.stderr.startswith(f"error: {path}: {says}"), out.stderr
        assert "Errno" not in out.stderr
    out, _ = taonet("localnet", "--plugin", "nosuch", "--keep", str(tmp_path / "n2"), env=home)
    assert out.returncode == 6 and len(error_lines(out.stderr)) == 1
    assert not (tmp_path / "n2").exists()
