"""A block larger than a log record may be is refused on append, before a byte is written: the store stays readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from taonet.ledger import FileStore, Transfer, replay
from taonet.ledger._store import _MAX_RECORD
from taonet.ledger.errors import InvalidBlock

from .chains import ALICE, BOB, new_chain


def test_a_record_over_the_limit_is_refused_and_the_log_goes_on(tmp_path: Path) -> None:
    """An append of 256 MiB + 1 bytes raises InvalidBlock naming the sizes; the segment files are unchanged, the next
    real block is appended, and a reopened store and replay read every block (none cut as a torn tail)."""
    store = FileStore(tmp_path / "chain", fsync=False)
    chain = new_chain(store)
    chain.call(ALICE, Transfer(dest=BOB.public_key, amount=1000))
    chain.seal()
    segments = {p: p.stat().st_size for p in (tmp_path / "chain" / "blocks").iterdir()}
    with pytest.raises(InvalidBlock, match=f"block 2 is invalid: its encoding is {_MAX_RECORD + 1} bytes, over "
                                           f"the {_MAX_RECORD} bytes") as refused:
        store.append_raw(2, bytes(_MAX_RECORD + 1), b"h" * 32)
    assert refused.value.number == 2
    assert {p: p.stat().st_size for p in (tmp_path / "chain" / "blocks").iterdir()} == segments
    assert store.height == 1
    chain.call(ALICE, Transfer(dest=BOB.public_key, amount=1000))
    chain.seal()
    store.close()
    reopened = FileStore(tmp_path / "chain", fsync=False)
    try:
        assert reopened.height == 2 and reopened.recovered_bytes == 0
        assert replay(reopened).digest() == chain.state.digest()
    finally:
        reopened.close()
