"""Metagraph.save / load: round trips, the newest save wins, partial writes and foreign files are never loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from taonet.kernel import Metagraph
from taonet.kernel.errors import InvalidMetagraphFile
from taonet.kernel.node import metagraph_payload
from taonet.ledger import ServeAxon, SetWeights

from ...ledger.chains import OWNER_HOT, chain_with_subnet, hot, seal_until_epoch

FIELDS = ("uids", "stake", "ranks", "trust", "consensus", "incentive", "dividends", "validator_trust", "emission",
          "validator_permit", "active", "last_update", "block_at_registration", "weights", "bonds")


@pytest.fixture(scope="module")
def synced() -> Metagraph:
    """A metagraph (with W and B) of a subnet that served an axon, set weights and ran an epoch."""
    chain = chain_with_subnet(miners=3)
    chain.call(hot("m1"), ServeAxon(netuid=1, ip="10.0.0.7", port=9000, version=3))
    chain.call(OWNER_HOT, SetWeights(netuid=1, uids=[1, 2, 3], weights=[1, 2, 3]))
    chain.seal()
    seal_until_epoch(chain, 1)
    mg = Metagraph(1)
    mg.apply_payload(metagraph_payload(chain.state, 1, weights=True))
    assert mg.n == 4 and mg.E.sum() > 0 and mg.W.shape == (4, 4)
    return mg


def _same(a: Metagraph, b: Metagraph) -> None:
    assert (a.netuid, a.block, a.n, a.hotkeys, a.coldkeys, a.hparams) == (b.netuid, b.block, b.n, b.hotkeys,
                                                                          b.coldkeys, b.hparams)
    for k in FIELDS:
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)
    assert a.axons == b.axons


def test_a_saved_metagraph_loads_back_equal_axons_included(synced: Metagraph, tmp_path: Path) -> None:
    """Every array, the keys, the hyperparameters and the axons survive save and load."""
    path = synced.save(tmp_path)
    assert path == tmp_path / "netuid-1" / f"block-{synced.block}.npz"
    again = Metagraph(1).load(tmp_path)
    _same(again, synced)
    served = again.axons[2]  # m1's UID: the owner holds 0, m0 1
    assert (served.ip, served.port, served.version, served.is_serving) == ("10.0.0.7", 9000, 3, True)
    assert served.hotkey == again.hotkeys[2] and not again.axons[3].is_serving


def test_the_default_folder_comes_from_the_environment(synced: Metagraph, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With no folder given, save and load use $TAONET_METAGRAPH_DIR."""
    monkeypatch.setenv("TAONET_METAGRAPH_DIR", str(tmp_path))
    assert synced.save().parent == tmp_path / "netuid-1"
    _same(Metagraph(1).load(), synced)


def test_load_takes_the_newest_save_and_ignores_other_files(synced: Metagraph, tmp_path: Path) -> None:
    """Numerically newest block wins (block-10 after block-9); temp files and strangers in the folder are ignored."""
    synced.save(tmp_path)
    later = Metagraph(1).load(tmp_path)
    later.block = synced.block + 10  # a later save: block-<b+10> sorts after block-<b> by number, not by text
    later.save(tmp_path)
    folder = tmp_path / "netuid-1"
    for name in (".block-abc.npz.tmp", f"block-{synced.block + 99}.tmp.npz", "block-x.npz", "notes.txt"):
        (folder / name).write_bytes(b"half a write")
    assert Metagraph(1).load(tmp_path).block == synced.block + 10


def test_nothing_saved_is_a_file_not_found_error(tmp_path: Path) -> None:
    """Loading from an empty or missing folder says where it looked."""
    with pytest.raises(FileNotFoundError, match="netuid 1"):
        Metagraph(1).load(tmp_path / "missing")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "not a metagraph"])
def test_a_damaged_file_raises_a_typed_error_and_changes_nothing(synced: Metagraph, tmp_path: Path,
                                                                 damage: str) -> None:
    """Garbage, a truncated save or another .npz raise InvalidMetagraphFile; the metagraph keeps what it held."""
    good = synced.save(tmp_path / "good")
    bad = tmp_path / "bad.npz"
    if damage == "garbage":
        bad.write_bytes(b"\x00\x01not a zip at all" * 10)
    elif damage == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    else:
        np.savez(bad, meta=np.array([1, 2, 3]))
    mg = Metagraph(1).load_from_path(good)
    with pytest.raises(InvalidMetagraphFile, match=r"bad\.npz"):
        mg.load_from_path(bad)
    _same(mg, synced)


def test_a_save_that_fails_midway_leaves_the_previous_save(synced: Metagraph, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that dies half way (here: the disk 'fills') leaves no temp file and the last good save loadable."""
    synced.save(tmp_path)
    real_savez = np.savez

    def savez_then_fail(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        real_savez(file, *args, **kwargs)
        file.truncate(100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    later = Metagraph(1).load(tmp_path)
    later.block += 1
    with pytest.raises(OSError, match="No space"):
        later.save(tmp_path)
    assert sorted(p.name for p in (tmp_path / "netuid-1").iterdir()) == [f"block-{synced.block}.npz"]
    _same(Metagraph(1).load(tmp_path), synced)
