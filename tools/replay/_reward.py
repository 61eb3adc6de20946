"""``replay what-if --reward``: the validators' journals re-scored with another reward model, turned into weights as
the validator neuron turns scores into weights, and given to the epochs in place of the weights they set.

For each validator whose journal is found, every step is re-scored (:func:`taonet.plugins.step_inputs` rebuilds the
task and the answers; the plugin's ``reward`` hook scores them) and both moving averages are kept — the journal's own
step scores and the new ones (:func:`taonet.plugins.update_scores`, the neuron's ``alpha``). The chain says when the
validator set weights: at each of its ``SetWeights`` the step the neuron had reached is the latest one whose
recorded averages give exactly the recorded weights (:func:`taonet.plugins.weights_for` over the hotkeys at the
UIDs then, max-upscaled to u16 as the client sends them); the new averages at that step give the new weights.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import attrs
import cbor2
import numpy as np

from taonet.ledger import SetWeights, SignedBlock, State, ss58_encode
from taonet.ledger.errors import StorageError
from taonet.plugins import Plugin, call_within, check_scores, read_journal, step_inputs, update_scores, weights_for
from taonet.plugins.errors import PluginMismatch

__all__ = ["JournalWeights", "NoJournal", "RewardMismatch", "find_journals"]


@attrs.define(auto_exc=True, str=False, slots=False)
class NoJournal(StorageError):
    """Raised when no validator journal of the subnet is found to re-score (exit 7)."""

    CODE = "replay_no_journal"
    path: str
    netuid: int

    def __str__(self) -> str:
        return (f"no validator journal for subnet {self.netuid} under {self.path}: give --journal with a validator's "
                "state directory (its journal/ holds journal-*.cbor)")


@attrs.define(auto_exc=True, str=False, slots=False)
class RewardMismatch(PluginMismatch):
    """Raised when ``--reward`` names a plugin whose protocol cannot rebuild the journal's tasks (exit 2)."""

    CODE = "replay_reward_mismatch"
    synapse: str = ""

    def __str__(self) -> str:
        return (f"plugin {self.plugin!r} cannot re-score the journals of subnet {self.netuid}: their tasks are "
                f"{self.synapse!r} synapses, which its protocol does not define (they were written by "
                f"{self.recorded!r}); give --reward a plugin with that protocol, e.g. --reward {self.recorded}")


def find_journals(root: str | Path, netuid: int, extra: list[Path] = ()) -> dict[str, Path]:  # type: ignore[assignment]
    """Journal folders of validators on ``netuid``, by hotkey (SS58): those given (a journal, a state dir holding
    ``journal/``, or a folder of state dirs: every ``journal/`` under it), else every ``journal/`` under ``root`` (a
    localnet keeps ``state/<neuron>/journal/``); never those under a ``previous-chain/`` (another chain's). A journal
    whose first segment cannot be read (damaged, unreadable) is left out with a ``note:`` on stderr naming it."""
    def under(top: Path) -> list[Path]:
        return [p for p in top.rglob("journal") if p.is_dir() and "previous-chain" not in p.relative_to(top).parts]

    unread: dict[Path, str] = {}
    folders = [] if extra else under(Path(root))
    for p in map(Path, extra):
        if (p / "journal").is_dir():
            folders.append(p / "journal")
        elif _header(p, unread) is not None or not p.is_dir():
            folders.append(p)
        else:
            folders.extend(under(p))
    out: dict[str, Path] = {}
    for folder in folders:
        head = _header(folder, unread)
        if head is not None and head.get("netuid") == netuid and "hotkey" in head:
            out[str(head["hotkey"])] = folder
    for path, reason in unread.items():  # said, not taken for "no journal here"
        print(f"note: {path} not read: {reason}; that validator's journal is left out", file=sys.stderr, flush=True)
    return out


def _header(folder: Path, unread: dict[Path, str] | None = None) -> dict[str, Any] | None:
    """The header frame of a journal's oldest segment (docs/subnets.md "The journal": length, then CBOR); None when
    there is none, and, when the segment cannot be read, why in ``unread`` (by its path)."""
    segments = sorted(folder.glob("journal-[0-9]*.cbor"))
    if not segments:
        return None
    reason = ""
    try:
        with open(segments[0], "rb") as f:
            size = int.from_bytes(f.read(4), "big")
            if not 0 < size <= 1 << 20:
                reason = f"its first frame's length ({size} bytes) is not a journal header's (damaged?)"
            else:
                head = cbor2.loads(f.read(size))
    except OSError as e:
        reason = f"cannot be read ({e.strerror or e})"
    except cbor2.CBORDecodeError as e:
        reason = f"its header is not valid CBOR ({e}; damaged?)"
    if reason:
        if unread is not None:
            unread[segments[0]] = reason
        return None
    return head if isinstance(head, dict) and head.get("journal") == "taonet.validator" else None


