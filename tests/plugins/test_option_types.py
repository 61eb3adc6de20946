"""`Option(type=...)` and list items: an option whose default is None says its type (it took any text unchecked),
and a list option's items are checked against their type (declared, or shown by the default's items); a wrong
value is one line naming the option, the value and the type (InvalidOption, exit 2), before the neuron starts. A
declared type the options cannot take, or a default of another type, is the plugin's mistake (InvalidPlugin)."""

from __future__ import annotations

import pytest

from taonet.kernel import Synapse
from taonet.plugins import Option, Plugin
from taonet.plugins.errors import InvalidOption, InvalidPlugin

from .protocols import protocol_plugin


class _Ask(Synapse):
    """The protocol's one synapse."""

    NAME = "Ask"


OPTIONS = {"seed": Option(default=None, type=int), "ratio": Option(default=None, type=float, lo=0, hi=1),
           "flag": Option(default=None, type=bool), "table": Option(default=None, type=dict),
           "ports": Option(default=[], type=list[int]), "langs": ["en", "fr"], "weights": [0.5, 1],
           "anything": None, "mixed": [1, "a"]}


def _plugin() -> Plugin:
    return Plugin.from_object("proto", protocol_plugin((_Ask,), OPTIONS))


@pytest.mark.parametrize(("overrides", "says"), [
    ({"seed": "abc"}, "option 'seed': 'abc' is not a valid int"),
    ({"seed": "1.5"}, "option 'seed': '1.5' is not a valid int"),
    ({"seed": 2.5}, "option 'seed': 2.5 is not a valid int"),  # a launch file's number
    ({"seed": True}, "option 'seed': True is not a valid int"),
    ({"ratio": "half"}, "option 'ratio': 'half' is not a valid float"),
    ({"ratio": "2"}, "option 'ratio': '2' is outside 0..1"),
    ({"flag": "maybe"}, "option 'flag': 'maybe' is not a valid bool"),
    ({"table": "[1]"}, "option 'table': '[1]' is not a valid dict (as JSON: {\"a\": 1})"),
    ({"ports": '[1, "x"]'}, "option 'ports': '[1, \"x\"]' is not a valid list of int: item 1 ('x') is a str, not "
                            "an int"),
    ({"ports": "[8091, true]"}, "option 'ports': '[8091, true]' is not a valid list of int: item 1 (True) is a "
                                "bool, not an int"),
    ({"ports": [1, 2.0]}, "option 'ports': [1, 2.0] is not a valid list of int: item 1 (2.0) is a float, not an "
                          "int"),
    ({"langs": '["en", 2]'}, "option 'langs': '[\"en\", 2]' is not a valid list of str: item 1 (2) is an int, not "
                             "a str"),
    ({"langs": '"en"'}, "option 'langs': '\"en\"' is not a valid list of str (as JSON: [\"a\", \"b\"])"),
    # the JSON example is of the list's item type (a list of str was shown [1, 2])
    ({"langs": "x"}, "option 'langs': 'x' is not a valid list of str (as JSON: [\"a\", \"b\"])"),
    ({"ports": "x"}, "option 'ports': 'x' is not a valid list of int (as JSON: [1, 2])"),
    ({"weights": "x"}, "option 'weights': 'x' is not a valid list of float (as JSON: [0.5, 2.0])"),
    ({"weights": "[1, NaN]"}, "option 'weights': '[1, NaN]' is not a valid list of float: item 1 (nan) is not a "
                              "finite number"),
])
def test_a_value_of_the_wrong_type_is_refused_in_one_line(overrides: dict, says: str) -> None:
    """Each names the option, the value as given and the type it takes (an item by its index)."""
    with pytest.raises(InvalidOption) as info:
        _plugin().options(overrides)
    assert str(info.value) == says


