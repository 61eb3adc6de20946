"""The validator neuron: follows blocks, runs the plugin's task each step, scores with its reward model, keeps a
moving average per hotkey, journals every step and sets weights every ``weights_interval`` blocks.

On a subnet with commit-reveal it commits instead, keeps each commit's reveal (salt included) in its state
directory (``reveals.json``, so a restart between commit and reveal still reveals) and reveals it in its window; a
reveal that was not applied (dropped, timed out, the node away, the mempool full) is kept and tried again at the next
block while its window is open; only a final refusal (no such commit, the window over, commit-reveal off, the hotkey
or subnet gone, a stale version key) or the window closing forgets it, logged once with the reason, unless the chain
shows that commit revealed in its window (a try whose outcome was not learned: a timeout, a run stopped meanwhile).
A commit whose own outcome was not learned (sent, then a timeout) is kept as unsure, salt included, in the same file:
adopted and revealed if a sync shows it pending on the chain, forgotten (at info) if the chain still does not show
it :data:`UNSURE_COMMIT_BLOCKS` blocks after it was sent."""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import attrs

from taonet.kernel import Dendrite, Subtensor
from taonet.kernel.client import PendingReveal
from taonet.ledger.errors import (
    CommitRevealDisabled,
    CommitRevealRequired,
    HotkeyNotRegistered,
    InvalidCall,
    NoValidatorPermit,
    RateLimited,
    RevealTooEarly,
    RevealTooLate,
    StaleVersionKey,
    SubnetNotFound,
    TaonetError,
    WeightCommitNotFound,
)

from ._checks import check_carried, check_refused, check_scores, check_task
from ._discovery import Plugin
from ._gateway import GATEWAY_PROTOCOL
from ._journal import Journal
from ._neuron import (
    STOP_DEADLINE,
    HeadFollower,
    NeuronConfig,
    Prepared,
    RecentErrors,
    call_within,
    chain_replaced_uid,
    count_failure,
    lifecycle,
    log_traceback,
    now,
    open_client,
    prepare,
    read_metagraph,
    status_errors,
    uid_changed,
)
from ._scores import prune_scores, update_scores, weights_for
from ._standing import PruneWatch
from ._state_dir import Scores
from ._types import Response

__all__ = ["reply_budget", "run_validator", "validator_step"]

MAX_ERRORS = 10
"""Recent errors kept in status.json."""
MAX_REVEALS = 10
"""Pending reveals kept (the chain holds at most 10 commits per hotkey and subnet)."""
MAX_UNSURE_COMMITS = 4
"""Unsure commits kept (sent, their outcome not learned), the oldest forgotten first: a timed-out commit is tried
again at the next block, so a slow node makes a few within one epoch interval, whose commits share one window."""
UNSURE_COMMIT_BLOCKS = 20
"""Blocks after an unsure commit was sent past which a sync that does not find it pending on the chain forgets it:
twice the node's default mempool expiry (10 blocks), by which an extrinsic it holds is sealed or dropped."""

FINAL_REVEAL_REFUSALS = (WeightCommitNotFound, RevealTooLate, CommitRevealDisabled, InvalidCall, HotkeyNotRegistered,
                         SubnetNotFound, NoValidatorPermit, StaleVersionKey)
"""The chain's refusals of a reveal that trying again cannot change: the validator forgets that reveal."""

MAX_FAILURE_KINDS = 64
"""Distinct hook failures a validator counts (each is logged once, then at its 10th, 100th... time)."""

MAX_WEIGHT_COMMITS = 10
"""Pending weight commits the chain lets one hotkey hold on one subnet (taonet.ledger.MAX_WEIGHT_COMMITS)."""
PENDING_COMMITS_TARGET = 8
"""Pending commits the default ``weights_interval`` keeps a validator under, with commit-reveal on (a margin below
:data:`MAX_WEIGHT_COMMITS`)."""
REPEAT_BLOCKS = 100
"""Blocks before a warning that goes on (the same weights rejection, another process on this hotkey) is said
again, with how many times it happened."""
OWN_COMMITS_KEPT = 256
"""Hashes of this process's latest commits kept to tell them from another process's (a commit is pending for a few
epochs at most: 10 at once)."""
REVEAL_WAIT = 60.0
"""Seconds the validator waits for the outcome of the reveals it sent at one block."""


