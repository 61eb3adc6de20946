"""Synapse: the message a validator sends and a miner answers, as a frozen attrs class.

A subnet author writes a plain class; it becomes a frozen, keyword-only attrs class on its own::

    class Dummy(Synapse):
        input: int                     # set by the validator
        output: int | None = None      # filled by the miner

    def forward(synapse: Dummy) -> Dummy:
        return synapse.replace(output=synapse.input * 2)

The payload (the fields you declare) is kept apart from what the wire reports about a call: ``synapse.dendrite`` and
``synapse.axon`` are :class:`TerminalInfo` values (status, process time, ip, port, version, nonce, uuid, hotkey,
signature) and ``synapse.timeout`` is the caller's timeout. None of them is part of the body, and equality compares
only the payload.
"""

from __future__ import annotations

import copy
import functools
import inspect
import typing
from collections.abc import Sequence
from typing import Any, ClassVar, Self, dataclass_transform

import attrs
import cbor2

from ..errors import BadRequest, SynapseFrozen
from ._fields import compile_check, uncarried
from ._log import get_logger

__all__ = ["StreamingSynapse", "Synapse", "TerminalInfo"]

_TERMINAL = ("timeout", "dendrite", "axon")
_MUTABLE = (list, dict, set, bytearray)


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    """Setting a field of a synapse: say how to change it instead."""
    raise SynapseFrozen(type(self).__name__, name)


def _plain_status(code: int | None) -> int | None:
    """A status code as a plain int (the dendrite's own ``Status`` members too), as the Bittensor SDK keeps it."""
    return None if code is None else int(code)


@attrs.frozen(kw_only=True)
class TerminalInfo:
    """What one end of a call reports: status, timing and identity (every field None until known)."""

    status_code: int | None = attrs.field(default=None, converter=_plain_status)
    """The status code, a plain int (200, 408, ...: the Bittensor SDK's numbers) or None until known."""
    status_message: str | None = None
    process_time: float | None = None
    ip: str | None = None
    port: int | None = None
    version: int | None = None
    nonce: int | None = None
    uuid: str | None = None
    hotkey: str | None = None
    signature: bytes | None = None
    retry_after: float | None = None
    """Seconds the axon asked the caller to wait before trying again (a refusal that said so; else None)."""
    reply_limit: int | None = None
    """The bytes a reply could hold at most, when it was refused for passing them (500; else None): the synapse's
    ``MAX_SIZE``, the dendrite's ``max_response_size``, or the call's share of its ``max_bytes``."""


_EMPTY = TerminalInfo()


_OWN_NAMES: dict[type, frozenset[str]] = {}


def _own_names(cls: type) -> frozenset[str]:
    """The names the synapse classes of this module (Synapse, StreamingSynapse) define that ``cls`` inherits: its
    methods, properties and class settings, which a field of the same name would shadow (or be shadowed by)."""
    names: set[str] = set()
    for base in cls.__mro__[1:]:
        if base.__module__ != __name__ or not issubclass(base, Synapse):
            continue
        got = _OWN_NAMES.get(base)
        if got is None:
            got = _OWN_NAMES[base] = frozenset(
                n for n in dir(base) if not (n.startswith("__") and n.endswith("__"))
            ) | {"_WIRE_CHECKS", "_CHUNK_CHECK"}
        names |= got
    return frozenset(names)


def _what(cls: type, name: str) -> str:
    """What the synapse classes of this module define under ``name``, said for people."""
    for base in cls.__mro__[1:]:
        if base.__module__ == __name__ and name in base.__dict__:
            v = base.__dict__[name]
            if isinstance(v, property):
                return f"a property of {base.__name__}, which a field would break: rename the field"
            if callable(v) or isinstance(v, (classmethod, staticmethod)):
                return f"a method of {base.__name__}, which a field would break: rename the field"
            if name.isupper() and not name.startswith("_"):
                return f"a class setting of {base.__name__}, not a field: set it without an annotation ({name} = ...)"
            break
    return "an attribute of Synapse, which a field would break: rename the field"


