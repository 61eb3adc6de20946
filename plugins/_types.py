"""The values that cross the plugin contract: a subnet's protocol, a validator's task, a miner's response, and the
context a neuron hands its plugin. Frozen attrs values; nothing here imports the kernel at import time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from taonet.kernel import Synapse

__all__ = ["ITEM_TYPES", "NEURON_OPTIONS", "OPTION_TYPES", "NeuronContext", "Option", "Response", "SubnetProtocol",
           "Task"]


@attrs.frozen(kw_only=True)
class Option:
    """An option a plugin (or the neuron) takes, with its default and a one-line help; ``--set name=value``.

    ``lo``/``hi``, when given, bound a number: a ``--set`` outside them is refused before the neuron starts.
    ``choices``, when given, are the only values the option takes (``mode``: ``("honest", "copy")``): any other is
    refused the same way, naming them. ``type``, when given, is the type of its values where the default does not
    show it: a default of None (``Option(default=None, type=int)``: not given unless set) or an empty list
    (``type=list[str]``); one of :data:`OPTION_TYPES`, or ``list[T]`` of bool, int, float or str, whose items are
    then checked. A list default whose items are all of one of those types gives their type without it."""

    default: Any
    help: str = ""
    lo: float | None = None
    hi: float | None = None
    choices: tuple[Any, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(tuple))
    type: Any = None


OPTION_TYPES: tuple[type, ...] = (bool, int, float, str, list, dict)
"""The types an :class:`Option` may declare (``Option(default=None, type=int)``); ``list[T]`` takes these scalars."""
ITEM_TYPES: tuple[type, ...] = (bool, int, float, str)
"""The item types a list option's items are checked against (``list[int]``)."""


def _list_item_type(default: Any) -> type | None:
    """The item type a non-empty list default shows (all its items of one of :data:`ITEM_TYPES`; ints among floats
    are floats), else None (an empty list, or items of mixed types: not checked)."""
    if not isinstance(default, list | tuple) or not default:
        return None
    kinds = {type(x) for x in default}
    if kinds == {int, float}:
        return float
    kind = kinds.pop() if len(kinds) == 1 else None
    return kind if kind in ITEM_TYPES else None


NEURON_OPTIONS: Mapping[str, Option] = {
    "sample_size": Option(default=16, help="miners a validator asks each step", lo=1, hi=4096),
    "timeout": Option(default=5.0, help="seconds a validator waits for the miners' answers", lo=0.001, hi=1e6),
    "step_interval": Option(default=1, help="blocks between two validator steps", lo=1, hi=1e6),
    "weights_interval": Option(default=0, help="blocks between two set_weights (0: half a tempo, at least the "
                                               "chain's weights_rate_limit)", lo=0, hi=1e6),
    "alpha": Option(default=0.1, help="weight of a new score in the per-hotkey moving average", lo=0, hi=1),
    "journal_max_mb": Option(default=64.0, help="size cap of the validator's journal (oldest segments dropped)",
                             lo=0.001, hi=1e6),
    "metagraph_interval": Option(default=5, help="blocks between two metagraph syncs of a miner", lo=1, hi=1e6),
    "hook_timeout": Option(default=60.0, help="seconds one call of the plugin's neuron_start, neuron_block, "
                                              "neuron_epoch or of a validator's step or gateway hook may take "
                                              "(neuron_start past it: the neuron does not start; the others: that "
                                              "call, or that step, is skipped)", lo=0.001, hi=1e6),
    "reply_budget_mb": Option(default=256.0, help="MiB the miners' replies to one validator step may hold in all: "
                                                  "each of the k miners asked may answer 1/k of it, a larger reply "
                                                  "is refused as it comes and scored as failed (the gateway's "
                                                  "relays share as much again)", lo=0.001, hi=1e6),
    "organic_miners": Option(default=8, help="miners a validator's gateway relays an organic query to (best by "
                                             "score)", lo=1, hi=4096),
    "organic_scored": Option(default=False, help="organic answers move the miners' scores (the reward model "
                                                 "against the organic task's truth)"),
    "gateway_rate": Option(default=2.0, help="organic queries a second one caller key may send to the gateway",
                           lo=0.001, hi=1e6),
    "gateway_total_rate": Option(default=50.0, help="organic queries a second the gateway takes in all",
                                 lo=0.001, hi=1e6),
    "max_connections": Option(default=4096, help="connections the neuron's axon (a miner's; a validator's gateway) "
                                                 "accepts at once; one more is closed as it comes", lo=1, hi=1 << 20),
    "max_connections_per_address": Option(default=512, help="of those, connections one remote address (IPv4 "
                                                            "address, IPv6 /64) may hold (default: at most "
                                                            "max_connections); behind a proxy, raise it",
                                          lo=1, hi=1 << 20),
    "max_connections_per_network": Option(default=2048, help="of those, connections one remote network (IPv4 /24, "
                                                             "IPv6 /48) may hold (default: 4 x "
                                                             "max_connections_per_address, at most max_connections)",
                                          lo=1, hi=1 << 20),
    "max_pending_mb": Option(default=1024, help="MiB the axon's connections may hold in unfinished requests; the "
                                                "connection bounds above are lowered to fit it (252 connections, 63 "
                                                "from one address, at 4 MiB requests); in a neuron host, the host's "
                                                "axons also share one budget: 4096 MiB, or the largest value its "
                                                "neurons set",
                             lo=1, hi=1 << 20),
}
"""Options every neuron takes; a plugin's protocol may change their defaults and add its own."""


