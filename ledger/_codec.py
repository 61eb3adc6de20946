"""The codec: the only module that knows CBOR.

Every message, call and event is a frozen attrs class declared with :func:`message`, which gives it a stable type
tag and a version. On the wire a message is the canonical CBOR array ``[tag, version, {field: value}]``; nested
messages are encoded the same way, and numeric vectors (declared with :func:`vec`) travel as packed little-endian
byte strings, not CBOR lists. Decoding goes through each class's constructor, so its validators run on untrusted
bytes, and every failure is one of the codec's typed errors (:class:`~taonet.ledger.errors.CodecError`).

Where bytes are an identity (an extrinsic is known by the hash of its bytes), decoding with ``canonical=True`` accepts
only the one encoding :func:`encode` gives: see :func:`decode`.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar, final

import attrs
import cbor2

from .errors import InvalidField, MalformedMessage, MessageTooLarge, NonCanonical, UnknownType

__all__ = [
    "DEFAULT_MAX_SIZE",
    "HASH_FIELDS",
    "KEY_FIELDS",
    "ByIdentity",
    "Message",
    "decode",
    "decode_value",
    "dumps",
    "dumps_wire",
    "encode",
    "evolve",
    "evolve_checked",
    "cache_field",
    "field_b32",
    "field_bool",
    "field_bytes",
    "LazyMessages",
    "embedded_raws",
    "field_embedded",
    "field_int",
    "field_keys",
    "field_msg",
    "field_msgs",
    "field_sig",
    "field_text",
    "encode_with",
    "loads",
    "make_checked",
    "message",
    "pack",
    "packed",
    "raw_bytes",
    "registered",
    "share_encoding",
    "to_wire",
    "unpack",
    "upcaster",
    "vec",
]

DEFAULT_MAX_SIZE = 4 * 1024 * 1024
"""Messages above this many bytes are refused before parsing unless a caller sets another limit."""

T = TypeVar("T")

_REGISTRY: dict[str, type] = {}
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}
_BIG_ENDIAN = sys.byteorder == "big"

# Every CBOR semantic tag is refused: our wire has none, and cbor2's built-in ones (dates, bignums, sets,
# complex numbers, shared references, string references...) would let a peer smuggle in types or aliasing we never
# validate. cbor2 decodes these itself (the tag hook never sees them): each needs a refuser of its own, and
# tests/ledger/test_codec_no_complex.py checks this list against what the installed cbor2 decodes.
_BUILTIN_TAGS = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261, 1004, 43000, 55799)


def _tag_refused(number: Any) -> MalformedMessage:
    return MalformedMessage(f"CBOR semantic tags are not allowed (tag {number})")


def _tag_refuser(number: int) -> Callable[..., Any]:
    def refuse(*_args: Any) -> Any:
        raise _tag_refused(number)

    return refuse


_SEMANTIC = {n: _tag_refuser(n) for n in _BUILTIN_TAGS}


class Message:
    """Marker base for codec-registered classes (``TAG``, ``VERSION`` and the field plan are set by :func:`message`)."""

    __slots__ = ()
    TAG: ClassVar[str]
    VERSION: ClassVar[int]


# --- field declarations --------------------------------------------------------------------------------------
# Each helper is an attrs.field with strict validators (bool is not an int, a list is not bytes) and metadata
# telling the codec how the value travels.

_U64 = (1 << 64) - 1


def _int_validator(lo: int, hi: int) -> Callable[[Any, attrs.Attribute, Any], None]:
    def check(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
        if type(value) is not int:
            raise TypeError(f"{attr.name} must be an int, got {type(value).__name__}")
        if not lo <= value <= hi:
            raise ValueError(f"{attr.name}={value} is outside [{lo}, {hi}]")

    return check


def field_int(*, lo: int = 0, hi: int = _U64, default: Any = attrs.NOTHING, absent: int | None = None) -> Any:
    """An integer field within [lo, hi] (u64 by default).

    With ``absent`` the field is left out of the encoding while it holds that value, and bytes without it decode
    to that value: how a field is added to a message without changing the bytes (and hashes) of existing ones.
    """
    metadata = {} if absent is None else {"absent": absent}
    return attrs.field(default=default, validator=_int_validator(lo, hi), metadata=metadata)


def _bool_validator(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if type(value) is not bool:
        raise TypeError(f"{attr.name} must be a bool, got {type(value).__name__}")


def field_bool(*, default: Any = attrs.NOTHING, absent: bool | None = None) -> Any:
    """A boolean field (``absent`` as for :func:`field_int`: left out of the encoding while it holds that value)."""
    metadata = {} if absent is None else {"absent": absent}
    return attrs.field(default=default, validator=_bool_validator, metadata=metadata)


def _bytes_validator(lo: int, hi: int) -> Callable[[Any, attrs.Attribute, Any], None]:
    def check(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
        if type(value) is not bytes:
            raise TypeError(f"{attr.name} must be bytes, got {type(value).__name__}")
        if not lo <= len(value) <= hi:
            raise ValueError(f"{attr.name} must be {lo}..{hi} bytes, got {len(value)}")

    return check


def field_bytes(*, lo: int = 0, hi: int = DEFAULT_MAX_SIZE, default: Any = attrs.NOTHING) -> Any:
    """A byte-string field whose length is within [lo, hi]."""
    return attrs.field(default=default, validator=_bytes_validator(lo, hi))


KEY_FIELDS = frozenset({"account", "actor_keys", "author", "authority", "coldkey", "dest", "hotkey", "old_hotkey",
                        "owner", "owner_hotkey", "signer", "src", "who"})
"""Names of the 32-byte fields (:func:`field_b32`, :func:`field_keys`) of ledger messages that hold public keys:
tools show them as SS58 addresses."""
HASH_FIELDS = frozenset({"commit_hash", "events_root", "extrinsics_root", "genesis", "parent", "state_digest"})
"""Names of the 32-byte fields that hold hashes (shown as hex). Every 32-byte field of a registered message is named
in exactly one of the two (tests/ledger/test_key_fields.py): a new one must say which it is."""


def field_b32(*, default: Any = attrs.NOTHING) -> Any:
    """A 32-byte field: a public key (account) or a hash (its name says which: :data:`KEY_FIELDS`)."""
    return attrs.field(default=default, validator=_bytes_validator(32, 32), metadata={"b32": "one"})


def _keys_validator(max_len: int) -> Callable[[Any, attrs.Attribute, Any], None]:
    def check(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
        if type(value) is not tuple:
            raise TypeError(f"{attr.name} must be a tuple of 32-byte keys")
        if len(value) > max_len:
            raise ValueError(f"{attr.name} holds more than {max_len} keys")
        for v in value:
            if type(v) is not bytes or len(v) != 32:
                raise TypeError(f"{attr.name} items must be 32-byte keys")

    return check


def field_keys(*, max_len: int = 1024, default: Any = attrs.NOTHING) -> Any:
    """A tuple of 32-byte keys (a CBOR array of byte strings on the wire)."""
    return attrs.field(default=default, converter=_as_tuple, validator=_keys_validator(max_len),
                       metadata={"b32": "many"})


def field_sig(*, default: Any = attrs.NOTHING) -> Any:
    """A 64-byte ed25519 signature field."""
    return attrs.field(default=default, validator=_bytes_validator(64, 64))


def _text_validator(hi: int) -> Callable[[Any, attrs.Attribute, Any], None]:
    def check(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
        if type(value) is not str:
            raise TypeError(f"{attr.name} must be a str, got {type(value).__name__}")
        if len(value) > hi:
            raise ValueError(f"{attr.name} is longer than {hi} characters")

    return check


def field_text(*, max_len: int = 256, default: Any = attrs.NOTHING) -> Any:
    """A text field of at most max_len characters."""
    return attrs.field(default=default, validator=_text_validator(max_len))


_DTYPES = {"u8": ("B", 0, 0xFF), "u16": ("H", 0, 0xFFFF), "u32": ("I", 0, 0xFFFFFFFF), "u64": ("Q", 0, _U64),
           "i64": ("q", -(1 << 63), (1 << 63) - 1)}


_INT_ONLY = frozenset((int,))


def _to_int_tuple(value: Any) -> tuple[int, ...]:
    if isinstance(value, tuple) and (not value or set(map(type, value)) <= _INT_ONLY):  # every item exactly an int
        return value
    if isinstance(value, (str, bytes, bytearray)) or (not isinstance(value, (Sequence, array)) and not hasattr(
        value, "tolist"
    )):
        raise TypeError(f"expected a sequence of integers, got {type(value).__name__}")
    if hasattr(value, "tolist"):  # numpy arrays and array.array
        value = value.tolist()
    out = tuple(value)
    for v in out:
        if type(v) is not int:
            raise TypeError(f"expected integers, got {type(v).__name__}")
    return out


def vec(dtype: str, *, max_len: int = 1 << 20, default: Any = attrs.NOTHING) -> Any:
    """A numeric vector field: a tuple of ints in memory, packed little-endian ``dtype`` bytes on the wire."""
    code, lo, hi = _DTYPES[dtype]

    def check_len(_inst: Any, attr: attrs.Attribute, value: tuple[int, ...]) -> None:
        if len(value) > max_len:
            raise ValueError(f"{attr.name} holds {len(value)} values, the limit is {max_len}")

    def check(_inst: Any, attr: attrs.Attribute, value: tuple[int, ...]) -> None:
        check_len(_inst, attr, value)
        if value and (min(value) < lo or max(value) > hi):
            raise ValueError(f"{attr.name} has values outside {dtype}")

    # decoding unpacks the wire bytes with ``code`` itself: the values are ints within the dtype, and only their
    # number is left to check (``check_len``)
    return attrs.field(default=default, converter=_to_int_tuple, validator=check,
                       metadata={"packed": code, "check_len": check_len})


def _packed_converter(code: str) -> Callable[[Any], bytes]:
    def convert(value: Any) -> Any:
        if type(value) is bytes:
            return value
        if isinstance(value, bytearray | memoryview):
            return bytes(value)
        if isinstance(value, str):
            return value  # the validator reports it
        return _pack(code, _to_int_tuple(value))

    return convert


def packed(dtype: str, *, max_len: int = 1 << 20, default: Any = attrs.NOTHING) -> Any:
    """A numeric vector kept packed: little-endian ``dtype`` bytes in memory and on the wire (compact, and
    readable with ``numpy.frombuffer``). Sequences of ints are packed on construction."""
    code = _DTYPES[dtype][0]
    size = array(code).itemsize

    def check(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
        if type(value) is not bytes:
            raise TypeError(f"{attr.name} must be packed bytes, got {type(value).__name__}")
        if len(value) % size or len(value) // size > max_len:
            raise ValueError(f"{attr.name} must hold at most {max_len} whole {dtype} values")

    if default is not attrs.NOTHING and type(default) is not bytes:
        default = _pack(code, _to_int_tuple(default))
    return attrs.field(default=default, converter=_packed_converter(code), validator=check,
                       metadata={"dtype": dtype})


def pack(values: Sequence[int], dtype: str) -> bytes:
    """The packed little-endian bytes of a sequence of ints (what a :func:`packed` field holds)."""
    return _pack(_DTYPES[dtype][0], values)


def unpack(raw: bytes, dtype: str) -> tuple[int, ...]:
    """The values of a packed vector as a tuple of ints."""
    code = _DTYPES[dtype][0]
    return _unpack(code, raw, dtype)


def field_msg(base: type | tuple[type, ...] = Message, *, optional: bool = False, default: Any = attrs.NOTHING) -> Any:
    """A field holding one nested message of the given base class(es)."""

    def check(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, base) or not hasattr(type(value), "TAG"):
            raise TypeError(f"{attr.name} must be a {_names(base)}, got {type(value).__name__}")

    if optional and default is attrs.NOTHING:
        default = None
    return attrs.field(default=default, validator=check, metadata={"msg": "one"})


def _msgs_validator(base: type | tuple[type, ...], max_len: int) -> Callable[[Any, attrs.Attribute, Any], None]:
    def check(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
        if type(value) is not tuple:
            raise TypeError(f"{attr.name} must be a tuple of messages")
        if len(value) > max_len:
            raise ValueError(f"{attr.name} holds more than {max_len} items")
        for v in value:
            if not isinstance(v, base) or not hasattr(type(v), "TAG"):
                raise TypeError(f"{attr.name} items must be {_names(base)}, got {type(v).__name__}")

    return check


def field_msgs(base: type | tuple[type, ...] = Message, *, max_len: int = 1 << 16, default: Any = attrs.NOTHING) -> Any:
    """A field holding a tuple of nested messages of the given base class(es)."""
    return attrs.field(default=default, converter=_as_tuple, validator=_msgs_validator(base, max_len),
                       metadata={"msg": "many"})


def field_embedded(base: type | tuple[type, ...] = Message, *, max_len: int = 1 << 20, lazy: bool = False,
                   canonical: bool = False) -> Any:
    """Like :func:`field_msgs`, but each item travels as its own encoded byte string (reusing a cached encoding).

    A block holds its extrinsics this way: their bytes are hashed, signed and stored exactly as they arrived. With
    ``lazy`` the items are decoded (and validated) only when first used, as a :class:`LazyMessages`; with
    ``canonical`` (not for lazy items) each item must be in canonical form (:class:`NonCanonical` otherwise).
    """
    if lazy and canonical:
        raise ValueError("lazy embedded items are not checked for canonical form")
    strict = _msgs_validator(base, max_len)

    def check(inst: Any, attr: attrs.Attribute, value: Any) -> None:
        if type(value) is LazyMessages:
            if len(value) > max_len:
                raise ValueError(f"{attr.name} holds more than {max_len} items")
            return
        strict(inst, attr, value)

    kind = "lazy" if lazy else "canonical" if canonical else "embedded"
    return attrs.field(converter=_as_tuple, validator=check, metadata={"msg": kind, "base": base})


class LazyMessages(Sequence[Any]):
    """A read-only sequence of embedded messages, decoded (and validated) on first use; the bytes are kept."""

    __slots__ = ("_base", "_items", "_raws")

    def __init__(self, raws: Sequence[bytes], base: type | tuple[type, ...] = Message) -> None:
        self._raws = tuple(raws)
        self._base = base
        self._items: tuple[Any, ...] | None = None

    @property
    def raws(self) -> tuple[bytes, ...]:
        """The encoded items, as they arrived."""
        return self._raws

    def _load(self) -> tuple[Any, ...]:
        if self._items is None:
            items = []
            for raw in self._raws:
                obj = decode_value(loads(raw), self._base)
                if hasattr(obj, "_raw"):
                    object.__setattr__(obj, "_raw", raw)
                items.append(obj)
            self._items = tuple(items)
        return self._items

    def __len__(self) -> int:
        return len(self._raws)

    def __getitem__(self, index: Any) -> Any:
        return self._load()[index]

    def __iter__(self) -> Any:
        return iter(self._load())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyMessages):
            return self._raws == other._raws
        return isinstance(other, tuple) and self._load() == other

    def __hash__(self) -> int:
        return hash(self._raws)

    def __repr__(self) -> str:
        return f"LazyMessages({len(self._raws)} items)"


def embedded_raws(items: Sequence[Any]) -> list[bytes] | tuple[bytes, ...]:
    """The encodings of a sequence of embedded messages (without decoding a lazy one)."""
    if type(items) is LazyMessages:
        return items.raws
    return [raw_bytes(v) for v in items]


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _names(base: type | tuple[type, ...]) -> str:
    return " or ".join(b.__name__ for b in (base if isinstance(base, tuple) else (base,)))


# --- declaring and registering messages ---------------------------------------------------------------------


@attrs.frozen
class _Plan:
    """How one class travels: its field names and, per field, 'plain', a packed array code, 'one' or 'many'."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]