def _to_u16(uids: list[int], weights: list[float]) -> tuple[bytes, bytes]:
    """As the client sends float weights (max-upscaled, rounded) and the chain stores them (by UID)."""
    w = np.asarray(weights, dtype=np.float64)
    top = w.max() if w.size else 0.0
    u16 = np.zeros(w.shape, dtype=np.int64) if top <= 0 else np.rint(w / top * 0xFFFF).astype(np.int64)
    order = np.argsort(np.asarray(uids, dtype=np.int64), kind="stable")
    return (np.asarray(uids, dtype="<u2")[order].tobytes(), u16[order].astype("<u2").tobytes())


class JournalWeights:
    """The weights each journaled validator would have set with ``plugin`` and ``options``; an observer of the
    blocks :func:`~taonet.tools.replay.what_if` folds, and its ``weights`` argument."""

    def __init__(self, plugin: Plugin, options: Mapping[str, Any], journals: Mapping[str, Path], netuid: int) -> None:
        self.plugin, self.options, self.netuid = plugin, dict(options), netuid
        self.alpha = float(self.options["alpha"])
        self.steps: dict[str, list[tuple[int, dict[str, float], dict[str, float]]]] = {}
        self.rescored = 0
        self.current: dict[bytes, tuple[bytes, bytes]] = {}  # validator hotkey -> the weights it would have now
        self.aligned = 0
        self.unaligned = 0
        self.same = 0
        anyio.run(self._rescore_all, journals)

    async def _reward(self, **kw: Any) -> dict[str, float]:
        """The plugin's scores for one journaled step, checked as a validator checks them, within the
        ``hook_timeout`` option as a validator's step hooks are (the neuron's own bounded call: a plain def in a
        daemon thread, left behind when it overruns or on Ctrl-C); its mistakes (it raised, called sys.exit,
        overran) are its HookFailed (one line, exit 7), not an internal error nor the exit it asked for."""
        raw = await call_within(self.plugin, "reward", float(self.options.get("hook_timeout", 60.0)),
                                "so the re-scoring stopped", **kw)
        return check_scores(self.plugin, raw, kw["responses"])

    async def _rescore_all(self, journals: Mapping[str, Path]) -> None:
        synapses = self.plugin.protocol.synapses
        for hotkey, folder in journals.items():
            old: dict[str, float] = {}
            new: dict[str, float] = {}
            trail = []
            for record in read_journal(folder):
                name = record.get("task", {}).get("synapse") if isinstance(record.get("task"), dict) else None
                if name not in {syn.NAME for syn in synapses}:  # type: ignore[attr-defined]
                    head = _header(folder) or {}
                    raise RewardMismatch(netuid=self.netuid, plugin=self.plugin.name,
                                         recorded=str(head.get("plugin", "?")), synapse=str(name))
                task, responses = step_inputs(record, synapses)
                raw = await self._reward(task=task, responses=responses, metagraph=None, options=self.options)
                queried = [r.hotkey for r in responses]
                step_new = raw
                old = update_scores(old, record.get("scores", {}), alpha=self.alpha, queried=queried)
                new = update_scores(new, step_new, alpha=self.alpha, queried=queried)
                trail.append((int(record["block"]), old, new))
                self.rescored += 1
            self.steps[hotkey] = trail

    def observe(self, block: SignedBlock, before: State) -> None:
        """Follow one block (``before``: the state it starts from): a journaled validator's SetWeights there gets
        its re-scored weights."""
        for ext in block.extrinsics:
            c = ext.call
            if not isinstance(c, SetWeights) or c.netuid != self.netuid:
                continue
            trail = self.steps.get(ss58_encode(ext.signer))
            if not trail:
                continue
            sn = before.subnet(self.netuid)
            if sn is None:
                continue
            limit = sn.hyper.max_weights_limit
            cap = 1.0 if limit >= 0xFFFF else limit / 0xFFFF * 0.999
            hotkeys = [ss58_encode(n.hotkey) for n in before.neurons(self.netuid)]
            recorded = _to_u16(list(c.uids), [float(x) for x in c.weights])
            earlier = [s for s in trail if s[0] < block.number]
            chosen = None
            for _, old, new in reversed(earlier):
                if _to_u16(*weights_for(old, hotkeys, max_weight=cap)) == recorded:
                    chosen = new
                    break
            if chosen is None:
                self.unaligned += 1
                if not earlier:
                    continue
                chosen = earlier[-1][2]
            else:
                self.aligned += 1
            uids, weights = weights_for(chosen, hotkeys, max_weight=cap)
            if uids:
                packed = _to_u16(uids, weights)
                self.same += packed == recorded
                self.current[ext.signer] = packed

    def __call__(self, state: State, netuid: int) -> dict[int, tuple[bytes, bytes]]:
        """The weights to use at an epoch on ``state``: {uid: (packed UIDs, packed u16 values)}."""
        out = {}
        for hk, packed in self.current.items():
            uid = state.uid_of(netuid, hk)
            if uid is not None:
                out[uid] = packed
        return out

    def summary(self) -> dict[str, Any]:
        """What was re-scored: journals, steps, SetWeights replaced (aligned to a step, or not), unchanged."""
        return {"journals": len(self.steps), "steps": self.rescored, "weights_aligned": self.aligned,
                "weights_unaligned": self.unaligned, "weights_unchanged": self.same}
