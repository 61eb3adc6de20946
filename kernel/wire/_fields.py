"""Checking peer-supplied field values against a synapse's type annotations.

A synapse's fields hold plain values (int, float, str, bytes, bool, None, lists, tuples, dicts and unions of them).
What arrives from a peer is checked against the annotation before the synapse is built, so a miner cannot hand a
validator a ``str`` where it declared ``int | None``. CBOR arrays arrive as lists: a ``tuple[...]`` field gets a tuple,
and a ``float`` field accepts an integer. Annotations this module does not understand (a class of your own, say)
are not checked; give such a field an attrs validator or converter.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["compile_check", "uncarried"]

Check = Callable[[Any], Any]


def _ident(v: Any) -> Any:
    return v


def _exact(tp: type, name: str) -> Check:
    def check(v: Any) -> Any:
        if type(v) is not tp:
            raise TypeError(f"expected {name}, got {type(v).__name__}")
        return v

    return check


def _float(v: Any) -> Any:
    t = type(v)
    if t is float:
        return v
    if t is int:
        return float(v)
    raise TypeError(f"expected float, got {t.__name__}")


def _none(v: Any) -> Any:
    if v is not None:
        raise TypeError(f"expected None, got {type(v).__name__}")
    return v


_SIMPLE: dict[Any, Check] = {
    int: _exact(int, "int"),
    bool: _exact(bool, "bool"),
    str: _exact(str, "str"),
    bytes: _exact(bytes, "bytes"),
    float: _float,
    type(None): _none,
    None: _none,
    Any: _ident,
    object: _ident,
}


def compile_check(tp: Any) -> Check:
    """A function that returns ``v`` (converted where CBOR loses the type) or raises TypeError if it is not a ``tp``."""
    simple = _SIMPLE.get(tp)
    if simple is not None:
        return simple
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return compile_check(args[0])
    if origin in (typing.Union, types.UnionType):
        return _union([compile_check(a) for a in args], tp)
    if origin is typing.Literal:
        allowed = tuple(args)

        def literal(v: Any) -> Any:
            if not any(type(v) is type(a) and v == a for a in allowed):
                raise TypeError(f"expected one of {allowed!r}")
            return v

        return literal
    if origin is list or tp is list:
        item = compile_check(args[0]) if args else _ident
        return _sequence(item, list, "list")
    if origin is tuple or tp is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence(compile_check(args[0]), tuple, "tuple")
        if not args:
            return _sequence(_ident, tuple, "tuple")
        return _fixed_tuple([compile_check(a) for a in args])
    if origin is dict or tp is dict:
        key = compile_check(args[0]) if args else _ident
        val = compile_check(args[1]) if len(args) > 1 else _ident
        return _mapping(key, val)
    return _ident  # not a plain-value annotation: left to the class's own validators


def _union(checks: list[Check], tp: Any) -> Check:
    def check(v: Any) -> Any:
        for c in checks:
            try:
                return c(v)
            except TypeError:
                continue
        raise TypeError(f"expected {tp}, got {type(v).__name__}")

    return check


def _sequence(item: Check, kind: type, name: str) -> Check:
    def check(v: Any) -> Any:
        if type(v) is not list and type(v) is not tuple:
            raise TypeError(f"expected {name}, got {type(v).__name__}")
        out = [item(x) for x in v] if item is not _ident else v
        return out if type(out) is kind else kind(out)

    return check


def _fixed_tuple(items: list[Check]) -> Check:
    def check(v: Any) -> Any:
        if (type(v) is not list and type(v) is not tuple) or len(v) != len(items):
            raise TypeError(f"expected a tuple of {len(items)} items")
        return tuple(c(x) for c, x in zip(items, v, strict=True))

    return check


def _mapping(key: Check, val: Check) -> Check:
    def check(v: Any) -> Any:
        if type(v) is not dict:
            raise TypeError(f"expected dict, got {type(v).__name__}")
        if key is _ident and val is _ident:
            return v
        return {key(k): val(x) for k, x in v.items()}

    return check


_INT_MIN = -(1 << 64)
_INT_MAX = (1 << 64) - 1
_LEAVES = frozenset((str, bytes, float, bool, type(None)))


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def uncarried(v: Any) -> str | None:
    """What in ``v`` the wire cannot carry (CBOR without semantic tags, as every peer reads it), said for people; None
    when it all can. Ints must fit in 64 bits (-2**64 .. 2**64-1); map keys must be text (or bytes); sets, complex
    numbers and other values CBOR tags (dates, decimals...) are refused, and so are numpy's values (CBOR cannot encode
    them; the reason says how to convert them). Other values CBOR cannot encode at all are left to the encoder."""
    t = type(v)
    if t in _LEAVES:
        return None
    if t is int:
        return None if _INT_MIN <= v <= _INT_MAX else f"an int of {v.bit_length()} bits (at most 64: -2**64 .. 2**64-1)"
    if t is list or t is tuple:
        for x in v:  # the common leaves inline: a list of a million ints or floats is walked in tens of ms
            tx = type(x)
            if tx is int:
                if not _INT_MIN <= x <= _INT_MAX:
                    return uncarried(x)
            elif tx not in _LEAVES and (why := uncarried(x)) is not None:
                return why
        return None
    if t is dict:
        for k, x in v.items():
            if type(k) is not str and not isinstance(k, (str, bytes)):  # every peer's decoder refuses it
                return f"a map key {_short(k)} of type {type(k).__name__} (map keys must be text, or bytes)"
            tx = type(x)
            if tx is int:
                if not _INT_MIN <= x <= _INT_MAX:
                    return uncarried(x)
            elif tx not in _LEAVES and (why := uncarried(x)) is not None:
                return why
        return None
    if isinstance(v, (set, frozenset)):
        return f"a {t.__name__} (send a list: sorted(...) if its order matters)"
    if isinstance(v, int):  # a subclass (an IntEnum...): CBOR carries its plain value
        return uncarried(int(v))
    if isinstance(v, (list, tuple)):  # a namedtuple...
        return uncarried(list(v))
    if isinstance(v, dict):
        return uncarried(dict(v))
    if t is complex:
        return "a complex (CBOR tags it, and peers refuse tags: send its .real and .imag as two floats)"
    if t.__module__ == "numpy":  # CBOR cannot encode numpy's values at all: say so here, with the conversion
        return (f"a numpy.{t.__name__} (send a plain value: .item() for a numpy number, .tolist() for an array, "
                ".tobytes() for its raw bytes)")
    if t.__module__ in ("datetime", "decimal", "fractions", "uuid", "ipaddress", "re", "email.message"):
        return f"a {t.__module__}.{t.__name__} (CBOR tags it, and peers refuse tags)"
    return None
