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

import contextlib
import inspect
import queue
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import attrs
import cbor2
import numpy as np

from taonet.ledger import SetWeights, SignedBlock, State, ss58_encode
from taonet.ledger.errors import StorageError
from taonet.plugins import Plugin, check_scores, read_journal, step_inputs, update_scores, weights_for
from taonet.plugins.errors import HookFailed, PluginMismatch

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
    """Journal folders of validators on ``netuid``, by hotkey (SS58): those given (a state dir or its ``journal/``),
    else every ``journal/`` under ``root`` (a localnet keeps ``state/<neuron>/journal/``)."""
    folders = [p / "journal" if (p / "journal").is_dir() else p for p in map(Path, extra)] if extra else [
        p for p in Path(root).rglob("journal") if p.is_dir()]
    out: dict[str, Path] = {}
    for folder in folders:
        head = _header(folder)
        if head is not None and head.get("netuid") == netuid and "hotkey" in head:
            out[str(head["hotkey"])] = folder
    return out


def _header(folder: Path) -> dict[str, Any] | None:
    """The header frame of a journal's oldest segment (docs/subnets.md "The journal": length, then CBOR)."""
    segments = sorted(folder.glob("journal-[0-9]*.cbor"))
    if not segments:
        return None
    with open(segments[0], "rb") as f:
        size = int.from_bytes(f.read(4), "big")
        if not 0 < size <= 1 << 20:
            return None
        try:
            head = cbor2.loads(f.read(size))
        except Exception:
            return None
    return head if isinstance(head, dict) and head.get("journal") == "taonet.validator" else None


def _to_u16(uids: list[int], weights: list[float]) -> tuple[bytes, bytes]:
    """As the client sends float weights (max-upscaled, rounded) and the chain stores them (by UID)."""
    w = np.asarray(weights, dtype=np.float64)
    top = w.max() if w.size else 0.0
    u16 = np.zeros(w.shape, dtype=np.int64) if top <= 0 else np.rint(w / top * 0xFFFF).astype(np.int64)
    order = np.argsort(np.asarray(uids, dtype=np.int64), kind="stable")
    return (np.asarray(uids, dtype="<u2")[order].tobytes(), u16[order].astype("<u2").tobytes())


_HOOK_THREAD = "taonet-hook:"
"""The name of the thread running a plain-def reward hook starts with this, then ``PLUGIN.reward`` (as the neurons
name theirs)."""


class _HookWorker:
    """One daemon thread that runs a plain-def hook's calls, one at a time, for one re-scoring (a thread per step would
    cost a thread start each). A daemon thread, unlike anyio's worker threads: a call left behind (its
    ``hook_timeout`` passed, or Ctrl-C) cannot be stopped, and must not keep the command from exiting (the process
    waits for its non-daemon threads at its end, :mod:`taonet.tools._end`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def _work(self) -> None:
        while (job := self.inbox.get()) is not None:
            job()

    async def call(self, fn: Any) -> Any:
        """``fn()`` in the worker thread, awaited; on cancellation it is left to finish (nobody waits for it)."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, name=self.name, daemon=True)
            self.thread.start()
        token = anyio.lowlevel.current_token()
        done = anyio.Event()
        box: dict[str, Any] = {}

        def job() -> None:
            try:
                box["value"] = fn()
            except BaseException as e:  # sys.exit too: handed to the awaiting task, raised there
                box["error"] = e
            with contextlib.suppress(Exception):  # the loop is gone: nobody waits
                anyio.from_thread.run_sync(done.set, token=token)

        self.inbox.put(job)
        await done.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def close(self) -> None:
        """Let the thread end once its call (if any) returns."""
        self.inbox.put(None)


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

    async def _reward(self, worker: _HookWorker, **kw: Any) -> dict[str, float]:
        """The plugin's scores for one journaled step, checked as a validator checks them, within the
        ``hook_timeout`` option as a validator's step hooks are; its mistakes (it raised, called sys.exit, overran)
        are its HookFailed (one line, exit 7), not an internal error nor the exit it asked for."""
        deadline = float(self.options.get("hook_timeout", 60.0))
        with anyio.move_on_after(deadline) as scope:
            try:
                if self.plugin.is_async("reward"):
                    result = self.plugin.hook.reward(**kw)
                else:
                    result = await worker.call(lambda: self.plugin.hook.reward(**kw))
                raw = await result if inspect.isawaitable(result) else result
            except SystemExit as e:  # as the neurons say it: a hook ends no taonet process
                raise HookFailed(plugin=self.plugin.name, hook="reward", error=(
                    f"it called sys.exit({e.code!r}); a hook must not exit the process (raise an exception)")
                                 ) from None
            except Exception as e:  # the plugin's own code
                raise HookFailed(plugin=self.plugin.name, hook="reward",
                                 error=" ".join(f"{type(e).__name__}: {e}".split())[:300]) from None
        if scope.cancelled_caught:
            raise HookFailed(plugin=self.plugin.name, hook="reward", error=(
                f"it did not return within {deadline:g} s (the hook_timeout option), so the re-scoring stopped; "
                "make it return sooner (bound its work) or give it longer: --set hook_timeout=SECONDS"))
        return check_scores(self.plugin, raw, kw["responses"])

    async def _rescore_all(self, journals: Mapping[str, Path]) -> None:
        worker = _HookWorker(f"{_HOOK_THREAD}{self.plugin.name}.reward")
        try:
            await self._rescore_journals(journals, worker)
        finally:
            worker.close()

    async def _rescore_journals(self, journals: Mapping[str, Path], worker: _HookWorker) -> None:
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
                raw = await self._reward(worker, task=task, responses=responses, metagraph=None,
                                         options=self.options)
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
