"""Keys: ed25519 from seeds, mnemonics and Substrate URIs; SS58 addresses; signatures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.ledger import Keypair, generate_mnemonic, ss58_decode, ss58_encode
from taonet.ledger.errors import InvalidAddress, InvalidKey

ALICE_ED25519 = "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
ALICE_ED25519_SS58 = "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"


def test_alice_uri_derives_the_published_ed25519_key() -> None:
    """`//Alice` is the key `subkey inspect --scheme ed25519 //Alice` prints."""
    kp = Keypair.from_uri("//Alice")
    assert kp.public_key.hex() == ALICE_ED25519
    assert kp.ss58_address == ALICE_ED25519_SS58


def test_ss58_encodes_the_published_sr25519_alice_address() -> None:
    """The public key d435...a27d encodes to the well-known 5Grw... address with prefix 42."""
    pk = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
    assert ss58_encode(pk) == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    assert ss58_decode("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY") == pk


def test_hard_paths_chain_like_substrate() -> None:
    """`//Alice//stash` derives the ed25519 stash key Substrate's dev chains use."""
    stash = Keypair.from_uri("//Alice//stash")
    assert stash.public_key.hex() == "451781cd0c5504504f69ceec484cc66e4c22a2b6a9d20fb1a426d91ad074a2a8"
    assert Keypair.from_uri("//Alice//stash") == stash != Keypair.from_uri("//Alice")


def test_soft_derivation_is_refused_for_ed25519() -> None:
    """ed25519 has no soft derivation; asking for one is a typed error that says so."""
    with pytest.raises(InvalidKey, match="soft derivation"):
        Keypair.from_uri("//Alice/soft")


@pytest.mark.parametrize("words", [12, 24])
def test_mnemonic_regenerates_the_same_key(words: int) -> None:
    """A mnemonic always gives the same key; a passphrase gives another."""
    phrase = generate_mnemonic(words)
    assert len(phrase.split()) == words
    a, b = Keypair.from_mnemonic(phrase), Keypair.from_mnemonic(phrase)
    assert a == b and a.seed == b.seed
    assert Keypair.from_mnemonic(phrase, "pass") != a
    assert Keypair.from_uri(phrase) == a


def test_mnemonic_with_bad_checksum_is_refused() -> None:
    """A mnemonic whose checksum word is wrong is a typed error (BIP39's test vector, its last word changed: a
    random phrase's last word swapped for another still checks one time in sixteen)."""
    valid = " ".join(["abandon"] * 11 + ["about"])
    Keypair.from_mnemonic(valid)
    for last in ("abandon", "zoo", "actor"):
        with pytest.raises(InvalidKey):
            Keypair.from_mnemonic(" ".join(["abandon"] * 11 + [last]))


def test_ss58_decode_checks_checksum_and_prefix() -> None:
    """A flipped character breaks the checksum; another network's prefix is refused unless allowed."""
    addr = ALICE_ED25519_SS58
    broken = addr[:10] + ("a" if addr[10] != "a" else "b") + addr[11:]
    with pytest.raises(InvalidAddress):
        ss58_decode(broken)
    kusama = ss58_encode(bytes.fromhex(ALICE_ED25519), prefix=2)
    with pytest.raises(InvalidAddress, match="prefix 2"):
        ss58_decode(kusama)
    assert ss58_decode(kusama, prefix=None).hex() == ALICE_ED25519
    with pytest.raises(InvalidAddress):
        ss58_decode("not an address at all, clearly not one!!")


@given(seed=st.binary(min_size=32, max_size=32), data=st.binary(max_size=256))
def test_sign_verify_round_trip_property(seed: bytes, data: bytes) -> None:
    """A signature verifies under its key only, and only for its data."""
    kp = Keypair.from_seed(seed)
    sig = kp.sign(data)
    assert kp.verify(data, sig)
    assert not kp.verify(data + b"x", sig)
    assert not Keypair.from_ss58(Keypair.from_seed(bytes(32)).ss58_address).verify(data, sig) or seed == bytes(32)
    assert ss58_decode(kp.ss58_address) == kp.public_key


def test_public_only_keypair_cannot_sign() -> None:
    """A key made from an address verifies but refuses to sign with a typed error."""
    pub = Keypair.from_ss58(ALICE_ED25519_SS58)
    assert not pub.can_sign
    assert pub.verify(b"hi", Keypair.from_uri("//Alice").sign(b"hi"))
    with pytest.raises(InvalidKey):
        pub.sign(b"hi")


def test_verify_takes_a_hex_signature_and_the_sdks_constructor_names() -> None:
    """Keypair.verify accepts the signature as 0x-hex text (as the Bittensor SDK sends it; it returned False) and
    never raises on bad hex; create_from_uri/_mnemonic/_seed are the SDK's names of from_uri/_mnemonic/_seed."""
    k = Keypair.create_from_uri("//Alice")
    assert k == Keypair.from_uri("//Alice")
    sig = k.sign(b"message")
    assert k.verify(b"message", "0x" + sig.hex()) and k.verify("message", sig.hex()) and k.verify(b"message", sig)
    assert not k.verify(b"other", "0x" + sig.hex())
    assert not k.verify(b"message", "0xnot-hex") and not k.verify(b"message", "")
    phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow"
    assert Keypair.create_from_mnemonic(phrase) == Keypair.from_mnemonic(phrase)
    assert Keypair.create_from_seed(b"\x01" * 32) == Keypair.from_seed(b"\x01" * 32)
