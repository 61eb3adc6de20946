"""Two `taonet wallet create -w NAME` at once: the loser's error names the winner's coldkey and never suggests
--overwrite (a QA pass of the crash-safe wallet creation)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_losing_a_race_to_create_the_same_wallet_says_so_not_overwrite(tmp_path: Path) -> None:
    """Two `wallet create -w NAME` at once: the one whose staged folder lost the rename printed a mnemonic that belongs
    to no key; its error names the other process's coldkey and says to use that wallet, and never suggests
    --overwrite (which would replace a key whose mnemonic the other process showed). A QA pass saw it in 2 of 4
    rounds of five racing creates; made here by the race's end state: the wallet there, this command's key not."""
    from taonet.kernel import Wallet
    from taonet.kernel.errors import KeyFileExists, WalletError
    from taonet.ledger import Keypair
    from taonet.tools.cli._common import Out
    from taonet.tools.cli._wallet import _lost_keys

    winner = Wallet("race", "hk", str(tmp_path)).create(encrypt_coldkey=False)
    ours = Keypair.generate()
    rows = {"coldkey": {"key": "coldkey", "name": "race", "ss58": ours.ss58_address, "mnemonic": "words"}}
    loser = Wallet("race", "hk", str(tmp_path))
    with pytest.raises(WalletError) as info:
        _lost_keys(Out(), rows, loser, KeyFileExists(path=str(loser.coldkey_file)))
    said = str(info.value)
    assert said.startswith("another process created wallet 'race' at the same moment (its coldkey is "
                           f"{winner.coldkeypub.ss58_address}): nothing was created by this command"), said
    assert "--overwrite" not in said and "the mnemonic above belongs to no key" in said