@attrs.frozen(kw_only=True)
class SubnetProtocol:
    """What a plugin declares about its subnet: its name, a one-line description, its Synapse types, its options.

    ``synapses[0]`` is the type a validator's task sends. ``options`` maps option names to an :class:`Option` (or a
    bare default); options named as in :data:`NEURON_OPTIONS` change the neuron's defaults. ``version`` is sent as
    the weights' version key. ``check``, when given, is called with every option (converted, each within its own
    bounds) before the neuron starts, and raises :class:`~taonet.plugins.errors.InvalidOption` for values that do not
    go together (``min_size`` above ``max_size``): one line, exit 2, as a value out of bounds.
    """

    name: str
    description: str
    synapses: tuple[type[Synapse], ...] = attrs.field(converter=tuple)
    options: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 0
    check: Callable[[Mapping[str, Any]], None] | None = None

    def defaults(self) -> dict[str, Any]:
        """Every option's default: the neuron's, overridden and extended by the plugin's."""
        out = {k: o.default for k, o in NEURON_OPTIONS.items()}
        for k, v in self.options.items():
            out[k] = v.default if isinstance(v, Option) else v
        return out

    def bounds(self) -> dict[str, tuple[float | None, float | None]]:
        """The (lo, hi) of each bounded option: the neuron's, then the plugin's own where it gives them."""
        out = {k: (o.lo, o.hi) for k, o in NEURON_OPTIONS.items() if (o.lo, o.hi) != (None, None)}
        for k, v in self.options.items():
            if isinstance(v, Option) and (v.lo, v.hi) != (None, None):
                out[k] = (v.lo, v.hi)
        return out

    def choices(self) -> dict[str, tuple[Any, ...]]:
        """The values each option with ``choices`` takes."""
        return {k: v.choices for k, v in self.options.items() if isinstance(v, Option) and v.choices is not None}

    def types(self) -> dict[str, Any]:
        """The type of each option that declares one (``Option(type=...)``) or whose list default shows its items'
        (``["en", "fr"]``: ``list[str]``); the others take their default's type (a None default: any text)."""
        out: dict[str, Any] = {}
        for k, v in self.options.items():
            declared = v.type if isinstance(v, Option) else None
            if declared is None and (item := _list_item_type(v.default if isinstance(v, Option) else v)) is not None:
                declared = list[item]  # type: ignore[valid-type]
            if declared is not None:
                out[k] = declared
        return out

    def help(self) -> dict[str, str]:
        """One line of help per option."""
        out = {k: o.help for k, o in NEURON_OPTIONS.items()}
        for k, v in self.options.items():
            if isinstance(v, Option) and v.help:
                out[k] = v.help
            else:
                out.setdefault(k, "")
        return out


@attrs.frozen(kw_only=True)
class Task:
    """What a validator asks in one step: the synapse sent to the chosen miners, and what its reward model needs.

    ``truth`` is anything CBOR can carry (the expected answer, a seed...); it is written to the journal so that a
    reward model can be re-run on the step later. ``timeout`` overrides the ``timeout`` option for this step.
    """

    synapse: Synapse
    truth: Any = None
    timeout: float | None = None


@attrs.frozen(kw_only=True)
class Response:
    """One miner's answer to a task: the answered synapse (its status and timing in ``synapse.dendrite``)."""

    uid: int
    hotkey: str
    synapse: Synapse

    @property
    def ok(self) -> bool:
        """True when the miner answered with status 200."""
        return self.synapse.dendrite.status_code == 200

    @property
    def latency(self) -> float:
        """Seconds from sending to the answer (the timeout for a miner that did not answer in time)."""
        t = self.synapse.dendrite.process_time
        if t is None or not self.ok:
            return float(self.synapse.timeout or 0.0)
        return float(t)


@attrs.frozen(kw_only=True)
class NeuronContext:
    """What a neuron hands its plugin's lifecycle hooks: who it is, its options and a folder for the plugin's files."""

    role: str
    netuid: int
    hotkey: str
    uid: int | None
    options: Mapping[str, Any]
    plugin_dir: Path
    metagraph: Any = None
