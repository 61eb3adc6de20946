"""Wallet: a coldkey (encrypted at rest) and hotkeys, in files under ``~/.taonet/wallets/<name>/``.

Layout::

    <path>/<name>/coldkey                # encrypted key file
    <path>/<name>/coldkeypub.txt         # public key file
    <path>/<name>/hotkeys/<hotkey>       # plain key file (or encrypted, if asked)
    <path>/<name>/hotkeys/<hotkey>pub.txt

Folders are created 0700 and files written 0600, atomically; an existing key file is never replaced without
``overwrite=True``. A new wallet appears whole or not at all: its files are written (each fsynced) into a hidden
folder beside it, ``.<name>.<pid>-<random>.tmp``, renamed into place once complete (a folder left by a process that
was killed is removed by the next that creates the wallet). A key added to a wallet that exists is written private
file first, public file last: a private key file without its public file is a key an earlier process stopped making,
and :meth:`Wallet.create` completes it. Name, hotkey and path come from the arguments, else ``TAONET_WALLET_NAME``,
``TAONET_WALLET_HOTKEY`` and ``TAONET_WALLET_PATH``, else ``default``, ``default`` and ``~/.taonet/wallets``; the
environment is read when a Wallet is made, never at import.

A password is, in order: the ``password`` argument (a string, or a callable returning one), ``TAONET_PASSWORD``,
the contents of the file named by ``TAONET_PASSWORD_FILE`` (one trailing newline dropped), or a prompt when stdin is
a terminal. Without any of these, an encrypted key raises :class:`~taonet.kernel.errors.PasswordRequired`, so a
miner under a service manager fails with a message instead of hanging on a prompt: it says to pass ``password=``
(or set the variables); the `taonet` command says its own flags instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, final

from taonet.ledger import Keypair, generate_mnemonic

from ..errors import (
    HotkeyNotFound,
    InvalidKeyFile,
    InvalidWalletName,
    KeyFileExists,
    KeyFileNotFound,
    KeyFilesDisagree,
    PasswordRequired,
    WalletError,
    WalletNotFound,
    WatchOnlyWallet,
)
from ._keyfile import UnlockCost, decrypt, encrypt, is_encrypted, keyfile_json, keypair_from_json, pubfile_json
from ._keyfile import write_private as _write
from ._prompt import read_line

__all__ = ["Password", "Wallet", "list_wallets"]

Password = str | Callable[[], str] | None
"""A password argument: the password, a callable that returns it (a callback or a prompt), or None for the
environment (TAONET_PASSWORD, TAONET_PASSWORD_FILE) and then a terminal prompt."""

DEFAULT_PATH = "~/.taonet/wallets"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value) or (what == "hotkey" and value.endswith("pub.txt")):
        raise InvalidWalletName(what=what, name=f"{value!r:.80}")
    return value


def _no_password(path: Path, creating: bool) -> PasswordRequired:
    """The error for a key at ``path`` no source gave a password for (its advice is Python's ``password=``; the
    `taonet` command, catching it, says its own flags instead)."""
    return PasswordRequired(str(path), creating=creating)


def _resolve_password(source: Password, path: Path, *, confirm: bool) -> str:
    if isinstance(source, str):
        password = source
    elif callable(source):
        password = source()
        if not isinstance(password, str):
            raise TypeError("a password callback must return a str")
    elif (env := os.environ.get("TAONET_PASSWORD")) is not None:
        password = env
    elif (file := os.environ.get("TAONET_PASSWORD_FILE")) is not None:
        try:
            password = Path(file).read_text()
        except OSError as e:
            raise WalletError(f"TAONET_PASSWORD_FILE={file}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise WalletError(f"TAONET_PASSWORD_FILE={file}: not UTF-8 text; a password file holds the password as "
                              "text") from None
        password = password.removesuffix("\n").removesuffix("\r")
    elif sys.stdin is not None and sys.stdin.isatty():
        try:
            password = read_line(f"Password for {path}: ", hidden=True)
            if confirm and read_line("Again: ", hidden=True) != password:
                raise WalletError("the two passwords differ")
        except EOFError:  # Ctrl-D at the prompt: no password given (it was "aborted", an internal error)
            raise _no_password(path, confirm) from None
    else:
        raise _no_password(path, confirm)
    if not password:
        raise _no_password(path, confirm)
    try:
        password.encode()  # bytes that are not text (an environment of another encoding) arrive as surrogates
    except UnicodeEncodeError:
        raise WalletError(f"the password for {path} is not UTF-8 text (check TAONET_PASSWORD or what was "
                          "typed)") from None
    return password


def list_wallets(path: str | os.PathLike[str] | None = None) -> list[str]:
    """The names of the wallets under ``path`` (or TAONET_WALLET_PATH, or ~/.taonet/wallets)."""
    root = Path(path or os.environ.get("TAONET_WALLET_PATH") or DEFAULT_PATH).expanduser()
    if not root.is_dir():
        return []
    return sorted(
        d.name for d in root.iterdir()
        if not d.name.startswith(".")  # a wallet being made (or one a killed process left half made)
        and d.is_dir() and ((d / "coldkeypub.txt").exists() or (d / "coldkey").exists() or (d / "hotkeys").is_dir())
    )


@final
class Wallet:
    """A named wallet on disk: its coldkey, coldkeypub and hotkeys (see the module docs for layout and passwords)."""

    def __init__(self, name: str | None = None, hotkey: str | None = None,
                 path: str | os.PathLike[str] | None = None) -> None:
        env = os.environ
        self.name = _check_name(name or env.get("TAONET_WALLET_NAME") or "default", "wallet")
        self.hotkey_str = _check_name(hotkey or env.get("TAONET_WALLET_HOTKEY") or "default", "hotkey")
        self.path = Path(path or env.get("TAONET_WALLET_PATH") or DEFAULT_PATH).expanduser()
        self._hotkey: Keypair | None = None
        self._coldkey: Keypair | None = None

    def __repr__(self) -> str:
        return f"Wallet(name={self.name!r}, hotkey={self.hotkey_str!r}, path={str(self.path)!r})"

    # --- files ----------------------------------------------------------------------------------------------
    @property
    def dir(self) -> Path:
        """This wallet's folder."""
        return self.path / self.name

    @property
    def coldkey_file(self) -> Path:
        """The encrypted coldkey file."""
        return self.dir / "coldkey"

    @property
    def coldkeypub_file(self) -> Path:
        """The coldkey's public file."""
        return self.dir / "coldkeypub.txt"

    @property
    def hotkey_file(self) -> Path:
        """The selected hotkey's file."""
        return self.dir / "hotkeys" / self.hotkey_str

    @property
    def hotkeypub_file(self) -> Path:
        """The selected hotkey's public file."""
        return self.dir / "hotkeys" / f"{self.hotkey_str}pub.txt"

    def list_hotkeys(self) -> list[str]:
        """The names of this wallet's hotkeys."""
        folder = self.dir / "hotkeys"
        if not folder.is_dir():
            return []
        names = set()
        for f in folder.iterdir():
            if f.name.startswith(".") or not f.is_file():
                continue
            names.add(f.name.removesuffix("pub.txt"))
        return sorted(names)

    def _mkdirs(self, *, hotkeys: bool) -> None:
        for d in (self.path, self.dir, *((self.dir / "hotkeys",) if hotkeys else ())):
            _mkdir(d)

    def _commit(self, files: dict[Path, bytes], *, overwrite: bool,
                shown: Callable[[], None] | None = None) -> None:
        """Write ``files`` (this wallet's, each key's private file before its public one), calling ``shown`` just
        before the first is in place: a new wallet (its folder missing, or empty) all at once by renaming a
        complete folder into place, else one by one."""
        with _writing(next(iter(files))):
            _mkdir(self.path)
            if self._commit_new_folder(files, shown):
                return
            self._mkdirs(hotkeys=any(f.parent.name == "hotkeys" for f in files))
            if shown is not None:
                shown()
            for f, data in files.items():
                _write(f, data, overwrite=overwrite)

    def _commit_new_folder(self, files: dict[Path, bytes], shown: Callable[[], None] | None) -> bool:
        """Whether ``files`` were written as a new wallet folder, whole (False: the folder has files, or the system
        refuses the rename: they are to be written one by one, ``shown`` not yet called)."""
        if self.dir.is_symlink() or (self.dir.exists() and (not self.dir.is_dir() or any(self.dir.iterdir()))):
            return False
        self._remove_abandoned_stages()
        stage = self.path / f".{self.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            _mkdir(stage)
            for f, data in files.items():
                target = stage / f.relative_to(self.dir)
                _mkdir(target.parent)
                _write(target, data, overwrite=False)  # fsyncs the file and its folder
            if shown is not None:
                shown()
            try:
                os.rename(stage, self.dir)  # onto nothing, or onto an empty folder; never onto one with files
            except OSError as e:
                if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                return False  # another process made the wallet meanwhile: one by one, KeyFileExists where it clashes
            _fsync_dir(self.path)
            return True
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)

    def _remove_abandoned_stages(self) -> None:
        """Remove the hidden folders a process killed while it made this wallet left (it no longer runs)."""
        pattern = re.compile(rf"^\.{re.escape(self.name)}\.(\d+)-[0-9a-f]{{8}}\.tmp$")
        for d in self.path.glob(f".{self.name}.*.tmp"):
            m = pattern.match(d.name)
            if m and not _running(int(m.group(1))) and d.is_dir() and not d.is_symlink():
                shutil.rmtree(d, ignore_errors=True)

    def _store(self, kp: Keypair, key_file: Path, pub_file: Path, *, encrypt_: bool, password: Password,
               overwrite: bool, cost: UnlockCost | None) -> Keypair:
        if not overwrite:
            for f in (key_file, pub_file):
                if f.exists():
                    raise KeyFileExists(str(f))
        data = keyfile_json(kp)
        if encrypt_:
            data = encrypt(data, _resolve_password(password, key_file, confirm=True), cost or UnlockCost.MODERATE)
        self._commit({key_file: data, pub_file: pubfile_json(kp)}, overwrite=overwrite)
        return kp

    # --- creating -------------------------------------------------------------------------------------------
    def create_coldkey(self, kp: Keypair, *, password: Password = None, encrypt: bool = True,
                       overwrite: bool = False, cost: UnlockCost | None = None) -> Keypair:
        """Store ``kp`` as this wallet's coldkey (encrypted unless ``encrypt=False``) and its coldkeypub."""
        self._coldkey = self._store(kp, self.coldkey_file, self.coldkeypub_file, encrypt_=encrypt,
                                    password=password, overwrite=overwrite, cost=cost)
        return kp

    def create_hotkey(self, kp: Keypair, *, password: Password = None, encrypt: bool = False,
                      overwrite: bool = False, cost: UnlockCost | None = None) -> Keypair:
        """Store ``kp`` as the selected hotkey (plain unless ``encrypt=True``) and its public file."""
        self._hotkey = self._store(kp, self.hotkey_file, self.hotkeypub_file, encrypt_=encrypt, password=password,
                                   overwrite=overwrite, cost=cost)
        return kp

    def create_new_coldkey(self, n_words: int = 12, use_password: bool | None = None, overwrite: bool = False, *,
                           password: Password = None, encrypt: bool | None = None, cost: UnlockCost | None = None,
                           coldkey_password: Password = None, suppress: bool = True) -> Keypair:
        """A fresh mnemonic coldkey (show ``.mnemonic`` to the user once: it is the only backup); encrypted unless
        ``encrypt=False`` (the SDK's ``use_password=False``; ``coldkey_password=`` is its ``password=``)."""
        encrypt_ = _sdk_alias("encrypt", encrypt, "use_password", use_password, True)
        password = _sdk_alias("password", password, "coldkey_password", coldkey_password, None)
        _check_suppress(suppress)
        kp = Keypair.from_mnemonic(generate_mnemonic(n_words))
        return self.create_coldkey(kp, password=password, encrypt=encrypt_, overwrite=overwrite, cost=cost)

    def create_new_hotkey(self, n_words: int = 12, use_password: bool | None = None, overwrite: bool = False, *,
                          password: Password = None, encrypt: bool | None = None, cost: UnlockCost | None = None,
                          hotkey_password: Password = None, suppress: bool = True) -> Keypair:
        """A fresh mnemonic hotkey under the selected hotkey name; plain unless ``encrypt=True`` (the SDK's
        ``use_password=True``; ``hotkey_password=`` is its ``password=``)."""
        encrypt_ = _sdk_alias("encrypt", encrypt, "use_password", use_password, False)
        password = _sdk_alias("password", password, "hotkey_password", hotkey_password, None)
        _check_suppress(suppress)
        kp = Keypair.from_mnemonic(generate_mnemonic(n_words))
        return self.create_hotkey(kp, password=password, encrypt=encrypt_, overwrite=overwrite, cost=cost)

    def regenerate_coldkey(self, mnemonic: str | None = None, *, seed: str | bytes | None = None,
                           uri: str | None = None, password: Password = None, encrypt: bool = True,
                           overwrite: bool = False, cost: UnlockCost | None = None) -> Keypair:
        """The coldkey again from its mnemonic, seed (hex) or secret URI (``//Alice``)."""
        return self.create_coldkey(_keypair(mnemonic, seed, uri), password=password, encrypt=encrypt,
                                   overwrite=overwrite, cost=cost)

    def regenerate_hotkey(self, mnemonic: str | None = None, *, seed: str | bytes | None = None,
                          uri: str | None = None, password: Password = None, encrypt: bool = False,
                          overwrite: bool = False, cost: UnlockCost | None = None) -> Keypair:
        """The selected hotkey again from its mnemonic, seed (hex) or secret URI."""
        return self.create_hotkey(_keypair(mnemonic, seed, uri), password=password, encrypt=encrypt,
                                  overwrite=overwrite, cost=cost)

    def create_coldkey_from_uri(self, uri: str, *, password: Password = None, encrypt: bool = True,
                                overwrite: bool = False, cost: UnlockCost | None = None) -> Keypair:
        """The coldkey from a secret URI such as ``//Alice`` (development keys)."""
        return self.regenerate_coldkey(uri=uri, password=password, encrypt=encrypt, overwrite=overwrite, cost=cost)

    def create_hotkey_from_uri(self, uri: str, *, password: Password = None, encrypt: bool = False,
                               overwrite: bool = False, cost: UnlockCost | None = None) -> Keypair:
        """The selected hotkey from a secret URI such as ``//Alice//hot``."""
        return self.regenerate_hotkey(uri=uri, password=password, encrypt=encrypt, overwrite=overwrite, cost=cost)

    def regenerate_coldkeypub(self, ss58_address: str, *, overwrite: bool = False) -> Keypair:
        """Only the coldkey's public file (a watch-only wallet)."""
        kp = Keypair.from_ss58(ss58_address)
        if self.coldkeypub_file.exists() and not overwrite:
            raise KeyFileExists(str(self.coldkeypub_file))
        self._commit({self.coldkeypub_file: pubfile_json(kp)}, overwrite=overwrite)
        return kp

    def create(self, *, coldkey_password: Password = None, hotkey_password: Password = None,
               encrypt_hotkey: bool = False, n_words: int = 12, cost: UnlockCost | None = None,
               encrypt_coldkey: bool = True, shown: Callable[[str, Keypair, bool], None] | None = None) -> Wallet:
        """Create whichever of the coldkey and the selected hotkey does not exist yet (never overwrites): a new
        wallet's files appear all at once, or none do. A key whose private file is there without its public file (a
        process stopped between the two) is completed: its public file is written from it (a password to unlock an
        encrypted one). ``shown(kind, keypair, new)``, if given, is called for each key this writes a file of
        ("coldkey" first, then "hotkey"; ``new`` False for one completed) just before its files are in place (for
        a new wallet, every key before the folder is), so its mnemonic can be shown before it exists, as btcli does:
        if the process stops between the two, the mnemonic shown belongs to no file."""
        keys = []  # (kind, keypair, new, its files)
        for kind, key_file, pub_file, password, encrypt_ in (
                ("coldkey", self.coldkey_file, self.coldkeypub_file, coldkey_password, encrypt_coldkey),
                ("hotkey", self.hotkey_file, self.hotkeypub_file, hotkey_password, encrypt_hotkey)):
            if not key_file.exists() and not pub_file.exists():
                kp = Keypair.from_mnemonic(generate_mnemonic(n_words))
                data = keyfile_json(kp)
                if encrypt_:
                    data = encrypt(data, _resolve_password(password, key_file, confirm=True),
                                   cost or UnlockCost.MODERATE)
                keys.append((kind, kp, True, {key_file: data, pub_file: pubfile_json(kp)}))
            elif key_file.is_file() and not pub_file.exists() and not pub_file.is_symlink():
                kp = self.get_coldkey(password) if kind == "coldkey" else self.get_hotkey(password)
                keys.append((kind, kp, False, {pub_file: pubfile_json(kp)}))
        if not keys:
            return self
        said = [_once(shown, kind, kp, new) for kind, kp, new, _ in keys]

        def say_all() -> None:
            for say in said:
                say()

        every = {f: data for *_, files in keys for f, data in files.items()}
        with _writing(next(iter(every))):
            _mkdir(self.path)
            if self._commit_new_folder(every, say_all):
                self._remember(keys)
                return self
        for key, say in zip(keys, said, strict=True):  # a wallet that exists: key by key, private file first
            self._commit(key[3], overwrite=False, shown=say)
            self._remember([key])
        return self

    def _remember(self, keys: list[tuple[str, Keypair, bool, dict[Path, bytes]]]) -> None:
        for kind, kp, _, _ in keys:
            if kind == "coldkey":
                self._coldkey = kp
            else:
                self._hotkey = kp

    def create_if_non_existent(self, coldkey_use_password: bool = True, hotkey_use_password: bool = False, *,
                               coldkey_password: Password = None, hotkey_password: Password = None,
                               n_words: int = 12, cost: UnlockCost | None = None) -> Wallet:
        """The Bittensor SDK's name for :meth:`create`, with its ``*_use_password`` switches (the SDK's
        ``save_*_to_env``, ``suppress`` and ``overwrite`` are not taken: see docs/sdk.md "Coming from Bittensor")."""
        return self.create(coldkey_password=coldkey_password, hotkey_password=hotkey_password,
                           encrypt_coldkey=coldkey_use_password, encrypt_hotkey=hotkey_use_password,
                           n_words=n_words, cost=cost)

    # --- loading --------------------------------------------------------------------------------------------
    def _load(self, path: Path, password: Password) -> Keypair:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise self._missing(path) from None
        except OSError as e:  # a folder where the file should be, no permission: say which, in a wallet's words
            raise InvalidKeyFile(str(path), f"it cannot be read ({(e.strerror or str(e)).lower()})") from None
        if is_encrypted(raw):
            raw = decrypt(raw, _resolve_password(password, path, confirm=False), str(path))
        return keypair_from_json(raw, str(path))

    def _missing(self, path: Path) -> KeyFileNotFound:
        """The error for a key file of this wallet that does not exist: the wallet itself missing (naming the wallets
        there are), a hotkey it does not have (naming its hotkeys), else the file."""
        if not self.dir.is_dir():
            return WalletNotFound(str(path), wallet=self.name, root=str(self.path), wallets=list_wallets(self.path))
        if path in (self.hotkey_file, self.hotkeypub_file) and not (
                self.hotkey_file.exists() or self.hotkeypub_file.exists()):
            return HotkeyNotFound(str(path), wallet=self.name, hotkey=self.hotkey_str, hotkeys=self.list_hotkeys())
        return KeyFileNotFound(str(path))

    def get_coldkey(self, password: Password = None) -> Keypair:
        """Unlock the coldkey (asks for its password: argument, environment or prompt); refused when coldkeypub.txt
        names another key (:class:`KeyFilesDisagree`), and a watch-only wallet says so (:class:`WatchOnlyWallet`)."""
        if not self.coldkey_file.exists() and self.coldkeypub_file.is_file():
            raise WatchOnlyWallet(str(self.coldkey_file), wallet=self.name)
        self._coldkey = self._checked(self._load(self.coldkey_file, password), self.coldkey_file,
                                      self.coldkeypub_file)
        return self._coldkey

    def get_hotkey(self, password: Password = None) -> Keypair:
        """Load the selected hotkey (a password only if it was stored encrypted); refused when its public key file
        names another key (:class:`KeyFilesDisagree`)."""
        self._hotkey = self._checked(self._load(self.hotkey_file, password), self.hotkey_file, self.hotkeypub_file)
        return self._hotkey

    def _checked(self, kp: Keypair, path: Path, pub_path: Path) -> Keypair:
        """``kp``, once the public key file beside it (when there is one that reads) names the same key: a coldkey
        copied over another wallet's signed for an account the wallet does not show."""
        try:
            pub = self._load(pub_path, None)
        except WalletError:  # none, or unreadable: what shows the address says so itself
            return kp
        if pub.public_key != kp.public_key:
            raise KeyFilesDisagree(str(path), key=kp.ss58_address, pub_path=str(pub_path), pub=pub.ss58_address)
        return kp

    def get_coldkeypub(self) -> Keypair:
        """The coldkey's public key (no password)."""
        return self._load(self.coldkeypub_file, None)

    def get_hotkeypub(self) -> Keypair:
        """The selected hotkey's public key (no password)."""
        return self._load(self.hotkeypub_file, None)

    def unlock_coldkey(self, password: Password = None) -> Keypair:
        """The Bittensor SDK's name for :meth:`get_coldkey`."""
        return self.get_coldkey(password)

    def unlock_hotkey(self, password: Password = None) -> Keypair:
        """The Bittensor SDK's name for :meth:`get_hotkey`."""
        return self.get_hotkey(password)

    def unlock_coldkeypub(self) -> Keypair:
        """The Bittensor SDK's name for :meth:`get_coldkeypub`."""
        return self.get_coldkeypub()

    def unlock_hotkeypub(self) -> Keypair:
        """The Bittensor SDK's name for :meth:`get_hotkeypub`."""
        return self.get_hotkeypub()

    @property
    def coldkey(self) -> Keypair:
        """The unlocked coldkey (unlocked once, then kept in memory; see get_coldkey)."""
        return self._coldkey or self.get_coldkey()

    @property
    def hotkey(self) -> Keypair:
        """The selected hotkey (loaded once, then kept in memory)."""
        return self._hotkey or self.get_hotkey()

    @property
    def coldkeypub(self) -> Keypair:
        """The coldkey's public key."""
        return self.get_coldkeypub()

    @property
    def hotkeypub(self) -> Keypair:
        """The selected hotkey's public key."""
        return self.get_hotkeypub()

    def lock(self) -> None:
        """Forget the unlocked keys kept in memory."""
        self._coldkey = self._hotkey = None


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Writing a key file: a folder or file the system refuses is a :class:`WalletError` naming the path."""
    try:
        yield
    except (KeyFileExists, WalletError):
        raise
    except OSError as e:
        why = "a file, not a folder" if isinstance(e, FileExistsError) else (e.strerror or str(e)).lower()
        raise WalletError(f"cannot write {path}: {e.filename or path}: {why}; check the wallet path "
                          "(--wallet-path, $TAONET_WALLET_PATH) and its permissions") from None


def _once(shown: Callable[[str, Keypair, bool], None] | None, kind: str, kp: Keypair, new: bool
          ) -> Callable[[], None]:
    """``shown(kind, kp, new)`` when first called, then nothing (a new folder's rename refused after the keys were
    shown writes them one by one)."""
    done: list[bool] = []

    def say() -> None:
        if not done and shown is not None:
            done.append(True)
            shown(kind, kp, new)

    return say


def _mkdir(d: Path) -> None:
    """Make folder ``d`` (and those above it) 0700 unless it is there."""
    if not d.is_dir():
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(d, 0o700)


def _fsync_dir(d: Path) -> None:
    """Make what changed in folder ``d`` (a rename into it) durable."""
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs (one of another user's too)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _sdk_alias(ours: str, value: Any, sdk: str, sdk_value: Any, default: Any) -> Any:
    """The value of an argument that has taonet's name and the Bittensor SDK's: either, not two that differ."""
    if value is not None and sdk_value is not None and value is not sdk_value and value != sdk_value:
        raise TypeError(f"{ours}= and {sdk}= are the same setting (the latter is the Bittensor SDK's name): give one")
    return value if value is not None else sdk_value if sdk_value is not None else default


def _check_suppress(suppress: bool) -> None:
    """The SDK's ``suppress``: taonet never prints a new key's mnemonic, so only ``suppress=True`` is what happens."""
    if not suppress:
        raise ValueError("suppress=False: a taonet Wallet never prints the new key's mnemonic; read it from the "
                        "returned Keypair's .mnemonic and show it to the user yourself (`taonet wallet create` does)")


def _keypair(mnemonic: str | None, seed: str | bytes | None, uri: str | None) -> Keypair:
    given = [x for x in (mnemonic, seed, uri) if x is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of mnemonic, seed or uri")
    if mnemonic is not None:
        return Keypair.from_mnemonic(mnemonic)
    if seed is not None:
        return Keypair.from_seed(seed)  # type: ignore[arg-type]  # from_seed also takes 0x-hex
    assert uri is not None
    return Keypair.from_uri(uri)
