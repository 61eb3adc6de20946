"""ed25519 keys, SS58 addresses, BIP39 mnemonics and Substrate's derivation paths.

A mnemonic becomes a key exactly as Substrate derives an ed25519 key: the mini-secret is PBKDF2-HMAC-SHA512 over
the mnemonic's *entropy* (not its words) with salt ``"mnemonic" + passphrase`` and 2048 rounds, first 32 bytes.
Hard junctions (``//Alice``) derive ``blake2b-256(SCALE("Ed25519HDKD", seed, chain_code))``, so ``//Alice`` here is
the same key ``subkey inspect --scheme ed25519 //Alice`` prints.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Final, final

import nacl.bindings
import nacl.exceptions
from mnemonic import Mnemonic

from .errors import InvalidAddress, InvalidKey

__all__ = ["DEV_PHRASE", "SS58_PREFIX", "Keypair", "generate_mnemonic", "ss58_decode", "ss58_encode"]

SS58_PREFIX: Final = 42
DEV_PHRASE: Final = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
"""Substrate's well-known development phrase; ``//Alice`` and friends derive from it."""

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_BIP39 = Mnemonic("english")


def _b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def _b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        i = _B58_INDEX.get(c)
        if i is None:
            raise InvalidAddress(f"{c!r} is not a base58 character")
        n = n * 58 + i
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * pad + body


def _ss58_checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(b"SS58PRE" + payload, digest_size=64).digest()[:2]


def _prefix_bytes(prefix: int) -> bytes:
    if 0 <= prefix < 64:
        return bytes([prefix])
    if 64 <= prefix < 16384:
        first = ((prefix & 0b11111100) >> 2) | 0b01000000
        second = (prefix >> 8) | ((prefix & 0b11) << 6)
        return bytes([first, second])
    raise InvalidAddress(f"SS58 prefix {prefix} is out of range")


def ss58_encode(public_key: bytes, prefix: int = SS58_PREFIX) -> str:
    """The SS58 address of a 32-byte public key (prefix 42 gives the familiar ``5...`` form)."""
    if type(public_key) is not bytes or len(public_key) != 32:
        raise InvalidKey("a public key is 32 bytes")
    payload = _prefix_bytes(prefix) + public_key
    return _b58encode(payload + _ss58_checksum(payload))


def ss58_decode(address: str, prefix: int | None = SS58_PREFIX) -> bytes:
    """The 32-byte public key of an SS58 address, checking its checksum and (unless None) its prefix."""
    if not isinstance(address, str) or not 40 <= len(address) <= 60:
        raise InvalidAddress(f"{address!r:.70} is not an SS58 address")
    raw = _b58decode(address)
    if len(raw) == 35:
        head = raw[:1]
        found = raw[0]
    elif len(raw) == 36:
        head = raw[:2]
        found = ((raw[0] & 0b00111111) << 2) | (raw[1] >> 6) | ((raw[1] & 0b00111111) << 8)
    else:
        raise InvalidAddress(f"{address!r} decodes to {len(raw)} bytes, not an account address")
    if found >= 64 and len(raw) == 35:
        raise InvalidAddress(f"{address!r} has a malformed prefix")
    key, check = raw[len(head) : len(head) + 32], raw[len(head) + 32 :]
    if _ss58_checksum(head + key) != check:
        raise InvalidAddress(f"{address!r} has a wrong checksum")
    if prefix is not None and found != prefix:
        raise InvalidAddress(f"{address!r} has network prefix {found}, expected {prefix}")
    return key


