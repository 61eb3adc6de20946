"""Key files: the JSON a key is stored as, its encryption envelope, and atomic, private writes.

A key file is JSON with ``accountId``, ``publicKey`` (both ``0x`` + hex of the 32-byte public key), ``secretSeed``
(``0x`` + hex of the 32-byte ed25519 seed), ``secretPhrase`` (the mnemonic, when the key came from one),
``ss58Address`` and ``cryptoType`` (``"ed25519"``), as btwallet writes them. A public file has no secret fields.

An encrypted file is :data:`MAGIC` followed by the canonical CBOR map ``{kdf: "argon2id", opslimit, memlimit, salt,
nonce, ciphertext}``: the key comes from the password by argon2id with this file's own random salt and cost, and the
JSON is sealed with XSalsa20-Poly1305 (``nacl.secret.SecretBox``). A wrong password fails the MAC and raises
:class:`~taonet.kernel.errors.WrongPassword`.

A key file holding a secret that other users may read or change (mode 0644, say) is still used, as btwallet does,
but it is said once per file and process: a warning :data:`OPEN_KEY_FILE` log event (``path``, ``mode``, ``fix``),
never printed here; the `taonet` command says it as one line on stderr.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from pathlib import Path
from typing import Any, ClassVar, Final

import attrs
import nacl.exceptions
import nacl.pwhash
import nacl.secret

from taonet.ledger import Keypair, dumps, loads
from taonet.ledger.errors import CodecError, InvalidKey

from ..errors import InvalidKeyFile, KeyFileExists, WrongPassword
from ._log import get_logger

__all__ = ["MAGIC", "OPEN_KEY_FILE", "UnlockCost", "decrypt", "encrypt", "is_encrypted", "keyfile_json",
           "keypair_from_json", "open_to_others", "pubfile_json", "write_private"]

MAGIC: Final = b"$TAONET1"
"""The first bytes of an encrypted key file."""

OPEN_KEY_FILE: Final = "keyfile.open_to_others"
"""The warning logged (once per file) when a key file holding a secret is open to other users: its fields are
``path``, ``mode`` (octal, e.g. ``"644"``) and ``fix`` (the command that closes it: ``chmod 600 PATH``)."""

_log = get_logger(__name__)
_said: set[str] = set()  # the files warned about in this process

_ARGON = nacl.pwhash.argon2id
_MAX_MEMLIMIT = 4 * 1024**3  # refuse files that ask for more memory than this to unlock


@attrs.frozen
class UnlockCost:
    """How expensive unlocking a key file is (argon2id operations and memory); stored in each file."""

    opslimit: int
    memlimit: int

    MODERATE: ClassVar[UnlockCost]
    """The default: about half a second and 256 MiB on a laptop."""
    INTERACTIVE: ClassVar[UnlockCost]
    """Lighter: 64 MiB."""
    SENSITIVE: ClassVar[UnlockCost]
    """Heavier: 1 GiB, several seconds."""
    FAST: ClassVar[UnlockCost]
    """argon2id's minimum: for throwaway local and test wallets only."""

    @classmethod
    def named(cls, name: str) -> UnlockCost:
        """The preset called ``name`` (moderate, interactive, sensitive, fast)."""
        try:
            return {"moderate": cls.MODERATE, "interactive": cls.INTERACTIVE, "sensitive": cls.SENSITIVE,
                    "fast": cls.FAST}[name.lower()]
        except KeyError:
            raise ValueError(f"unknown unlock cost {name!r}; use moderate, interactive, sensitive or fast") from None


UnlockCost.MODERATE = UnlockCost(_ARGON.OPSLIMIT_MODERATE, _ARGON.MEMLIMIT_MODERATE)
UnlockCost.INTERACTIVE = UnlockCost(_ARGON.OPSLIMIT_INTERACTIVE, _ARGON.MEMLIMIT_INTERACTIVE)
UnlockCost.SENSITIVE = UnlockCost(_ARGON.OPSLIMIT_SENSITIVE, _ARGON.MEMLIMIT_SENSITIVE)
UnlockCost.FAST = UnlockCost(_ARGON.OPSLIMIT_MIN, _ARGON.MEMLIMIT_MIN)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def keyfile_json(kp: Keypair) -> bytes:
    """The key file JSON of a key pair that holds its secret."""
    if kp.seed is None:
        raise InvalidKey(f"{kp.ss58_address} has no secret to store")
    data: dict[str, Any] = {"accountId": _hex(kp.public_key), "publicKey": _hex(kp.public_key)}
    if kp.mnemonic:
        data["secretPhrase"] = kp.mnemonic
    data.update(secretSeed=_hex(kp.seed), ss58Address=kp.ss58_address, cryptoType="ed25519")
    return json.dumps(data).encode()


def pubfile_json(kp: Keypair) -> bytes:
    """The public key file JSON (``coldkeypub.txt``, ``<hotkey>pub.txt``)."""
    return json.dumps({"accountId": _hex(kp.public_key), "publicKey": _hex(kp.public_key),
                       "ss58Address": kp.ss58_address, "cryptoType": "ed25519"}).encode()


