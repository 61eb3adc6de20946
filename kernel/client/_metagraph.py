"""Metagraph: a subnet at one block, as numpy arrays (S, R, T, C, I, D, E, Tv, W, B, ...)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, Protocol

import anyio
import numpy as np

from taonet.ledger import TAO, ss58_encode
from taonet.ledger.errors import TaonetError

from ..errors import InvalidMetagraphFile, RefusedReply
from ..wire import AxonInfo
from ._blocking import Blocking, in_async_code, runs_on_loop

__all__ = ["ChainReader", "Count", "Metagraph"]


class Count(int):
    """An int that also answers ``.item()`` (``mg.n.item()``, ``mg.block.item()``: the SDK's are tensors); it is
    an int everywhere else (JSON, ``range``, arithmetic, which gives plain ints)."""

    __slots__ = ()

    def item(self) -> int:
        """This number as a plain int (as a numpy or torch scalar's ``item()``)."""
        return int(self)

    def __repr__(self) -> str:
        return int.__repr__(self)


class ChainReader(Protocol):
    """What a Metagraph needs of its :class:`~taonet.kernel.Subtensor`: an RPC call with a timeout."""

    timeout: float

    async def call(self, method: str, timeout: float | None = None, **params: Any) -> Any:
        """Call ``method`` on the node."""


_SAVED_ARRAYS = (  # per-UID arrays, then W and B (0 x 0 unless synced with lite=False)
    "uids", "stake", "ranks", "trust", "consensus", "incentive", "dividends", "validator_trust",
    "emission", "validator_permit", "active", "last_update", "block_at_registration", "weights", "bonds",
)
_SAVED_NAME = re.compile(r"block-(\d+)\.npz")
_SAVED_FILES = ("meta", "hotkeys", "coldkeys", "hparams_keys", "hparams_values", "axon_ips", "axon_fields",
                *_SAVED_ARRAYS)
"""The arrays every save holds."""
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
"""How a zip archive (an .npz, empty or not) begins."""


def _u16(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u2").astype(np.float32) / np.float32(65535)


def _sparse_to_dense(parts: list[bytes] | None, n: int) -> np.ndarray:
    out = np.zeros((n, n), dtype=np.float32)
    if not parts:
        return out
    ptr = np.frombuffer(parts[0], dtype="<u4")
    uids = np.frombuffer(parts[1], dtype="<u2")
    vals = np.frombuffer(parts[2], dtype="<u2").astype(np.float32)
    for i in range(min(n, len(ptr) - 1)):
        a, b = int(ptr[i]), int(ptr[i + 1])
        row = vals[a:b]
        total = row.sum()
        cols = uids[a:b]
        keep = cols < n
        out[i, cols[keep]] = row[keep] / total if total > 0 else 0.0
    return out


def _axon(a: list[Any] | None, hotkey: str, coldkey: str) -> AxonInfo:
    ip, port, protocol, version = a if a is not None else ("0.0.0.0", 0, 4, 0)
    return AxonInfo(ip=ip, port=port, protocol=protocol, version=version, hotkey=hotkey, coldkey=coldkey)


class Metagraph:
    """The state of subnet ``netuid`` at a block: ``await mg.sync()``, then ``mg.S``, ``mg.I``, ``mg.hotkeys``...

    Per-UID arrays: ``uids``, ``S`` (stake, τ; also ``TS``, ``tao_stake``, ``total_stake``: all stake is TAO), ``R``
    rank, ``T`` trust, ``C`` consensus, ``I`` incentive, ``D`` dividends, ``Tv`` validator trust (each in [0, 1]),
    ``E`` (RAO the last epoch paid each UID; per block is E / tempo), ``validator_permit``, ``active``,
    ``last_update``, ``block_at_registration``; lists ``hotkeys``, ``coldkeys``, ``axons`` (:class:`AxonInfo`,
    ``is_serving`` False for a neuron that never served); and ``W``/``B`` (row-normalised weights and bonds) when
    synced with ``lite=False``; ``addresses`` (the axons' as the SDK writes them) and ``neurons``
    (:class:`~taonet.kernel.NeuronInfo` of the last sync).
    """

    BLOCKING_WRAP = True

    def __init__(self, netuid: int, subtensor: ChainReader | None = None, *, lite: bool = True) -> None:
        if subtensor is not None and (isinstance(subtensor, str) or not hasattr(subtensor, "call")):
            # Bittensor's Metagraph(netuid, network): a sync() through a network name cannot work
            raise TypeError(f"Metagraph(netuid, subtensor) takes a Subtensor or a blocking subtensor(), not "
                            f"{subtensor!r:.60}: with subtensor() use sub.metagraph(netuid), which returns a synced "
                            "metagraph whose sync() blocks; in async code, await Subtensor(endpoint).metagraph(netuid)")
        self.netuid = netuid
        self.subtensor = subtensor
        self.lite = lite
        self.block = Count(-1)
        self.n = Count(0)
        self.hparams: dict[str, Any] = {}
        self.subnet: dict[str, Any] = {}
        self._payload: dict[str, Any] | None = None  # the node's answer to the last sync (neurons are built from it)
        self._neurons: list[Any] | None = None
        self._set_empty()

    def _set_empty(self) -> None:
        z = np.zeros(0)
        self.uids = np.zeros(0, dtype=np.int64)
        self.hotkeys: list[str] = []
        self.coldkeys: list[str] = []
        self.stake = self.ranks = self.trust = self.consensus = self.incentive = self.dividends = z
        self.validator_trust = z
        self.emission = np.zeros(0, dtype=np.int64)
        self.validator_permit = np.zeros(0, dtype=bool)
        self.active = np.zeros(0, dtype=bool)
        self.last_update = self.block_at_registration = np.zeros(0, dtype=np.int64)
        self.axons: list[Any] = []
        self.weights = self.bonds = np.zeros((0, 0), dtype=np.float32)

    # --- aliases users know ----------------------------------------------------------------------------------
    @property
    def S(self) -> np.ndarray:
        """Stake in τ."""
        return self.stake

    @property
    def R(self) -> np.ndarray:
        """Rank."""
        return self.ranks

    @property
    def T(self) -> np.ndarray:
        """Trust."""
        return self.trust

    @property
    def C(self) -> np.ndarray:
        """Consensus."""
        return self.consensus

    @property
    def I(self) -> np.ndarray:  # noqa: E743
        """Incentive."""
        return self.incentive

    @property
    def D(self) -> np.ndarray:
        """Dividends."""
        return self.dividends

    @property
    def E(self) -> np.ndarray:
        """Emission: RAO the last epoch paid each UID."""
        return self.emission

    @property
    def Tv(self) -> np.ndarray:
        """Validator trust."""
        return self.validator_trust

    @property
    def W(self) -> np.ndarray:
        """Weights (row-normalised), filled when synced with lite=False."""
        return self.weights

    @property
    def B(self) -> np.ndarray:
        """Bonds (row-normalised), filled when synced with lite=False."""
        return self.bonds

    @property
    def TS(self) -> np.ndarray:
        """TAO stake, τ: all the stake there is here (no alpha), so the same as ``S``."""
        return self.stake

    @property
    def tao_stake(self) -> np.ndarray:
        """TAO stake, τ (the same as ``S``: there is no alpha)."""
        return self.stake

    @property
    def total_stake(self) -> np.ndarray:
        """Total stake, τ (the same as ``S``)."""
        return self.stake

    def __getattr__(self, name: str) -> Any:
        if name in ("AS", "alpha_stake"):
            raise AttributeError(f"Metagraph has no {name}: taonet has no alpha token, only TAO staked per hotkey; "
                                 "that is S (= TS, tao_stake), in τ")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def addresses(self) -> list[str]:
        """Each UID's axon address as the SDK writes it (``/ipv4/1.2.3.4:8091``; ``/ipv4/0.0.0.0:0`` for a neuron
        that never served one)."""
        return [a.ip_str() for a in self.axons]

    @property
    def neurons(self) -> list[Any]:
        """Every neuron of the last sync as a :class:`~taonet.kernel.NeuronInfo` (with weights and bonds when synced
        with ``lite=False``), in UID order; built on first use."""
        if self._neurons is None:
            if self._payload is None:
                if self.n:
                    raise ValueError("neurons come from a sync: a metagraph loaded from a file keeps its arrays (S, "
                                     "I, axons, ...) but not NeuronInfo; sync() it, or read sub.neurons(netuid)")
                return []
            from ._neuron import neurons_from_payload

            self._neurons = neurons_from_payload(self._payload)
        return self._neurons

    @property
    def tempo(self) -> int:
        """The subnet's tempo."""
        return int(self.hparams.get("tempo", 0))

    # --- sync, save, load -------------------------------------------------------------------------------------
    @runs_on_loop
    def sync(self, block: int | None = None, *, lite: bool | None = None, subtensor: Any = None) -> Any:
        """Fill from the chain at ``block`` (the head when None), through ``subtensor`` (else this metagraph's).

        In async code ``await mg.sync(...)``; in sync code it blocks and returns the metagraph. ``subtensor`` may
        be an async :class:`Subtensor` or a blocking ``subtensor()``, as in the SDK's
        ``metagraph.sync(subtensor=...)``; sync code with only an async Subtensor raises a TypeError saying what
        to call (it has no event loop to run it on).
        """
        if in_async_code():
            return self._sync(block, lite, subtensor)
        reader = subtensor if subtensor is not None else self.subtensor
        if not isinstance(reader, Blocking):
            what = ("this Metagraph has no Subtensor" if reader is None else
                    f"{reader!r:.60} is an async Subtensor, and sync code has no event loop to run it on")
            raise TypeError(f"Metagraph.sync(): {what}; in a script pass a blocking client, "
                            "mg.sync(subtensor=subtensor()), or use sub.metagraph(netuid); in async code "
                            "await mg.sync(subtensor=Subtensor(...))")
        return self._take(self._request(reader, block, lite)(), reader)

    async def _sync(self, block: int | None, lite: bool | None, subtensor: Any) -> Metagraph:
        sub = subtensor if subtensor is not None else self.subtensor
        if sub is None:
            raise ValueError("this Metagraph has no Subtensor; pass subtensor=")
        call = self._request(sub, block, lite)
        if isinstance(sub, Blocking):  # a blocking client (of another loop): its call blocks, so in a worker thread
            payload = await anyio.to_thread.run_sync(call)
        else:
            payload = await call()
        return self._take(payload, sub)

    def _request(self, sub: Any, block: int | None, lite: bool | None) -> Any:
        """The ``metagraph`` call to ``sub`` that a sync makes (``lite``, when given, kept for the next ones)."""
        if lite is not None:
            self.lite = lite
        return functools.partial(sub.call, "metagraph", timeout=max(sub.timeout, 120.0), netuid=self.netuid,
                                 block=block, weights=not self.lite)

    def _take(self, payload: Any, sub: Any) -> Metagraph:
        """Fill from ``payload`` (the node's reply to ``sub``), or refuse it whole and change nothing."""
        before = dict(vars(self))
        try:
            self.apply_payload(payload)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError) as e:
            vars(self).clear()  # as it was: a refused reply changes nothing
            vars(self).update(before)
            if isinstance(e, TaonetError):
                raise
            raise RefusedReply(method="metagraph", address=str(getattr(sub, "endpoint", sub)),
                               reason=f"its result does not have the shape metagraph returns: {type(e).__name__}: "
                                      f"{e!s:.200}") from e
        return self

    def apply_payload(self, p: dict[str, Any]) -> None:
        """Fill from the node's ``metagraph`` RPC payload."""
        n = p["n"]
        self._payload, self._neurons = p, None
        self.n, self.block = Count(n), Count(p["block"])
        self.subnet = p["subnet"]
        self.hparams = p["subnet"]["hyperparameters"]
        self.uids = np.arange(n, dtype=np.int64)
        hk, ck = p["hotkeys"], p["coldkeys"]
        self.hotkeys = [ss58_encode(hk[i * 32 : i * 32 + 32]) for i in range(n)]
        self.coldkeys = [ss58_encode(ck[i * 32 : i * 32 + 32]) for i in range(n)]
        self.stake = np.frombuffer(p["stake"], dtype="<u8").astype(np.float64) / TAO
        self.ranks, self.trust = _u16(p["rank"]), _u16(p["trust"])
        self.consensus, self.incentive = _u16(p["consensus"]), _u16(p["incentive"])
        self.dividends, self.validator_trust = _u16(p["dividends"]), _u16(p["vtrust"])
        self.emission = np.frombuffer(p["emission"], dtype="<u8").astype(np.int64)
        self.validator_permit = np.frombuffer(p["permit"], dtype="<u1").astype(bool)
        self.active = np.frombuffer(p["active"], dtype="<u1").astype(bool)
        self.last_update = np.frombuffer(p["last_update"], dtype="<u8").astype(np.int64)
        self.block_at_registration = np.frombuffer(p["registered_at"], dtype="<u8").astype(np.int64)
        self.axons = [_axon(a, self.hotkeys[i], self.coldkeys[i]) for i, a in enumerate(p["axons"])]
        if "weights" in p:
            self.weights = _sparse_to_dense(p["weights"], n)
            self.bonds = _sparse_to_dense(p["bonds"], n)
        else:
            self.weights = self.bonds = np.zeros((0, 0), dtype=np.float32)

    def _dir(self, root_dir: str | Path | None) -> Path:
        base = Path(root_dir) if root_dir is not None else Path(
            os.environ.get("TAONET_METAGRAPH_DIR", Path.home() / ".taonet" / "metagraphs"))
        return base / f"netuid-{self.netuid}"

    def save(self, root_dir: str | Path | None = None) -> Path:
        """Write this metagraph to ``<root>/netuid-<n>/block-<b>.npz``, atomically; returns the path.

        ``root_dir`` defaults to ``$TAONET_METAGRAPH_DIR``, else ``~/.taonet/metagraphs``.
        """
        d = self._dir(root_dir)
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"block-{self.block}.npz"
        arrays = {k: getattr(self, k) for k in _SAVED_ARRAYS}
        ax = self.axons
        # a unique hidden temp file: concurrent savers never share it, and load() never mistakes it for a save
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".block-", suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, meta=np.array([self.netuid, self.block, self.n], dtype=np.int64),
                         hotkeys=np.array(self.hotkeys, dtype=str), coldkeys=np.array(self.coldkeys, dtype=str),
                         hparams_keys=np.array(list(self.hparams), dtype=str),
                         hparams_values=np.array([int(v) for v in self.hparams.values()], dtype=np.int64),
                         axon_ips=np.array([a.ip for a in ax], dtype=str),
                         axon_fields=np.array([(a.port, a.protocol, a.version) for a in ax],
                                              dtype=np.int64).reshape(len(ax), 3),
                         **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path

    def load(self, root_dir: str | Path | None = None) -> Metagraph:
        """Load the newest metagraph :meth:`save` wrote for this netuid under ``root_dir``."""
        d = self._dir(root_dir)
        saved = sorted((int(m[1]), p) for p in (d.iterdir() if d.is_dir() else ())
                       if (m := _SAVED_NAME.fullmatch(p.name)))
        if not saved:
            raise FileNotFoundError(f"no saved metagraph of netuid {self.netuid} in {d}")
        return self.load_from_path(saved[-1][1])

    def load_from_path(self, path: str | Path) -> Metagraph:
        """Load a metagraph saved by :meth:`save`; any other file raises InvalidMetagraphFile (saying it is damaged or
        not a save, never numpy's own advice) and changes nothing."""

        def refused(detail: str) -> InvalidMetagraphFile:
            return InvalidMetagraphFile(path=str(path), reason=f"it is damaged or not a metagraph save ({detail}); "
                                                               "load one Metagraph.save wrote, or sync and save again")

        try:
            with open(path, "rb") as f:
                if f.read(4) not in _ZIP_MAGIC:  # else np.load takes it for a pickle, and says to allow pickles
                    raise refused("not an .npz archive, as a save is")
                f.seek(0)
                # opened here, not by np.load: it leaks its file handle when the zip inside is damaged
                with np.load(f, allow_pickle=False) as z:
                    if missing := [k for k in _SAVED_FILES if k not in z.files]:
                        raise refused(f"an .npz archive without the {missing[0]!r} array of a save")
                    netuid, block, n = (int(x) for x in z["meta"])
                    hotkeys, coldkeys = [str(x) for x in z["hotkeys"]], [str(x) for x in z["coldkeys"]]
                    hparams = {str(k): int(v) for k, v in zip(z["hparams_keys"], z["hparams_values"], strict=True)}
                    arrays = {k: z[k] for k in _SAVED_ARRAYS}
                    axons = [AxonInfo(ip=str(ip), port=int(port), protocol=int(protocol), version=int(version),
                                      hotkey=hotkeys[i], coldkey=coldkeys[i])
                             for i, (ip, (port, protocol, version)) in enumerate(zip(z["axon_ips"], z["axon_fields"],
                                                                                    strict=True))]
        except (FileNotFoundError, InvalidMetagraphFile):
            raise
        except OSError as e:  # a folder, no permission: not the file's fault
            raise InvalidMetagraphFile(path=str(path), reason=f"it cannot be read ({e.strerror or e})") from e
        except (zipfile.BadZipFile, EOFError, zlib.error) as e:
            raise refused("a cut or corrupted .npz archive") from e
        except (ValueError, KeyError, TypeError, IndexError) as e:  # object arrays (pickles), odd shapes or types
            raise refused("its arrays are not those of a save") from e
        if not len(hotkeys) == len(coldkeys) == n or any(len(arrays[k]) != n for k in _SAVED_ARRAYS[:-2]):
            raise refused(f"its arrays do not all hold n={n} entries")
        self.netuid, self.block, self.n = netuid, Count(block), Count(n)
        self._payload = self._neurons = None
        self.hotkeys, self.coldkeys, self.hparams, self.axons = hotkeys, coldkeys, hparams, axons
        for k, v in arrays.items():
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return f"Metagraph(netuid={self.netuid}, n={self.n}, block={self.block})"
