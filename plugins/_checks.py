"""What a plugin's hooks must return, checked where the neuron uses it: a wrong value is the plugin's error
(:class:`~taonet.plugins.errors.HookFailed`, naming the hook and what to return), never a crash of the neuron.

The mistakes these name are the usual ones of a subnet author: a task that is not a ``Task``, a reward model that
returns a list in the responses' order (as Bittensor's template does) or scores keyed by UID, a score that is NaN or
outside [0, 1], a miner's forward that returns something else than the synapse it got, a truth or journal digest
the journal cannot carry (a numpy scalar), a blacklist or priority that answers something else than it may.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import cbor2

from ._journal import uncarried
from ._types import Response, Task

__all__ = ["SCORE_SLACK", "check_blacklist", "check_carried", "check_priority", "check_refused", "check_scores",
           "check_task"]

SCORE_SLACK = 1e-6
"""How far outside [0, 1] a score may stray by rounding (it is clipped); further is the reward model's error."""


def _failed(plugin: Any, hook: str, error: str) -> Exception:
    from .errors import HookFailed

    return HookFailed(plugin=plugin.name, hook=hook, error=error)


def check_task(plugin: Any, task: Any, hook: str = "validator_task") -> Task:
    """``task`` if it is a :class:`Task` whose synapse is one of the protocol's types and whose timeout (if any) is
    a positive finite number; HookFailed otherwise."""

    from taonet.kernel import Synapse

    if not isinstance(task, Task):
        raise _failed(plugin, hook, f"it returned {type(task).__name__}, not a taonet.plugins.Task; return "
                                    "Task(synapse=YourSynapse(...), truth=...)")
    syn = task.synapse
    types = plugin.protocol.synapses
    if not isinstance(syn, Synapse) or not isinstance(syn, types):
        names = ", ".join(t.__name__ for t in types)
        raise _failed(plugin, hook, f"its Task's synapse is a {type(syn).__name__}, not one of the protocol's "
                                    f"synapse types ({names})")
    # as sending will: ints over 64 bits and sets too (cbor2 writes them as tags, which peers refuse)
    if (why := syn.unsendable()) is not None:
        raise _failed(plugin, hook, f"its Task's {type(syn).__name__} cannot be sent ({why}); its fields must hold "
                                    "plain values: int, float, str, bytes, bool, None, lists and dicts of them")
    t = task.timeout
    if t is not None and (isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0):
        raise _failed(plugin, hook, f"its Task's timeout is {t!r}; give a positive number of seconds, or None for "
                                    "the timeout option")
    return task


def _type_name(value: Any) -> str:
    """``value``'s type as a plugin author writes it, with its article: "a numpy.int64", "an object"."""
    cls = type(value)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def _plain_hint(value: Any) -> str:
    """How to make ``value`` a plain one, if we can tell: " (e.g. int(x))"."""
    if getattr(value, "ndim", 0) and hasattr(value, "tolist"):
        return " (e.g. x.tolist())"
    if isinstance(value, numbers.Integral):
        return " (e.g. int(x))"
    if isinstance(value, numbers.Real):
        return " (e.g. float(x))"
    return " (e.g. x.item())" if hasattr(value, "item") else ""


def check_carried(plugin: Any, hook: str, what: str, value: Any) -> Any:
    """``value`` if the journal (CBOR) can carry it; HookFailed naming ``what`` and the value it cannot carry."""
    bad = uncarried(value)
    if bad is None:
        return value
    raise _failed(plugin, hook, f"{what} holds {_type_name(bad)}, which the journal cannot carry: give plain "
                                f"int/float/str/bytes/bool/None, lists and dicts of them{_plain_hint(bad)}")


def check_blacklist(plugin: Any, out: Any) -> tuple[bool, str] | tuple[bool, str, float | None]:
    """``miner_blacklist``'s answer as the axon takes it: a bool, ``(bool, reason)`` or ``(bool, reason,
    retry_after)``; HookFailed for anything else (a truthy "no" must not refuse every caller)."""
    import numpy as np

    def is_bool(x: Any) -> bool:
        return isinstance(x, bool | np.bool_)

    def is_wait(x: Any) -> bool:
        return x is None or (isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0)

    if is_bool(out):
        return bool(out), "refused by the subnet's blacklist"
    if isinstance(out, tuple) and len(out) in (2, 3) and is_bool(out[0]) and isinstance(out[1], str) \
            and (len(out) == 2 or is_wait(out[2])):
        return (bool(out[0]), out[1]) if len(out) == 2 else (bool(out[0]), out[1], out[2])
    shown = " ".join(repr(out).split())[:80]
    raise _failed(plugin, "miner_blacklist", f"it returned {shown} ({type(out).__name__}); return True to refuse the "
                                             "caller, False to let it in, or (bool, reason) or (bool, reason, "
                                             "retry_after seconds)")