def _unhex(value: Any, n: int, what: str, path: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidKeyFile(path, f"{what} must be a hex string")
    try:
        raw = bytes.fromhex(value[2:] if value.startswith("0x") else value)
    except ValueError:
        raise InvalidKeyFile(path, f"{what} is not hex") from None
    if len(raw) != n:
        raise InvalidKeyFile(path, f"{what} must be {n} bytes")
    return raw


def keypair_from_json(raw: bytes, path: str) -> Keypair:
    """A key pair from key file JSON: from the seed (checked against the public key), else the phrase, else public."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidKeyFile(path, "not JSON (is it encrypted, or from another tool?)") from None
    if not isinstance(data, dict):
        raise InvalidKeyFile(path, "not a JSON object")
    crypto = data.get("cryptoType", "ed25519")
    if crypto not in ("ed25519", 0):
        raise InvalidKeyFile(path, f"cryptoType {crypto!r} is not supported (taonet keys are ed25519)")
    public = _unhex(data["publicKey"], 32, "publicKey", path) if "publicKey" in data else None
    phrase = data.get("secretPhrase")
    try:
        if "secretSeed" in data:
            kp = Keypair.from_seed(_unhex(data["secretSeed"], 32, "secretSeed", path))
            if isinstance(phrase, str):
                kp.mnemonic = phrase
        elif isinstance(phrase, str):
            kp = Keypair.from_mnemonic(phrase)
        elif public is not None:
            kp = Keypair(public)
        elif isinstance(data.get("ss58Address"), str):
            kp = Keypair.from_ss58(data["ss58Address"])
        else:
            raise InvalidKeyFile(path, "no secretSeed, secretPhrase, publicKey or ss58Address")
    except InvalidKey as e:
        raise InvalidKeyFile(path, str(e)) from None
    if public is not None and kp.public_key != public:
        raise InvalidKeyFile(path, "the secret does not belong to publicKey")
    if kp.seed is not None:
        _warn_if_open(path)
    return kp


def open_to_others(path: str | Path) -> int | None:
    """The permission bits of ``path`` (e.g. ``0o644``) when users other than its owner may read or write it (its
    group, or anyone), else None (also where the system has no such bits, or the file cannot be looked at)."""
    if os.name != "posix":
        return None
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return None
    return mode if mode & 0o066 else None


def _warn_if_open(path: str) -> None:
    """Log :data:`OPEN_KEY_FILE` for the secret key file ``path`` if others may read or write it (once per file)."""
    mode = open_to_others(path)
    if mode is None or path in _said:
        return
    _said.add(path)
    _log.warning(OPEN_KEY_FILE, path=path, mode=f"{mode:o}", fix=f"chmod 600 {shlex.quote(path)}")


def is_encrypted(raw: bytes) -> bool:
    """True when ``raw`` is an encrypted key file."""
    return raw.startswith(MAGIC)


def encrypt(plain: bytes, password: str, cost: UnlockCost) -> bytes:
    """Seal ``plain`` under ``password`` (argon2id with a fresh salt, then secretbox)."""
    salt = secrets.token_bytes(_ARGON.SALTBYTES)
    key = _ARGON.kdf(nacl.secret.SecretBox.KEY_SIZE, password.encode(), salt, opslimit=cost.opslimit,
                     memlimit=cost.memlimit)
    nonce = secrets.token_bytes(nacl.secret.SecretBox.NONCE_SIZE)
    ciphertext = nacl.secret.SecretBox(key).encrypt(plain, nonce).ciphertext
    return MAGIC + dumps({"kdf": "argon2id", "opslimit": cost.opslimit, "memlimit": cost.memlimit, "salt": salt,
                          "nonce": nonce, "ciphertext": ciphertext})


def decrypt(raw: bytes, password: str, path: str) -> bytes:
    """Open an encrypted key file; raises WrongPassword or InvalidKeyFile."""
    if not raw.startswith(MAGIC):
        raise InvalidKeyFile(path, "not an encrypted taonet key file")
    try:
        env = loads(raw[len(MAGIC) :], max_size=1 << 16)
    except CodecError as e:
        raise InvalidKeyFile(path, f"broken envelope: {e}") from None
    if not isinstance(env, dict) or env.get("kdf") != "argon2id":
        raise InvalidKeyFile(path, "the envelope is not {kdf: argon2id, ...}")
    ops, mem, salt, nonce, ct = (env.get(k) for k in ("opslimit", "memlimit", "salt", "nonce", "ciphertext"))
    if not (type(ops) is int and _ARGON.OPSLIMIT_MIN <= ops <= _ARGON.OPSLIMIT_MAX):
        raise InvalidKeyFile(path, "opslimit out of range")
    if not (type(mem) is int and _ARGON.MEMLIMIT_MIN <= mem <= _MAX_MEMLIMIT):
        raise InvalidKeyFile(path, "memlimit out of range")
    if not (type(salt) is bytes and len(salt) == _ARGON.SALTBYTES):
        raise InvalidKeyFile(path, "bad salt")
    if not (type(nonce) is bytes and len(nonce) == nacl.secret.SecretBox.NONCE_SIZE and type(ct) is bytes):
        raise InvalidKeyFile(path, "bad nonce or ciphertext")
    key = _ARGON.kdf(nacl.secret.SecretBox.KEY_SIZE, password.encode(), salt, opslimit=ops, memlimit=mem)
    try:
        return nacl.secret.SecretBox(key).decrypt(ct, nonce)
    except nacl.exceptions.CryptoError:
        raise WrongPassword(path) from None


def write_private(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically (temp file, fsync, rename), never replacing a file
    unless ``overwrite``; raises KeyFileExists."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic and never clobbers: fails if path exists
            except FileExistsError:
                raise KeyFileExists(str(path)) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
