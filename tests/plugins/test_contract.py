"""The plugin contract: discovery from entry points, loading checked against the hookspecs, typed loading errors,
options, and the hook reference in docs/subnets.md kept in step with the hookspecs' docstrings."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import taonet.plugins as tp
from taonet.kernel import Synapse
from taonet.plugins import Option, Plugin, hookimpl, hookspecs, load_plugin
from taonet.plugins._discovery import GROUP, _infos
from taonet.plugins.errors import (
    DuplicatePlugin,
    InvalidOption,
    InvalidPlugin,
    MissingHook,
    PluginImportFailed,
    UnknownPlugin,
)

from .dists import CLASS_PLUGIN, FAILS_TO_IMPORT, FULL_PLUGIN, MISSING_HOOKS, UNKNOWN_HOOK, install
from .protocols import protocol_plugin

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path holding test plugin packages (removed from the path and module cache afterwards)."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def _installed(site: Path) -> list[tp.PluginInfo]:
    return _infos(ep for d in metadata.distributions(path=[str(site)]) for ep in d.entry_points if ep.group == GROUP)


def test_template_is_discovered_through_our_own_entry_point() -> None:
    """The built-in template subnet is listed (package taonet) and loads with its protocol."""
    infos = {i.name: i for i in tp.installed_plugins()}
    assert infos["template"].package == "taonet"
    plugin = load_plugin("template")
    assert plugin.protocol.name == "template"
    assert plugin.protocol.synapses[0].NAME == "Double"
    assert all(plugin.implements(h) for h in hookspecs.REQUIRED)


def test_full_plugin_loads_and_its_options_convert(site: Path) -> None:
    """A package's plugin loads by name; --set strings become each default's type; unknown options are refused."""
    install(site, "echo-subnet", "echo", FULL_PLUGIN)
    plugin = load_plugin("echo", installed=_installed(site))
    opts = plugin.options({"loud": "yes", "sample_size": "3", "timeout": "0.5"})
    assert opts["loud"] is True and opts["sample_size"] == 3 and opts["timeout"] == 0.5
    with pytest.raises(InvalidOption, match="takes no such option"):
        plugin.options({"nope": "1"})
    with pytest.raises(InvalidOption, match="is not a valid int"):
        plugin.options({"sample_size": "many"})



@pytest.mark.parametrize(("overrides", "says"), [
    ({"alpha": "5"}, r"'alpha': '5' is outside 0\.\.1"),
    ({"alpha": "-0.1"}, r"'alpha': '-0.1' is outside 0\.\.1"),
    ({"sample_size": "0"}, r"'sample_size': '0' is outside 1\.\.4,096"),
    ({"timeout": "0"}, r"'timeout': '0' is outside"),
    ({"timeout": -5}, r"'timeout': -5 is outside"),  # a TOML number, not a --set string
    ({"alpha": "nan"}, "'nan' is not a finite number"),  # was "'nan' is not a valid float"
    ({"latency_weight": "inf"}, "'inf' is not a finite number"),  # the plugin's own option: finite, and its bounds
    ({"latency_weight": float("nan")}, "nan is not a finite number"),
])
def test_neuron_options_outside_their_bounds_are_refused(overrides: dict, says: str) -> None:
    """The neuron's options have bounds (a moving average's alpha in 0..1, at least one miner a step, a positive
    timeout) and every float option must be finite: a value outside is InvalidOption (exit 2), not a neuron that runs
    with it. The plugin's own numbers are finite, and within the bounds it gives them (the template's latency_weight:
    0..1)."""
    plugin = load_plugin("template")
    with pytest.raises(InvalidOption, match=says):
        plugin.options(overrides)
    assert plugin.options({"alpha": "1", "latency_weight": "1"})["alpha"] == 1.0
    with pytest.raises(InvalidOption, match=r"'latency_weight': '-3' is outside 0\.\.1"):
        plugin.options({"latency_weight": "-3"})


def test_unknown_name_lists_what_is_installed(site: Path) -> None:
    """An unknown name says which plugins are installed."""
    install(site, "echo-subnet", "echo", FULL_PLUGIN)
    with pytest.raises(UnknownPlugin) as info:
        load_plugin("nosuch", installed=_installed(site))
    assert info.value.installed == ("echo",)
    assert "(installed: echo)" in str(info.value)


def test_import_failure_is_one_line_naming_the_package(site: Path) -> None:
    """A plugin whose module fails to import: PluginImportFailed with its package and the cause."""
    install(site, "broken-subnet", "broken", FAILS_TO_IMPORT)
    with pytest.raises(PluginImportFailed) as info:
        load_plugin("broken", installed=_installed(site))
    assert info.value.package == "broken-subnet"
    assert "a_module_that_is_not_installed" in info.value.error
    assert "\n" not in str(info.value)


def test_missing_required_hooks_are_named(site: Path) -> None:
    """A plugin without validator_task and reward is refused, naming both."""
    install(site, "half-subnet", "half", MISSING_HOOKS)
    with pytest.raises(MissingHook) as info:
        load_plugin("half", installed=_installed(site))
    assert info.value.hooks == ("validator_task", "reward")


def test_a_hook_matching_no_spec_is_refused_at_load(site: Path) -> None:
    """A misspelt hook (miner_forwrd) fails check_pending, with the plugin's name."""
    install(site, "typo-subnet", "typo", UNKNOWN_HOOK)
    with pytest.raises(InvalidPlugin) as info:
        load_plugin("typo", installed=_installed(site))
    assert str(info.value) == ("subnet plugin 'typo' is not valid: miner_forwrd is marked @hookimpl but is no hook "
                               "(did you mean miner_forward? the hooks: docs/subnets.md, 'The hooks')")