def default_weights_interval(tempo: int, rate_limit: int, commit_reveal: bool, period: int) -> int:
    """The ``weights_interval`` a validator uses when none is given: half a tempo; with commit-reveal one epoch
    interval (``tempo + 1`` blocks, as Bittensor's validators commit about once a tempo), more when
    ``commit_reveal_period`` is long, so that its pending commits stay within :data:`PENDING_COMMITS_TARGET`;
    never below the chain's ``weights_rate_limit``."""
    if not commit_reveal:
        return max(rate_limit, tempo // 2, 1)
    span = max(tempo, 0) + 1
    return max(rate_limit, span, math.ceil((max(period, 0) + 1) * span / PENDING_COMMITS_TARGET), 1)


def pending_commits(tempo: int, period: int, interval: int) -> int:
    """About how many commits a validator committing every ``interval`` blocks holds pending at once (a commit is
    pending from its own epoch interval until it is revealed ``period`` intervals later)."""
    return math.ceil((max(period, 0) + 1) * (max(tempo, 0) + 1) / max(interval, 1))


def _say_again(seen: list[int], block: int, times: int = 1) -> bool:
    """Count ``times`` more of a warning that goes on (``seen``: [times so far, block it was last said], updated) and
    whether to say it at ``block``: the first time, then once every :data:`REPEAT_BLOCKS` blocks."""
    seen[0] += times
    if seen[0] == times or block - seen[1] >= REPEAT_BLOCKS:
        seen[1] = block
        return True
    return False


async def run_validator(config: NeuronConfig, *,
                        task_status: anyio.abc.TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
    """Run a validator until cancelled; ``task_status.started(state_dir)`` once it follows blocks."""
    async with open_client(config) as sub:
        prepared = await prepare(config, sub, "validator")
        with prepared.state:
            await _Validator(config, sub, prepared).run(task_status)


def default_select(metagraph: Any, options: Mapping[str, Any], rng: random.Random, uid: int | None) -> list[int]:
    """Up to ``sample_size`` serving miners' UIDs at random, never ``uid`` itself nor a validator's gateway (an axon
    announced with :data:`GATEWAY_PROTOCOL`: it answers organic queries, not the subnet's tasks)."""
    serving = [u for u in range(metagraph.n) if u != uid and metagraph.axons[u].is_serving
               and metagraph.axons[u].protocol != GATEWAY_PROTOCOL]
    k = min(len(serving), max(0, int(options["sample_size"])))
    return sorted(rng.sample(serving, k))


def journal_data(response: Response) -> Any:
    """The default of what the journal keeps of an answer: the answered synapse's output fields (None if failed)."""
    if not response.ok:
        return None
    syn = response.synapse
    names = syn.OUTPUT_FIELDS if syn.OUTPUT_FIELDS is not None else syn._PAYLOAD
    return {n: getattr(syn, n) for n in names}


def reply_budget(options: Mapping[str, Any]) -> int | None:
    """The ``reply_budget_mb`` option in bytes (None when ``options`` has no such key: no budget)."""
    mb = options.get("reply_budget_mb")
    return None if mb is None else max(1, int(float(mb) * 1024 * 1024))


async def ask(dendrite: Any, axons: list[Any], synapse: Any, timeout: float, max_bytes: int | None = None
              ) -> list[Any]:
    """Query every axon under the timeout; a StreamingSynapse is streamed from each (all at once) and each answer is
    the assembled synapse once its stream ended (its process time: the whole stream). ``max_bytes``: the reply bytes
    all the answers may hold together (each axon's share: ``max_bytes // len(axons)``; a reply over it is a 500 with
    ``dendrite.reply_limit``)."""
    from taonet.kernel import StreamingSynapse

    if not isinstance(synapse, StreamingSynapse):
        if max_bytes is None:
            return list(await dendrite(axons, synapse, timeout=timeout))
        return list(await dendrite(axons, synapse, timeout=timeout, max_bytes=max_bytes))
    results: list[Any] = [None] * len(axons)
    share = None if max_bytes is None or not axons else max(1, max_bytes // len(axons))

    async def one(i: int, axon: Any) -> None:
        async with dendrite.stream(axon, synapse, timeout=timeout,
                                   **({} if share is None else {"max_bytes": share})) as s:
            async for _ in s:
                pass
        results[i] = s.result

    async with anyio.create_task_group() as tg:
        for i, axon in enumerate(axons):
            tg.start_soon(one, i, axon)
    return results


STEP_OVERRUN = {"validator_feedback": "so this step's feedback was not sent (the step's scores are kept in memory)"}
"""What an overrun of a step hook costs, when not "so this step was skipped"."""


async def _hook(plugin: Plugin, name: str, options: Mapping[str, Any], **kwargs: Any) -> Any:
    """A step hook's value, within the ``hook_timeout`` option (none when ``options`` has no such key); HookFailed
    when it raises or overruns."""
    deadline = options.get("hook_timeout")
    return await call_within(plugin, name, None if deadline is None else float(deadline),
                             STEP_OVERRUN.get(name, "so this step was skipped"), options=options, **kwargs)


def _uids_of(plugin: Plugin, chosen: Any) -> list[int]:
    """``validator_select``'s answer as UIDs; anything but a sequence of integers is the plugin's error (HookFailed:
    the step is skipped and logged, the validator goes on)."""
    from .errors import HookFailed

    try:
        if isinstance(chosen, (str, bytes)):
            raise TypeError("a UID is not an integer")
        items = list(chosen)  # once: the answer may be a generator
        if any(isinstance(u, bool) or int(u) != u for u in items):
            raise TypeError("a UID is not an integer")
        uids = [int(u) for u in items]
    except (TypeError, ValueError) as e:
        raise HookFailed(plugin=plugin.name, hook="validator_select",
                         error=f"it returned {type(chosen).__name__}, not a sequence of UIDs ({e})") from None
    return uids


async def validator_step(plugin: Plugin, options: Mapping[str, Any], scores: Scores, *, block: int, metagraph: Any,
                         dendrite: Any, hotkey: str, uid: int | None = None, journal: Journal | None = None,
                         on_cut: Callable[[list[Response], int, int], None] | None = None) -> dict[str, Any] | None:
    """One validator step: the plugin's task, the miners it chooses queried under the timeout, scored by its reward
    model; the step appended to ``journal``, then the per-hotkey moving averages in ``scores`` updated and its step
    counter advanced. Returns the journal record (None when no miner was chosen). A hook that raises, does not return
    within ``options["hook_timeout"]`` seconds (when given), or returns what the journal cannot carry (a truth, a
    ``journal_response`` value) is HookFailed, before anything of the step is recorded.

    The miners' replies together hold at most ``options["reply_budget_mb"]`` MiB (when given): each of the k miners
    asked may answer 1/k of it; a larger reply is refused as it arrives (500, ``dendrite.reply_limit``) and scored as
    a failed reply; ``on_cut(responses cut, miners asked, budget in bytes)`` is told of them.

    ``metagraph`` needs ``n``, ``axons`` and ``hotkeys``; the random generator is seeded from ``hotkey`` and the
    step, so a step can be run again.
    """
    step = scores.step
    rng = random.Random(f"{hotkey}/{step}")
    task = check_task(plugin, await _hook(plugin, "validator_task", options, step=step, block=block, rng=rng))
    check_carried(plugin, "validator_task", "Task.truth", task.truth)  # before any miner is asked
    if plugin.implements("validator_select"):
        chosen = await _hook(plugin, "validator_select", options, metagraph=metagraph, rng=rng, uid=uid)
        uids = _uids_of(plugin, chosen)
    else:
        uids = default_select(metagraph, options, rng, uid)
    uids = [u for u in uids if 0 <= u < metagraph.n]
    if not uids:
        return None
    timeout = float(task.timeout or options["timeout"])
    axons = [metagraph.axons[u] for u in uids]
    budget = reply_budget(options)
    answers = await ask(dendrite, axons, task.synapse, timeout, budget)
    responses = [Response(uid=u, hotkey=metagraph.hotkeys[u], synapse=a) for u, a in zip(uids, answers, strict=True)]
    del answers
    cut = [r for r in responses if r.synapse.dendrite.reply_limit is not None]
    if cut and on_cut is not None and budget is not None:
        on_cut(cut, len(responses), budget)
    check_refused(plugin, responses)
    raw = await _hook(plugin, "reward", options, task=task, responses=responses, metagraph=metagraph)
    step_scores = check_scores(plugin, raw, responses)
    if plugin.implements("journal_response"):
        data = [check_carried(plugin, "journal_response", "what it returned",
                              await _hook(plugin, "journal_response", options, response=r)) for r in responses]
    else:
        data = [journal_data(r) for r in responses]
    record = {
        "step": step, "block": block, "time": now(),
        "task": {"synapse": task.synapse.NAME, "fields": task.synapse.payload(), "truth": task.truth,
                 "timeout": timeout},
        "responses": [{"uid": r.uid, "hotkey": r.hotkey, "status": r.synapse.dendrite.status_code or 0,
                       "latency": r.latency, "data": d} for r, d in zip(responses, data, strict=True)],
        "scores": step_scores,
    }
    if journal is not None:  # before the scores move: a step the journal refuses is skipped, changing nothing
        try:
            journal.append(record)
        except (TypeError, ValueError) as e:  # something the plugin returned that CBOR cannot carry
            from .errors import HookFailed

            raise HookFailed(plugin=plugin.name, hook="journal_response",
                             error=f"a value the journal (CBOR) cannot carry: {e}") from None
    scores.scores = update_scores(scores.scores, step_scores, alpha=float(options["alpha"]),
                                  queried=[r.hotkey for r in responses])
    scores.step = step + 1
    scores.block = block
    if plugin.implements("validator_feedback"):
        syn = await _hook(plugin, "validator_feedback", options, task=task, responses=responses,
                          scores=step_scores)
        if syn is not None:
            if not isinstance(syn, plugin.protocol.synapses):
                from .errors import HookFailed

                raise HookFailed(plugin=plugin.name, hook="validator_feedback", error=(
                    f"it returned {type(syn).__name__}, not None or one of the protocol's synapse types"))
            if budget is None:
                await dendrite(axons, syn, timeout=timeout)
            else:  # its replies are not kept: they are dropped as the call returns
                await dendrite(axons, syn, timeout=timeout, max_bytes=budget)
    return record


class _Validator:
    def __init__(self, config: NeuronConfig, sub: Subtensor, p: Prepared) -> None:
        self.config = config
        self.sub = sub
        self.p = p
        self.plugin = p.plugin
        self.options = p.options
        self.log = p.log
        self.netuid = config.netuid
        saved = p.state.load_scores()
        self.resumed = saved is not None
        self.scores = saved or Scores()
        self.journal = Journal(p.state.journal_dir, {"plugin": self.plugin.name, "netuid": self.netuid,
                                                     "hotkey": p.hotkey},
                               max_bytes=int(float(self.options["journal_max_mb"]) * 1024 * 1024))
        self.metagraph: Any = None
        self.uid: int | None = p.uid
        self.recent = RecentErrors(MAX_ERRORS)  # one entry per reason, the latest last (see _error)
        self.prune_watch = PruneWatch(self.log, "validator")
        self.failures: dict[tuple[str, str], int] = {}
        self.last_score_update: int | None = None
        self.last_step_block = -(10**9)
        self.next_weights_at = 0
        self.backoff = 1
        self.rejections: dict[str, list[int]] = {}  # code -> [times, block last said]
        self.setting = False
        self.last_epoch: int | None = None
        self.head = 0
        self.follower: HeadFollower | None = None
        self.gateway: Any = None
        self.gateway_info: Any = None
        self.gateway_retry_at = 0
        self.commit_reveal: bool | None = None  # None: the subnet's rules not read yet
        # commits sent whose outcome we did not learn (a timeout), with the block each was sent at, oldest first
        self.unsure_commits: list[tuple[PendingReveal, int]] = []
        self.committing: bytes | None = None  # the hash of the commit whose outcome set_weights is waiting for
        self.reveals: list[PendingReveal] = self._load_reveals()
        self.revealing = False
        self.reveal_retry_at = 0
        self.reveal_later: dict[bytes, str] = {}  # commit hash -> why its last try was not applied (bounded: reveals)
        self.reveal_unsure: set[bytes] = set()  # commit hashes with a try whose outcome we did not learn (a timeout)
        self.reveals_lock = anyio.Lock()  # the commit and the reveal tasks both rewrite reveals.json
        self.permit: bool | None = None  # this UID's validator permit as last seen (None: not known yet)
        self.had_permit = False  # it held one at some point of this run on this chain (a new one is "again")
        self.stale_key: int | None = None  # the subnet's weights_version while above this plugin's version key
        self.resync = False  # the chain's answer showed a change of the subnet's rules: read them at the next block
        self.overflow_warned = False
        # what this process sent, to tell its own weights on the chain from another process's on the same hotkey
        self.own_commits: dict[bytes, None] = dict.fromkeys(  # oldest first
            [*(r.commit_hash for r, _ in self.unsure_commits), *(r.commit_hash for r in self.reveals)])
        self.own_set_blocks: set[int] = set()
        self.unsure_sets = 0  # set_weights whose block we did not learn (a timeout): one unknown WeightsSet each
        self.inflight: dict[int, int] = {}  # a send in flight -> the block it started at
        self.tokens = itertools.count()  # a key of inflight per send (an id() of a freed object repeats)
        self.watch_from: int | None = None  # the next block whose weights events are checked
        self.elsewhere: list[int] = [0, -(10**9)]  # [times, block last said]

    def _load_reveals(self) -> list[PendingReveal]:
        """The saved reveals of this hotkey and subnet (the last :data:`MAX_REVEALS`); the unsure commits saved
        beside them (no window, a ``sent_at`` block) go to ``self.unsure_commits``."""
        out, unsure = [], []
        for d in self.p.state.load_reveals():
            sent_at = d.pop("sent_at", None) if isinstance(d, dict) else None
            try:
                r = PendingReveal.from_json(d)
            except (KeyError, TypeError, ValueError):
                continue
            if r.netuid != self.netuid or r.hotkey != self.p.hotkey:
                continue
            if r.reveal_from is not None:
                out.append(r)
            elif type(sent_at) is int and sent_at >= 0:
                unsure.append((r, sent_at))
        self.unsure_commits = unsure[-MAX_UNSURE_COMMITS:]
        return out[-MAX_REVEALS:]

    async def _save_reveals(self) -> None:
        async with self.reveals_lock:
            records = [r.to_json() for r in self.reveals]
            records += [{**r.to_json(), "sent_at": at} for r, at in self.unsure_commits]
            await anyio.to_thread.run_sync(self.p.state.save_reveals, records)

    # --- bookkeeping ------------------------------------------------------------------------------------------
    def _error(self, event: str, message: str, key: str | None = None) -> None:
        """Keep an error for status.json: one entry per reason (``key``, else the message), with how many times it
        happened and the block and time of the last; the :data:`MAX_ERRORS` most recent reasons."""
        self.recent.add(f"{event}: {message}", self.head, key=f"{event}|{message if key is None else key}")

    def _status(self, state: str = "running") -> dict[str, Any]:
        mg = self.metagraph
        u = self.uid
        have = mg is not None and u is not None and u < mg.n
        vtrust = getattr(mg, "validator_trust", None) if have else None
        return {"role": "validator", "plugin": self.plugin.name, "netuid": self.netuid, "hotkey": self.p.hotkey,
                "uid": u, "block": self.head, "metagraph_block": mg.block if mg is not None else None,
                "stake": float(mg.S[u]) if have else 0.0, "validator_permit": self.permit if have else None,
                "dividends": float(mg.D[u]) if have else 0.0, "emission": int(mg.E[u]) if have else 0,
                "vtrust": float(vtrust[u]) if vtrust is not None and u < len(vtrust) else None,
                "step": self.scores.step, "weights_interval": getattr(self, "weights_interval", None),
                "last_weights_block": self.scores.weights_block or None, "last_score_update": self.last_score_update,
                "tracked_hotkeys": len(self.scores.scores), "resumed": self.resumed,
                "next_to_prune": self.prune_watch.next,
                **status_errors(self.recent, *([self.follower.recent] if self.follower else []), limit=MAX_ERRORS),
                "gateway": f"{self.gateway_info.ip}:{self.gateway_info.port}" if self.gateway_info else None,
                "state": state, "time": now()}

    def replies_cut(self, where: str, cut: list[Response], asked: int, budget: int) -> None:
        """Miners' replies refused for their size: logged (once, then at the 10th, 100th... time for ``where``) with
        the numbers, and kept in status.json's errors. The hint names the limit that cut them: the step's share of
        ``budget`` bytes (raised with reply_budget_mb), or the most one reply may ever hold (the synapse's MAX_SIZE,
        else the dendrite's max_response_size), which the budget does not raise: more is refused by design."""
        if (count := count_failure(self.failures, ("reply_budget", where), MAX_FAILURE_KINDS)) is None:
            return
        limit = max(r.synapse.dendrite.reply_limit or 0 for r in cut)
        mb = float(self.options["reply_budget_mb"])
        syn = type(cut[0].synapse)
        dendrite = getattr(self, "dendrite", None)
        most = syn.MAX_SIZE or (dendrite.config.max_response_size if dendrite is not None else None)
        if most is not None and limit >= most:  # the per-reply maximum cut them, not the budget's share
            named = (f"{syn.__name__}'s MAX_SIZE" if syn.MAX_SIZE else "the dendrite's max_response_size")
            message = (f"{len(cut)} of {asked} miners' replies passed {limit} bytes, the most one reply may hold at "
                       f"all ({named}), and were refused as they came, scored as failed replies: by design, a "
                       f"miner sending more is refused (reply_budget_mb={mb:g} does not raise it); if honest answers "
                       f"are larger, the plugin sets MAX_SIZE on {syn.__name__} (and reply_budget_mb so each miner's "
                       f"share holds it)")
            hint = f"the per-reply maximum ({named}); more is refused by design; reply_budget_mb does not raise it"
            cut_by = "per_reply_maximum"
        else:
            message = (f"{len(cut)} of {asked} miners' replies passed {limit} bytes, the most one reply may hold here "
                       f"({budget} bytes shared by {asked}: reply_budget_mb={mb:g}; or the synapse's MAX_SIZE if "
                       f"smaller), and were refused as they came, scored as failed replies; to take larger replies: "
                       f"--set reply_budget_mb=MIB")
            hint, cut_by = "--set reply_budget_mb=MIB", "reply_budget"
        self._error(f"{where}.replies_cut", message)
        self.log.warning("validator.replies_cut", where=where, cut=len(cut), uids=[r.uid for r in cut][:16],
                         asked=asked, reply_limit=limit, cut_by=cut_by, budget_bytes=budget, reply_budget_mb=mb,
                         times=count, hint=hint)

    def _hook_failed(self, e: Any) -> None:
        """A hook failed (HookFailed): logged (each cause once, then at its 10th, 100th... time) and counted in
        status.json's errors every time."""
        self._error(f"plugin.{e.hook}", e.said)
        if (count := count_failure(self.failures, (e.hook, e.said), MAX_FAILURE_KINDS)) is not None:
            self.log.warning("plugin.hook_failed", hook=e.hook, error=e.said, times=count)
            log_traceback(self.log, e.hook, e.__cause__)

    async def _lifecycle(self, name: str, **kwargs: Any) -> None:
        await lifecycle(self.plugin, name, self.log, deadline=float(self.options["hook_timeout"]),
                        failed=self._hook_failed, raise_overrun=name == "neuron_start",
                        context=self.p.context("validator", self.netuid, self.metagraph), **kwargs)

    def _hyperparameters(self, hp: Mapping[str, Any]) -> None:
        """The subnet's rules the validator follows (read again at every sync: the owner may change them)."""
        self.tempo = int(hp["tempo"])
        rate = int(hp["weights_rate_limit"])
        self.rate_limit = rate
        limit = int(hp["max_weights_limit"])  # u16; below 65535 a margin keeps the u16 rounding under the limit
        self.max_weight = 1.0 if limit >= 0xFFFF else limit / 0xFFFF * 0.999
        commit_reveal = bool(hp.get("commit_reveal_weights_enabled", False))
        self._commit_reveal_changed(commit_reveal)
        period = int(hp.get("commit_reveal_period", 1))
        given = int(self.options["weights_interval"])
        default = default_weights_interval(self.tempo, rate, commit_reveal, period)
        self.weights_interval = given or default
        pending = pending_commits(self.tempo, period, max(given, rate))
        if given and commit_reveal and pending > MAX_WEIGHT_COMMITS and not self.overflow_warned:
            self.overflow_warned = True
            message = (f"weights_interval={given} commits about {pending} times per {period + 1} epoch intervals (a "
                       f"commit waits commit_reveal_period={period} intervals for its reveal), past the "
                       f"{MAX_WEIGHT_COMMITS} pending commits the chain lets a hotkey hold: commits will be refused "
                       f"(too_many_weight_commits); --set weights_interval={default} (or 0, the default) keeps "
                       "under it")
            self.log.warning("validator.weights_interval_overflows", weights_interval=given, pending=pending,
                             limit=MAX_WEIGHT_COMMITS, tempo=self.tempo, commit_reveal_period=period,
                             suggested=default, message=message)
            self._error("validator.weights_interval_overflows", message, key="")

    def _commit_reveal_changed(self, on: bool, block: int | None = None) -> None:
        """Commit-reveal on or off, as the subnet's rules (or, at ``block``, the chain's answer to a send: the owner
        changed it since the last sync) show it; a change said at info, the rules read again at the next block."""
        was, self.commit_reveal = self.commit_reveal, on
        if block is not None:
            self.resync = True
        if was is None or was == on:
            return
        note = ("the subnet's owner turned commit-reveal on: this validator commits its weights and reveals them in "
                "their window" if on else "the subnet's owner turned commit-reveal off: this validator sets its "
                "weights directly (its commits not revealed yet cannot be)")
        self.log.info("weights.commit_reveal_changed", commit_reveal=on, block=self.head if block is None else block,
                      note=note)

    def _version_seen(self, required: int, block: int, *, by_chain: str = "") -> None:
        """The subnet's ``weights_version`` (the owner's minimum version key) as the metagraph (or, ``by_chain``, a
        refusal of the chain) shows it: above this plugin's version key, the validator sets and commits no weights
        (the chain refuses them all) and keeps scoring, said once (a warning; then at the 10th, 100th... refusal);
        at or below it again, it sets weights again (info)."""
        key = self.plugin.protocol.version
        was = self.stale_key
        if required <= key:
            self.stale_key = None
            self.failures.pop(("weights", "stale_version_key"), None)  # raised again later: said again
            if was is not None:
                self.log.info("validator.version_key_ok", version_key=key, weights_version=required, block=block,
                              note="the subnet's weights_version is at or below this validator's version key again: "
                                   "it sets weights again")
            return
        self.stale_key = required
        if was == required and not by_chain:
            return
        if (count := count_failure(self.failures, ("weights", "stale_version_key"), MAX_FAILURE_KINDS)) is None:
            return
        message = (f"this validator's version key {key} (the {self.plugin.name} plugin's SubnetProtocol.version) is "
                   f"below subnet {self.netuid}'s weights_version {required}, the owner's minimum: the chain refuses "
                   f"its weights, so it sets and commits none and keeps scoring; run a version of the plugin whose "
                   f"protocol version is {required} or more (or the subnet's owner lowers weights_version); it sets "
                   f"weights again by itself once weights_version is {key} or less")
        self.log.warning("validator.version_key_stale", version_key=key, weights_version=required, block=block,
                         times=count, **({"refused_by_chain": by_chain} if by_chain else {}), message=message)
        self._error("validator.version_key_stale", message, key="")

    async def _chain_replaced(self) -> None:
        """The node's chain was replaced (see HeadFollower): forget what the old chain said, read this neuron's
        registration, UID and permit from the new one, and set aside the scores and pending reveals kept on the
        old one (as at a start on another chain: ``_check_chain``)."""
        self.uid, self.permit, self.last_epoch, self.watch_from, self.had_permit = None, None, None, None, False
        self.last_step_block, self.next_weights_at, self.backoff = -(10**9), 0, 1
        self.gateway_retry_at = self.reveal_retry_at = self.unsure_sets = 0
        self.own_set_blocks.clear()
        self.elsewhere = [0, -(10**9)]
        await self._sync(fresh=True)
        chain_replaced_uid(self.log, self.uid, netuid=self.netuid, block=self.metagraph.block)
        resumed, self.resumed = self.resumed, True  # what it holds was kept on the old chain
        await self._check_chain()
        if self.resumed:  # nothing was set aside
            self.resumed = resumed
        await self._publish_gateway()

    async def _sync(self, *, fresh: bool = False) -> None:
        mg = await read_metagraph(self.config, self.sub, self.netuid, self.head, fresh=fresh)
        self.metagraph = mg
        self.resync = False
        self._hyperparameters(mg.hparams)
        self._version_seen(int(mg.hparams.get("weights_version", 0) or 0), mg.block)
        uid = mg.hotkeys.index(self.p.hotkey) if self.p.hotkey in mg.hotkeys else None
        if uid != self.uid:
            if not fresh:  # a replaced chain's standing is said by _chain_replaced
                uid_changed(self.log, self.uid, uid, netuid=self.netuid, hotkey=self.p.hotkey, block=mg.block)
            self.uid = uid
        if uid is not None:
            self._permit_seen(bool(mg.validator_permit[uid]), mg.block)
        self.prune_watch.update(mg, uid, self.netuid)
        self.scores.scores = prune_scores(self.scores.scores, mg.hotkeys)
        epoch = int(mg.subnet.get("last_epoch", 0))
        if self.last_epoch is not None and epoch != self.last_epoch:
            await self._lifecycle("neuron_epoch", block=epoch)
        self.last_epoch = epoch

    def _permit_seen(self, permit: bool, block: int, *, by_chain: str = "") -> None:
        """This UID's validator permit as the metagraph (or, ``by_chain``, a refusal of the chain) shows it: its loss
        is a warning (once; no weights are set or committed without one, the steps go on), its return an info
        line."""
        was, self.permit = self.permit, permit
        if permit == was:
            return
        mg, u = self.metagraph, self.uid
        if permit:
            if was is not None:
                again = " again" if self.had_permit else ""
                self.log.info("validator.permit", uid=u, block=block, stake=float(mg.S[u]),
                              note=f"this validator holds a validator permit{again}: it sets weights")
            self.had_permit = True
            return
        holders = [float(mg.S[i]) for i in range(mg.n) if mg.validator_permit[i] and i != u and mg.S[i] > 0]
        most = int(mg.hparams.get("max_allowed_validators", 0) or 0)
        stake = float(mg.S[u]) if u is not None and u < mg.n else 0.0
        lowest = min(holders) if holders else 0.0
        full = bool(holders) and len(holders) >= most
        need = f"the lowest permit holder has {lowest:g} τ" if full else "a permit is free for any stake above 0"
        whom = ("the permit goes to the hotkey" if most == 1 else
                f"permits go to the {most} hotkeys" if most else "permits go to the hotkeys")
        if stake > 0 and (not full or stake > lowest):  # enough: nothing to do but wait for the epoch
            then = (f"its stake is enough: it gets one at the next epoch (block {self._next_epoch(block)}) and "
                    "sets and commits no weights until then; it keeps scoring")
        else:
            then = (f"it sets and commits no weights until it has one and keeps scoring; stake more: {whom} with the "
                    "most stake at each epoch")
        self.log.warning("validator.no_permit", uid=u, netuid=self.netuid, block=block, stake=stake,
                         lowest_permit_stake=lowest, permits=len(holders), max_allowed_validators=most,
                         **({"refused_by_chain": by_chain} if by_chain else {}),
                         message=(f"UID {u} on subnet {self.netuid} has no validator permit (its stake {stake:g} τ; "
                                  f"{need}): {then}"))

    async def _check_hotkey_elsewhere(self) -> None:
        """Warn when the chain shows weights of this hotkey this process did not send (set, committed or revealed):
        another process runs a validator on the same hotkey. Once, then every :data:`REPEAT_BLOCKS` blocks while it
        goes on. Blocks a send of ours is still in flight at are checked once it returns."""
        from taonet.ledger import WeightsCommitted, WeightsRevealed, WeightsSet, ss58_decode

        if self.uid is None:
            return
        if self.watch_from is None:
            self.watch_from = self.head + 1
            return
        stop = min([self.head, *(b - 1 for b in self.inflight.values())])
        if stop < self.watch_from:
            return
        try:
            events = await self.sub.get_events(self.watch_from, stop + 1, netuid=self.netuid, account=self.p.hotkey,
                                               types=["ev.weights_set", "ev.weights_committed",
                                                      "ev.weights_revealed"])
        except TaonetError:
            return
        self.watch_from = stop + 1
        me = ss58_decode(self.p.hotkey)
        mine = [(b, ph, e) for b, ph, e in events if getattr(e, "hotkey", None) == me]
        reveals = {(b, ph) for b, ph, e in mine if isinstance(e, WeightsRevealed)}
        foreign: list[tuple[int, str]] = []
        for b, ph, e in mine:
            if isinstance(e, WeightsCommitted | WeightsRevealed):
                if e.commit_hash not in self.own_commits:
                    foreign.append((b, "committed" if isinstance(e, WeightsCommitted) else "revealed"))
            elif isinstance(e, WeightsSet) and (b, ph) not in reveals and b not in self.own_set_blocks:
                if self.unsure_sets:  # one of ours whose block we did not learn
                    self.unsure_sets -= 1
                else:
                    foreign.append((b, "set weights"))
        self.own_set_blocks = {b for b in self.own_set_blocks if b >= self.watch_from}  # the others are checked
        if not foreign:
            return
        if _say_again(self.elsewhere, self.head, len(foreign)):
            shown = sorted({b for b, _ in foreign})[:5]
            message = (f"another process sets weights with this hotkey ({self.p.hotkey}): stop one; at "
                       f"block{'s' if len(shown) > 1 else ''} {', '.join(str(b) for b in shown)} the chain shows "
                       f"weights this validator did not send ({', '.join(sorted({w for _, w in foreign}))}); two "
                       f"validators on one hotkey replace each other's weights and share its rate limit and pending "
                       f"commits")
            self.log.warning("validator.hotkey_used_elsewhere", hotkey=self.p.hotkey,
                             blocks=shown, times=self.elsewhere[0], message=message)
            self._error("validator.hotkey_used_elsewhere", message, key="")

    async def _check_chain(self) -> None:
        """Scores kept on another chain (a network started afresh with the same wallets and state directory) are set
        aside, not resumed: their weights block and averages mean nothing here (resumed, the validator waited for
        the old chain's height before setting any weights, its miners unpaid)."""
        chain = await self.sub.genesis_hash() + (await self.sub.get_block(1)).hash if self.head >= 1 else b""
        saved, why = self.scores, ""
        last = max(saved.block, saved.weights_block)
        if self.resumed and saved.chain and chain:  # known: a node behind (a replica) is no reason to drop them
            if saved.chain != chain:
                why = "they were kept on another chain (another genesis, or a chain started afresh)"
        elif self.resumed and last > self.head:  # a file from before the chain was kept in it
            why = f"they were kept up to block {last}, past this chain's head {self.head}: another chain"
        if why:
            aside = await anyio.to_thread.run_sync(self.p.state.set_aside)
            self.log.warning("validator.state_of_another_chain", reason=why, moved_to=str(aside))
            self.scores, self.resumed, self.unsure_commits = Scores(), False, []
            self._keep_reveals([])
        self.scores.chain = chain

    # --- the loop -----------------------------------------------------------------------------------------------
    async def run(self, task_status: anyio.abc.TaskStatus[Any]) -> None:
        await self._sync()
        self.head = self.metagraph.block
        await self._check_chain()
        self.journal.open()
        if self.journal.last_step is not None and self.journal.last_step >= self.scores.step:
            self.scores.step = self.journal.last_step + 1  # the journal was written, the scores not yet
        o = self.options
        self.log.info("validator.started", state_dir=str(self.p.state.path), resumed=self.resumed,
                      step=self.scores.step, tracked=len(self.scores.scores), weights_interval=self.weights_interval,
                      weights_interval_default=not int(o["weights_interval"]), commit_reveal=self.commit_reveal,
                      sample_size=int(o["sample_size"]), timeout=float(o["timeout"]), alpha=float(o["alpha"]),
                      step_interval=int(o["step_interval"]), metagraph_interval=int(o["metagraph_interval"]),
                      hook_timeout=float(o["hook_timeout"]), tempo=self.tempo, validator_permit=self.permit,
                      pending_reveals=len(self.reveals), unsure_commits=len(self.unsure_commits))
        await self._check_hotkey_elsewhere()
        await self._find_unsure_commits()
        try:
            async with Dendrite(self.config.wallet) as self.dendrite, anyio.create_task_group() as tg:
                await self._lifecycle("neuron_start")
                if self.config.gateway:
                    await self._open_gateway(tg)
                task_status.started(self.p.state.path)
                await self._loop(tg)
        finally:
            with anyio.move_on_after(STOP_DEADLINE, shield=True):
                await anyio.to_thread.run_sync(self.p.state.save_scores, self.scores)
                self.journal.close()
                await lifecycle(self.plugin, "neuron_stop", self.log,
                                context=self.p.context("validator", self.netuid, self.metagraph))
                self.p.state.write_status(self._status("stopped"))
                self.log.info("validator.stopped", step=self.scores.step)

    async def _loop(self, tg: anyio.abc.TaskGroup) -> None:
        follower = HeadFollower(self.sub, self.head, self.log, on_block=self._on_block)
        self.follower = follower
        tg.start_soon(follower.run)
        seen = self.head
        chains = said = 0
        while True:
            block = seen = await follower.next(seen)
            try:
                if follower.chains != chains:  # the node runs another chain now: read our standing there
                    self.head = block
                    try:
                        await self._chain_replaced()
                    except TaonetError as e:  # tried again at the next block; said once a chain
                        if said != follower.chains:
                            said = follower.chains
                            chain_replaced_uid(self.log, None, netuid=self.netuid, block=block, error=e)
                        raise
                    chains = said = follower.chains
                elif self.resync or block - self.metagraph.block >= int(self.options["metagraph_interval"]) \
                        or block > self._next_epoch(self.metagraph.block - 1):  # the epoch's permits, dividends
                    await self._sync()
                    await self._publish_gateway()
                    await self._check_hotkey_elsewhere()
                    await self._find_unsure_commits()
            except TaonetError as e:  # a read refused or the node away: the follower says so; go on
                self._error("metagraph.sync", str(e))
                continue
            if self.plugin.implements("neuron_block"):
                await self._lifecycle("neuron_block", block=block)
            if block - self.last_step_block >= int(self.options["step_interval"]) and self.uid is not None:
                self.last_step_block = block
                await self.step(block)
            if self.reveals and not self.revealing and follower.head >= self.reveal_retry_at:
                self.revealing = True
                tg.start_soon(self.reveal_due, follower.head)
            due = max(self.scores.weights_block + self.weights_interval, self.next_weights_at)
            if follower.head >= due and not self.setting and self.uid is not None and self.permit is not False \
                    and self.stale_key is None:
                self.setting = True
                tg.start_soon(self.set_weights, follower.head)

    def _next_epoch(self, after: int) -> int:
        """The first block after ``after`` at which the subnet's epoch runs (never, with tempo 0)."""
        if self.tempo <= 0:
            return 1 << 62
        span = self.tempo + 1
        return after + 1 + (-(after + 1 + self.netuid + 1)) % span

    # --- the gateway (organic queries) ----------------------------------------------------------------------------
    async def _open_gateway(self, tg: anyio.abc.TaskGroup) -> None:
        """Serve organic queries at the gateway address and publish it on the chain (docs/subnets.md)."""
        from ._gateway import Gateway

        self.gateway = Gateway(self)
        self.gateway_info = await tg.start(self.gateway.axon(str(self.config.gateway)).serve)
        self.log.info("gateway.started", gateway=f"{self.gateway_info.ip}:{self.gateway_info.port}")
        await self._publish_gateway()
        self.p.state.write_status(self._status())

    async def _publish_gateway(self) -> None:
        """Serve the gateway's address as this validator's axon unless the chain already has it."""
        info, mg = self.gateway_info, self.metagraph
        if info is None or self.uid is None or mg is None:
            return
        have = mg.axons[self.uid]
        if (have.ip, have.port, have.protocol) == (info.ip, info.port, GATEWAY_PROTOCOL) \
                or self.head < self.gateway_retry_at:
            return
        result = await self.sub.serve_axon(self.config.wallet, self.netuid, ip=info.ip, port=info.port,
                                           protocol=GATEWAY_PROTOCOL, version=info.version)
        if result.success:
            self.log.info("gateway.published", ip=info.ip, port=info.port, block=result.block)
        elif isinstance(result.error, RateLimited):  # served too recently (a restart on a new port): wait for it
            self.gateway_retry_at = int(result.error.retry_at)
            self.log.info("gateway.publish_later", retry_at=self.gateway_retry_at)
        else:
            self._error("gateway.publish", result.message)
            self.log.warning("gateway.publish_failed", reason=result.message)

    def _on_block(self, head: int) -> None:
        self.head = head
        self.p.state.write_status(self._status())

    # --- one step -----------------------------------------------------------------------------------------------
    async def step(self, block: int) -> None:
        """One step (see :func:`validator_step`), then the scores saved; a failing hook skips the step."""
        from .errors import HookFailed

        try:
            record = await validator_step(self.plugin, self.options, self.scores, block=block,
                                          metagraph=self.metagraph, dendrite=self.dendrite, hotkey=self.p.hotkey,
                                          uid=self.uid, journal=self.journal,
                                          on_cut=functools.partial(self.replies_cut, "step"))
        except HookFailed as e:  # the plugin's code: logged (each cause once, then at its 10th, 100th... step)
            self._hook_failed(e)
            return
        if record is not None:
            self.last_score_update = block
            await anyio.to_thread.run_sync(self.p.state.save_scores, self.scores)

    # --- weights ------------------------------------------------------------------------------------------------
    async def set_weights(self, block: int) -> None:
        """Set weights from the moving averages, converting hotkeys to the UIDs they hold now."""
        token = next(self.tokens)
        try:
            mg = self.metagraph
            uids, weights = weights_for(self.scores.scores, mg.hotkeys, max_weight=self.max_weight)
            if not uids:
                self.next_weights_at = block + 1
                return
            self.inflight[token] = self.head
            version = self.plugin.protocol.version
            # its hash known before it is sent: a commit with this salt is this process's own, made by set_weights
            # too (it reads the subnet's rules again: commit-reveal turned on since the last sync, it commits)
            pending = PendingReveal.new(self.netuid, self.p.hotkey, uids, weights, version_key=version)
            self.own_commits[pending.commit_hash] = None
            while len(self.own_commits) > OWN_COMMITS_KEPT:
                del self.own_commits[next(iter(self.own_commits))]
            if self.commit_reveal:
                # kept as unsure before it is sent (an fsync): a run stopped while it waits for the outcome still
                # has the salt, and its next start reveals the commit if the chain holds it
                await self._keep_unsure(pending, block)
                sent = self.committing = pending.commit_hash
                try:
                    result = await self.sub.commit_weights(self.config.wallet, self.netuid, uids, weights,
                                                           salt=pending.salt, version_key=version)
                finally:
                    self.committing = None
                if result.status != "timeout":  # its outcome is known: not unsure (kept below if committed)
                    await self._forget_unsure(sent)
            else:
                result = await self.sub.set_weights(self.config.wallet, self.netuid, uids, weights,
                                                    version_key=version, wait_for_reveal=False, salt=pending.salt)
                if result.action == "committed":
                    self._commit_reveal_changed(True, block)
                elif result.block is not None:
                    self.own_set_blocks.add(result.block)
                elif result.status == "timeout" and result.sent:
                    self.unsure_sets += 1
            code = getattr(result.error, "CODE", "rejected")
            if isinstance(result.error, CommitRevealDisabled | CommitRevealRequired):  # the owner switched it
                self._commit_reveal_changed(isinstance(result.error, CommitRevealRequired), block)
                self.next_weights_at = block + 1
            elif isinstance(result.error, StaleVersionKey):  # nothing set or committed while it is stale
                self._version_seen(int(result.error.required), block, by_chain=result.message)
                self.next_weights_at = block + 1
            elif result.success and result.action == "committed":
                self.scores.weights_block = result.block or block
                self.backoff = 1
                if (result.reveal is not None and result.reveal.reveal_from is not None
                        and all(r.commit_hash != result.reveal.commit_hash for r in self.reveals)):
                    self._keep_reveals([*self.reveals, result.reveal])
                    await self._save_reveals()
                    self.log.info("weights.committed", block=result.block, count=len(uids),
                                  reveal_from=result.reveal.reveal_from, reveal_until=result.reveal.reveal_until)
            elif result.success:
                self.scores.weights_block = result.block or block
                self.backoff = 1
                top = sorted(zip(weights, uids, strict=True), reverse=True)[:3]
                self.log.info("weights.set", block=result.block, count=len(uids),
                              top={int(u): round(w, 4) for w, u in top})
            elif isinstance(result.error, RateLimited):  # too soon: not a failure, try again when allowed
                self.next_weights_at = int(result.error.retry_at)
                self.log.debug("weights.too_soon", retry_at=self.next_weights_at)
            elif result.status == "timeout":
                self.next_weights_at = block + 1
                if result.action == "committed" and result.reveal is not None:  # sent: the chain may hold it
                    await self._keep_unsure(result.reveal, block)
                    self.log.info("weights.pending", note="not included yet; trying again (the commit's salt is kept: "
                                                          "revealed if the chain shows that commit)")
                else:
                    self.log.info("weights.pending", note="not included yet; trying again")
            elif code in ("extrinsic_dropped", "future_nonce"):
                # an earlier extrinsic of this hotkey (a reveal sent beside it) was refused, so this one's nonce came
                # too soon or it was dropped: that refusal is the reason, said by its own line
                self.next_weights_at = block + 1
                self.log.debug("weights.retry", code=code, block=block, retry_at=self.next_weights_at)
            else:
                if isinstance(result.error, NoValidatorPermit):  # the chain's word (the metagraph read was older)
                    self._permit_seen(False, block, by_chain=result.message)
                self._rejected(code, result.message)
                self.next_weights_at = block + self.backoff
                self.log.debug("weights.retry", code=code, block=block, retry_at=self.next_weights_at)
                self.backoff = min(2 * self.backoff, max(self.tempo, 1))
        finally:
            self.inflight.pop(token, None)
            self.setting = False

    async def _keep_unsure(self, r: PendingReveal, sent_at: int) -> None:
        """Keep a commit sent at ``sent_at`` whose outcome we did not learn (saved with the reveals; kept once): the
        oldest beyond :data:`MAX_UNSURE_COMMITS` is forgotten (debug)."""
        if any(u.commit_hash == r.commit_hash for u, _ in self.unsure_commits):
            return
        kept = [*self.unsure_commits, (r, sent_at)]
        for _, at in kept[:-MAX_UNSURE_COMMITS]:
            self.log.debug("weights.unsure_commit_forgotten", sent_at=at, reason=f"more than {MAX_UNSURE_COMMITS} "
                           "unsure commits")
        self.unsure_commits = kept[-MAX_UNSURE_COMMITS:]
        await self._save_reveals()

    async def _forget_unsure(self, commit_hash: bytes) -> None:
        """Drop the unsure commit with this hash (its outcome is known now)."""
        kept = [(r, at) for r, at in self.unsure_commits if r.commit_hash != commit_hash]
        if len(kept) != len(self.unsure_commits):
            self.unsure_commits = kept
            await self._save_reveals()

    async def _find_unsure_commits(self) -> None:
        """Look for the unsure commits among this hotkey's pending commits on the chain: one found (its hash) is
        adopted, with the chain's block and window, and revealed as a sure one; one still not found
        :data:`UNSURE_COMMIT_BLOCKS` blocks after it was sent is forgotten (info). A read that fails changes
        nothing (the next sync looks again)."""
        if not self.unsure_commits:
            return
        try:
            pending = (await self.sub.get_weight_commits(self.netuid, self.p.hotkey)).get(self.p.hotkey, ())
        except TaonetError:
            return
        on_chain = {c.commit_hash: c for c in pending}
        keep, adopted = [], []
        for r, sent_at in self.unsure_commits:  # no await in this loop: the commit task may add one meanwhile
            if r.commit_hash == self.committing:  # its own wait says what became of it
                keep.append((r, sent_at))
                continue
            c = on_chain.get(r.commit_hash)
            if c is not None:
                adopted.append(attrs.evolve(r, block=c.block, reveal_from=c.reveal_from, reveal_until=c.reveal_until))
            elif self.head - sent_at > UNSURE_COMMIT_BLOCKS:
                self.log.info("weights.commit_not_included", sent_at=sent_at, block=self.head,
                              note=f"a commit whose outcome was not learned is not on the chain {self.head - sent_at} "
                                   "blocks after it was sent: forgotten")
            else:
                keep.append((r, sent_at))
        if len(keep) == len(self.unsure_commits):
            return
        self.unsure_commits = keep
        self._keep_reveals([*self.reveals, *adopted])
        for r in adopted:
            self.scores.weights_block = max(self.scores.weights_block, r.block or 0)
        await self._save_reveals()
        for r in adopted:
            self.log.info("weights.committed", block=r.block, count=len(r.uids), reveal_from=r.reveal_from,
                          reveal_until=r.reveal_until, note="a commit whose outcome was not learned (a timeout) is "
                                                             "on the chain: revealed in its window")

    def _rejected(self, code: str, message: str) -> None:
        """A weights rejection: a warning the first time for its reason, then once every :data:`REPEAT_BLOCKS`
        blocks while it goes on (with ``times``), a success in between or not; one status.json entry per reason."""
        seen = self.rejections.setdefault(code, [0, -(10**9)])
        if _say_again(seen, self.head):
            self.log.warning("weights.rejected", code=code, reason=message, times=seen[0])
        self._error("weights.rejected", message, key=code)

    async def reveal_due(self, head: int) -> None:
        """Reveal the saved commits whose window is open, oldest first: on a subnet without a weights rate limit all
        at once, their outcomes awaited together (one block takes them all; one after another, each waiting for its
        inclusion, the last came after their window); else one, as the rate limit lets a block take one. A reveal
        the chain did not apply is kept and tried again at the next block; one refused for good
        (:data:`FINAL_REVEAL_REFUSALS`) or whose window has passed is dropped, logging the reason once."""
        token = next(self.tokens)
        try:
            due = []
            for r in list(self.reveals):
                assert r.reveal_from is not None and r.reveal_until is not None
                if head < r.reveal_from:
                    continue
                if head > r.reveal_until:
                    if (block := await self._revealed_at(r, head)) is not None:  # a try we lost track of was applied
                        await self._revealed_earlier(r, block)
                        continue
                    last = self.reveal_later.get(r.commit_hash)
                    await self._drop(r, f"the window closed at block {r.reveal_until} (we were at {head})"
                                        + (f"; the last try was not applied: {last}" if last else ""),
                                     kind="window_closed")
                    continue
                due.append(r)
            if self.rate_limit > 0:  # a reveal sets weights: one per weights_rate_limit blocks (the next, once in)
                due = due[:1]
            if not due:
                return
            self.inflight[token] = head
            sent = []
            for r in due:
                result = await self.sub.reveal(self.config.wallet, r, wait_for_inclusion=False)
                sent.append(result)
                if result.status not in ("submitted", "included"):  # refused at once (the mempool full...)
                    break  # the later ones would be too: the next block
            due = due[:len(sent)]
            outcomes: list[Any] = list(sent)

            async def outcome(i: int) -> None:
                outcomes[i] = await self.sub.wait_for_outcome(sent[i].hash, timeout=REVEAL_WAIT)

            async with anyio.create_task_group() as tg:
                for i, result in enumerate(sent):
                    if result.status == "submitted":
                        tg.start_soon(outcome, i)
            # the chain's word on something every reveal of this hotkey is refused for: no permit, a stale version
            # key, commit-reveal turned off
            blocker = next((o for o in outcomes if isinstance(o.error, NoValidatorPermit | StaleVersionKey
                                                              | CommitRevealDisabled)), None)
            if blocker is not None and isinstance(blocker.error, NoValidatorPermit):
                self._permit_seen(False, self.head, by_chain=blocker.message)
            elif blocker is not None and isinstance(blocker.error, StaleVersionKey):
                self._version_seen(int(blocker.error.required), self.head, by_chain=blocker.message)
            elif blocker is not None:
                self._commit_reveal_changed(False, self.head)
            for r, result in zip(due, outcomes, strict=True):
                await self._reveal_outcome(r, result, head, blocker)
        finally:
            self.inflight.pop(token, None)
            self.revealing = False

    async def _reveal_outcome(self, r: PendingReveal, result: Any, head: int, blocker: Any) -> None:
        """What one reveal's outcome means: revealed, wait (rate limit, too early), revealed by an earlier try,
        refused for good (dropped with the reason), or not applied (kept, tried again at the next block).
        ``blocker``: the outcome of these reveals that refuses them all (no permit, a stale version key,
        commit-reveal off), or None."""
        assert r.reveal_until is not None
        code = getattr(result.error, "CODE", None)
        if result.success:
            await self._drop(r, None)
            self.log.info("weights.revealed", block=result.block, count=len(r.uids), committed_at=r.block)
        elif blocker is not None and (isinstance(result.error, type(blocker.error)) or code == "extrinsic_dropped"):
            # refused for that reason, or dropped behind a reveal refused so: that is the reason. A stale key or
            # commit-reveal off is said by its own line (a warning, an info): each reveal's loss at info
            await self._drop(r, blocker.message, kind=blocker.error.CODE,
                             warn=isinstance(blocker.error, NoValidatorPermit))
        elif isinstance(result.error, RateLimited):
            self.reveal_retry_at = max(self.reveal_retry_at, int(result.error.retry_at))
        elif isinstance(result.error, RevealTooEarly):
            return  # next block
        elif isinstance(result.error, WeightCommitNotFound) and (
                (block := await self._revealed_at(r, max(head, self.head))) is not None
                or (r.commit_hash in self.reveal_unsure and head <= r.reveal_until)):
            # an earlier try whose outcome we did not learn (a timeout; a run before a restart) was applied:
            # the chain shows it, or, inside the window, the commit can only have left by being revealed
            await self._revealed_earlier(r, block)
        elif isinstance(result.error, FINAL_REVEAL_REFUSALS):
            late = await self._too_late(r) if isinstance(result.error, WeightCommitNotFound | RevealTooLate) else ""
            await self._drop(r, late or result.message, kind="too_late" if late else type(result.error).__name__)
        else:  # not applied (dropped, timed out, the node away, the mempool full): the next block again
            reason = result.message or result.status
            before = self.reveal_later.get(r.commit_hash)
            if before is None:
                self.log.info("weights.reveal_later", committed_at=r.block, reason=reason,
                              reveal_until=r.reveal_until)
            if before is None or code != "extrinsic_dropped":  # "dropped" follows another refusal: keep that one
                self.reveal_later[r.commit_hash] = reason
            if result.status == "timeout":
                self.reveal_unsure.add(r.commit_hash)

    async def _too_late(self, r: PendingReveal) -> str:
        """Why a reveal the chain refused (no such commit, or too late) came too late, or "" if it did not: it
        reached the chain after its window closed, or the chain had dropped its commit at the epoch after it."""
        from taonet.ledger import WeightCommitExpired

        assert r.reveal_until is not None and r.reveal_from is not None
        head = max(self.head, self.follower.head if self.follower is not None else 0)
        expired = None
        try:
            events = await self.sub.get_events(r.block if r.block is not None else r.reveal_from, head + 1,
                                               types=["ev.weight_commit_expired"], netuid=self.netuid,
                                               account=self.p.hotkey)
            expired = next((b for b, _, e in events
                            if isinstance(e, WeightCommitExpired) and e.commit_hash == r.commit_hash), None)
        except TaonetError:
            pass
        if expired is None and head <= r.reveal_until:
            return ""
        until = r.reveal_until if expired is None or head > r.reveal_until else None
        return ("too late: the reveal reached the chain after its commit's window closed"
                + (f" at block {until}" if until is not None else "")
                + (f" (the chain dropped the commit at block {expired})" if expired is not None else "")
                + f"; we were at block {head}. The validator reveals as soon as a window opens: a reveal this late "
                  "means the node or this process was slow (the commit was not damaged)")

    async def _revealed_at(self, r: PendingReveal, head: int) -> int | None:
        """The block in which the chain revealed ``r``'s commit (its ``WeightsRevealed`` event in the window up to
        ``head``), or None: not revealed, or the node could not say."""
        from taonet.ledger import WeightsRevealed

        assert r.reveal_from is not None and r.reveal_until is not None
        try:
            events = await self.sub.get_events(r.reveal_from, min(head, r.reveal_until) + 1,
                                               types=["ev.weights_revealed"], netuid=self.netuid,
                                               account=self.p.hotkey)
        except TaonetError:
            return None
        return next((b for b, _, e in events if isinstance(e, WeightsRevealed) and e.commit_hash == r.commit_hash),
                    None)

    async def _revealed_earlier(self, r: PendingReveal, block: int | None) -> None:
        await self._drop(r, None)
        self.log.info("weights.revealed", block=block, count=len(r.uids), committed_at=r.block,
                      note="an earlier try was applied after we stopped waiting for it")

    def _keep_reveals(self, reveals: list[PendingReveal]) -> None:
        """Keep the last :data:`MAX_REVEALS` of ``reveals``; what is known of the others' tries goes with them."""
        self.reveals = reveals[-MAX_REVEALS:]
        kept = {r.commit_hash for r in self.reveals}
        self.reveal_later = {h: why for h, why in self.reveal_later.items() if h in kept}
        self.reveal_unsure &= kept

    async def _drop(self, r: PendingReveal, reason: str | None, kind: str = "", *, warn: bool = True) -> None:
        self._keep_reveals([x for x in self.reveals if x is not r])
        await self._save_reveals()
        if reason is not None and warn:
            self.log.warning("weights.reveal_missed", committed_at=r.block, reason=reason)
            self._error("weights.reveal_missed", reason, key=kind or None)
        elif reason is not None:
            self.log.info("weights.reveal_missed", committed_at=r.block, reason=reason)