def message(tag: str, *, version: int = 1) -> Callable[[type[T]], type[T]]:
    """Class decorator: make a frozen, keyword-only attrs class and register it under ``tag``/``version``."""

    def wrap(cls: type[T]) -> type[T]:
        if tag in _REGISTRY:
            raise ValueError(f"type tag {tag!r} is already registered to {_REGISTRY[tag].__qualname__}")
        cls.TAG = tag  # type: ignore[attr-defined]
        cls.VERSION = version  # type: ignore[attr-defined]
        new = attrs.frozen(kw_only=True, cache_hash=False)(cls)
        # Fields in canonical CBOR map order (shorter keys first, then bytewise), so that plain cbor2.dumps of
        # to_wire output is already canonical and needs no sorting pass.
        fields = sorted((f for f in attrs.fields(new) if not f.metadata.get("cache")),
                        key=lambda f: (len(f.name.encode()), f.name.encode()))
        kinds = tuple(f.metadata.get("packed") or f.metadata.get("msg") or ("absent" if "absent" in f.metadata
                      else "plain") for f in fields)
        new._PLAN = _Plan(tuple(f.name for f in fields), kinds)  # type: ignore[attr-defined]
        new._SIMPLE = all(k == "plain" for k in kinds)  # type: ignore[attr-defined]
        # the fields decoding must turn into something else than the wire value, in field order
        new._SPECIAL = tuple((f.name, k) for f, k in zip(fields, kinds, strict=True)  # type: ignore[attr-defined]
                             if k != "plain" and k != "absent")
        new._ABSENT = {f.name: f.metadata["absent"] for f in fields if "absent" in f.metadata}  # type: ignore
        new._BASES = {f.name: f.metadata["base"] for f in fields if "base" in f.metadata}  # type: ignore[attr-defined]
        _REGISTRY[tag] = new
        return new

    return wrap