def test_a_hook_parameter_the_hook_does_not_pass_is_named_with_the_arguments_it_gets() -> None:
    """`def reward(task, resps)` (a renamed parameter): refused naming it and the names reward is called with; a
    parameter with a default, and an implementation under another name (specname), are fine."""
    class Renamed:
        @hookimpl
        def reward(self, task: Any, resps: Any) -> None: ...

    class Fine:
        @hookimpl(specname="reward")
        def score_them(self, task: Any, responses: Any, extra: int = 1) -> None: ...

    with pytest.raises(InvalidPlugin) as info:
        Plugin.from_object("renamed", Renamed())
    assert str(info.value) == ("subnet plugin 'renamed' is not valid: its reward takes resps, which the hook does "
                               "not pass; reward is called with task, responses, metagraph, options (by these "
                               "names; take any of them)")
    with pytest.raises(tp.errors.MissingHook):  # past the parameter check: only the other required hooks lack
        Plugin.from_object("fine", Fine())


def test_two_packages_claiming_one_name_are_refused(site: Path) -> None:
    """Two packages with the same plugin name: DuplicatePlugin naming both packages."""
    install(site, "one-subnet", "same", FULL_PLUGIN)
    install(site, "two-subnet", "same", FULL_PLUGIN)
    with pytest.raises(DuplicatePlugin) as info:
        load_plugin("same", installed=_installed(site))
    assert sorted(info.value.packages) == ["one-subnet 1.0", "two-subnet 1.0"]


def test_protocol_name_must_be_the_entry_point_name(site: Path) -> None:
    """An entry point named differently from its protocol is refused (the chain records one name)."""
    install(site, "alias-subnet", "alias", FULL_PLUGIN.replace("name={name!r}", "name={other!r}"))
    with pytest.raises(InvalidPlugin, match="must be the same"):
        load_plugin("alias", installed=_installed(site))


class _Named(Synapse):
    """A synapse whose NAME another class takes too."""

    NAME = "Same"


class _AlsoNamed(Synapse):
    """The second class with that NAME."""

    NAME = "Same"


@pytest.mark.parametrize(("synapses", "options", "says"), [
    ((_Named(),), None, "its protocol's synapses hold an instance of _Named; list Synapse subclasses"),
    ((dict,), None, "its protocol's synapses hold the class dict; list Synapse subclasses"),
    ((_Named, _AlsoNamed), None, "two of its synapses, _Named and _AlsoNamed, have the NAME 'Same'"),
    ((_Named,), {"k": Option(default=5, lo=10, hi=20)}, "its option 'k' defaults to 5, outside its own bounds"),
    ((_Named,), {"k": Option(default="a", lo=1, hi=2)}, "its option 'k' has bounds but a str default"),
    ((_Named,), {"k": Option(default=float("nan"), help="no bounds")}, "its option 'k' defaults to nan; a number "
                                                                       "option's default must be finite"),
    ((_Named,), {"k": float("inf")}, "its option 'k' defaults to inf"),
    ((_Named,), {"timeout": "2"}, "its option 'timeout' re-defaults the neuron's number option (within "
                                  "0.001..1e+06) but a str default"),
])
def test_a_malformed_protocol_is_refused_at_load_naming_the_fix(synapses: Any, options: Any, says: str) -> None:
    """Synapse instances or other classes in place of Synapse classes, two synapses one NAME (the axon routes by
    it), an option whose default breaks its own bounds or is not finite (a NaN default loaded and failed each
    step), a neuron option re-defaulted with a str: InvalidPlugin at load (exit 7), not a neuron that fails later
    (the miner's axon raised at attach, the validator's dendrite at its first query)."""
    with pytest.raises(InvalidPlugin) as info:
        Plugin.from_object("proto", protocol_plugin(synapses, options))
    assert says in str(info.value) and str(info.value).startswith("subnet plugin 'proto' is not valid: ")


