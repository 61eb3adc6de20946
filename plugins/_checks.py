"""What a plugin's hooks must return, checked where the neuron uses it: a wrong value is the plugin's error
(:class:`~taonet.plugins.errors.HookFailed`, naming the hook and what to return), never a crash of the neuron.

The mistakes these name are the usual ones of a subnet author: a task that is not a ``Task``, a reward model that
returns a list in the responses' order (as Bittensor's template does) or scores keyed by UID, a score that is NaN or
outside [0, 1], a miner's forward that returns something else than the synapse it got.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ._types import Response, Task

__all__ = ["SCORE_SLACK", "check_refused", "check_scores", "check_task"]

SCORE_SLACK = 1e-6
"""How far outside [0, 1] a score may stray by rounding (it is clipped); further is the reward model's error."""


def _failed(plugin: Any, hook: str, error: str) -> Exception:
    from .errors import HookFailed

    return HookFailed(plugin=plugin.name, hook=hook, error=error)


def check_task(plugin: Any, task: Any, hook: str = "validator_task") -> Task:
    """``task`` if it is a :class:`Task` whose synapse is one of the protocol's types and whose timeout (if any) is
    a positive finite number; HookFailed otherwise."""
    import cbor2

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
    try:
        cbor2.dumps(syn.payload())
    except (cbor2.CBOREncodeError, TypeError, ValueError) as e:
        raise _failed(plugin, hook, f"its Task's {type(syn).__name__} cannot be sent ({e}); its fields must hold plain "
                                    "values: int, float, str, bytes, bool, None, lists and dicts of them") from None
    t = task.timeout
    if t is not None and (isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0):
        raise _failed(plugin, hook, f"its Task's timeout is {t!r}; give a positive number of seconds, or None for "
                                    "the timeout option")
    return task


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
    """HookFailed (validator_task) when every miner refused the task's synapse as malformed (400: a str in an int
    field, a set): the validator's mistake, so the step is skipped rather than every miner scored 0."""
    if responses and all(r.synapse.dendrite.status_code == 400 for r in responses):
        why = responses[0].synapse.dendrite.status_message or "bad request"
        raise _failed(plugin, "validator_task", f"every miner refused its synapse as malformed ({why}); give each "
                                                "field a value of its declared type")