def upcaster(tag: str, from_version: int) -> Callable[[Callable[[dict], dict]], Callable[[dict], dict]]:
    """Register a function turning version ``from_version`` fields of ``tag`` into ``from_version + 1`` fields."""

    def wrap(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        _UPCASTERS[(tag, from_version)] = fn
        return fn

    return wrap


def cache_field() -> Any:
    """A slot the codec ignores, for caching derived bytes (an encoding, a hash) on a frozen message."""
    return attrs.field(default=None, init=False, eq=False, repr=False, hash=False, metadata={"cache": True})


def evolve(inst: T, **changes: Any) -> T:
    """``attrs.evolve`` for a codec message, faster: the unchanged fields are copied as they are (they were validated
    when ``inst`` was built) and only the changed ones go through their converters and validators, in field order.

    Only for classes whose validators look at their own value alone (every ``field_*`` helper's); a class with an
    ``__attrs_post_init__``, factory defaults or aliased fields goes through ``attrs.evolve``.
    """
    cls = type(inst)
    plan = _EVOLVE_PLANS.get(cls)
    if plan is None:
        plan = _EVOLVE_PLANS[cls] = _evolve_plan(cls)
    if plan is False or not changes.keys() <= plan[1].keys():
        return attrs.evolve(inst, **changes)  # type: ignore[misc]
    copy, fields = plan
    new = object.__new__(cls)
    copy(inst, new)
    setattr_ = object.__setattr__
    checks = []
    for name, value in changes.items():
        index, attribute, converter, validator = fields[name]
        if converter is not None:
            value = converter(value)
        setattr_(new, name, value)
        if validator is not None:
            checks.append((index, attribute, validator, value))
    if checks and attrs.validators.get_disabled() is False:
        if len(checks) > 1:
            checks.sort(key=_first)
        for _, attribute, validator, value in checks:
            validator(new, attribute, value)
    return new


def evolve_checked(inst: T, **changes: Any) -> T:
    """:func:`evolve` for values the caller has already checked against the fields' validators (no converter or
    validator runs): for a message rebuilt in bulk from vectors whose type and range already guarantee it."""
    cls = type(inst)
    plan = _EVOLVE_PLANS.get(cls)
    if plan is None:
        plan = _EVOLVE_PLANS[cls] = _evolve_plan(cls)
    if plan is False or not changes.keys() <= plan[1].keys():
        return evolve(inst, **changes)
    new = object.__new__(cls)
    plan[0](inst, new)
    setattr_ = object.__setattr__
    for name, value in changes.items():
        setattr_(new, name, value)
    return new


def make_checked(cls: type[T]) -> Callable[..., T]:
    """A constructor of ``cls`` for values the caller has already checked against the fields' converters and
    validators (none of them runs): fields by keyword (a field with a default may be left out), cache slots left
    empty as attrs' ``__init__`` leaves them; ``cls`` itself for a class with an ``__attrs_post_init__``, factory
    defaults or aliased fields."""
    if not _built_field_by_field(cls):
        return cls
    names: dict[str, Any] = {"NEW": object.__new__, "CLS": cls, "SET": object.__setattr__}
    params, lines = [], []
    for index, a in enumerate(attrs.fields(cls)):
        if not a.init:
            names[f"DEFAULT_{index}"] = a.default
            lines.append(f"    SET(new, {a.name!r}, DEFAULT_{index})")
        else:
            if a.default is attrs.NOTHING:
                params.append(a.name)
            else:  # as attrs' __init__: the default when not given (unchecked, as every value here)
                names[f"DEFAULT_{index}"] = a.default
                params.append(f"{a.name}=DEFAULT_{index}")
            lines.append(f"    SET(new, {a.name!r}, {a.name})")
    source = "\n".join([f"def make(*, {', '.join(params)}):", "    new = NEW(CLS)", *lines, "    return new"])
    exec(compile(source, f"<make {cls.__name__}>", "exec"), names)
    return names["make"]  # type: ignore[no-any-return]


_EVOLVE_PLANS: dict[type, Any] = {}


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


def _built_field_by_field(cls: type) -> bool:
    """Whether generated code may build a ``cls`` by setting its fields one by one, as attrs' ``__init__`` does: no
    pre- or post-init hook, no factory default, every field an identifier under its own name (no alias), and a
    default for each field outside ``__init__`` (a cache slot)."""
    if hasattr(cls, "__attrs_post_init__") or getattr(cls, "__attrs_pre_init__", None) is not None:
        return False
    for a in attrs.fields(cls):
        if isinstance(a.default, attrs.Factory) or not a.name.isidentifier():  # type: ignore[arg-type]
            return False
        if (a.default is attrs.NOTHING) if not a.init else (a.alias != a.name):
            return False
    return True


def _evolve_plan(cls: type) -> Any:
    if not _built_field_by_field(cls):
        return False
    lines = ["def copy(inst, new, set_=set_):"]
    defaults: dict[str, Any] = {"set_": object.__setattr__}
    fields: dict[str, tuple[int, Any, Any, Any]] = {}
    for index, a in enumerate(attrs.fields(cls)):
        if not a.init:
            defaults[f"default_{index}"] = a.default  # a cache slot starts empty, as attrs' __init__ leaves it
            lines.append(f"    set_(new, {a.name!r}, default_{index})")
            continue
        if a.converter is not None and not callable(a.converter):
            return False
        lines.append(f"    set_(new, {a.name!r}, inst.{a.name})")
        fields[a.name] = (index, a, a.converter, a.validator)
    # one straight-line function per class (as attrs writes its __init__): a loop of getattr calls costs twice as much
    namespace = dict(defaults)
    source = "\n".join(lines).replace("set_=set_", ", ".join(f"{k}={k}" for k in defaults))
    exec(compile(source, f"<evolve {cls.__name__}>", "exec"), namespace)
    return namespace["copy"], fields


def registered() -> dict[str, type]:
    """A copy of the tag -> class registry (for tests and tools)."""
    return dict(_REGISTRY)


# --- encoding -------------------------------------------------------------------------------------------------


def _pack(code: str, values: tuple[int, ...]) -> bytes:
    a = array(code, values)
    if _BIG_ENDIAN:
        a.byteswap()
    return a.tobytes()


def _unpack(code: str, raw: Any, name: str) -> tuple[int, ...]:
    if type(raw) is not bytes:
        raise InvalidField(f"{name} must be packed bytes, got {type(raw).__name__}")
    a = array(code)
    if len(raw) % a.itemsize:
        raise InvalidField(f"{name}: {len(raw)} bytes is not a whole number of {a.itemsize}-byte values")
    a.frombytes(raw)
    if _BIG_ENDIAN:
        a.byteswap()
    return tuple(a.tolist())


def to_wire(obj: Any) -> list[Any]:
    """The plain CBOR-ready form of a message: ``[tag, version, {field: value}]``."""
    cls = type(obj)
    fn = _WIRE.get(cls)
    if fn is None:
        fn = _WIRE[cls] = _compile_wire(cls)
    return fn(obj)


_WIRE: dict[type, Callable[[Any], list[Any]]] = {}
"""Class -> its generated to_wire (one straight-line function per class, as attrs writes its ``__init__``)."""
def _one(value: Any) -> Any:
    return None if value is None else to_wire(value)


def _field_expr(i: int, name: str, kind: str, names: dict[str, Any]) -> str:
    """The expression of a (not absent) field's wire value, for generated code whose globals are ``names``."""
    if kind == "plain":
        return f"obj.{name}"
    if kind == "one":
        return f"one(obj.{name})"
    if kind == "many":
        return f"[to_wire(v) for v in obj.{name}]"
    if kind in ("embedded", "lazy", "canonical"):
        return f"list(raws(obj.{name}))"
    names[f"CODE_{i}"] = kind
    return f"pack(CODE_{i}, obj.{name})"


def _field_lines(cls: type, fields: Sequence[tuple[int, str, str]], target: str, names: dict[str, Any]) -> list[str]:
    """Statements setting each field's wire value in the dict ``target`` (an absent field only when it does not hold
    its absent value), for generated code whose globals are ``names``."""
    lines = []
    for i, name, kind in fields:
        if kind == "absent":
            names[f"ABSENT_{i}"] = cls._ABSENT[name]  # type: ignore[attr-defined]
            lines.append(f"    if obj.{name} != ABSENT_{i}:")
            lines.append(f"        {target}[{name!r}] = obj.{name}")
        else:
            lines.append(f"    {target}[{name!r}] = {_field_expr(i, name, kind, names)}")
    return lines


def _code_names(cls: type) -> dict[str, Any]:
    return {"TAG": cls.TAG, "VERSION": cls.VERSION, "to_wire": to_wire, "one": _one,  # type: ignore[attr-defined]
            "raws": embedded_raws, "pack": _pack}


def _compile_wire(cls: type) -> Callable[[Any], list[Any]]:
    """The to_wire of ``cls`` as generated code (as attrs writes ``__init__``): the fields in canonical order, each
    written as its kind says; one dict display when no field may be left out."""
    plan: _Plan = cls._PLAN  # type: ignore[attr-defined]
    names = _code_names(cls)
    fields = [(i, n, k) for i, (n, k) in enumerate(zip(plan.names, plan.kinds, strict=True))]
    if "absent" not in plan.kinds:
        items = ", ".join(f"{n!r}: {_field_expr(i, n, k, names)}" for i, n, k in fields)
        lines = ["def wire(obj):", f"    return [TAG, VERSION, {{{items}}}]"]
    else:
        lines = ["def wire(obj):", "    body = {}", *_field_lines(cls, fields, "body", names),
                 "    return [TAG, VERSION, body]"]
    exec(compile("\n".join(lines), f"<to_wire {cls.__name__}>", "exec"), names)
    return names["wire"]  # type: ignore[no-any-return]


def raw_bytes(obj: Any) -> bytes:
    """The encoding of ``obj``, cached on it when its class declares a ``_raw`` cache slot."""
    if hasattr(obj, "_raw"):
        raw = obj._raw
        if raw is None:
            raw = encode(obj)
            object.__setattr__(obj, "_raw", raw)
        return raw
    return encode(obj)


def _decode_embedded(raw: bytes, canonical: bool = False) -> Any:
    plain = loads(raw)
    if canonical:
        _check_minimal(plain, raw)
    obj = decode_value(plain, canonical=canonical)
    if hasattr(obj, "_raw"):
        object.__setattr__(obj, "_raw", raw)
    return obj


def encode(obj: Any) -> bytes:
    """Canonical CBOR bytes of a message; equal messages always give equal bytes."""
    fn = _ENCODE_SHARING.get(type(obj))
    if fn is not None:
        return fn(obj)
    return _dumps_plain(to_wire(obj))


def encode_with(cls: type, fn: Callable[[Any], bytes]) -> None:
    """Make :func:`encode` of a ``cls`` call ``fn``: a hot class's bytes laid out by hand, which must be exactly the
    generic encoding (``dumps_wire(to_wire(obj))``; the caller's tests say so) for every value of ``cls``."""
    if cls in _ENCODE_SHARING:
        raise ValueError(f"{cls.__name__} already has an encoder of its own")
    _ENCODE_SHARING[cls] = fn


# --- shared nested values: encoded once, by identity --------------------------------------------------------------
# A subnet carries its hyperparameters, and every block rewrites every subnet (its emission pot): the hyperparameters
# are the same object from block to block (evolve copies the reference), so their encoding is kept by identity and
# spliced into the parent's bytes as it is. CBOR is compositional: a map's bytes are its header and then each key's
# and value's bytes in turn, so the parent's bytes are the same as if the nested message were encoded in place.

_SHARED: set[type] = set()
"""Classes whose instances are immutable values shared by many messages (see :func:`share_encoding`)."""
_ENCODE_SHARING: dict[type, Callable[[Any], bytes]] = {}
"""Class -> its own encode: splicing the cached encodings of the shared values its fields hold, or laid out by hand
(:func:`encode_with`)."""


@final
class ByIdentity:
    """Encodings of immutable messages kept by the object's identity, at most ``limit`` (emptied when full): for
    values reused unchanged from block to block. An entry holds its object, so the id it is keyed by cannot be reused
    by another object while it is kept."""

    __slots__ = ("_kept", "limit")

    def __init__(self, limit: int) -> None:
        self._kept: dict[int, tuple[Any, bytes]] = {}
        self.limit = limit

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, obj: Any) -> bytes | None:
        """The bytes kept for ``obj`` itself, or None."""
        hit = self._kept.get(id(obj))
        return hit[1] if hit is not None and hit[0] is obj else None

    def put(self, obj: Any, raw: bytes) -> None:
        """Keep ``raw`` for ``obj``."""
        if len(self._kept) >= self.limit:
            self._kept.clear()
        self._kept[id(obj)] = (obj, raw)

    def encoded(self, obj: Any) -> bytes:
        """:func:`encode` of ``obj``, kept."""
        hit = self._kept.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        raw = encode(obj)
        self.put(obj, raw)
        return raw

    def clear(self) -> None:
        """Forget everything kept."""
        self._kept.clear()