def _is_class_var(annotation: Any) -> bool:
    """True for a ``ClassVar[...]`` annotation (a string one too, as attrs reads it): a class setting, not a field."""
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar", "typing_extensions.ClassVar"))
    return annotation is ClassVar or typing.get_origin(annotation) is ClassVar


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(attrs.field,))
@attrs.frozen(kw_only=True, slots=False)
class Synapse:
    """Base of every message type; subclasses declare payload fields and become frozen attrs classes themselves.

    Class settings a subclass may override:

    - ``NAME``: the name on the wire (default: the class name);
    - ``OUTPUT_FIELDS``: the fields a miner may fill; the reply carries only these, and the validator's copy of every
      other field is kept. Default ``None``: the reply carries every field the miner changed.
    - ``HASH_FIELDS``: the fields the request's body hash covers. Default ``None``: the whole body.
    - ``MAX_SIZE``: the largest request or reply of this type, in bytes (default: the axon's or dendrite's limit).
    - ``MAX_DENSITY``: the bytes of Python objects a request or reply of this type (64 KiB or more) may decode to per
      byte of it, + 8 MiB (default ``None``: 16, ``taonet.ledger.DENSITY``); a denser one is refused unread. Raise it
      for a type whose honest messages are lists of small records (it also raises the steps the check may take a
      byte by as much: see docs/wire.md, "Dense messages").
    """

    NAME: ClassVar[str] = "Synapse"
    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = None
    HASH_FIELDS: ClassVar[tuple[str, ...] | None] = None
    MAX_SIZE: ClassVar[int | None] = None
    MAX_DENSITY: ClassVar[int | None] = None
    _PAYLOAD: ClassVar[tuple[str, ...]] = ()

    timeout: float | None = attrs.field(default=None, eq=False, repr=False)
    dendrite: TerminalInfo = attrs.field(default=_EMPTY, eq=False, repr=False)
    axon: TerminalInfo = attrs.field(default=_EMPTY, eq=False, repr=False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__attrs_attrs__" in cls.__dict__:  # attrs is rebuilding a class it already made
            return
        own = inspect.get_annotations(cls)
        clash = [n for n in own if n in _TERMINAL]
        if clash:
            raise TypeError(f"{cls.__name__}: field names {clash} are reserved for the wire (timeout, dendrite, axon)")
        clash = [n for n, a in own.items() if n in _own_names(cls) and not _is_class_var(a)]
        if clash:
            raise TypeError(f"{cls.__name__}: the field name {clash[0]!r} is Synapse's own ({_what(cls, clash[0])})")
        if "NAME" not in cls.__dict__:
            cls.NAME = cls.__name__
        for n in own:  # a list (dict, set) default is copied for each synapse, as pydantic does, never shared
            default = cls.__dict__.get(n)
            if isinstance(default, _MUTABLE):
                setattr(cls, n, attrs.field(factory=functools.partial(copy.deepcopy, default)))
        attrs.frozen(cls, kw_only=True, slots=False)
        cls.__setattr__ = _frozen_setattr  # type: ignore[method-assign,assignment]
        cls._PAYLOAD = tuple(a.name for a in attrs.fields(cls) if a.name not in _TERMINAL)
        for group in ("OUTPUT_FIELDS", "HASH_FIELDS"):
            names = getattr(cls, group)
            if names is not None:
                unknown = set(names) - set(cls._PAYLOAD)
                if unknown:
                    raise TypeError(f"{cls.__name__}.{group} names unknown fields {sorted(unknown)}")

    # --- use ------------------------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (the synapse is frozen; a forward returns ``synapse.replace(...)``)."""
        return attrs.evolve(self, **changes)

    def deserialize(self) -> Any:
        """What ``Dendrite(..., deserialize=True)`` returns for this synapse; override to return the useful part."""
        return self

    def payload(self) -> dict[str, Any]:
        """The declared fields and their values (what the body carries)."""
        return {n: getattr(self, n) for n in self._PAYLOAD}

    @property
    def is_success(self) -> bool:
        """True when the call returned status 200."""
        return self.dendrite.status_code == 200

    @property
    def is_failure(self) -> bool:
        """True when the call did not return status 200 (or was never made)."""
        return self.dendrite.status_code != 200

    @property
    def is_timeout(self) -> bool:
        """True when the call timed out (status 408)."""
        return self.dendrite.status_code == 408

    @property
    def is_blacklist(self) -> bool:
        """True when the axon blacklisted the caller (status 403)."""
        return self.dendrite.status_code == 403

    @property
    def failed_verification(self) -> bool:
        """True when a signature, nonce, addressee or body hash check failed (status 401)."""
        return self.dendrite.status_code == 401

    # --- wire helpers (used by Axon and Dendrite) ----------------------------------------------------------
    def unsendable(self) -> str | None:
        """What of the fields the wire cannot carry (an int over 64 bits, a set, an object), said for people, as
        sending would refuse it; None when all can: a plugin checks a synapse it made with this."""
        return self._encode()[1] or None

    def _body(self) -> bytes:
        body, why = self._encode()
        if body is None:
            raise TypeError(f"{type(self).__name__} holds a value CBOR cannot carry: {why}; a synapse carries plain "
                            "values (int, float, str, bytes, bool, None, lists, dicts; ints of up to 64 bits): turn "
                            "a numpy array into a list with .tolist(), or bytes with .tobytes()")
        return body

    def _encode(self) -> tuple[bytes | None, str]:
        payload = self.payload()
        try:
            for name, value in payload.items():
                if (why := uncarried(value)) is not None:
                    return None, f"{name} holds {why}"
            return cbor2.dumps(payload, canonical=True), ""
        except (cbor2.CBOREncodeError, TypeError, ValueError) as e:
            return None, str(e)

    def _hashed_body(self, body: bytes) -> bytes:
        """The bytes the body hash covers: the body itself, or only HASH_FIELDS when the class narrows it."""
        names = self.HASH_FIELDS
        if names is None:
            return body
        return cbor2.dumps({n: getattr(self, n) for n in names}, canonical=True)

    @classmethod
    def _checks(cls) -> dict[str, Any]:
        checks = cls.__dict__.get("_WIRE_CHECKS")
        if checks is None:
            try:
                hints = typing.get_type_hints(cls)
            except Exception as e:  # unresolvable annotations: check nothing rather than refuse every message
                get_logger(__name__).warning(
                    "synapse.annotations_unresolved", synapse=cls.__qualname__, error=str(e),
                    hint="define synapse classes at module level so peer values can be type-checked",
                )
                hints = {}
            checks = {n: compile_check(hints.get(n, Any)) for n in cls._PAYLOAD}
            cls._WIRE_CHECKS = checks
        return checks

    @classmethod
    def _dense_advice(cls, density: int) -> str:
        """What to add to a refusal of one of this type's messages as too dense: the escape, for an honest type."""
        return (f"; if {cls.__name__} honestly carries that many small items (lists of pairs or records), raise its "
                f"MAX_DENSITY above {density}")

    @classmethod
    def _from_body(cls, fields: Any, **wire: Any) -> Self:
        """Build from a decoded request body, checking every value; raises BadRequest."""
        if type(fields) is not dict:
            raise BadRequest("the body must be a map of fields")
        checks = cls._checks()
        values = {}
        for k, v in fields.items():
            check = checks.get(k)
            if check is None:
                raise BadRequest(f"{cls.NAME} has no field {str(k)[:64]!r}")
            try:
                values[k] = check(v)
            except TypeError as e:
                raise BadRequest(f"{cls.NAME}.{k}: {e}") from None
        try:
            return cls(**values, **wire)
        except (TypeError, ValueError) as e:
            raise BadRequest(f"{cls.NAME}: {e}") from None

    def _changes(self, returned: Synapse) -> dict[str, Any]:
        """The fields a reply carries: OUTPUT_FIELDS, or every payload field the forward changed."""
        names = self.OUTPUT_FIELDS
        if names is not None:
            return {n: getattr(returned, n) for n in names}
        out = {}
        for n in self._PAYLOAD:
            new = getattr(returned, n)
            old = getattr(self, n)
            if new is not old and (type(new) is not type(old) or new != old):
                out[n] = new
        return out

    def _merge(self, fields: Any, **wire: Any) -> Self:
        """The validator's synapse with a reply's fields applied; raises BadRequest on a field it may not change."""
        if type(fields) is not dict:
            raise BadRequest("the reply body must be a map of fields")
        allowed = self.OUTPUT_FIELDS
        checks = self._checks()
        values = {}
        for k, v in fields.items():
            check = checks.get(k)
            if check is None or (allowed is not None and k not in allowed):
                raise BadRequest(f"the reply sets {str(k)[:64]!r}, which is not an output of {self.NAME}")
            try:
                values[k] = check(v)
            except TypeError as e:
                raise BadRequest(f"{self.NAME}.{k}: {e}") from None
        try:
            return attrs.evolve(self, **values, **wire)
        except (TypeError, ValueError) as e:
            raise BadRequest(f"{self.NAME}: {e}") from None


class StreamingSynapse(Synapse):
    """A synapse whose miner yields chunks that the validator receives as they come (token streaming).

    The forward is a generator (async or not) of chunks; ``CHUNK`` is the type each chunk is checked against on
    arrival (default: any plain value). :meth:`assemble` turns the chunks into the final synapse.
    """

    CHUNK: ClassVar[Any] = Any

    def assemble(self, chunks: Sequence[Any]) -> Self:
        """The synapse once its stream has ended (default: unchanged); override to keep what the chunks built."""
        return self

    @classmethod
    def _chunk_check(cls) -> Any:
        check = cls.__dict__.get("_CHUNK_CHECK")
        if check is None:
            check = compile_check(cls.CHUNK)
            cls._CHUNK_CHECK = check
        return check
