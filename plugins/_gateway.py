"""The validator's gateway for organic queries, and the client that finds one from a netuid alone.

A validator started with a gateway address serves :class:`OrganicQuery` there on an Axon signed by its hotkey. Any
key may call (the caller needs a key, not stake); callers are rate-limited per key, per source address (so a crowd
of fresh keys from one host cannot take the whole gateway) and in total (token buckets, refused with 403 before the
request takes a place in the axon's nonce memory). The plugin's ``validator_organic``
hook turns the payload into a task; the validator relays it with its own Dendrite to its best miners by score
(``organic_miners`` of them) and returns their answers (``synapse.deserialize()``), best miner first; the replies
of the organic queries relayed at once (at most the gateway axon's ``max_concurrency``) hold at most
``reply_budget_mb`` in all, each query an equal share, each of its miners an equal share of that. Organic
responses change no score unless the ``organic_scored`` option is true (then the reward model scores them against
the task's truth, as a step would).

The gateway's address is published on the chain as the validator's axon with ``protocol`` :data:`GATEWAY_PROTOCOL`,
so a client finds every gateway of a subnet in its metagraph (docs/subnets.md, "Organic queries").
"""

from __future__ import annotations

import collections
import math
import random
import time
from typing import Any, ClassVar

import anyio

from taonet.kernel import Axon, AxonInfo, Dendrite, Subtensor, Synapse
from taonet.kernel.wire import address_source
from taonet.ledger import Keypair
from taonet.ledger.errors import error_from_wire, error_to_wire

from ._checks import check_scores, check_task
from ._log import get_logger
from ._neuron import axon_config, call_within, hook_failure, log_traceback
from ._scores import update_scores
from ._types import Response

__all__ = ["GATEWAY_PROTOCOL", "Gateway", "OrganicQuery", "aprompt", "aquery", "find_gateways", "prompt"]

logger = get_logger("taonet.plugins.gateway")

GATEWAY_PROTOCOL = 10
"""The ``protocol`` of an axon record on the chain that is a validator's gateway (a miner's axon has 4 or 6)."""

MAX_CALLERS = 4096
"""Callers (keys, and source addresses) whose rate a gateway remembers (the least recently seen is forgotten first)."""

ADDRESS_SHARE = 0.25
"""The share of ``gateway_total_rate`` one source address (an IPv4 address, an IPv6 /64) may take, whatever keys it
signs with: a crowd of fresh keys from one host cannot take the gateway from everyone else."""


class OrganicQuery(Synapse):
    """An organic query: ``query`` (the caller's payload) for subnet ``netuid``; the gateway fills ``answers`` (best
    first) or ``error``."""

    NAME: ClassVar[str] = "taonet.OrganicQuery"
    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("answers", "error")
    netuid: int
    query: Any = None
    return_all: bool = False
    answers: list[dict[str, Any]] | None = None
    """``{"uid", "hotkey", "answer", "latency", "no_answer_from"}`` per miner that answered, best first (one unless
    return_all); ``no_answer_from``: the UIDs of the miners asked with it that gave no answer (so a caller knows the
    answers are partial; a key, not a field of its own, so gateways and clients of either version still agree)."""
    error: dict[str, Any] | None = None
    """A typed error (``error_to_wire``) when the gateway took the query but could not answer it."""


class _Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst``."""

    __slots__ = ("at", "burst", "rate", "tokens")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, time.monotonic()

    def wait(self) -> float:
        """0 if a token is there (not taken: :meth:`take` does), else the seconds until one is."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else 3600.0

    def take(self) -> float:
        """0 if a token was taken, else the seconds until one is there."""
        wait = self.wait()
        if wait == 0:
            self.tokens -= 1
        return wait