_SHARED_RAW_MAX = 256
_SHARED_RAW = ByIdentity(_SHARED_RAW_MAX)


def share_encoding(cls: type, *, inside: Sequence[tuple[type, str]]) -> None:
    """Declare ``cls`` a shared value (its instances are reused unchanged by many messages, in the ``(class, field)``
    places of ``inside``): :func:`encode` of those classes splices in its cached encoding (by identity, bounded)."""
    _SHARED.add(cls)
    by_parent: dict[type, list[str]] = {}
    for parent, name in inside:
        by_parent.setdefault(parent, []).append(name)
    for parent, fields in by_parent.items():
        _ENCODE_SHARING[parent] = _compile_encode_sharing(parent, tuple(fields))


def _shared_bytes(value: Any) -> bytes:
    """The encoding of a shared field's value: cached for a shared class, else encoded (None, another message)."""
    if type(value) in _SHARED:
        return _SHARED_RAW.encoded(value)
    return _dumps_plain(None if value is None else to_wire(value))


def _map_head(n: int) -> bytes:
    """The CBOR head of a map of ``n`` pairs, in its shortest form (as cbor2 writes every head)."""
    if n < 24:
        return bytes((0xA0 + n,))
    for code, size in ((0xB8, 1), (0xB9, 2), (0xBA, 4)):
        if n < 1 << (8 * size):
            return bytes((code,)) + n.to_bytes(size, "big")
    return b"\xbb" + n.to_bytes(8, "big")


