"""The one convention every `--json` document follows (a command's output and an error's fields alike).

Keys (32-byte fields named like ``hotkey``, ``coldkey``) as SS58, other bytes as bare hex, attrs values (events) as
maps with their ``type``, amounts as RAO integers, a float that is not finite (``inf``, ``nan``) as its text: JSON
has no such number, and ``json.dumps`` would write one no parser reads. Anything else as its text.

tools/errors.py and tools/cli both use it; it imports neither (only the ledger, when a key is met).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["ADDRESS_FIELDS", "jsonable"]

ADDRESS_FIELDS = frozenset({"hotkey", "coldkey", "account", "dest", "owner", "source", "signer", "nominator",
                            "owner_hotkey", "delegate", "who", "src", "old_hotkey", "author", "authority",
                            "actor_keys"})
"""Field names whose 32-byte values are keys, shown as SS58 addresses: the ledger's ``KEY_FIELDS`` (written out, not
imported: importing the ledger here would slow every command's start; tests/tools/test_json_keys.py checks they
agree) and the names node replies use for keys."""


def jsonable(value: Any, key: str = "") -> Any:
    """``value`` as plain JSON data: keys as SS58 (by field name ``key``), other bytes as hex, attrs events as maps,
    non-finite floats as text (``"inf"``, ``"nan"``)."""
    import attrs

    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value)
        if len(value) == 32 and key in ADDRESS_FIELDS:
            from taonet.ledger import ss58_encode

            return ss58_encode(value)
        return value.hex()
    if attrs.has(type(value)):
        out = {"type": getattr(value, "TAG", type(value).__name__)}
        out.update({f.name: jsonable(getattr(value, f.name), f.name) for f in attrs.fields(type(value))})
        return out
    if isinstance(value, dict):
        return {str(k): jsonable(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, key) for v in value]
    if isinstance(value, set | frozenset):  # no order of their own: sorted, so the same set prints the same
        items = [jsonable(v, key) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):  # int, and numpy's integers
        return int(value)
    if isinstance(value, numbers.Real):  # float, and numpy's floats
        f = float(value)
        return f if math.isfinite(f) else str(f)
    if hasattr(value, "rao"):
        return int(value.rao)
    return str(value)
