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
    ({"node": {"block_time": 0.001}}, "block_time must be 0.01 .. 3600 s, not 0.001"),
    ({"node": {"block_time": float("nan")}}, "block_time must be 0.01 .. 3600 s, not nan"),
    ({"node": {"rpc": "garbage"}}, "rpc 'garbage' is not an nng address"),
    ({"node": {"block_time": 1e308}}, "block_time must be 0.01 .. 3600 s"),
    ({"subnets": [{**SUBNET, "netuid": 70000}]}, "netuid must be 1..65535, not 70000"),
    ({"subnets": [{**SUBNET, "netuid": -3}]}, "netuid must be 1..65535, not -3"),
    ({"subnets": [{**SUBNET, "hyperparameters": {"nosuch": 5}}]}, "no hyperparameter 'nosuch'"),
    ({"subnets": [{**SUBNET, "hyperparameters": {"tempo": -5}}]}, "hyperparameter tempo: -5 is outside [1, "),
    ({"subnets": [{**SUBNET, "owner": "../x"}]}, "wallet name '../x' must be"),
    ({"wallets": [{"name": "w", "fund": -100}]}, "fund must be a number of τ in 0.."),
    ({"wallets": [{"name": "../../etc"}]}, "wallet name '../../etc' must be"),
    ({"timeout": -1}, "timeout must be a number of seconds > 0, not -1"),
    ({"timeout": "x"}, "timeout has the wrong type (str)"),
    ({"name": 3}, "name has the wrong type (int)"),
    ({"neurons": 5}, "neurons has the wrong type (int)"),
    ({"neurons": [5]}, "neurons must be an array of tables"),
    ({"subnets": [SUBNET], "neurons": [_row(wallet="../w")]}, "wallet name '../w' must be"),
    ({"subnets": [SUBNET], "neurons": [_row(hotkey="a/{i}")]}, "hotkey name 'a/0' must be"),
    ({"subnets": [SUBNET], "neurons": [_row(timeout=-1)]}, "timeout must be a number of seconds > 0"),
    ({"subnets": [SUBNET], "neurons": [_row(netuid=70000)]}, "netuid must be 0..65535, not 70000"),
    ({"subnets": [SUBNET], "neurons": [_row(count=4096), _row(hotkey="g{i}", count=4096)]},
     "row 2: 8192 neurons so far, more than the 4096 a file may describe"),
    ({"subnets": [SUBNET], "neurons": [_row(count=300, process="own")]},
     "300 neuron processes on this machine, more than the 256 the launcher starts"),
    ({"subnets": [SUBNET], "neurons": [_row(stake=-1)]}, "stake must be a number"),
    ({"subnets": [SUBNET], "neurons": [_row(process="a b")]}, "process must be"),
    ({"subnets": [SUBNET], "neurons": [_row(machine="../../x")]}, "machine must be a name of letters"),
    ({"subnets": [SUBNET], "neurons": [_row(machine="")]}, "machine must be a name of letters"),
    ({"subnets": [SUBNET], "neurons": [_row(name="../../x{i}")]}, "name '../../x0' must be 1-64 of"),
    ({"subnets": [SUBNET], "neurons": [_row(netuid=2)]}, "subnet 2 is not in [[subnets]]"),
    # its neuron stopped at once with PluginMismatch while the launch went on, "0/1 miners paid", exit 0
    ({"subnets": [SUBNET], "neurons": [_row(plugin="compute")]},
     "row 1: plugin 'compute', but [[subnets]] says subnet 1 runs 'template': a neuron runs its subnet's plugin"),
    ({"subnets": [SUBNET], "neurons": [_row(colour="red")]}, "unknown key 'colour'"),
    # each of these started the network (or funded a wallet with nothing) and failed at its setup, or not at all
    ({"wallets": [{"name": "../evil", "uri": "//Alice"}]}, "wallet name '../evil' must be"),
    ({"wallets": [{"name": "w", "uri": ""}]}, "uri is empty"),
    ({"wallets": [{"name": "w", "fund": 1e30}]}, "fund must be a number of τ in 0..18446744073"),
    ({"wallets": [{"name": "w", "fund": float("nan")}]}, "fund must be a number"),
    ({"subnets": [{**SUBNET, "hyperparameters": {"tempo": 99999999}}]}, "tempo: 99999999 is outside [1, "),
    ({"subnets": [SUBNET], "neurons": [_row(stake=float("nan"))]}, "stake must be a number"),
    ({"node": {"block_time": float("inf")}}, "block_time must be 0.01 .. 3600 s, not inf"),
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