_MAP_HEADS = [_map_head(n) for n in range(64)]


def _pairs(d: dict[str, Any]) -> bytes:
    """The bytes of a map's pairs, without its head."""
    raw = _dumps_plain(d)
    n = len(d)
    return raw[len(_MAP_HEADS[n]) if n < 64 else len(_map_head(n)):]


def _compile_encode_sharing(cls: type, shared: tuple[str, ...]) -> Callable[[Any], bytes]:
    """``encode`` for ``cls`` as generated code: the runs of fields between shared ones encoded as maps (their heads
    cut off), each shared field's key and cached value bytes between them, under the message's head."""
    plan: _Plan = cls._PLAN  # type: ignore[attr-defined]
    for name in shared:
        if plan.kinds[plan.names.index(name)] != "one":
            raise ValueError(f"{cls.__name__}.{name} does not hold one message")
    names = _code_names(cls)
    names.update(pairs=_pairs, map_head=_map_head, MAP_HEADS=_MAP_HEADS, shared_bytes=_shared_bytes)
    names["HEAD"] = b"\x83" + _dumps_plain([cls.TAG, cls.VERSION])[1:]  # type: ignore[attr-defined]
    lines = ["def encode(obj):"]
    parts, counts = [], []
    run: list[tuple[int, str, str]] = []

    def close_run() -> None:
        k = len(parts)
        lines.append(f"    d{k} = {{}}")
        lines.extend(_field_lines(cls, run, f"d{k}", names))
        parts.append(f"pairs(d{k})")
        counts.append(f"len(d{k})")
        run.clear()

    for i, (name, kind) in enumerate(zip(plan.names, plan.kinds, strict=True)):
        if name in shared:
            close_run()
            names[f"KEY_{i}"] = _dumps_plain(name)
            parts.append(f"KEY_{i} + shared_bytes(obj.{name})")
            counts.append("1")
        else:
            run.append((i, name, kind))
    close_run()
    lines.append(f"    n = {' + '.join(counts)}")
    lines.append(f"    return b''.join((HEAD, MAP_HEADS[n] if n < 64 else map_head(n), {', '.join(parts)}))")
    exec(compile("\n".join(lines), f"<encode {cls.__name__}>", "exec"), names)
    return names["encode"]  # type: ignore[no-any-return]


