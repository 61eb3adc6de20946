"""The hooks a subnet plugin implements (pluggy hookspecs, project ``taonet``).

Mark implementations with :data:`hookimpl` (``from taonet.plugins import hookimpl``); every hook is called with
keyword arguments only, and an implementation may take fewer arguments than its spec (pluggy). Required hooks:
:func:`subnet_protocol`, :func:`validator_task`, :func:`miner_forward`, :func:`reward`; a plugin without one of
them is refused at load, by name. Any hook may be an ``async def``; a plain function that does real work runs in
a worker thread (the neuron never blocks its event loop on a plugin). docs/subnets.md ("The hooks") mirrors the
docstrings below, and a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import random

    from taonet.kernel import Metagraph, Synapse

    from ._types import NeuronContext, Response, SubnetProtocol, Task

__all__ = ["HOOKS", "OPTIONAL", "PROJECT", "REQUIRED", "hookimpl", "hookspec"]

PROJECT = "taonet"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a plugin's implementation of a hook: ``@hookimpl def reward(task, responses): ...``."""


# --- the protocol ------------------------------------------------------------------------------------------------
@hookspec(firstresult=True)
def subnet_protocol() -> SubnetProtocol:
    """Required. Describe the subnet: its name (the entry-point name), a one-line description, its Synapse types
    (the first is what a validator sends) and the options it takes with their defaults.

    :return: a :class:`~taonet.plugins.SubnetProtocol`.
    """


# --- the validator -----------------------------------------------------------------------------------------------
@hookspec(firstresult=True)
def validator_task(step: int, block: int, options: Mapping[str, Any], rng: random.Random) -> Task:
    """Required. Build the query of one validator step.

    :param step: the validator's step counter (it survives restarts).
    :param block: the chain's head when the step starts.
    :param options: the neuron's options (defaults, the plugin's, then ``--set``).
    :param rng: a random generator seeded from the validator's hotkey and the step (reproducible).
    :return: a :class:`~taonet.plugins.Task`: the synapse to send and the truth the reward model needs (a
        ``StreamingSynapse`` is streamed from each miner, and the reward model gets the assembled synapses).
    """


@hookspec(firstresult=True)
def validator_select(metagraph: Metagraph, options: Mapping[str, Any], rng: random.Random,
                     uid: int | None) -> Sequence[int]:
    """Optional. Choose which miners to ask this step (default: up to ``sample_size`` serving UIDs at random,
    never the validator itself nor another validator's gateway: an axon announced with ``protocol`` 10, see "Organic
    queries").

    :param metagraph: the subnet as the validator last synced it.
    :param options: the neuron's options.
    :param rng: the step's random generator.
    :param uid: the validator's own UID (None if it lost it).
    :return: the UIDs to query.
    """


@hookspec(firstresult=True)
def reward(task: Task, responses: Sequence[Response], metagraph: Metagraph | None,
           options: Mapping[str, Any]) -> Mapping[str, float]:
    """Required. The reward model: score each queried miner for this step.

    It must be a pure function of its arguments (no clock, no I/O): replay re-runs it over the validator's
    journal, where ``metagraph`` may be None. It must return within the ``hook_timeout`` option (60 s), as each of the
    validator's step hooks: past it that step is skipped (HookFailed) and the validator goes on with its next step.

    :param task: the step's task (its synapse and truth).
    :param responses: one :class:`~taonet.plugins.Response` per queried miner (answered or not).
    :param metagraph: the subnet when the step ran (None when re-scored from a journal).
    :param options: the neuron's options.
    :return: a score in [0, 1] per queried hotkey (SS58); a hotkey left out scores 0.
    """


@hookspec(firstresult=True)
def validator_feedback(task: Task, responses: Sequence[Response], scores: Mapping[str, float],
                       options: Mapping[str, Any]) -> Synapse | None:
    """Optional. A synapse to send back to the queried miners once they are scored (e.g. their score), or None.

    :param task: the step's task.
    :param responses: the step's responses.
    :param scores: the step's scores by hotkey.
    :param options: the neuron's options.
    :return: a synapse of one of the protocol's types, sent to every queried miner (answers are ignored).
    """


