"""`Option(choices=...)` and `SubnetProtocol(check=...)`: a value outside an option's choices, or values that do not
go together, are refused before the neuron starts in one line (InvalidOption, exit 2), as a number out of its
bounds is; a protocol whose own defaults break them is refused at load (InvalidPlugin, exit 7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from taonet.kernel import Synapse
from taonet.plugins import Option, Plugin
from taonet.plugins.errors import InvalidOption, InvalidPlugin

from .protocols import protocol_plugin


class _Ask(Synapse):
    """The protocol's one synapse."""

    NAME = "Ask"


def _ordered(options: Mapping[str, Any]) -> None:
    if options["low"] > options["high"]:
        raise InvalidOption(name="low", reason=f"{options['low']!r} is above high ({options['high']!r})")


def _plugin(options: Mapping[str, Any], check: Any = None) -> Any:
    return protocol_plugin((_Ask,), options, check)


OPTIONS = {"mode": Option(default="honest", choices=["honest", "copy"]), "level": Option(default=1, choices=(1, 2, 3)),
           "low": Option(default=1, lo=0, hi=10), "high": Option(default=5, lo=0, hi=10)}


@pytest.mark.parametrize(("overrides", "says"), [
    ({"mode": "bogus"}, "option 'mode': 'bogus' is not one of honest, copy"),
    ({"mode": "Honest"}, "option 'mode': 'Honest' is not one of honest, copy"),
    ({"mode": 3}, "option 'mode': 3 is not one of honest, copy"),  # a launch file's number
    ({"level": "4"}, "option 'level': '4' is not one of 1, 2, 3"),
    ({"low": "7", "high": "6"}, "option 'low': 7 is above high (6)"),
    ({"low": "6"}, "option 'low': 6 is above high (5)"),
])
def test_a_value_outside_the_choices_or_a_bad_combination_is_refused(overrides: dict, says: str) -> None:
    """The choices are compared with the converted value (`--set level=4` is the int 4); the protocol's check sees
    every option, given or not."""
    plugin = Plugin.from_object("proto", _plugin(OPTIONS, _ordered))
    with pytest.raises(InvalidOption) as info:
        plugin.options(overrides)
    assert str(info.value) == says


def test_values_among_the_choices_and_in_order_are_taken() -> None:
    """A value among the choices, and a combination the check accepts, go through; Option without choices or a
    protocol without check behaves as before."""
    plugin = Plugin.from_object("proto", _plugin(OPTIONS, _ordered))
    got = plugin.options({"mode": "copy", "level": "3", "low": "5", "high": "5"})
    assert (got["mode"], got["level"], got["low"], got["high"]) == ("copy", 3, 5, 5)
    assert plugin.protocol.choices() == {"mode": ("honest", "copy"), "level": (1, 2, 3)}
    plain = Plugin.from_object("proto", _plugin({"mode": Option(default="honest"), "k": 1}))
    assert plain.options({"mode": "anything"})["mode"] == "anything"
    assert Option(default=1).choices is None


@pytest.mark.parametrize(("options", "check", "says"), [
    ({"mode": Option(default="honset", choices=("honest", "copy"))}, None,
     "its option 'mode' defaults to 'honset', not one of its own choices (honest, copy)"),
    ({"low": Option(default=9), "high": Option(default=2)}, _ordered,
     "its options' defaults fail its own check (option 'low': 9 is above high (2))"),
    ({"low": Option(default=1)}, lambda options: options["nope"],
     "its protocol's options check raised KeyError: 'nope'"),
])
def test_defaults_that_break_their_own_choices_or_check_are_refused_at_load(options: Any, check: Any,
                                                                             says: str) -> None:
    """The plugin's mistake, not the user's: InvalidPlugin when it loads (exit 7)."""
    with pytest.raises(InvalidPlugin) as info:
        Plugin.from_object("proto", _plugin(options, check))
    assert says in str(info.value), str(info.value)
