"""The client's feed watcher reads as little of each block as it can."""

from __future__ import annotations

import pytest

from taonet.kernel.client._feed import block_number_of
from taonet.ledger import Extrinsic, Keypair, Transfer, build_genesis, dev_genesis


def test_a_block_number_is_read_from_the_header_alone() -> None:
    """The feed watcher reads a block's number without decoding it; anything else is a ValueError."""
    bob = Keypair.from_uri("//Bob")
    genesis, authority = dev_genesis()
    block, _ = build_genesis(genesis, authority)
    assert block_number_of(block.to_bytes()) == 0
    for junk in (b"", b"\x00garbage", Extrinsic.sign(Transfer(dest=bob.public_key, amount=1), bob, nonce=0,
                                                     genesis=bytes(32)).to_bytes()):
        with pytest.raises(ValueError, match="not a block"):
            block_number_of(junk)
