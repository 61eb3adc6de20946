"""Synapse: plain annotated subclasses become frozen attrs values; payload apart from terminal info."""

from __future__ import annotations

import attrs
import pytest

from taonet.kernel import StreamingSynapse, Synapse, TerminalInfo
from taonet.kernel.errors import BadRequest, SynapseFrozen

from .wire_helpers import Dummy


def test_a_plain_subclass_is_a_frozen_keyword_only_attrs_class() -> None:
    """`class Dummy(Synapse): input: int; output: int | None = None` just works, frozen and keyword-only."""
    d = Dummy(input=3)
    assert attrs.has(Dummy)
    assert (d.input, d.output) == (3, None)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        d.output = 6  # type: ignore[misc]
    with pytest.raises(TypeError):
        Dummy(3)  # type: ignore[misc]
    assert d.replace(output=6).output == 6
    assert Dummy.NAME == "Dummy"


def test_payload_is_kept_apart_from_terminal_info() -> None:
    """The payload has only declared fields; equality ignores status and terminal info."""
    d = Dummy(input=3, output=6)
    answered = d.replace(dendrite=TerminalInfo(status_code=200), axon=TerminalInfo(status_code=200), timeout=1.0)
    assert d.payload() == {"input": 3, "output": 6}
    assert answered == d
    assert answered.is_success and not d.is_success
    assert d.is_failure


def test_status_predicates_follow_bittensor_codes() -> None:
    """is_success 200, is_timeout 408, is_blacklist 403, failed_verification 401."""

    def with_code(code: int) -> Dummy:
        return Dummy(input=1, dendrite=TerminalInfo(status_code=code))

    assert with_code(200).is_success
    assert with_code(408).is_timeout
    assert with_code(403).is_blacklist
    assert with_code(401).failed_verification
    assert with_code(500).is_failure


def test_wire_field_names_are_reserved() -> None:
    """A field named timeout, dendrite or axon is refused with a clear message."""
    with pytest.raises(TypeError, match="reserved for the wire"):

        class Bad(Synapse):
            axon: str


def test_output_and_hash_field_declarations_are_checked() -> None:
    """OUTPUT_FIELDS and HASH_FIELDS must name declared fields."""
    with pytest.raises(TypeError, match="unknown fields"):

        class Bad(Synapse):
            OUTPUT_FIELDS = ("nope",)
            x: int


def test_decoding_checks_values_against_the_annotations() -> None:
    """Peer values are checked: wrong types and unknown or missing fields are BadRequest; lists become tuples."""

    class Typed(Synapse):
        n: int
        xs: tuple[float, ...] = ()
        tags: dict[str, list[int]] | None = None

    t = Typed._from_body({"n": 1, "xs": [1, 2.5], "tags": {"a": [1]}})
    assert t.xs == (1.0, 2.5)
    for bad in ({"n": "1"}, {"n": True}, {"n": 1, "xs": ["a"]}, {"n": 1, "tags": {"a": ["b"]}}, {}, {"n": 1, "m": 2}):
        with pytest.raises(BadRequest):
            Typed._from_body(bad)


def test_changes_carry_only_what_the_miner_changed() -> None:
    """Without OUTPUT_FIELDS the reply carries the changed fields; with it, exactly the outputs."""
    d = Dummy(input=2)
    assert d._changes(d.replace(output=4)) == {"output": 4}

    class Q(Synapse):
        OUTPUT_FIELDS = ("a",)
        q: str
        a: str = ""

    q = Q(q="?")
    assert q._changes(q.replace(a="!", q="rewritten")) == {"a": "!"}


def test_hash_fields_narrow_what_the_body_hash_covers() -> None:
    """A synapse may narrow its body hash to declared fields; by default the whole body is hashed."""

    class Narrow(Synapse):
        HASH_FIELDS = ("question",)
        question: str
        hint: str = ""

    body = Narrow(question="q", hint="h")._body()
    assert Dummy(input=1)._hashed_body(b"whole") == b"whole"
    assert Narrow(question="q", hint="h")._hashed_body(body) == Narrow(question="q", hint="other")._hashed_body(b"")


def test_streaming_synapse_assembles_its_chunks() -> None:
    """A StreamingSynapse keeps what its chunks built through assemble()."""

    class Prompt(StreamingSynapse):
        prompt: str
        completion: str = ""

        def assemble(self, chunks: list[str]) -> Prompt:  # type: ignore[override]
            return self.replace(completion="".join(chunks))

    assert Prompt(prompt="hi").assemble(["a", "b"]).completion == "ab"


class Batch(Synapse):
    """A synapse with mutable defaults, as Bittensor (pydantic) authors write them."""

    items: list[int] = []
    scores: dict[str, float] = {}


def test_a_mutable_default_is_copied_for_each_synapse() -> None:
    """A list or dict default is each synapse's own (pydantic copies it); one synapse's list never leaks into
    another's."""
    a, b = Batch(), Batch()
    assert a.items is not b.items and a.scores is not b.scores
    a.items.append(1)
    a.scores["x"] = 1.0
    assert Batch() == Batch(items=[], scores={}) and b.items == []


def test_setting_a_field_says_to_replace_it() -> None:
    """``synapse.output = x`` (the Bittensor habit) raises SynapseFrozen, naming the replace() to write instead; it
    is still attrs' FrozenInstanceError and an AttributeError."""
    s = Batch()
    with pytest.raises(SynapseFrozen, match=r"return synapse\.replace\(items=\.\.\.\)") as caught:
        s.items = [1]  # type: ignore[misc]
    assert isinstance(caught.value, attrs.exceptions.FrozenInstanceError)
    assert isinstance(caught.value, AttributeError)
    assert s.replace(items=[1]).items == [1]


class Scores(Synapse):
    """A synapse a Bittensor author might fill with a numpy array."""

    values: list[float] | None = None


def test_a_numpy_array_in_a_synapse_says_to_convert_it() -> None:
    """Sending a numpy array (bt.Tensor's habit) names the way out: .tolist() or .tobytes()."""
    import numpy as np

    with pytest.raises(TypeError, match=r"\.tolist\(\)"):
        Scores(values=np.zeros(3))._body()  # type: ignore[arg-type]
    assert Scores(values=np.zeros(3).tolist())._body()
