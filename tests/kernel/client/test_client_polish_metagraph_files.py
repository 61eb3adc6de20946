"""Loading a damaged or foreign .npz says in taonet's words that the file is damaged or not a metagraph save, naming
the file (it repeated numpy's advice to pass allow_pickle=); the metagraph keeps what it held."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from taonet.kernel import Metagraph
from taonet.kernel.errors import InvalidMetagraphFile

SAVED = ("meta", "hotkeys", "coldkeys", "hparams_keys", "hparams_values", "axon_ips", "axon_fields", "uids", "stake",
         "ranks", "trust", "consensus", "incentive", "dividends", "validator_trust", "emission", "validator_permit",
         "active", "last_update", "block_at_registration", "weights", "bonds")
"""The arrays a save holds."""


def _npy() -> bytes:
    out = io.BytesIO()
    np.save(out, np.arange(3))
    return out.getvalue()


DAMAGED = {
    "garbage": lambda: b"\x00\x01not a zip at all" * 10,
    "text": lambda: b"hello\n",
    "empty": lambda: b"",
    "a bare .npy": _npy,
}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_a_file_that_is_no_npz_is_said_damaged_in_taonets_words(tmp_path: Path, damage: str) -> None:
    """Bytes numpy would take for a pickle (or an .npy) raise one line naming the file, with no numpy advice."""
    folder = tmp_path / "netuid-1"
    folder.mkdir()
    (folder / "block-7.npz").write_bytes(DAMAGED[damage]())
    with pytest.raises(InvalidMetagraphFile) as raised:
        Metagraph(1).load(tmp_path)
    said = str(raised.value)
    assert re.fullmatch(r".*/netuid-1/block-7\.npz is not a readable saved metagraph: it is damaged or not a metagraph "
                        r"save \(not an \.npz archive, as a save is\); load one Metagraph\.save wrote, or sync and "
                        r"save again", said), said


def test_an_npz_of_object_arrays_is_not_a_save(tmp_path: Path) -> None:
    """An .npz with every array of a save, one of them of Python objects (numpy says to pass allow_pickle=), is
    named as not a metagraph save, in one line; loading it changes nothing."""
    bad = tmp_path / "objects.npz"
    arrays = {k: np.array([1]) for k in SAVED}
    arrays["meta"] = np.array([{"netuid": 1}], dtype=object)
    np.savez(bad, **arrays)
    mg = Metagraph(1)
    with pytest.raises(InvalidMetagraphFile) as raised:
        mg.load_from_path(bad)
    said = str(raised.value)
    assert said == (f"{bad} is not a readable saved metagraph: it is damaged or not a metagraph save (its arrays are "
                    "not those of a save); load one Metagraph.save wrote, or sync and save again"), said
    assert mg.block == -1 and mg.n == 0