def test_launch_and_localnet_refuse_what_they_cannot_run_before_starting_anything(tmp_path: Path) -> None:
    """A directory that is a file, or holds something else (which --fresh would later remove with the network): exit
    7, one line, nothing written. Launcher bounds on the command line (too many processes, a tempo out of the chain's
    bounds) and --epochs for a file without subnets: usage errors (exit 2). status of a file: no network (6)."""
    home = {"HOME": str(tmp_path)}
    a_file = tmp_path / "afile"
    a_file.write_text("mine")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    good = tmp_path / "good.toml"
    good.write_text('[[subnets]]\nnetuid = 1\nplugin = "template"\n')
    for where, says in ((a_file, "is a file, not a directory"), (other, "holds files that are not a network's "
                                                                        "(notes.txt)")):
        for cmd in (("launch", str(good), "--dir", str(where)), ("localnet", "--keep", str(where))):
            out, _ = taonet(*cmd, "--epochs", "1", env=home)
            assert out.returncode == 7 and len(error_lines(out.stderr)) == 1, out.stderr
            assert out.stderr.startswith(f"error: {where}: {says}"), out.stderr
    assert a_file.read_text() == "mine" and [p.name for p in other.iterdir()] == ["notes.txt"]
    out, _ = taonet("launch", "status", "--dir", str(a_file), env=home)
    assert out.returncode == 6 and "no network was launched" in out.stderr and "Errno" not in out.stderr
    for args, says in ((("--per-host", "1", "--miners", "300"), "302 neuron processes"),
                       (("--tempo", "100000"), "hyperparameter tempo: 100000 is outside"),
                       (("--block-time", "1e308"), "--block-time")):
        out, _ = taonet("localnet", *args, "--keep", str(tmp_path / "n"), "--epochs", "1", env=home)
        assert out.returncode == 2 and len(error_lines(out.stderr)) == 1 and says in out.stderr, out.stderr
    assert not (tmp_path / "n").exists()
    no_subnets = tmp_path / "none.toml"
    no_subnets.write_text("[node]\nblock_time = 0.25\n")
    out, _ = taonet("launch", str(no_subnets), "--dir", str(tmp_path / "n"), "--epochs", "1", env=home)
    assert out.returncode == 2 and len(error_lines(out.stderr)) == 1 and "lists no [[subnets]]" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "n").exists()


def test_launch_takes_lines_as_the_view_switch_and_n_for_logs(tmp_path: Path) -> None:
    """`--lines` is the one-line-per-event switch, as for localnet (it used to be taken as logs' count and refused
    without a number); `logs -n N` / `--tail N` count the lines."""
    home = {"HOME": str(tmp_path)}
    bad = tmp_path / "bad.toml"
    bad.write_text("[[subnets]]\nnetuid = 1\n")
    out, _ = taonet("launch", str(bad), "--lines", "--dir", str(tmp_path / "n"), env=home)
    assert out.returncode == 7 and "missing key 'plugin'" in out.stderr, out.stderr  # got past the command line
    net = tmp_path / "net"
    (net / "logs").mkdir(parents=True)
    (net / "launch.json").write_text('{"state": "stopped", "pid": 0, "processes": []}')
    (net / "logs" / "node.log").write_text("".join(f"line {i}\n" for i in range(10)))
    for flag in ("-n", "--tail"):
        out, _ = taonet("launch", "logs", "node", "--dir", str(net), flag, "3", env=home)
        assert out.returncode == 0 and out.stdout.splitlines() == ["line 7", "line 8", "line 9"], out