@hookspec(firstresult=True)
def journal_response(response: Response, options: Mapping[str, Any]) -> Any:
    """Optional. What the journal keeps of one response (default: the answered synapse's OUTPUT_FIELDS, or all
    its fields when the class names none; None for a failed call). Return a digest to keep journals small when
    answers are large; the reward model must then accept it on replay.

    :param response: one miner's response.
    :param options: the neuron's options.
    :return: anything CBOR can carry.
    """


@hookspec(firstresult=True)
def validator_organic(payload: Any, options: Mapping[str, Any]) -> Task | None:
    """Optional. Answer an organic query: turn the payload a caller sent to the validator's gateway into the task
    relayed to the validator's best miners by score (their answers, ``synapse.deserialize()``, go back best first),
    or None to refuse the payload. Organic answers change no score unless the ``organic_scored`` option is true.

    :param payload: what the caller sent (anything CBOR carries: ``taonet query`` sends a number or a string).
    :param options: the neuron's options.
    :return: a :class:`~taonet.plugins.Task` (``truth`` is used only when ``organic_scored``), or None.
    """


# --- the miner ---------------------------------------------------------------------------------------------------
@hookspec(firstresult=True)
def miner_forward(synapse: Synapse, options: Mapping[str, Any]) -> Synapse:
    """Required. Answer a validator's query.

    :param synapse: the request, of one of the protocol's types.
    :param options: the neuron's options.
    :return: the answered synapse (``synapse.replace(output=...)``); for a ``StreamingSynapse``, an iterator (or
        async iterator) of its chunks, streamed to the validator as they come.
    """


@hookspec(firstresult=True)
def miner_blacklist(synapse: Synapse, metagraph: Metagraph, options: Mapping[str, Any]) -> bool | tuple[bool, str]:
    """Optional. Refuse a caller before its request runs (default: callers that are not registered validators
    with a permit).

    :param synapse: the request; ``synapse.dendrite.hotkey`` is the caller.
    :param metagraph: the subnet, kept fresh from the block feed.
    :param options: the neuron's options.
    :return: True (or ``(True, reason)``) to refuse the caller with 403.
    """


@hookspec(firstresult=True)
def miner_priority(synapse: Synapse, metagraph: Metagraph, options: Mapping[str, Any]) -> float:
    """Optional. Order waiting requests when the miner is busy (default: the caller's stake).

    :param synapse: the request.
    :param metagraph: the subnet.
    :param options: the neuron's options.
    :return: a number; higher is served first.
    """


# --- lifecycle (every neuron) ------------------------------------------------------------------------------------
@hookspec
def neuron_start(context: NeuronContext) -> None:
    """Optional. The neuron has started (its axon serves, for a miner: a request that comes meanwhile waits for
    this hook to return, within its deadline); open what the plugin needs (a model...). It must return within the
    ``hook_timeout`` option (60 s): past it the neuron does not start (HookFailed).

    :param context: the neuron's role, netuid, hotkey, uid, options and the plugin's own folder.
    """


@hookspec
def neuron_stop(context: NeuronContext) -> None:
    """Optional. The neuron is stopping; close what the plugin opened (keep it short: the stop has a deadline).

    :param context: the neuron's context.
    """


@hookspec
def neuron_block(context: NeuronContext, block: int) -> None:
    """Optional. A new block arrived. It must return within ``hook_timeout``: past it this call is skipped (the
    neuron's loop goes on; a plain def still running is not called again until it returns).

    :param context: the neuron's context.
    :param block: the new head.
    """


@hookspec
def neuron_epoch(context: NeuronContext, block: int) -> None:
    """Optional. The subnet ran an epoch (incentive and emission changed). It must return within
    ``hook_timeout``: past it this call is skipped.

    :param context: the neuron's context (its metagraph freshly synced).
    :param block: the block of the epoch.
    """


REQUIRED: tuple[str, ...] = ("subnet_protocol", "validator_task", "miner_forward", "reward")
"""Hooks every plugin implements."""
OPTIONAL: tuple[str, ...] = ("validator_select", "validator_feedback", "journal_response", "validator_organic",
                             "miner_blacklist", "miner_priority", "neuron_start", "neuron_stop", "neuron_block",
                             "neuron_epoch")
"""Hooks a plugin may implement."""
HOOKS: tuple[str, ...] = REQUIRED + OPTIONAL
