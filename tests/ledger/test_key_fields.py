"""Every 32-byte field of a ledger message is named as a key or as a hash, so tools show keys as SS58 addresses and
hashes as hex by one rule."""

from __future__ import annotations

import importlib
import pkgutil

import attrs

import taonet.ledger
from taonet.ledger import HASH_FIELDS, KEY_FIELDS
from taonet.ledger._codec import registered


def _b32_fields() -> dict[str, set[str]]:
    """Field name -> the registered messages (tags) that have a 32-byte field (or a tuple of them) by that name."""
    for m in pkgutil.iter_modules(taonet.ledger.__path__):  # the facade imports some modules only when used
        importlib.import_module(f"taonet.ledger.{m.name}")
    names: dict[str, set[str]] = {}
    for tag, cls in registered().items():
        for f in attrs.fields(cls):
            if f.metadata.get("b32"):
                names.setdefault(f.name, set()).add(tag)
    return names


def test_every_32_byte_field_is_named_a_key_or_a_hash_and_never_both() -> None:
    names = _b32_fields()
    assert not KEY_FIELDS & HASH_FIELDS
    unnamed = {n: sorted(tags) for n, tags in names.items() if n not in KEY_FIELDS | HASH_FIELDS}
    assert not unnamed, f"say whether these 32-byte fields are keys or hashes (KEY_FIELDS, HASH_FIELDS): {unnamed}"


def test_every_name_listed_is_a_32_byte_field_of_some_message() -> None:
    """No stale names: each listed name is used (hotkey by many calls and events, parent by the block header...)."""
    names = _b32_fields()
    assert sorted((KEY_FIELDS | HASH_FIELDS) - names.keys()) == []
    assert "BlockHeader" in {registered()[t].__name__ for t in names["parent"]}
