"""`taonet replay`'s JSON values (tools/replay/_values.py): a 32-byte key is an SS58 address, a 32-byte hash is hex."""

from __future__ import annotations

from taonet.ledger import Keypair, WeightsCommitted, ss58_encode, weight_commit_hash
from taonet.tools.replay import plain


def test_a_commit_hash_is_hex_and_a_hotkey_an_address() -> None:
    """A WeightsCommitted event's ``commit_hash`` (32 bytes, like a key) is shown as hex, its ``hotkey`` as SS58,
    nested in a list or a map too: a hash shown as an address would send a reader looking for an account."""
    key = Keypair.from_uri("//Alice").public_key
    h = weight_commit_hash(key, 1, (1,), (65535,), b"salt-0123456789", 0)
    ev = WeightsCommitted(netuid=1, uid=0, hotkey=key, commit_hash=h, reveal_from=5, reveal_until=9)
    fields = plain(ev)
    assert fields["commit_hash"] == h.hex() and fields["hotkey"] == ss58_encode(key)
    assert plain({"commit_hash": [h], "hotkey": key}) == {"commit_hash": [h.hex()], "hotkey": ss58_encode(key)}