def dumps_wire(value: Any) -> bytes:
    """CBOR of a list or scalar built from :func:`to_wire` output, whose maps are already in canonical order."""
    return _dumps_plain(value)


_dumps_plain = cbor2.dumps

def dumps(value: Any) -> bytes:
    """Canonical CBOR of a plain value (ints, bytes, str, lists, maps) built from codec output or by hand."""
    return cbor2.dumps(value, canonical=True)


# --- decoding -------------------------------------------------------------------------------------------------


def _refuse_unknown_tag(*args: Any) -> Any:
    # cbor2 6 calls the hook with (tag, immutable), cbor2 5 with (decoder, tag)
    raise _tag_refused(next((a.tag for a in args if isinstance(a, cbor2.CBORTag)), "?"))


def loads(raw: bytes | bytearray | memoryview, *, max_size: int = DEFAULT_MAX_SIZE) -> Any:
    """Parse CBOR strictly (no tags, no indefinite lengths, no duplicate keys) into plain values."""
    if len(raw) > max_size:
        raise MessageTooLarge(size=len(raw), limit=max_size)
    try:
        return cbor2.loads(
            raw,
            tag_hook=_refuse_unknown_tag,
            semantic_decoders=_SEMANTIC,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            strict_hashable_types=True,
            max_depth=32,
        )
    except MalformedMessage:
        raise
    except cbor2.CBORDecodeError as e:
        if isinstance(e.__cause__, MalformedMessage):
            raise e.__cause__ from None
        raise MalformedMessage(f"not well-formed CBOR: {e}") from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError, UnicodeError, EOFError) as e:
        raise MalformedMessage(f"not well-formed CBOR: {type(e).__name__}") from None


