"""taonet.plugins: the subnet plugin contract (hookspecs, discovery) and the neurons that host a plugin.

A subnet author implements the hooks of :mod:`taonet.plugins.hookspecs`, marked with :data:`hookimpl`, and
registers the module in the ``taonet.subnets`` entry-point group; taonet runs everything else (docs/subnets.md).
Importing this package is light: the neurons (``run_miner``, ``run_validator``), the errors (``errors``) and the
kernel and ledger they need load on first use.
"""

from typing import TYPE_CHECKING, Any

from . import hookspecs as hookspecs
from ._checks import check_scores as check_scores
from ._discovery import GROUP as GROUP
from ._discovery import LIST_LOAD_TIMEOUT as LIST_LOAD_TIMEOUT
from ._discovery import LOAD_TIMEOUT as LOAD_TIMEOUT
from ._discovery import Plugin as Plugin
from ._discovery import PluginInfo as PluginInfo
from ._discovery import installed_plugins as installed_plugins
from ._discovery import load_plugin as load_plugin
from ._discovery import option_type_name as option_type_name
from ._host import HostedNeuron as HostedNeuron
from ._host import NeuronHost as NeuronHost
from ._host import SharedChain as SharedChain
from ._journal import Journal as Journal
from ._journal import read_journal as read_journal
from ._journal import step_inputs as step_inputs
from ._neuron import STOP_DEADLINE as STOP_DEADLINE
from ._neuron import NeuronConfig as NeuronConfig
from ._neuron import call_within as call_within
from ._neurons_file import NeuronSpec as NeuronSpec
from ._neurons_file import gateway_problem as gateway_problem
from ._neurons_file import load_neurons as load_neurons
from ._neurons_file import parse_neurons as parse_neurons
from ._scores import update_scores as update_scores
from ._scores import weights_for as weights_for
from ._state_dir import Scores as Scores
from ._state_dir import StateDir as StateDir
from ._state_dir import default_state_dir as default_state_dir
from ._types import NEURON_OPTIONS as NEURON_OPTIONS
from ._types import NeuronContext as NeuronContext
from ._types import Option as Option
from ._types import Response as Response
from ._types import SubnetProtocol as SubnetProtocol
from ._types import Task as Task
from ._watchdog import watch_loop as watch_loop
from .hookspecs import hookimpl as hookimpl

if TYPE_CHECKING:
    from . import errors as errors
    from ._gateway import GATEWAY_PROTOCOL as GATEWAY_PROTOCOL
    from ._gateway import OrganicQuery as OrganicQuery
    from ._gateway import aprompt as aprompt
    from ._gateway import aquery as aquery
    from ._gateway import find_gateways as find_gateways
    from ._gateway import prompt as prompt
    from ._miner import run_miner as run_miner
    from ._validator import run_validator as run_validator
    from ._validator import validator_step as validator_step

_FROM_GATEWAY = ("GATEWAY_PROTOCOL", "OrganicQuery", "aprompt", "aquery", "find_gateways", "prompt")

__all__ = [
    "GATEWAY_PROTOCOL", "OrganicQuery", "aprompt", "aquery", "find_gateways", "prompt",
    "GROUP", "LIST_LOAD_TIMEOUT", "LOAD_TIMEOUT", "NEURON_OPTIONS", "STOP_DEADLINE", "HostedNeuron", "Journal",
    "NeuronConfig", "NeuronContext",
    "NeuronHost", "NeuronSpec", "Option", "Plugin", "PluginInfo", "Response", "Scores", "SharedChain", "StateDir",
    "SubnetProtocol", "Task", "call_within", "check_scores", "default_state_dir", "errors", "gateway_problem",
    "hookimpl", "hookspecs",
    "installed_plugins", "load_neurons", "load_plugin", "option_type_name", "parse_neurons", "read_journal",
    "run_miner", "run_validator",
    "step_inputs", "update_scores", "validator_step", "watch_loop", "weights_for",
]


def __getattr__(name: str) -> Any:
    """The neurons and the errors, imported when first asked for (they load the kernel and the ledger)."""
    if name == "errors":
        import importlib

        return importlib.import_module(f"{__name__}.errors")
    if name == "run_miner":
        from ._miner import run_miner

        return run_miner
    if name in ("run_validator", "validator_step"):
        from . import _validator

        return getattr(_validator, name)
    if name in _FROM_GATEWAY:
        from . import _gateway

        return getattr(_gateway, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
