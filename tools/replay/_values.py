"""Ledger values as plain, JSON-ready data: 32-byte keys as SS58 addresses, other bytes as hex."""

from __future__ import annotations

from typing import Any

import attrs

from taonet.ledger import ss58_encode

from .._json import ADDRESS_FIELDS

__all__ = ["fields_of", "plain"]


def fields_of(message: Any) -> dict[str, Any]:
    """A ledger message's fields (not its caches) by name, as plain values."""
    return {f.name: plain(getattr(message, f.name), f.name) for f in attrs.fields(type(message))
            if not f.metadata.get("cache")}


def plain(value: Any, name: str = "") -> Any:
    """``value`` as JSON-ready data (keys as SS58, bytes as hex, messages as dicts); ``name``, the field's, tells a
    32-byte key (SS58) from a hash (hex) by the rule every `--json` document follows (``ADDRESS_FIELDS``)."""
    if isinstance(value, bytes):
        return ss58_encode(value) if len(value) == 32 and name in ADDRESS_FIELDS else value.hex()
    if attrs.has(type(value)):
        return fields_of(value)
    if isinstance(value, list | tuple):
        return [plain(v, name) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v, str(k)) for k, v in value.items()}
    return value