def _remember(buckets: collections.OrderedDict[str, _Bucket], key: str, rate: float) -> _Bucket:
    """The bucket of ``key`` (a new one, full, if it is not remembered; at most MAX_CALLERS are)."""
    bucket = buckets.get(key)
    if bucket is None:
        bucket = buckets[key] = _Bucket(rate, max(1.0, rate))
        while len(buckets) > MAX_CALLERS:
            buckets.popitem(last=False)
    buckets.move_to_end(key)
    return bucket


class Gateway:
    """A validator's gateway: rate limits, the relay to the best miners, and the answers (see the module docs)."""

    def __init__(self, validator: Any) -> None:
        self.v = validator
        options = validator.options
        self.per_caller = float(options["gateway_rate"])
        self.total = _Bucket(float(options["gateway_total_rate"]), max(1.0, float(options["gateway_total_rate"])))
        self.callers: collections.OrderedDict[str, _Bucket] = collections.OrderedDict()
        self.per_source = ADDRESS_SHARE * float(options["gateway_total_rate"])
        self.sources: collections.OrderedDict[str, _Bucket] = collections.OrderedDict()
        self.served = 0
        self.refused = 0
        self.slots = 1  # organic queries relayed at once: the gateway axon's max_concurrency, once it exists

    def axon(self, address: str) -> Axon:
        """The gateway's axon (not yet serving) at ``address``: ``host:port`` or an nng URL."""
        url = address if "://" in address else f"tcp://{address}"
        ip = self.v.config.external_ip
        if ip is None and url.startswith("tcp://"):
            host = url[6:].rpartition(":")[0].strip("[]")
            ip = host if host not in ("", "0.0.0.0", "*", "::") else "127.0.0.1"
        config = axon_config(self.v.options, shared=self.v.config.shared)  # a host's axons share one budget
        axon = Axon(self.v.config.wallet, url, external_ip=ip, config=config).attach(self.forward, self.blacklist,
                                                                                     synapse=OrganicQuery)
        self.slots = axon.config.max_concurrency
        return axon

    async def blacklist(self, q: OrganicQuery) -> tuple[bool, str] | tuple[bool, str, float]:
        """Refuse a caller over its key's rate, its source address's (``ADDRESS_SHARE`` of the total) or the
        gateway's (403, with the seconds to wait as the reply's typed ``retry_after``; the text repeats it for clients
        older than that field). A refused query takes no token from any bucket."""
        key = _remember(self.callers, q.dendrite.hotkey or "", self.per_caller)
        source = _remember(self.sources, address_source(q.dendrite.ip), self.per_source)
        for whose, bucket in (("this caller's", key), ("this address's", source), ("the gateway's", self.total)):
            if (wait := bucket.wait()) > 0:
                self.refused += 1
                return True, _over(whose, bucket.rate, wait), wait
        for bucket in (key, source, self.total):
            bucket.take()
        return False, ""

    def _refuse(self, q: OrganicQuery, reason: str) -> OrganicQuery:
        from .errors import QueryRefused

        return q.replace(error=error_to_wire(QueryRefused(reason=reason)))

    def best_miners(self, k: int) -> list[int]:
        """The ``k`` serving miners with the highest scores (at random among the unscored)."""
        v = self.v
        mg = v.metagraph
        scores = v.scores.scores
        serving = [u for u in range(mg.n) if u != v.uid and mg.axons[u].is_serving
                   and mg.axons[u].protocol != GATEWAY_PROTOCOL]
        rng = random.Random()
        ranked = sorted(serving, key=lambda u: (-scores.get(mg.hotkeys[u], 0.0), rng.random()))
        return ranked[:max(0, k)]

    async def forward(self, q: OrganicQuery) -> OrganicQuery:
        """Relay one organic query through the plugin's hook to the best miners; their answers, best first."""
        from .errors import QueryFailed

        v = self.v
        if q.netuid != v.netuid:
            return self._refuse(q, f"this gateway serves subnet {v.netuid}, not {q.netuid}")
        if not v.plugin.implements("validator_organic"):
            return self._refuse(q, f"subnet {v.netuid}'s plugin {v.plugin.name!r} answers no organic query")
        try:
            task = await call_within(v.plugin, "validator_organic", float(v.options["hook_timeout"]),
                                     "so this organic query was refused", payload=q.query, options=v.options)
            if task is not None:
                task = check_task(v.plugin, task, "validator_organic")
        except Exception as e:  # the plugin's own code: its one-line cause goes back to the caller (not where in
            # the plugin's code it was raised: that is the validator's log's)
            err = hook_failure(v.plugin, "validator_organic", e)
            v.log.warning("plugin.hook_failed", hook="validator_organic", error=err.said)
            log_traceback(v.log, "validator_organic", err.__cause__)
            return self._refuse(q, str(err))
        if task is None:
            return self._refuse(q, f"the plugin {v.plugin.name!r} does not take this payload")
        uids = self.best_miners(int(v.options["organic_miners"]))
        if not uids:
            return q.replace(error=error_to_wire(QueryFailed(reason="the validator knows no serving miner")))
        timeout = float(task.timeout or v.options["timeout"])
        mg = v.metagraph
        budget = max(1, int(float(v.options["reply_budget_mb"]) * 1024 * 1024) // self.slots)
        answers = await v.dendrite([mg.axons[u] for u in uids], task.synapse, timeout=timeout, max_bytes=budget)
        responses = [Response(uid=u, hotkey=mg.hotkeys[u], synapse=a) for u, a in zip(uids, answers, strict=True)]
        del answers
        if cut := [r for r in responses if r.synapse.dendrite.reply_limit is not None]:
            v.replies_cut("gateway", cut, len(responses), budget)
        self.served += 1
        if v.options["organic_scored"] and task.truth is not None:
            await self._score(task, responses)
        ok = [r for r in responses if r.ok]  # already best first (by score)
        if not ok:
            return q.replace(error=error_to_wire(QueryFailed(reason=f"none of {len(uids)} miners answered")))
        missed = [r.uid for r in responses if not r.ok]
        out = [{"uid": r.uid, "hotkey": r.hotkey, "answer": r.synapse.deserialize(), "latency": r.latency,
                "no_answer_from": missed} for r in (ok if q.return_all else ok[:1])]
        return q.replace(answers=out)

    async def _score(self, task: Any, responses: list[Response]) -> None:
        """The plugin asked for organic traffic to count: its reward model scores it and the averages move."""
        v = self.v
        try:
            raw = await call_within(v.plugin, "reward", float(v.options["hook_timeout"]),
                                    "so this organic answer was not scored", task=task, responses=responses,
                                    metagraph=v.metagraph, options=v.options)
            step = check_scores(v.plugin, raw, responses)
        except Exception as e:  # the plugin's own code, or a score the contract refuses
            err = hook_failure(v.plugin, "reward", e)
            v.log.warning("plugin.hook_failed", hook="reward", error=err.said)
            log_traceback(v.log, "reward", err.__cause__)
            return
        v.scores.scores = update_scores(v.scores.scores, step, alpha=float(v.options["alpha"]),
                                        queried=[r.hotkey for r in responses])


def _over(whose: str, rate: float, wait: float) -> str:
    """A rate refusal's text; its "; retry_after=" repeats the typed field for clients older than it."""
    return f"over {whose} rate of {rate:g} queries a second; retry_after={wait:.3f}"


# --- the client --------------------------------------------------------------------------------------------------


async def find_gateways(sub: Subtensor, netuid: int, validator: str | None = None) -> list[AxonInfo]:
    """The gateways of subnet ``netuid`` published on the chain, the most staked validator first (NoGateway if
    none, NoValidatorUid for a ``validator`` UID the subnet does not have; SubnetNotFound for a subnet that does not
    exist)."""
    from .errors import NoGateway, NoValidatorUid

    mg = await sub.metagraph(netuid)
    if validator is not None and validator.isdigit() and int(validator) >= mg.n:
        raise NoValidatorUid(netuid=netuid, validator=validator, uid=int(validator), count=int(mg.n))
    found = [(float(mg.S[u]), u) for u in range(mg.n)
             if mg.axons[u].protocol == GATEWAY_PROTOCOL and mg.axons[u].is_serving
             and (validator is None or validator in (mg.hotkeys[u], str(u)))]
    if not found:
        raise NoGateway(netuid=netuid, validator=validator or "")
    return [mg.axons[u] for _, u in sorted(found, key=lambda su: (-su[0], su[1]))]


async def aquery(netuid: int, payload: Any, *, validator: str | None = None, return_all: bool = False,
                 endpoint: str | None = None, wallet: Any = None, timeout: float = 12.0) -> list[dict[str, Any]]:
    """Ask subnet ``netuid`` through a validator's gateway; the answers as ``{"uid", "hotkey", "answer",
    "latency", "no_answer_from"}``, best first (one unless ``return_all``; ``no_answer_from``: the UIDs of the miners
    the gateway asked that gave no answer, absent from a gateway older than it). ``validator``: a hotkey (SS58) or UID
    whose gateway to use (default: the most staked validator's). ``wallet``: whose hotkey signs (default: a fresh
    key)."""
    from .errors import QueryFailed, QueryRefused

    key = wallet.hotkey if wallet is not None and not isinstance(wallet, Keypair) else wallet
    key = key or Keypair.generate()
    with anyio.fail_after(timeout + 30.0):
        async with Subtensor(endpoint, timeout=min(timeout, 30.0)) as sub:
            await sub.info()  # no node: NoNode within the timeout (the metagraph's own call waits longer to connect)
            gateways = await find_gateways(sub, netuid, validator)
        reasons = []
        async with Dendrite(key) as d:
            for info in gateways[:3]:
                out = await d.call(info, OrganicQuery(netuid=netuid, query=payload, return_all=return_all),
                                   timeout=timeout)
                status, message = out.dendrite.status_code, out.dendrite.status_message or ""
                if status == 403:
                    reason = message.removeprefix("blacklisted: ").partition("; retry_after=")[0]
                    wait = out.dendrite.retry_after  # the reply's typed field; None from a gateway older than it
                    raise QueryRefused(reason=reason, retry_after=_retry_after(message) if wait is None else wait)
                if status != 200:
                    reasons.append(f"{info.hotkey[:8]}...: {status} {message}".strip())
                    continue
                if out.error is not None:
                    raise error_from_wire(out.error)
                return list(out.answers or [])
    raise QueryFailed(reason="; ".join(reasons) or "no gateway answered")


def _retry_after(message: str) -> float:
    """The wait a gateway older than the typed ``retry_after`` wrote into its refusal's text: seconds, finite and not
    negative (0 if none, or if the text holds no such number). Read only when the reply has no typed field."""
    _, _, tail = message.partition("retry_after=")
    try:
        wait = float(tail.split()[0]) if tail.strip() else 0.0
    except ValueError:
        return 0.0
    return wait if math.isfinite(wait) and wait >= 0 else 0.0


async def aprompt(netuid: int, payload: Any, *, validator: str | None = None, return_all: bool = False,
                  **kwargs: Any) -> Any:
    """The best miner's answer to ``payload`` through a gateway of subnet ``netuid`` (every answer, best first,
    with ``return_all``); ``endpoint``, ``wallet`` and ``timeout`` as :func:`aquery` takes them."""
    answers = await aquery(netuid, payload, validator=validator, return_all=return_all, **kwargs)
    return [a["answer"] for a in answers] if return_all else answers[0]["answer"]


def prompt(netuid: int, payload: Any, *, validator: str | None = None, return_all: bool = False,
           **kwargs: Any) -> Any:
    """:func:`aprompt` for scripts (runs its own event loop): ``taonet.plugins.prompt(1, 21)`` answers 42."""
    return anyio.run(lambda: aprompt(netuid, payload, validator=validator, return_all=return_all, **kwargs))

