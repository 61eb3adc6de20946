"""What a plugin author gets wrong while wiring a subnet, said with the fix: a package installed without its
``taonet.subnets`` entry point (its module importable, the plugin unknown) and a misspelt ``--set`` option."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

import taonet.plugins as tp
from taonet.plugins import Plugin, load_plugin
from taonet.plugins._discovery import GROUP, _infos
from taonet.plugins.errors import InvalidOption, UnknownPlugin

from .dists import FULL_PLUGIN, install
from .protocols import Double, protocol_plugin


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path holding test plugin packages (removed from the path afterwards)."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def _installed(site: Path) -> list[tp.PluginInfo]:
    return _infos(ep for d in metadata.distributions(path=[str(site)]) for ep in d.entry_points if ep.group == GROUP)


def test_an_importable_module_without_its_entry_point_is_said_with_the_line_to_add(site: Path) -> None:
    """`import vecsum` works but no package declares vecsum under taonet.subnets: still UnknownPlugin (not found),
    its line naming where the module is and the pyproject.toml line to add (it said only "no subnet plugin named
    'vecsum' is installed"); the module is found, not imported."""
    install(site, "echo-subnet", "echo", FULL_PLUGIN)
    (site / "vecsum").mkdir()
    (site / "vecsum" / "__init__.py").write_text("raise RuntimeError('imported')\n")
    with pytest.raises(UnknownPlugin) as info:
        load_plugin("vecsum", installed=_installed(site))
    assert str(info.value) == (
        "no subnet plugin named 'vecsum' is installed (installed: echo): a module vecsum is importable ("
        f"{site / 'vecsum' / '__init__.py'}) but no package declares it under the `taonet.subnets` entry point "
        'group: add `[project.entry-points."taonet.subnets"] vecsum = "vecsum"` to its pyproject.toml and reinstall '
        "it")
    assert info.value.installed == ("echo",) and "vecsum" not in sys.modules


@pytest.mark.parametrize("name", ["nosuch", "json", "no-such"])
def test_a_name_with_no_module_or_a_standard_library_one_says_only_what_is_installed(site: Path, name: str) -> None:
    """No module of that name, the standard library's json, or a name that is no module: the plain line."""
    install(site, "echo-subnet", "echo", FULL_PLUGIN)
    with pytest.raises(UnknownPlugin) as info:
        load_plugin(name, installed=_installed(site))
    assert str(info.value) == (f"no subnet plugin named {name!r} is installed (installed: echo); pip install the "
                               "package that provides it, or see `taonet subnet plugins`")


def test_a_mistyped_plugin_name_is_told_the_nearest_installed_one(site: Path) -> None:
    """`echp` with echo installed: the error's own line names echo (the CLI patched it into the line before, so a
    launch file's row or a Python caller got no guess); an importable module's line keeps its own advice."""
    install(site, "echo-subnet", "echo", FULL_PLUGIN)
    with pytest.raises(UnknownPlugin) as info:
        load_plugin("echp", installed=_installed(site))
    assert str(info.value) == ("no subnet plugin named 'echp' is installed (did you mean echo? installed: echo); pip "
                               "install the package that provides it, or see `taonet subnet plugins`")
    assert str(UnknownPlugin(name="ech", installed=("echo",), importable="/x/ech.py")).startswith(
        "no subnet plugin named 'ech' is installed (installed: echo): a module ech is importable")


def test_a_misspelt_option_gets_did_you_mean() -> None:
    """`--set mdoe=lazy` names `mode` (it listed every option and no more); a name near none gets no guess."""
    plugin = Plugin.from_object("proto", protocol_plugin((Double,), {"mode": "eager", "rounds": 3}))
    with pytest.raises(InvalidOption) as info:
        plugin.options({"mdoe": "lazy"})
    assert str(info.value).startswith("option 'mdoe': proto takes no such option (did you mean mode? it takes: ")
    with pytest.raises(InvalidOption) as info:
        plugin.options({"zzz": "1"})
    assert str(info.value).startswith("option 'zzz': proto takes no such option (it takes: alpha, ")
