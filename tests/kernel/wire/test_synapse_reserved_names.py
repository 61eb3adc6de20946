"""A field may not take a name the base Synapse uses: ``payload: int`` made ``await dendrite(axon, P(payload=21))``
raise "'int' object is not callable", ``replace: int`` broke ``synapse.replace(...)``, and ``is_success: bool`` was
silently shadowed by the property. Only timeout, dendrite and axon were refused; now every method, property and class
setting of Synapse (and StreamingSynapse) is, at class definition, naming the field."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from taonet.kernel import StreamingSynapse, Synapse

BASE_NAMES = sorted(n for n in dir(Synapse) if not (n.startswith("__") and n.endswith("__")))
NAMED = ["payload", "replace", "is_success", "is_failure", "is_timeout", "is_blacklist", "failed_verification",
         "deserialize", "unsendable", "NAME", "OUTPUT_FIELDS", "HASH_FIELDS", "MAX_SIZE", "MAX_DENSITY"]


def make(base: type, fields: dict[str, Any], **attrs: Any) -> type:
    """A subclass of ``base`` declaring ``fields`` (name -> annotation) as a class statement would."""
    return type("P", (base,), {"__annotations__": fields, "__module__": __name__, **attrs})


@pytest.mark.parametrize("name", sorted(set(NAMED) | set(BASE_NAMES)))
@pytest.mark.parametrize("annotation", [int, "int"])
def test_a_field_named_as_synapse_s_own_member_is_refused_at_class_definition(name: str, annotation: Any) -> None:
    """Every name the base class defines (the documented ones, and whatever dir(Synapse) holds) is refused as a
    field, with a TypeError naming it as Synapse's own."""
    with pytest.raises(TypeError, match=rf"P: the field name '{name}' is Synapse's own \("):
        make(Synapse, {name: annotation})


@pytest.mark.parametrize("name", ["assemble", "CHUNK", "replace"])
def test_a_streaming_synapse_field_named_as_its_own_member_is_refused(name: str) -> None:
    """StreamingSynapse's own members (assemble, CHUNK) too, and Synapse's through it."""
    with pytest.raises(TypeError, match=rf"the field name '{name}' is Synapse's own"):
        make(StreamingSynapse, {name: "int"})


def test_the_message_says_what_the_name_is_and_what_to_do() -> None:
    """A method or property: rename the field; a class setting: set it without an annotation."""
    with pytest.raises(TypeError, match=r"a method of Synapse, which a field would break: rename the field"):
        make(Synapse, {"payload": int})
    with pytest.raises(TypeError, match=r"a property of Synapse"):
        make(Synapse, {"is_success": bool})
    with pytest.raises(TypeError, match=r"a class setting of Synapse, not a field: set it without an annotation "
                                        r"\(NAME = \.\.\.\)"):
        make(Synapse, {"NAME": str}, NAME="mine")


def test_wire_names_are_still_refused() -> None:
    """timeout, dendrite and axon keep their own message."""
    with pytest.raises(TypeError, match=r"reserved for the wire"):
        make(Synapse, {"timeout": float})


class Settings(Synapse):
    """Class settings as documented: without an annotation, or as ClassVar; methods overridden."""

    NAME = "settings"
    MAX_SIZE: ClassVar[int | None] = 1 << 20
    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("output",)
    value: int = 0
    output: int | None = None
    name: str = ""  # not Synapse's (NAME is)

    def deserialize(self) -> Any:
        return self.output


class Child(Settings):
    """A subclass may redeclare its parent's own fields."""

    value: int = 5


class Stream(StreamingSynapse):
    """A streaming synapse overriding CHUNK (a setting) and assemble (a method)."""

    CHUNK = float
    total: float = 0.0

    def assemble(self, chunks: Any) -> Stream:  # type: ignore[override]
        return self.replace(total=sum(chunks))


def test_settings_overrides_and_redeclared_fields_are_still_allowed() -> None:
    """What a subclass is meant to set or override still works, and such classes build and behave."""
    s = Child(name="n")
    assert (Settings.NAME, Settings.MAX_SIZE, Child.NAME) == ("settings", 1 << 20, "Child")
    assert s.value == 5 and s.replace(output=3).deserialize() == 3
    assert s.payload() == {"name": "n", "output": None, "value": 5}
    assert not s.is_success
    assert Stream().assemble([1.0, 2.0]).total == 3.0