def test_importing_taonet_plugins_loads_neither_kernel_nor_numpy() -> None:
    """`import taonet.plugins` stays light: no kernel, no ledger, no numpy, no sockets."""
    code = ("import sys, taonet.plugins; "
            "print(sorted(m for m in ('numpy', 'taonet.kernel', 'taonet.ledger', 'pynng') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_docs_hook_reference_matches_the_hookspecs() -> None:
    """docs/subnets.md lists every hook with the first line of its docstring and its parameters."""
    doc = (ROOT / "docs" / "subnets.md").read_text()
    section = doc.split("## The hooks", 1)[1].split("\n## ", 1)[0]
    for name in hookspecs.HOOKS:
        fn = getattr(hookspecs, name)
        params = ", ".join(inspect.signature(fn).parameters)
        assert f"### `{name}({params})`" in section, name
        first = inspect.getdoc(fn).split("\n\n")[0].replace("\n", " ").replace("``", "`")
        assert first in " ".join(section.split()), name


@pytest.mark.parametrize("error", [
    UnknownPlugin(name="x", installed=("a",)), PluginImportFailed(name="x", package="p", error="boom"),
    MissingHook(name="x", hooks=("reward",)), DuplicatePlugin(name="x", packages=("a 1", "b 2")),
    InvalidPlugin(name="x", reason="r"), InvalidOption(name="k", reason="r"),
    tp.errors.PluginMismatch(netuid=1, plugin="a", recorded="b"), tp.errors.HookFailed(plugin="x", hook="reward",
                                                                                       error="e"),
], ids=lambda e: type(e).__name__)
def test_plugin_errors_cross_a_socket_as_themselves(error: Exception) -> None:
    """Each plugin error has its own code (no clash with the ledger's or the kernel's) and one-line message."""
    from taonet.ledger.errors import error_from_wire, error_to_wire

    back = error_from_wire(error_to_wire(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert "\n" not in str(error)


def test_set_converts_by_the_neurons_type_and_takes_lists_and_tables_as_json() -> None:
    """A plugin that sets the neuron's float `timeout` to an int default still takes `--set timeout=0.5`; an option
    whose default is a list or a table takes JSON (`--set langs=["en","fr"]`), and anything else is InvalidOption
    naming the form (it used to reach the plugin as the string 'en')."""
    plugin = Plugin.from_object("proto", protocol_plugin((_Named,), {"timeout": 2, "langs": ["en"], "w": {"a": 1}}))
    options = plugin.options({"timeout": "0.5", "langs": '["en", "fr"]', "w": '{"b": 2}'})
    assert (options["timeout"], options["langs"], options["w"]) == (0.5, ["en", "fr"], {"b": 2})
    for overrides, says in (({"langs": "en"}, """option 'langs': 'en' is not a valid list of str (as JSON: ["a", """
                                              '"b"])'),
                            ({"w": "[1]"}, """option 'w': '[1]' is not a valid dict (as JSON: {"a": 1})""")):
        with pytest.raises(InvalidOption) as info:
            plugin.options(overrides)
        assert str(info.value) == says


def test_an_entry_point_naming_a_class_loads_an_instance_of_it(site: Path) -> None:
    """`name = "pkg:Plugin"`, a class whose methods (taking self) are the hooks, as docs/subnets.md allows: its
    instance is the plugin (the class itself was registered, and every hook was refused for its `self`)."""
    install(site, "class-subnet", "klass", CLASS_PLUGIN)
    (site / "class_subnet-1.0.dist-info" / "entry_points.txt").write_text("[taonet.subnets]\nklass = "
                                                                         "class_subnet:Plugin\n")
    plugin = load_plugin("klass", installed=_installed(site))
    echo = plugin.protocol.synapses[0]
    assert plugin.hook.miner_forward(synapse=echo(text="hi"), options={}).text == "hi!"


def test_an_entry_point_naming_something_that_is_no_plugin_says_so(site: Path) -> None:
    """An entry point naming a class taonet cannot make with no arguments (a Synapse, as authors mistype) is refused
    naming the entry point and what it should name (it said "failed to import: TypeError: ...", though the import
    worked); one naming a module with no hook at all says its entry point may name the wrong module (it listed the
    four hooks only); a module missing some hooks still lists just those."""
    needs = "\nclass Needs:\n    def __init__(self, *, x):\n        pass\n"  # no instance without its argument
    install(site, "wrong-subnet", "wrong", CLASS_PLUGIN + needs)
    entry = site / "wrong_subnet-1.0.dist-info" / "entry_points.txt"
    entry.write_text("[taonet.subnets]\nwrong = wrong_subnet:Needs\n")
    with pytest.raises(PluginImportFailed) as failed:
        load_plugin("wrong", installed=_installed(site))
    assert "its entry point 'wrong_subnet:Needs' names a class or function" in str(failed.value)
    assert "an entry point names the module (or object) holding the hooks" in str(failed.value)
    (site / "hookless.py").write_text("X = 1\n")
    entry.write_text("[taonet.subnets]\nwrong = hookless\n")
    with pytest.raises(MissingHook) as missing:
        load_plugin("wrong", installed=_installed(site))
    assert "its entry point names 'hookless': is that the module (or object) holding the hooks?" in str(missing.value)
    install(site, "partial-subnet", "partial", MISSING_HOOKS)
    with pytest.raises(MissingHook) as partial:
        load_plugin("partial", installed=_installed(site))
    assert "its entry point" not in str(partial.value)
