"""The `[[neurons]]` table: rows expand by count with `{i}`, file defaults apply, and every mistake is one line
naming the row and the key (InvalidNeuronFile) before anything starts; the installed command says it with exit 7."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from taonet.plugins import NeuronSpec, load_neurons, parse_neurons
from taonet.plugins.errors import InvalidNeuronFile
from taonet.testing import TAONET


def test_rows_expand_by_count_with_the_index_and_take_the_file_defaults(tmp_path: Path) -> None:
    """count = 3 gives three neurons whose {i} fields and ports follow the index; relative paths are the file's."""
    (tmp_path / "n.toml").write_text('''
endpoint = "tcp://127.0.0.1:9"
wallet_path = "w"
[[neurons]]
role = "miner"
plugin = "template"
netuid = 2
wallet = "m"
hotkey = "h{i}"
count = 3
port = 9000
state_dir = "s/{i}"
options = { honest = false, delay = 0.5 }
[[neurons]]
role = "validator"
plugin = "template"
netuid = 2
name = "gw"
gateway = "127.0.0.1:0"
endpoint = "tcp://10.0.0.1:9944"
timeout = 5
''')
    specs = load_neurons(tmp_path / "n.toml")
    assert [(s.name, s.hotkey, s.port, s.state_dir) for s in specs[:3]] == [
        (f"miner-template-2-m-h{i}", f"h{i}", 9000 + i, tmp_path / "s" / str(i)) for i in range(3)]
    assert specs[0].options == {"honest": "false", "delay": 0.5}
    assert {s.endpoint for s in specs[:3]} == {"tcp://127.0.0.1:9"} and specs[3].endpoint == "tcp://10.0.0.1:9944"
    assert specs[3] == NeuronSpec(name="gw", role="validator", plugin="template", netuid=2, gateway="127.0.0.1:0",
                                  endpoint="tcp://10.0.0.1:9944", wallet_path=str(tmp_path / "w"), timeout=5.0)


@pytest.mark.parametrize(("row", "says"), [
    ({"role": "miner", "plugin": "t"}, "missing key 'netuid'"),
    ({"role": "farmer", "plugin": "t", "netuid": 1}, "role must be miner or validator"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "hotkye": "x"}, "unknown key 'hotkye'"),
    ({"role": "miner", "plugin": "t", "netuid": "1"}, "netuid must be a int, not str"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "count": 2}, "wallet or hotkey must contain {i}"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "gateway": "x:1"}, "only a validator opens a gateway"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "port": 65535, "count": 2, "hotkey": "{i}"}, "outside 0..65535"),
    ({"role": "miner", "plugin": "t", "netuid": 70000}, "netuid must be 0..65535, not 70000"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "hotkey": "{i}", "count": 4096},
     "4097 neurons so far, more than the 4096 a file may describe"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "timeout": -1}, "timeout must be a number of seconds > 0, not -1"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "timeout": float("nan")}, "timeout must be a number of seconds"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "wallet": "../x"}, "wallet name '../x' must be 1-64 of"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "hotkey": "a/{i}", "count": 2}, "hotkey name 'a/0' must be"),
    ({"role": "validator", "plugin": "t", "netuid": 1, "gateway": "nonsense"}, "gateway 'nonsense' is not HOST:PORT"),
    ({"role": "miner", "plugin": "t", "netuid": 1, "external_ip": "not an ip"},
     "external_ip 'not an ip' is not an IPv4 or IPv6 address"),
])
def test_a_bad_row_is_one_line_naming_the_row_and_the_key(row: dict, says: str) -> None:
    """Each mistake names `[[neurons]] row N` and what is wrong with it."""
    with pytest.raises(InvalidNeuronFile) as e:
        parse_neurons([{"role": "miner", "plugin": "t", "netuid": 1}, row])
    assert str(e.value).startswith("neurons: [[neurons]] row 2: ") and says in str(e.value)
    assert "\n" not in str(e.value)


def test_two_neurons_on_one_hotkey_are_refused_and_a_launcher_may_add_its_own_keys() -> None:
    """One hotkey holds one UID per subnet: two rows on it are refused; extra_keys pass the caller's keys over."""
    row = {"role": "miner", "plugin": "t", "netuid": 1, "wallet": "w", "hotkey": "h"}
    with pytest.raises(InvalidNeuronFile, match="two neurons share the hotkey 'w/h on subnet 1'"):
        parse_neurons([row, {**row, "role": "validator"}])
    assert len(parse_neurons([{**row, "process": "host-1"}], extra_keys=("process",))) == 1


def test_neurons_run_refuses_a_bad_file_in_one_line_with_exit_7(tmp_path: Path) -> None:
    """The installed command: a typo in the file is one line on stderr and exit status 7, nothing started."""
    (tmp_path / "bad.toml").write_text('[[neurons]]\nrole = "miner"\nplugin = "template"\nnetuid = 1\nprot = 1\n')
    out = subprocess.run([*TAONET, "neurons", "run", str(tmp_path / "bad.toml")], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 7
    assert out.stderr.startswith(f"error: {tmp_path / 'bad.toml'}: [[neurons]] row 1: unknown key 'prot'")
    assert len(out.stderr.strip().splitlines()) == 1
    # a wallet name that is a path: the same one line and exit 7 (it was an internal error, exit 1)
    (tmp_path / "path.toml").write_text('[[neurons]]\nrole = "miner"\nplugin = "template"\nnetuid = 1\n'
                                        'wallet = "../../etc"\n')
    out = subprocess.run([*TAONET, "neurons", "run", str(tmp_path / "path.toml")], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 7 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "wallet name '../../etc' must be" in out.stderr


@pytest.mark.parametrize("case", ["absent", "directory", "not utf-8"])
def test_a_file_that_cannot_be_read_is_one_line_naming_it(tmp_path: Path, case: str) -> None:
    """A missing file, a directory, bytes that are not text: InvalidNeuronFile naming the path, no OS error text."""
    path = {"absent": tmp_path / "none.toml", "directory": tmp_path, "not utf-8": tmp_path / "x.toml"}[case]
    if case == "not utf-8":
        path.write_bytes(b"\xff\xfe")
    with pytest.raises(InvalidNeuronFile) as caught:
        load_neurons(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and ("no such file" if case == "absent" else "cannot be read") in text
    assert "Errno" not in text