def _check_minimal(plain: Any, raw: bytes | bytearray | memoryview) -> None:
    """NonCanonical unless ``raw`` is the shortest encoding of ``plain`` with its maps' keys in the order they have.

    cbor2 writes every head (integer, length) minimally and keeps a dict's order, so this refuses non-minimal heads,
    floats or simple values written longer than needed, and trailing bytes; key order is checked by
    :func:`decode_value` (``canonical=True``) against each class's field order. Together that is canonical form:
    decoding refuses indefinite lengths, duplicate keys and tags already, and the field validators refuse floats.
    """
    try:
        again = _dumps_plain(plain)
    except (cbor2.CBOREncodeError, ValueError, TypeError, OverflowError, RecursionError):
        again = None  # a value cbor2 reads but will not write back is not ours either
    if again != raw:
        raise NonCanonical(what="the encoding (a non-minimal integer or length, or trailing bytes)")


def decode_value(value: Any, base: type | tuple[type, ...] = Message, *, canonical: bool = False) -> Any:
    """Build a message from its plain wire form (as produced by :func:`to_wire`), checking it is a ``base``.

    With ``canonical`` every message's fields must come in canonical order (:class:`NonCanonical` otherwise).
    """
    if type(value) is not list or len(value) != 3:
        raise MalformedMessage("a message is an array [tag, version, fields]")
    tag, version, body = value
    if type(tag) is not str or type(version) is not int or type(body) is not dict:
        raise MalformedMessage("a message is an array [tag: text, version: int, fields: map]")
    cls = _REGISTRY.get(tag)
    if cls is None:
        raise UnknownType(f"unknown message type {tag!r:.80}")
    if not issubclass(cls, base):
        raise InvalidField(f"expected a {_names(base)}, got {tag!r}")
    plan: _Plan = cls._PLAN
    absent = cls._ABSENT
    if version == cls.VERSION and tuple(body) == plan.names:  # every field, in canonical order: the common case
        if canonical and absent:
            _check_order(tag, plan.names, absent, body)
        fast = _DECODERS.get(cls)
        if fast is None:
            fast = _DECODERS[cls] = _compile_decode(cls)
        if fast is not False:
            return fast(body, canonical)
    return _decode_body(cls, version, body, canonical=canonical)


def _decode_body(cls: Any, version: int, body: dict[Any, Any], *, canonical: bool) -> Any:
    """A message of class ``cls`` from its version ``version`` wire fields, whatever they hold: the general path."""
    tag = cls.TAG
    plan: _Plan = cls._PLAN
    absent = cls._ABSENT
    if canonical and (tuple(body) != plan.names or (absent and version == cls.VERSION)):  # else nothing to check
        _check_order(tag, plan.names, absent if version == cls.VERSION else {}, body)
    if version != cls.VERSION:
        body = _upcast(cls, version, body)
    if absent and len(body) < len(plan.names):
        body = {**{n: v for n, v in absent.items() if n not in body}, **body}
    if len(body) != len(plan.names):
        missing = set(plan.names) - body.keys()
        extra = body.keys() - set(plan.names)
        raise InvalidField(f"{tag}: missing fields {sorted(missing)}, unexpected {sorted(map(str, extra))[:5]}")
    special = cls._SPECIAL
    if special:
        body = dict(body)
        for name, kind in special:
            if name not in body:
                continue
            v = body[name]
            if kind == "one":
                body[name] = None if v is None else decode_value(v, canonical=canonical)
            elif kind == "many":
                if type(v) is not list:
                    raise InvalidField(f"{tag}.{name} must be an array of messages")
                body[name] = tuple([decode_value(x, canonical=canonical) for x in v])
            elif kind == "embedded" or kind == "lazy" or kind == "canonical":
                if type(v) is not list or any(type(x) is not bytes for x in v):
                    raise InvalidField(f"{tag}.{name} must be an array of encoded messages")
                if kind == "lazy":
                    body[name] = LazyMessages(v, cls._BASES[name])
                else:
                    strict = canonical or kind == "canonical"
                    body[name] = tuple([_decode_embedded(x, strict) for x in v])
            else:
                body[name] = _unpack(kind, v, f"{tag}.{name}")
    try:
        return cls(**body)
    except (TypeError, ValueError) as e:
        raise InvalidField(f"{tag}: {e}") from None


_DECODERS: dict[type, Any] = {}
"""Class -> its generated decoding of a body holding every field in canonical order (False: the general path)."""