def check_priority(plugin: Any, out: Any) -> float:
    """``miner_priority``'s answer as a float; HookFailed for anything but a number that is not NaN."""
    if isinstance(out, numbers.Real) and not isinstance(out, bool) and not math.isnan(out):
        return float(out)
    shown = " ".join(repr(out).split())[:80]
    raise _failed(plugin, "miner_priority", f"it returned {shown} ({type(out).__name__}); return a number (not NaN), "
                                            "higher served first")


def check_scores(plugin: Any, raw: Any, responses: Sequence[Response]) -> dict[str, float]:
    """The reward model's answer as a score in [0, 1] for every queried hotkey (one left out scores 0);
    HookFailed for anything else: not a mapping, a key that is no queried hotkey, a score that is not a finite
    number in [0, 1]."""
    hook = "reward"
    if not isinstance(raw, Mapping):
        hint = (" (scores in the responses' order, as in Bittensor's template?)"
                if isinstance(raw, Sequence) or hasattr(raw, "__array__") else "")
        raise _failed(plugin, hook, f"it returned {type(raw).__name__}{hint}; return a dict of score by hotkey: "
                                    "{r.hotkey: score for r in responses}")
    queried = {r.hotkey for r in responses}
    strangers = [k for k in raw if k not in queried]
    if strangers:
        shown = ", ".join(repr(k) for k in strangers[:3]) + (", ..." if len(strangers) > 3 else "")
        by_uid = all(isinstance(k, int) for k in strangers) and {r.uid for r in responses} >= set(strangers)
        hint = " (UIDs: key the scores by r.hotkey)" if by_uid else ""
        raise _failed(plugin, hook, f"it scored {len(strangers)} key(s) that are no queried miner's hotkey: "
                                    f"{shown}{hint}; key the scores by r.hotkey of the responses")
    out = {}
    for r in responses:
        value = raw.get(r.hotkey, 0.0)
        try:
            if isinstance(value, bool | str | bytes):
                raise TypeError
            score = float(value)
        except (TypeError, ValueError):
            raise _failed(plugin, hook, f"the score of {r.hotkey} is {value!r}, not a number; return a float in "
                                        "[0, 1]") from None
        if not math.isfinite(score) or not -SCORE_SLACK <= score <= 1 + SCORE_SLACK:
            raise _failed(plugin, hook, f"the score of {r.hotkey} is {score!r}; every score must be a finite number "
                                        "in [0, 1] (normalise it)")
        out[r.hotkey] = min(1.0, max(0.0, score))
    return out


def check_refused(plugin: Any, responses: Sequence[Response]) -> None:
    """HookFailed (validator_task) when every miner the task reached refused its synapse as malformed (400: a str in
    an int field, a set) or as too large (413: over the synapse's ``MAX_SIZE``, else the miners' 4 MiB): the
    validator's mistake, so the step is skipped rather than every miner scored 0. Those it did not reach (503: no
    axon served, unreachable) do not count: a validator_select of every UID, as Bittensor's templates write it, asks
    many of those."""
    reached = [r for r in responses if r.synapse.dendrite.status_code != 503]
    codes = {r.synapse.dendrite.status_code for r in reached}
    if not reached or not codes <= {400, 413}:
        return
    if 413 in codes:
        raise _failed(plugin, "validator_task", _too_large(reached[0].synapse))
    why = reached[0].synapse.dendrite.status_message or "bad request"
    raise _failed(plugin, "validator_task", f"every miner refused its synapse as malformed ({why}); give each "
                                            "field a value of its declared type")


_HEADERS = 4096
"""More than a request's headers take beside its body (hotkeys, signature, nonce: a few hundred bytes)."""


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0") + " MiB"


def _too_large(syn: Any) -> str:
    """What a 413 for every miner says: the synapse's size (in tenths of a MiB, so a task of about the same size
    each step is the same failure, said once then at its 10th, 100th... time), the limit, and the fix."""
    from taonet.kernel.wire import AxonConfig

    name = type(syn).__name__
    limit = syn.MAX_SIZE or AxonConfig().max_request_size
    body = len(cbor2.dumps(syn.payload(), canonical=True))
    size = _mib(body) if _mib(body) != _mib(limit) else f"{body} bytes before the request's headers"
    if body + _HEADERS < limit:  # under what this side sends: the miners' own limit is lower
        over = (f"what the miners accept, though under the {_mib(limit)} this validator sends (their axons' "
                f"max_request_size or their {name}.MAX_SIZE is lower: another version of the subnet?)")
        fix = f"make the miners' and the validator's {name}.MAX_SIZE agree"
    elif syn.MAX_SIZE is None:
        over = f"the {_mib(limit)} miners accept of a synapse without MAX_SIZE (their axons' max_request_size)"
        fix = f"set {name}.MAX_SIZE (bytes) on the class: the miners' axons and the validator's dendrite both use it"
    else:
        over = f"{name}.MAX_SIZE ({limit} bytes, {_mib(limit)})"
        fix = f"raise {name}.MAX_SIZE (the miners run the same class: they refuse above their own)"
    return (f"its synapse is too large to send (413 for every miner): the task's {name} is {size}, over {over}; send "
            f"less (a reference the miners fetch, or the work split over steps), or {fix}")
