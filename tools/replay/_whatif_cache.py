"""What-if's cache: the recorded epochs of a range (the inputs each epoch read, and its recorded result) kept in a file
outside the data directory, so that trying kappa=0.3, then 0.4, then 0.5 folds the log once.

One file per (chain, subnet, range): its name is a hash of the chain's genesis hash, the hash of the last block the
range reads, the subnet, the range and this format's version, so a log that grew or was replaced never answers from
another's file. The file carries that key and a blake2b digest of its body; a file that is short, damaged, of another
format or of another key is a miss (removed, then written again). Files are written whole and renamed into place;
the least recently used are removed past the cache's byte bound. The cache is never needed: any error reading or
writing it is a miss (the log is folded as without it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from taonet.ledger import EpochResult, FileStore, State, decode, dumps, encode, loads, unpack_epoch_inputs

__all__ = ["DEFAULT_CACHE_BYTES", "EpochCache", "default_cache_dir"]

DEFAULT_CACHE_BYTES = 512 << 20
"""The cache's default bound (the 100 epochs of a 256-UID subnet take about 24 MB)."""

_FORMAT = 3  # the epoch inputs' shape (the ledger's pack_epoch_inputs) and this file's layout
_MAGIC = b"taonetWI"
_SUFFIX = ".epochs"
_MAX_FILE = 1 << 34  # as State.from_snapshot
_STALE_PART_S = 3600.0


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/taonet/what-if`` (``~/.cache/taonet/what-if`` when it is unset or not absolute)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "taonet" / "what-if"


class EpochCache:
    """A directory of what-if range files, at most ``max_bytes`` in all (least recently used removed first)."""

    def __init__(self, root: str | Path, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def key(self, store: FileStore, netuid: int, start: int, stop: int) -> bytes:
        """The key of the epochs of ``netuid`` in ``start .. stop`` on this log as it is now."""
        last_read = min(stop + 1, store.height)  # the result for the state after `stop` is in the next block
        return dumps([_FORMAT, store.get(0).hash, last_read, store.get(last_read).hash, netuid, start, stop])

    def _path(self, key: bytes) -> Path:
        return self.root / (hashlib.blake2b(key, digest_size=16).hexdigest() + _SUFFIX)

    def load(self, key: bytes) -> list[tuple[State, EpochResult]] | None:
        """The epochs saved under ``key`` as (epoch inputs, recorded result), or None (a miss)."""
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        epochs = _parse(raw, key)
        if epochs is None:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used
        return epochs

    def save(self, key: bytes, epochs: list[tuple[bytes, EpochResult]]) -> bool:
        """Keep ``epochs`` (epoch inputs packed by ``pack_epoch_inputs``, recorded result) under ``key``; False when it
        was not written (larger than the bound, or the directory refused it)."""
        body = dumps([key, [[raw, encode(result)] for raw, result in epochs]])
        data = _MAGIC + hashlib.blake2b(body, digest_size=32).digest() + body
        if len(data) > self.max_bytes:
            return False
        tmp = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".part-", suffix=_SUFFIX)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self._path(key))
            tmp = None
            self._trim()
        except OSError:
            return False
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return True

    def _trim(self) -> None:
        """Remove the least recently used files until the rest fit the bound (and parts of writes that died)."""
        files = []
        now = time.time()
        for p in self.root.glob("*" + _SUFFIX):
            with contextlib.suppress(OSError):
                st = p.stat()
                if not p.name.startswith(".part-"):
                    files.append((st.st_mtime, st.st_size, p))
                elif now - st.st_mtime > _STALE_PART_S:  # a write that died long ago (a live one is never this old)
                    p.unlink()
        files.sort(key=lambda f: f[0], reverse=True)
        total = 0
        for _, size, p in files:
            total += size
            if total > self.max_bytes:
                with contextlib.suppress(OSError):
                    p.unlink()

    def clear(self) -> int:
        """Remove every cache file; how many were removed."""
        count = 0
        for p in self.root.glob("*" + _SUFFIX) if self.root.is_dir() else ():
            with contextlib.suppress(OSError):
                p.unlink()
                count += 1
        return count


def _parse(raw: bytes, key: bytes) -> list[tuple[State, EpochResult]] | None:
    head = len(_MAGIC) + 32
    if len(raw) < head or raw[:len(_MAGIC)] != _MAGIC:
        return None
    body = raw[head:]
    if hashlib.blake2b(body, digest_size=32).digest() != raw[len(_MAGIC):head]:
        return None
    try:
        saved_key, rows = loads(body, max_size=_MAX_FILE)
        if saved_key != key:
            return None
        return [(unpack_epoch_inputs(state), decode(result, EpochResult)) for state, result in rows]
    except (ValueError, TypeError, LookupError):
        return None