def generate_mnemonic(words: int = 12) -> str:
    """A fresh BIP39 English mnemonic of 12, 15, 18, 21 or 24 words."""
    if words not in (12, 15, 18, 21, 24):
        raise InvalidKey("a mnemonic has 12, 15, 18, 21 or 24 words")
    return _BIP39.to_mnemonic(secrets.token_bytes(words * 4 // 3))


def _mini_secret(phrase: str, passphrase: str) -> bytes:
    words = " ".join(phrase.split())
    if not _BIP39.check(words):
        raise InvalidKey("not a valid BIP39 mnemonic (unknown word or bad checksum)")
    entropy = bytes(_BIP39.to_entropy(words))
    return hashlib.pbkdf2_hmac("sha512", entropy, b"mnemonic" + passphrase.encode(), 2048)[:32]


def _scale_compact(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raise InvalidKey("derivation junction too long")


def _chain_code(junction: str) -> bytes:
    if junction.isdigit():
        encoded = int(junction).to_bytes(8, "little")  # SCALE u64
    else:
        raw = junction.encode()
        encoded = _scale_compact(len(raw)) + raw
    if len(encoded) > 32:
        return hashlib.blake2b(encoded, digest_size=32).digest()
    return encoded.ljust(32, b"\0")


_HDKD = _scale_compact(len(b"Ed25519HDKD")) + b"Ed25519HDKD"
_URI = re.compile(r"^(?P<phrase>[^/]*)(?P<path>(//?[^/]+)*)(///(?P<password>.*))?$")


def _derive_hard(seed: bytes, junction: str) -> bytes:
    return hashlib.blake2b(_HDKD + seed + _chain_code(junction), digest_size=32).digest()


@final
class Keypair:
    """An ed25519 key pair (or a public key alone) with its SS58 address; signs and verifies."""

    __slots__ = ("_secret", "mnemonic", "public_key", "seed", "ss58_address")

    def __init__(self, public_key: bytes, *, seed: bytes | None = None, mnemonic: str | None = None) -> None:
        if type(public_key) is not bytes or len(public_key) != 32:
            raise InvalidKey("a public key is 32 bytes")
        self.public_key: bytes = public_key
        self.seed: bytes | None = seed
        self.mnemonic: str | None = mnemonic
        self._secret: bytes | None = None
        if seed is not None:
            pk, sk = nacl.bindings.crypto_sign_seed_keypair(seed)
            if pk != public_key:
                raise InvalidKey("the seed does not belong to this public key")
            self._secret = sk
        self.ss58_address: str = ss58_encode(public_key)

    # --- constructors ---------------------------------------------------------------------------------------
    @classmethod
    def from_seed(cls, seed: bytes) -> Keypair:
        """The key pair of a 32-byte ed25519 seed (accepts bytes or 0x-prefixed hex)."""
        if isinstance(seed, str):
            seed = _hex_seed(seed)
        if type(seed) is not bytes or len(seed) != 32:
            raise InvalidKey("an ed25519 seed is 32 bytes")
        pk, _ = nacl.bindings.crypto_sign_seed_keypair(seed)
        return cls(pk, seed=seed)

    @classmethod
    def generate(cls) -> Keypair:
        """A key pair from fresh random bytes (no mnemonic)."""
        return cls.from_seed(secrets.token_bytes(32))

    @classmethod
    def from_mnemonic(cls, phrase: str, passphrase: str = "") -> Keypair:
        """The key pair Substrate derives (ed25519 scheme) from a BIP39 mnemonic and optional passphrase."""
        kp = cls.from_seed(_mini_secret(phrase, passphrase))
        kp.mnemonic = " ".join(phrase.split())
        return kp

    @classmethod
    def from_uri(cls, uri: str) -> Keypair:
        """A key from a Substrate secret URI: ``//Alice``, ``//Alice//stash``, ``<phrase>//x///pass``, ``0x<seed>``."""
        m = _URI.match(uri.strip()) if isinstance(uri, str) else None
        if m is None:
            raise InvalidKey(f"{uri!r:.60} is not a secret URI")
        phrase = m.group("phrase").strip() or DEV_PHRASE
        password = m.group("password") or ""
        path = m.group("path") or ""
        if phrase.startswith("0x"):
            seed = _hex_seed(phrase)
            if password:
                raise InvalidKey("a password applies only to a mnemonic")
        else:
            seed = _mini_secret(phrase, password)
        for part in re.findall(r"//?[^/]+", path):
            if not part.startswith("//"):
                raise InvalidKey(f"soft derivation {part!r} does not exist for ed25519 keys; use //{part[1:]}")
            seed = _derive_hard(seed, part[2:])
        kp = cls.from_seed(seed)
        if not path and not phrase.startswith("0x"):
            kp.mnemonic = phrase
        return kp

    @classmethod
    def from_ss58(cls, address: str) -> Keypair:
        """A public-only key pair from an SS58 address (it verifies but cannot sign)."""
        return cls(ss58_decode(address))

    # --- use ------------------------------------------------------------------------------------------------
    @property
    def can_sign(self) -> bool:
        """True when this key pair holds its secret."""
        return self._secret is not None

    def sign(self, data: bytes) -> bytes:
        """The 64-byte ed25519 signature of ``data``."""
        if self._secret is None:
            raise InvalidKey(f"{self.ss58_address} is a public key only and cannot sign")
        if isinstance(data, str):
            data = data.encode()
        return nacl.bindings.crypto_sign(data, self._secret)[:64]

    def verify(self, data: bytes | str, signature: bytes | str) -> bool:
        """True when ``signature`` (bytes, or ``0x`` hex as the Bittensor SDK sends it) is this key's signature of
        ``data``; never raises on bad input."""
        if isinstance(signature, str):
            try:
                signature = bytes.fromhex(signature[2:] if signature.startswith("0x") else signature)
            except ValueError:
                return False
        return verify(self.public_key, data, signature)

    @property
    def private_key(self) -> bytes | None:
        """The 64-byte ed25519 secret key (seed then public key, as libsodium keeps it), or None for a public key
        alone; :meth:`create_from_private_key` takes it back."""
        return self._secret

    @classmethod
    def create_from_private_key(cls, private_key: bytes | str) -> Keypair:
        """The key pair of an ed25519 private key (the Bittensor SDK's name): its 32-byte seed, or the 64 bytes of
        :attr:`private_key` (seed then public key, checked); bytes or hex with or without ``0x``."""
        raw = private_key
        if isinstance(raw, str):
            try:
                raw = bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)
            except ValueError:
                raise InvalidKey("a private key in hex must be 64 or 128 hex digits (0x optional)") from None
        if type(raw) is not bytes or len(raw) not in (32, 64):
            raise InvalidKey("an ed25519 private key is its 32-byte seed or the 64 bytes of seed and public key "
                             "(Keypair.private_key); an sr25519 key from the Bittensor SDK does not convert")
        if len(raw) == 32:
            return cls.from_seed(raw)
        try:
            return cls(raw[32:], seed=raw[:32])
        except InvalidKey:
            raise InvalidKey("the last 32 bytes of this private key are not the public key of its first 32 (its "
                             "seed): an sr25519 key from the Bittensor SDK does not convert") from None

    @staticmethod
    def generate_mnemonic(n_words: int = 12) -> str:
        """A fresh BIP39 English mnemonic of ``n_words`` words (the Bittensor SDK's name; 12, 15, 18, 21 or 24)."""
        return generate_mnemonic(n_words)

    ss58_format: Final = SS58_PREFIX  # type: ignore[misc]
    """The SS58 network prefix of this key's address: 42 (substrate generic), as in the Bittensor SDK."""
    crypto_type: Final = 0  # type: ignore[misc]
    """The key scheme as the Bittensor SDK numbers it: 0 is ed25519 (its 1 is sr25519, which taonet does not use)."""

    # the Bittensor SDK's (btwallet's) names
    create_from_uri = from_uri
    create_from_mnemonic = from_mnemonic
    create_from_seed = from_seed

    def __repr__(self) -> str:
        return f"Keypair({self.ss58_address})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Keypair) and other.public_key == self.public_key

    def __hash__(self) -> int:
        return hash(self.public_key)


def verify(public_key: bytes, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` is the ed25519 signature of ``data`` by ``public_key``; never raises on bad input."""
    if isinstance(data, str):
        data = data.encode()
    if type(signature) is not bytes or len(signature) != 64 or len(public_key) != 32:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + data, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


def _hex_seed(text: str) -> bytes:
    try:
        seed = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    except ValueError:
        raise InvalidKey("a hex seed must be 64 hex digits") from None
    if len(seed) != 32:
        raise InvalidKey("a hex seed must be 32 bytes")
    return seed