def test_values_of_the_declared_type_are_converted_and_taken() -> None:
    """`--set` text is converted to the declared type (as a default of that type converts it); a list of floats
    gets floats; None stays the default of an option not given; an untyped None default and a list default of mixed
    items take anything, as before."""
    plugin = _plugin()
    assert {k: plugin.options({})[k] for k in ("seed", "ratio", "flag", "table", "ports")} == dict.fromkeys(
        ("seed", "ratio", "flag", "table"), None) | {"ports": []}
    got = plugin.options({"seed": "7", "ratio": "0.25", "flag": "yes", "table": '{"a": [1]}', "ports": "[1, 2]",
                          "langs": '["de"]', "weights": "[1, 2.5]", "anything": "x", "mixed": '[true, "b"]'})
    assert {k: got[k] for k in OPTIONS} == {
        "seed": 7, "ratio": 0.25, "flag": True, "table": {"a": [1]}, "ports": [1, 2], "langs": ["de"],
        "weights": [1.0, 2.5], "anything": "x", "mixed": [True, "b"]}
    assert type(got["weights"][0]) is float
    assert plugin.options({"seed": 3, "ports": (4,)})["ports"] == (4,)  # a launch file's values
    assert plugin.protocol.types() == {"seed": int, "ratio": float, "flag": bool, "table": dict,
                                       "ports": list[int], "langs": list[str], "weights": list[float]}


@pytest.mark.parametrize(("options", "says"), [
    ({"k": Option(default=None, type=set)}, "its option 'k' declares the type <class 'set'>; give one of bool, int, "
                                            "float, str, list, dict, or list[T] of bool, int, float or str"),
    ({"k": Option(default=None, type=list[bytes])}, "its option 'k' declares the type list[bytes]"),
    ({"k": Option(default="x", type=int)}, "its option 'k' has a default of another type than it declares: 'x' is "
                                           "not a valid int"),
    ({"k": Option(default=[1, "a"], type=list[int])}, "its option 'k' has a default of another type than it "
                                                      "declares: [1, 'a'] is not a valid list of int: item 1"),
])
def test_a_type_the_options_cannot_take_or_a_default_of_another_type_is_refused_at_load(options: dict,
                                                                                        says: str) -> None:
    """The plugin's mistake, not the user's: InvalidPlugin when it loads (exit 7)."""
    with pytest.raises(InvalidPlugin) as info:
        Plugin.from_object("proto", protocol_plugin((_Ask,), options))
    assert says in str(info.value), str(info.value)


def test_a_typed_none_default_may_have_bounds_and_choices() -> None:
    """Bounds and choices of an option not given by default are checked on the value set (a None default of a
    number option with bounds was refused at load as 'a NoneType default')."""
    plugin = Plugin.from_object("proto", protocol_plugin((_Ask,), {
        "n": Option(default=None, type=int, lo=1, hi=3), "mode": Option(default=None, type=str, choices=("a", "b"))}))
    assert (plugin.options({})["n"], plugin.options({"n": "3"})["n"], plugin.options({"mode": "b"})["mode"]) == (
        None, 3, "b")
    for overrides, says in (({"n": "4"}, "option 'n': '4' is outside 1..3"),
                            ({"mode": "c"}, "option 'mode': 'c' is not one of a, b")):
        with pytest.raises(InvalidOption) as info:
            plugin.options(overrides)
        assert str(info.value) == says


@pytest.mark.parametrize(("option", "says"), [
    (Option(default=None, type=list[str]), '(as JSON: ["a", "b"])'),
    (Option(default=["en"]), '(as JSON: ["a", "b"])'),
    (Option(default=[True], type=list[bool]), "(as JSON: [true, false])"),
    (Option(default=None, type=list[float]), "(as JSON: [0.5, 2.0])"),
    (Option(default=None, type=list), "(as JSON: [1, 2])"),
])
def test_a_list_options_json_example_is_of_its_item_type(option: Option, says: str) -> None:
    """`--set tags=x` on a list of str shows a list of str as the form to write (it showed [1, 2] for every list)."""
    plugin = Plugin.from_object("proto", protocol_plugin((_Ask,), {"tags": option}))
    with pytest.raises(InvalidOption) as info:
        plugin.options({"tags": "x"})
    assert str(info.value).endswith(says)