def _compile_decode(cls: Any) -> Any:
    """What :func:`_decode_body` does with a body holding exactly ``cls``'s fields in canonical order, as generated
    code (as attrs writes ``__init__``): each field's wire value turned into its value in canonical order, then the
    instance built as attrs' ``__init__`` builds it (converters in field order, then validators in field order), every
    error the same. What it leaves out cannot fail: a vector unpacked from bytes with its own dtype is a tuple of ints
    within that dtype, so its converter gives it back as it is and only its length is checked."""
    if hasattr(cls, "__attrs_post_init__") or getattr(cls, "__attrs_pre_init__", None) is not None:
        return False
    plan: _Plan = cls._PLAN
    tag = cls.TAG
    names: dict[str, Any] = {"NEW": object.__new__, "CLS": cls, "SET": object.__setattr__, "InvalidField":
                             InvalidField, "decode_value": decode_value, "LazyMessages": LazyMessages,
                             "decode_embedded": _decode_embedded, "unpack": _unpack,
                             "disabled": attrs.validators.get_disabled}
    lines = ["def decode(body, canonical):"]
    var: dict[str, str] = {}
    for i, (name, kind) in enumerate(zip(plan.names, plan.kinds, strict=True)):  # as _decode_body, in this order
        v = var[name] = f"v{i}"
        lines.append(f"    {v} = body[{name!r}]")
        if kind in ("plain", "absent"):
            continue
        if kind == "one":
            lines.append(f"    if {v} is not None: {v} = decode_value({v}, canonical=canonical)")
        elif kind == "many":
            names[f"MANY_{i}"] = f"{tag}.{name} must be an array of messages"
            lines.append(f"    if type({v}) is not list: raise InvalidField(MANY_{i})")
            lines.append(f"    {v} = tuple([decode_value(x, canonical=canonical) for x in {v}])")
        elif kind in ("embedded", "lazy", "canonical"):
            names[f"EMB_{i}"] = f"{tag}.{name} must be an array of encoded messages"
            lines.append(f"    if type({v}) is not list or any(type(x) is not bytes for x in {v}): "
                         f"raise InvalidField(EMB_{i})")
            if kind == "lazy":
                names[f"BASE_{i}"] = cls._BASES[name]
                lines.append(f"    {v} = LazyMessages({v}, BASE_{i})")
            else:
                strict = "True" if kind == "canonical" else "canonical"
                lines.append(f"    {v} = tuple([decode_embedded(x, {strict}) for x in {v}])")
        else:
            names[f"CODE_{i}"], names[f"NAME_{i}"] = kind, f"{tag}.{name}"
            lines.append(f"    {v} = unpack(CODE_{i}, {v}, NAME_{i})")
    lines += ["    try:", "        new = NEW(CLS)"]
    checks = []
    for j, a in enumerate(attrs.fields(cls)):
        if not a.init:
            if a.default is attrs.NOTHING or isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
                return False
            names[f"DEFAULT_{j}"] = a.default
            lines.append(f"        SET(new, {a.name!r}, DEFAULT_{j})")
            continue
        if a.name not in var or a.alias != a.name or not a.name.isidentifier():
            return False
        v = var[a.name]
        unpacked = "packed" in a.metadata  # a vector: unpacked above with its own dtype
        if a.converter is not None and not unpacked:
            if not callable(a.converter):
                return False
            names[f"CONV_{j}"] = a.converter
            lines.append(f"        {v} = CONV_{j}({v})")
        lines.append(f"        SET(new, {a.name!r}, {v})")
        check = a.metadata["check_len"] if unpacked else a.validator
        if check is not None:
            names[f"CHECK_{j}"], names[f"ATTR_{j}"] = check, a
            checks.append(f"            CHECK_{j}(new, ATTR_{j}, {v})")
    if checks:
        lines += ["        if disabled() is False:", *checks]
    names["TAG"] = tag
    lines += ["    except (TypeError, ValueError) as e:", "        raise InvalidField(f'{TAG}: {e}') from None",
              "    return new"]
    exec(compile("\n".join(lines), f"<decode {cls.__name__}>", "exec"), names)
    return names["decode"]


def _canonical_key(name: str) -> tuple[int, bytes]:
    raw = name.encode()
    return len(raw), raw


def _check_order(tag: str, names: tuple[str, ...], absent: dict[str, Any], body: dict[str, Any]) -> None:
    """NonCanonical if a message's fields are out of canonical order, or one is written with its absent value.

    Canonical order is shorter names first, then bytewise (RFC 7049's canonical order), which is also the order
    of ``names``; a body that is not exactly ``names`` (an old version, a left-out field) is checked by sorting.
    """
    keys = tuple(body)
    if keys != names and all(type(k) is str for k in keys) and list(keys) != sorted(keys, key=_canonical_key):
        raise NonCanonical(what=f"{tag} (its fields are not in canonical order)")
    for name, value in absent.items():
        if name in body and type(body[name]) is type(value) and body[name] == value:
            raise NonCanonical(what=f"{tag} (its field {name} is written with the value its absence means)")


def _upcast(cls: type, version: int, body: dict[str, Any]) -> dict[str, Any]:
    if version > cls.VERSION or version < 1:
        raise UnknownType(f"{cls.TAG} version {version} is not known (this codec reads up to {cls.VERSION})")
    while version < cls.VERSION:
        step = _UPCASTERS.get((cls.TAG, version))
        if step is None:
            raise UnknownType(f"no upcaster for {cls.TAG} v{version}")
        try:
            body = step(dict(body))
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidField(f"{cls.TAG} v{version} could not be upcast: {e}") from None
        version += 1
    return body


def decode(
    raw: bytes | bytearray | memoryview, base: type | tuple[type, ...] = Message, *, max_size: int = DEFAULT_MAX_SIZE,
    canonical: bool = False,
) -> Any:
    """Bytes -> message, raising only :class:`~taonet.ledger.errors.CodecError` subclasses on bad input.

    With ``canonical`` the bytes must be exactly what :func:`encode` gives for the message they carry (minimal
    heads, fields in canonical order, nothing after the message), else :class:`~taonet.ledger.errors.NonCanonical`:
    the check costs one C-level re-serialisation of the parsed values, not a re-encode of the message.
    """
    plain = loads(raw, max_size=max_size)
    if canonical:
        _check_minimal(plain, raw)
    return decode_value(plain, base, canonical=canonical)
