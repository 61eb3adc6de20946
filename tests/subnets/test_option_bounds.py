"""Every option of every built-in plugin has the bounds its code needs: a nonsense value (a negative tolerance that
scores every miner 0, negative Freivalds rounds, a mistyped mode...) is refused before the neuron starts, in one line
naming the option and what it takes (InvalidOption, exit 2), as the neuron's own options are."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from taonet.plugins import Option, load_plugin
from taonet.plugins.errors import InvalidOption

TAONET_EXE = str(Path(sys.executable).parent / "taonet")
BUILT_IN = ("template", "compute", "oracle", "prompting")

REFUSED = [
    ("oracle", {"tolerance": "-1.0"}, r"option 'tolerance': '-1\.0' is outside 0\.001\.\.1"),
    ("oracle", {"tolerance": "0.0"}, r"option 'tolerance': '0\.0' is outside 0\.001\.\.1"),
    ("oracle", {"tolerance": -1.0}, r"option 'tolerance': -1\.0 is outside 0\.001\.\.1"),  # a launch file's number
    ("oracle", {"horizon": "0"}, r"option 'horizon': '0' is outside 1\.\.1,024"),
    ("oracle", {"horizon": "5000"}, r"option 'horizon': '5000' is outside 1\.\.1,024"),
    ("oracle", {"history": "0"}, r"option 'history': '0' is outside 2\.\.4,096"),
    ("oracle", {"mode": "bogus"}, r"option 'mode': 'bogus' is not one of honest, stale, constant, random, partial"),
    ("compute", {"rounds": "-1"}, r"option 'rounds': '-1' is outside 0\.\.16"),
    ("compute", {"min_size": "300"}, r"option 'min_size': 300 is above max_size \(256\); give min_size <= max_size"),
    ("compute", {"min_size": "128", "max_size": "64"}, r"option 'min_size': 128 is above max_size \(64\)"),
    ("compute", {"min_size": "33"}, r"option 'min_size': 33 is not a multiple of 32"),
    ("compute", {"max_size": "100"}, r"option 'max_size': 100 is not a multiple of 32"),
    ("compute", {"max_size": "10"}, r"option 'max_size': '10' is outside 32\.\.2,048"),
    ("compute", {"max_size": "4096"}, r"option 'max_size': '4096' is outside 32\.\.2,048"),
    ("compute", {"latency_weight": "5.0"}, r"option 'latency_weight': '5\.0' is outside 0\.\.1"),
    ("compute", {"mode": "one-wrong"}, r"option 'mode': 'one-wrong' is not one of honest, wrong, one_wrong, zero, "
                                       r"copy"),
    ("prompting", {"length": "0"}, r"option 'length': '0' is outside 1\.\.16,384"),
    ("prompting", {"verify_positions": "500"}, r"option 'verify_positions': 500 is above length \(128\); give "
                                               r"verify_positions <= length"),
    ("prompting", {"verify_positions": "0"}, r"option 'verify_positions': '0' is outside 1\.\.16,384"),
    ("prompting", {"tps_half": "-5"}, r"option 'tps_half': '-5' is outside 1\.\.1,000,000"),
    ("prompting", {"prompt_tokens": "0"}, r"option 'prompt_tokens': '0' is outside 1\.\.4,096"),
    ("prompting", {"latency_weight": "-0.5"}, r"option 'latency_weight': '-0\.5' is outside 0\.\.1"),
    ("prompting", {"mode": "replay "}, r"option 'mode': 'replay ' is not one of honest, random, unigram, prompt_lp, "
                                       r"replay"),
    ("template", {"delay": "-1"}, r"option 'delay': '-1' is outside 0\.\.1,000,000"),
    ("template", {"latency_weight": "1.5"}, r"option 'latency_weight': '1\.5' is outside 0\.\.1"),
]


@pytest.mark.parametrize(("plugin_name", "overrides", "says"), REFUSED)
def test_a_nonsense_option_is_refused_at_start_in_one_line(plugin_name: str, overrides: dict, says: str) -> None:
    """`Plugin.options`, the check every start runs (taonet miner run, validator run, neurons run, launch, the SDK's
    NeuronConfig), refuses the value with one line naming the option and what it takes."""
    plugin = load_plugin(plugin_name)
    with pytest.raises(InvalidOption) as info:
        plugin.options(overrides)
    text = str(info.value)
    assert "\n" not in text
    assert re.match(says, text), text


@pytest.mark.parametrize(("plugin_name", "overrides"), [
    ("oracle", {"tolerance": "0.001", "horizon": "1024", "history": "2", "mode": "partial"}),
    ("oracle", {"tolerance": "1", "horizon": "1", "history": "4096"}),
    ("compute", {"rounds": "16", "min_size": "32", "max_size": "32", "latency_weight": "0", "mode": "copy"}),
    ("compute", {"min_size": "2048", "max_size": "2048", "latency_weight": "1"}),
    ("prompting", {"length": "1", "verify_positions": "1", "tps_half": "1", "prompt_tokens": "1"}),
    ("prompting", {"length": "16384", "verify_positions": "16384", "mode": "replay"}),
    ("template", {"delay": "0", "latency_weight": "0"}),
])
def test_the_edges_of_each_range_are_taken(plugin_name: str, overrides: dict) -> None:
    """The bounds are inclusive: each edge named in the refusals is a value the plugin runs with."""
    options = load_plugin(plugin_name).options(overrides)
    for key, raw in overrides.items():
        assert str(options[key]) == raw or options[key] == type(options[key])(raw)


@pytest.mark.parametrize("plugin_name", BUILT_IN)
def test_every_option_of_a_built_in_plugin_is_bounded(plugin_name: str) -> None:
    """Every number a built-in plugin adds has both bounds, every `mode` lists its modes as choices (a bool needs
    neither), so no value of a built-in plugin's own options goes unchecked."""
    plugin = load_plugin(plugin_name)
    for key, opt in plugin.protocol.options.items():
        assert isinstance(opt, Option), key
        if isinstance(opt.default, bool):
            continue
        if isinstance(opt.default, str):
            module = sys.modules[f"taonet.subnets.{plugin_name}"]
            assert key == "mode" and opt.choices == tuple(module.MODES), key
            continue
        lo, hi = plugin.protocol.bounds()[key]
        assert lo is not None and hi is not None, key


