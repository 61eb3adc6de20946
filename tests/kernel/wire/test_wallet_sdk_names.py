"""The Bittensor SDK's Keypair and Wallet spellings that map onto taonet's: ``Keypair.generate_mnemonic``,
``create_from_private_key`` (with ``private_key``), ``ss58_format`` and ``crypto_type``; ``Wallet.create_new_coldkey``
/ ``create_new_hotkey`` with ``use_password``, ``overwrite`` by position, ``coldkey_password``/``hotkey_password``
and ``suppress=True``."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from taonet.kernel import UnlockCost, Wallet
from taonet.kernel.errors import KeyFileExists, PasswordRequired
from taonet.ledger import Keypair
from taonet.ledger.errors import InvalidKey

FAST = UnlockCost.FAST


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wallet or password variables from the caller's shell, and no terminal to prompt on."""
    for var in ("TAONET_WALLET_PATH", "TAONET_WALLET_NAME", "TAONET_WALLET_HOTKEY", "TAONET_PASSWORD",
                "TAONET_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def test_keypair_generate_mnemonic_is_the_sdks_static_method() -> None:
    """``Keypair.generate_mnemonic(n_words=12)`` gives a phrase ``create_from_mnemonic`` takes; a word count no
    mnemonic has is InvalidKey."""
    phrase = Keypair.generate_mnemonic()
    assert len(phrase.split()) == 12 and len(Keypair.generate_mnemonic(n_words=24).split()) == 24
    assert Keypair.create_from_mnemonic(phrase).mnemonic == phrase
    with pytest.raises(InvalidKey, match="12, 15, 18, 21 or 24"):
        Keypair.generate_mnemonic(13)


def test_keypair_private_key_round_trips_through_create_from_private_key() -> None:
    """``private_key`` is the 64-byte ed25519 secret (seed, then public key); ``create_from_private_key`` takes it
    as bytes or hex (``0x`` optional), or the 32-byte seed; a public key alone has none."""
    alice = Keypair.create_from_uri("//Alice")
    assert alice.private_key is not None and len(alice.private_key) == 64
    assert alice.private_key[:32] == alice.seed and alice.private_key[32:] == alice.public_key
    for given in (alice.private_key, alice.private_key.hex(), "0x" + alice.private_key.hex(), alice.seed,
                  "0x" + alice.seed.hex()):
        again = Keypair.create_from_private_key(given)
        assert again == alice and again.can_sign and again.verify(b"m", alice.sign(b"m"))
    assert Keypair.from_ss58(alice.ss58_address).private_key is None


@pytest.mark.parametrize(("given", "says"), [
    (bytes(16), "32-byte seed or the 64 bytes"),
    ("0xnothex", "64 or 128 hex digits"),
    (Keypair.from_uri("//Alice").seed + Keypair.from_uri("//Bob").public_key, "sr25519 key from the Bittensor SDK"),
    (12345, "32-byte seed or the 64 bytes"),
], ids=["16 bytes", "bad hex", "a foreign public half", "no bytes"])
def test_a_private_key_that_is_none_is_invalid_key(given: object, says: str) -> None:
    """A wrong length, bad hex, a public half that is not the seed's own (as an sr25519 secret from the SDK would be)
    or no bytes at all: InvalidKey saying which."""
    with pytest.raises(InvalidKey, match=says):
        Keypair.create_from_private_key(given)  # type: ignore[arg-type]


def test_keypair_ss58_format_and_crypto_type() -> None:
    """Every address here has prefix 42 (``ss58_format``, as the SDK's default) and the scheme is ed25519
    (``crypto_type`` 0 in the SDK's numbering); both are read-only."""
    alice = Keypair.create_from_uri("//Alice")
    assert alice.ss58_format == 42 == Keypair.ss58_format and alice.ss58_address.startswith("5")
    assert alice.crypto_type == 0
    with pytest.raises(AttributeError):
        alice.ss58_format = 0  # type: ignore[misc]


def test_create_new_keys_with_the_sdks_use_password(tmp_path: Path) -> None:
    """``create_new_coldkey(use_password=False)`` writes a coldkey that loads without a password; ``use_password=True``
    (the default) encrypts it, with ``coldkey_password=``; the hotkey twin is plain by default and encrypted with
    ``use_password=True, hotkey_password=``; ``overwrite`` is the third positional, as in the SDK."""
    plain = Wallet("plain", "h", tmp_path)
    cold = plain.create_new_coldkey(use_password=False, overwrite=False, suppress=True)
    assert Wallet("plain", "h", tmp_path).get_coldkey() == cold  # no password asked, none given
    hot = plain.create_new_hotkey(12, False)
    assert Wallet("plain", "h", tmp_path).get_hotkey() == hot
    with pytest.raises(KeyFileExists):
        plain.create_new_hotkey(use_password=False)
    assert plain.create_new_hotkey(12, False, True) != hot  # overwrite=True by position

    locked = Wallet("locked", "h", tmp_path)
    cold = locked.create_new_coldkey(use_password=True, coldkey_password="pw", cost=FAST)
    hot = locked.create_new_hotkey(use_password=True, hotkey_password="hp", cost=FAST)
    for load in (Wallet("locked", "h", tmp_path).get_coldkey, Wallet("locked", "h", tmp_path).get_hotkey):
        with pytest.raises(PasswordRequired):
            load()
    assert Wallet("locked", "h", tmp_path).get_coldkey("pw") == cold
    assert Wallet("locked", "h", tmp_path).get_hotkey("hp") == hot


def test_the_sdks_names_and_taonets_must_agree(tmp_path: Path) -> None:
    """``use_password`` beside a different ``encrypt``, or ``coldkey_password`` beside a different ``password``, is
    a TypeError before any file is written; ``suppress=False`` (print the mnemonic) is a ValueError saying where the
    mnemonic is instead."""
    w = Wallet("w", "h", tmp_path)
    with pytest.raises(TypeError, match=r"^encrypt= and use_password= are the same setting"):
        w.create_new_coldkey(use_password=False, encrypt=True)
    with pytest.raises(TypeError, match=r"^password= and coldkey_password= are the same setting"):
        w.create_new_coldkey(password="a", coldkey_password="b", cost=FAST)
    with pytest.raises(ValueError, match=r"never prints the new key's mnemonic; read it from the returned Keypair"):
        w.create_new_hotkey(suppress=False)
    assert not w.dir.exists()
    assert w.create_new_coldkey(use_password=False, encrypt=False).mnemonic  # the same answer twice is fine
