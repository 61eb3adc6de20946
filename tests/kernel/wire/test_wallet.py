"""Wallets: key files round trip, encryption and passwords, permissions, no silent overwrite, environment."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

import taonet.kernel.wire._wallet as wallet_module
from taonet.kernel import Axon, Dendrite, UnlockCost, Wallet, list_wallets
from taonet.kernel.errors import (
    InvalidKeyFile,
    InvalidWalletName,
    KeyFileExists,
    KeyFileNotFound,
    KeyFilesDisagree,
    PasswordRequired,
    WalletError,
    WatchOnlyWallet,
    WrongPassword,
)
from taonet.kernel.wire._keyfile import MAGIC
from taonet.ledger import Keypair

from .wire_helpers import Dummy, double

FAST = UnlockCost.FAST
ALICE_ED25519_SS58 = "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wallet or password variables from the caller's shell, and no terminal to prompt on."""
    for var in ("TAONET_WALLET_PATH", "TAONET_WALLET_NAME", "TAONET_WALLET_HOTKEY", "TAONET_PASSWORD",
                "TAONET_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def test_created_wallet_round_trips_through_its_files(tmp_path: Path) -> None:
    """A created wallet loads back the same keys; the files hold btwallet's JSON fields."""
    w = Wallet("miner", "hot1", tmp_path).create(coldkey_password="pw", cost=FAST)
    cold, hot = w.coldkey, w.hotkey
    again = Wallet("miner", "hot1", tmp_path)
    assert again.get_coldkey("pw") == cold
    assert again.get_hotkey() == hot
    assert again.coldkeypub.ss58_address == cold.ss58_address
    assert again.hotkeypub.ss58_address == hot.ss58_address
    assert again.get_coldkey("pw").mnemonic == cold.mnemonic
    hot_json = json.loads(w.hotkey_file.read_bytes())
    assert set(hot_json) == {"accountId", "publicKey", "secretPhrase", "secretSeed", "ss58Address", "cryptoType"}
    assert hot_json["cryptoType"] == "ed25519"
    assert hot_json["publicKey"] == "0x" + hot.public_key.hex() == hot_json["accountId"]
    pub = json.loads(w.coldkeypub_file.read_bytes())
    assert pub == {"accountId": "0x" + cold.public_key.hex(), "publicKey": "0x" + cold.public_key.hex(),
                   "ss58Address": cold.ss58_address, "cryptoType": "ed25519"}


def test_a_key_file_copied_over_another_wallets_is_refused_before_signing(tmp_path: Path) -> None:
    """Wallet c is a copy of a with b's coldkey file copied over its own: unlocking it is KeyFilesDisagree naming
    both addresses (it unlocked b's key while the wallet showed a's address: a transfer spent b's money). The same
    for a hotkey."""
    a = Wallet("a", "h", tmp_path).create(coldkey_password="pa", cost=FAST)
    b = Wallet("b", "h", tmp_path).create(coldkey_password="pb", cost=FAST)
    shutil.copytree(a.dir, tmp_path / "c")
    shutil.copy(b.coldkey_file, tmp_path / "c" / "coldkey")
    shutil.copy(b.hotkey_file, tmp_path / "c" / "hotkeys" / "h")
    c = Wallet("c", "h", tmp_path)
    with pytest.raises(KeyFilesDisagree) as e:
        c.get_coldkey("pb")
    assert a.coldkeypub.ss58_address in str(e.value) and b.coldkeypub.ss58_address in str(e.value)
    assert isinstance(e.value, WalletError)
    with pytest.raises(KeyFilesDisagree):
        c.get_hotkey()
    assert Wallet("b", "h", tmp_path).get_coldkey("pb").ss58_address == b.coldkeypub.ss58_address  # b is intact


def test_a_watch_only_wallet_asked_to_sign_says_how_to_restore_its_coldkey(tmp_path: Path) -> None:
    """A wallet of only coldkeypub.txt: unlocking its coldkey says it is watch-only and how to restore the key
    (it said "create the key first (taonet wallet create)", which creates nothing there)."""
    key = Keypair.from_uri("//Alice")
    w = Wallet("watch", "h", tmp_path)
    w.regenerate_coldkeypub(key.ss58_address)
    with pytest.raises(WatchOnlyWallet) as e:
        w.get_coldkey("pw")
    assert isinstance(e.value, KeyFileNotFound) and "watch-only" in str(e.value)
    assert "taonet wallet regen-coldkey -w watch --mnemonic" in str(e.value)


def test_coldkey_is_encrypted_at_rest_with_its_own_salt_and_cost(tmp_path: Path) -> None:
    """The coldkey file is the magic prefix and an argon2id envelope; no secret appears in clear."""
    kp = Keypair.from_uri("//Alice")
    a = Wallet("a", path=tmp_path)
    b = Wallet("b", path=tmp_path)
    a.create_coldkey(kp, password="pw", cost=FAST)
    b.create_coldkey(kp, password="pw", cost=FAST)
    raw_a, raw_b = a.coldkey_file.read_bytes(), b.coldkey_file.read_bytes()
    assert raw_a.startswith(MAGIC)
    assert kp.seed.hex().encode() not in raw_a
    assert raw_a != raw_b  # fresh salt and nonce per file
    import cbor2

    env = cbor2.loads(raw_a[len(MAGIC) :])
    assert env["kdf"] == "argon2id"
    assert (env["opslimit"], env["memlimit"]) == (FAST.opslimit, FAST.memlimit)
    assert len(env["salt"]) == 16 and len(env["nonce"]) == 24


def test_default_unlock_cost_is_moderate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a cost the coldkey is sealed with argon2id's moderate limits."""
    used = []
    real = wallet_module.encrypt

    def spy(data: bytes, password: str, cost: UnlockCost) -> bytes:
        used.append(cost)
        return real(data, password, FAST)

    monkeypatch.setattr(wallet_module, "encrypt", spy)
    Wallet(path=tmp_path).create_new_coldkey(password="pw")
    assert used == [UnlockCost.MODERATE]


def test_wrong_password_is_a_typed_error(tmp_path: Path) -> None:
    """A wrong password raises WrongPassword naming the file, not a crypto traceback."""
    w = Wallet(path=tmp_path)
    w.create_new_coldkey(password="right", cost=FAST)
    with pytest.raises(WrongPassword, match=r"wrong password for .*coldkey \(or the file is damaged: the two look the "
                                            r"same\): try again; .*taonet wallet regen-coldkey"):
        Wallet(path=tmp_path).get_coldkey("wrong")


def test_folders_are_0700_and_files_0600_whatever_the_umask(tmp_path: Path) -> None:
    """Even under umask 0, wallet folders are 0700 and key files 0600."""
    old = os.umask(0)
    try:
        w = Wallet("w", "h", tmp_path / "wallets").create(coldkey_password="pw", cost=FAST)
    finally:
        os.umask(old)
    for d in (w.path, w.dir, w.dir / "hotkeys"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    for f in (w.coldkey_file, w.coldkeypub_file, w.hotkey_file, w.hotkeypub_file):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert not [p for p in w.dir.rglob(".*.tmp")]


def test_an_existing_key_is_never_overwritten_without_the_flag(tmp_path: Path) -> None:
    """Writing over a key raises KeyFileExists and leaves it as it was; overwrite=True replaces it."""
    w = Wallet(path=tmp_path)
    first = w.create_new_hotkey()
    before = w.hotkey_file.read_bytes()
    with pytest.raises(KeyFileExists, match=r"pass --overwrite \(in Python, overwrite=True\)"):
        Wallet(path=tmp_path).create_new_hotkey()
    assert w.hotkey_file.read_bytes() == before
    second = Wallet(path=tmp_path).create_new_hotkey(overwrite=True)
    assert second != first
    assert Wallet(path=tmp_path).get_hotkey() == second


def test_create_only_adds_missing_keys(tmp_path: Path) -> None:
    """create() makes the keys that do not exist and keeps the ones that do."""
    w = Wallet(path=tmp_path)
    hot = w.create_new_hotkey()
    Wallet(path=tmp_path).create(coldkey_password="pw", cost=FAST)
    assert Wallet(path=tmp_path).get_hotkey() == hot
    assert Wallet(path=tmp_path).get_coldkey("pw")


def test_create_if_non_existent_is_the_sdks_create_with_its_password_switches(tmp_path: Path) -> None:
    """Bittensor's wallet.create_if_non_existent(coldkey_use_password=False) makes a plain coldkey; the default
    encrypts it; a second call keeps the keys that exist."""
    plain = Wallet("plain", path=tmp_path).create_if_non_existent(coldkey_use_password=False, hotkey_use_password=False)
    assert not plain.coldkey_file.read_bytes().startswith(MAGIC)
    assert plain.coldkeypub.ss58_address == plain.coldkey.ss58_address
    sealed = Wallet("sealed", path=tmp_path).create_if_non_existent(coldkey_password="pw", cost=FAST)
    assert sealed.coldkey_file.read_bytes().startswith(MAGIC)
    hot = sealed.hotkey.ss58_address
    Wallet("sealed", path=tmp_path).create_if_non_existent(coldkey_password="pw", cost=FAST)
    assert Wallet("sealed", path=tmp_path).hotkey.ss58_address == hot


def test_regenerating_from_the_mnemonic_gives_the_same_address(tmp_path: Path) -> None:
    """A key regenerated from its mnemonic (in another wallet) has the same SS58 address."""
    original = Wallet("one", path=tmp_path).create_new_coldkey(password="pw", cost=FAST)
    assert original.mnemonic
    again = Wallet("two", path=tmp_path).regenerate_coldkey(original.mnemonic, password="pw2", cost=FAST)
    assert again.ss58_address == original.ss58_address
    assert Wallet("two", path=tmp_path).get_coldkey("pw2").ss58_address == original.ss58_address


def test_dev_uri_gives_the_published_dev_key(tmp_path: Path) -> None:
    """A coldkey made from //Alice has //Alice's ed25519 address; the seed file has no phrase."""
    w = Wallet("alice", path=tmp_path)
    w.create_coldkey_from_uri("//Alice", password="pw", cost=FAST)
    w.create_hotkey_from_uri("//Alice//hot")
    assert Wallet("alice", path=tmp_path).get_coldkey("pw").ss58_address == ALICE_ED25519_SS58
    assert "secretPhrase" not in json.loads(w.hotkey_file.read_bytes())


def test_password_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TAONET_PASSWORD, read when needed (not at import), encrypts and unlocks without a terminal."""
    monkeypatch.setenv("TAONET_PASSWORD", "from-env")
    Wallet(path=tmp_path).create_new_coldkey(cost=FAST)
    assert Wallet(path=tmp_path).get_coldkey()
    monkeypatch.setenv("TAONET_PASSWORD", "changed")
    with pytest.raises(WrongPassword):
        Wallet(path=tmp_path).get_coldkey()
    assert Wallet(path=tmp_path).get_coldkey("from-env")  # an argument wins over the environment


def test_password_from_a_file_named_in_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TAONET_PASSWORD_FILE's contents (without the trailing newline) are the password."""
    secret = tmp_path / "pw.txt"
    secret.write_text("from-file\n")
    monkeypatch.setenv("TAONET_PASSWORD_FILE", str(secret))
    Wallet(path=tmp_path).create_new_coldkey(cost=FAST)
    monkeypatch.delenv("TAONET_PASSWORD_FILE")
    assert Wallet(path=tmp_path).get_coldkey("from-file")


def test_password_from_a_callback(tmp_path: Path) -> None:
    """A callable password is asked only when a key is encrypted or unlocked."""
    asked = []

    def ask() -> str:
        asked.append(1)
        return "cb"

    w = Wallet(path=tmp_path)
    w.create_new_coldkey(password=ask, cost=FAST)
    w.create_new_hotkey(password=ask)  # plain hotkey: not asked
    assert len(asked) == 1
    assert Wallet(path=tmp_path).get_coldkey(ask)
    assert len(asked) == 2


def test_password_from_a_terminal_prompt_is_asked_twice_when_encrypting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the password is prompted (twice to encrypt, once to unlock); mismatches are refused."""
    answers = iter(["typed", "typed", "typed", "one", "two"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(wallet_module, "read_line", lambda prompt, hidden=False: next(answers))
    Wallet(path=tmp_path).create_new_coldkey(cost=FAST)
    assert Wallet(path=tmp_path).get_coldkey()
    with pytest.raises(WalletError, match="the two passwords differ"):
        Wallet("other", path=tmp_path).create_new_coldkey(cost=FAST)


def test_no_password_source_is_an_actionable_error(tmp_path: Path) -> None:
    """Without argument, environment or terminal, unlocking says which variables to set."""
    Wallet(path=tmp_path).create_new_coldkey(password="pw", cost=FAST)
    with pytest.raises(PasswordRequired, match="TAONET_PASSWORD or TAONET_PASSWORD_FILE"):
        Wallet(path=tmp_path).get_coldkey()


def test_hotkeys_may_be_encrypted(tmp_path: Path) -> None:
    """A hotkey stored with encrypt=True needs its password to load."""
    w = Wallet(path=tmp_path)
    hot = w.create_new_hotkey(encrypt=True, password="hp", cost=FAST)
    assert w.hotkey_file.read_bytes().startswith(MAGIC)
    with pytest.raises(PasswordRequired):
        Wallet(path=tmp_path).get_hotkey()
    assert Wallet(path=tmp_path).get_hotkey("hp") == hot


def test_wallet_settings_come_from_arguments_then_environment_then_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TAONET_WALLET_* are read when a Wallet is made; arguments win; defaults are default/default/~/.taonet."""
    assert Wallet().path == Path("~/.taonet/wallets").expanduser()
    assert (Wallet().name, Wallet().hotkey_str) == ("default", "default")
    monkeypatch.setenv("TAONET_WALLET_PATH", str(tmp_path))
    monkeypatch.setenv("TAONET_WALLET_NAME", "envname")
    monkeypatch.setenv("TAONET_WALLET_HOTKEY", "envhot")
    w = Wallet()
    assert (w.path, w.name, w.hotkey_str) == (tmp_path, "envname", "envhot")
    assert Wallet("flag", "flaghot", tmp_path / "x").name == "flag"
    assert Wallet("flag", "flaghot", tmp_path / "x").hotkey_str == "flaghot"


def test_listing_wallets_and_hotkeys(tmp_path: Path) -> None:
    """list_wallets names the wallets under a path; list_hotkeys the hotkeys of one."""
    for name in ("b", "a"):
        Wallet(name, path=tmp_path).create_new_coldkey(password="pw", cost=FAST)
    for hot in ("h2", "h1"):
        Wallet("a", hot, tmp_path).create_new_hotkey()
    (tmp_path / "not-a-wallet").mkdir()
    assert list_wallets(tmp_path) == ["a", "b"]
    assert Wallet("a", path=tmp_path).list_hotkeys() == ["h1", "h2"]
    assert list_wallets(tmp_path / "missing") == []


def test_missing_and_corrupt_key_files_are_typed_errors(tmp_path: Path) -> None:
    """A missing key file raises KeyFileNotFound; a damaged one InvalidKeyFile."""
    w = Wallet(path=tmp_path)
    with pytest.raises(KeyFileNotFound):
        w.get_hotkey()
    w.create_new_hotkey()
    w.hotkey_file.write_text('{"publicKey": "0x00"}')
    with pytest.raises(InvalidKeyFile):
        Wallet(path=tmp_path).get_hotkey()
    w.coldkey_file.write_bytes(MAGIC + b"\xff\x00")
    with pytest.raises(InvalidKeyFile):
        Wallet(path=tmp_path).get_coldkey("pw")


def test_unsafe_names_are_refused() -> None:
    """Wallet and hotkey names cannot walk out of the wallet folder."""
    for bad in ("../x", "a/b", ".hidden", "", 123):
        with pytest.raises(InvalidWalletName, match="must be 1-64"):
            Wallet(bad or "/", "h")  # type: ignore[arg-type]
    with pytest.raises(InvalidWalletName, match=r"Wallet\('cold', 'hot'\)"):
        Wallet("cold/hot")  # Bittensor v11's spelling


@pytest.mark.anyio
async def test_axon_and_dendrite_take_a_wallet(tmp_path: Path) -> None:
    """A wallet's hotkey signs for a dendrite and an axon; the axon reports the wallet's coldkey."""
    miner = Wallet("miner", path=tmp_path)
    miner.create(coldkey_password="pw", cost=FAST)
    validator = Wallet("validator", path=tmp_path)
    validator.create(coldkey_password="pw", cost=FAST)
    async with Axon(miner, "tcp://127.0.0.1:0").attach(double) as ax, Dendrite(validator) as d:
        assert ax.info().coldkey == miner.coldkeypub.ss58_address
        r = await d(ax, Dummy(input=2), timeout=5)
    assert r.output == 4
    assert r.dendrite.hotkey == validator.hotkey.ss58_address
