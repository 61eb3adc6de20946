"""Every `--json` document and replay's values show a 32-byte key as an SS58 address and a hash as hex, by one rule:
the ledger's own list of which of its 32-byte fields hold keys."""

from __future__ import annotations

from taonet.ledger import HASH_FIELDS, KEY_FIELDS, BlockHeader, Keypair, ss58_encode
from taonet.tools._json import ADDRESS_FIELDS, jsonable
from taonet.tools.replay._values import fields_of, plain

KEY = Keypair.from_uri("//Alice").public_key
HASH = bytes(range(32))


def test_the_tools_address_fields_are_the_ledgers_keys_and_no_hash() -> None:
    assert KEY_FIELDS <= ADDRESS_FIELDS
    assert not ADDRESS_FIELDS & HASH_FIELDS


def test_plain_and_jsonable_agree_on_every_32_byte_field_of_the_ledger() -> None:
    for name in KEY_FIELDS:
        assert plain(KEY, name) == jsonable(KEY, name) == ss58_encode(KEY), name
    for name in HASH_FIELDS:
        assert plain(HASH, name) == jsonable(HASH, name) == HASH.hex(), name
    assert plain((KEY, KEY), "actor_keys") == jsonable((KEY, KEY), "actor_keys") == [ss58_encode(KEY)] * 2


def test_a_block_headers_parent_is_a_hash_and_its_author_a_key() -> None:
    """Replay's values used to show every 32-byte field not named like a hash as an address: the header's parent too."""
    header = BlockHeader(number=1, parent=HASH, timestamp=0, extrinsics_root=HASH, events_root=HASH,
                         state_digest=HASH, author=KEY)
    shown = fields_of(header)
    assert shown["parent"] == shown["state_digest"] == HASH.hex()
    assert shown["author"] == ss58_encode(KEY)
    assert jsonable(header)["parent"] == HASH.hex() and jsonable(header)["author"] == ss58_encode(KEY)