def _miner_run(tmp_path: Path, plugin_name: str, *sets: str, role: str = "miner") -> subprocess.CompletedProcess[str]:
    args = [TAONET_EXE, role, "run", "--plugin", plugin_name, "--netuid", "1", "--wallet-name", "nobody",
            "--hotkey", "default", "--wallet-path", str(tmp_path / "wallets"), "--endpoint", "127.0.0.1:9"]
    for s in sets:
        args += ["--set", s]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)


@pytest.mark.parametrize(("role", "plugin_name", "pair", "says"), [
    ("validator", "oracle", "tolerance=-1.0", "error: option 'tolerance': '-1.0' is outside 0.001..1"),
    ("miner", "compute", "mode=one-wrong",
     "error: option 'mode': 'one-wrong' is not one of honest, wrong, one_wrong, zero, copy"),
    ("miner", "compute", "rounds=-1", "error: option 'rounds': '-1' is outside 0..16"),
])
def test_the_installed_command_exits_2_with_one_line(tmp_path: Path, role: str, plugin_name: str, pair: str,
                                                     says: str) -> None:
    """`taonet miner run --set ...` / `validator run`: exit 2 and the one line, before any wallet or node is touched
    (a good value would get as far as the missing wallet: exit 5)."""
    out = _miner_run(tmp_path, plugin_name, pair, role=role)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2, out.stderr
    assert lines == [says], lines
    good = _miner_run(tmp_path, plugin_name, "mode=honest", role=role)
    assert good.returncode == 5 and "does not exist" in good.stderr, good.stderr
