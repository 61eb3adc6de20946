"""taonet.tools.replay: a chain's log read back — the state at any block, its events, diffs, and verification.

Everything here opens a data directory read-only (no lock, nothing written), so it is safe beside a running node.
``taonet replay DIR show|events|diff|verify`` (tools/cli/_replay.py) is the command; docs/replay.md the guide.
"""

from ._diff import diff_blocks as diff_blocks
from ._diff import diff_states as diff_states
from ._events import EventFilter as EventFilter
from ._events import EventRow as EventRow
from ._events import event_types as event_types
from ._events import list_events as list_events
from ._journal_view import JournalStep as JournalStep
from ._journal_view import JournalView as JournalView
from ._journal_view import MinerRow as MinerRow
from ._journal_view import plain_value as plain_value
from ._journal_view import view_journals as view_journals
from ._log import StateCursor as StateCursor
from ._log import chain_dir as chain_dir
from ._log import open_log as open_log
from ._log import state_at as state_at
from ._plot import PlotUnavailable as PlotUnavailable
from ._plot import Series as Series
from ._plot import check_plotting as check_plotting
from ._plot import epoch_series as epoch_series
from ._plot import write_plots as write_plots
from ._reward import JournalWeights as JournalWeights
from ._reward import NoJournal as NoJournal
from ._reward import find_journals as find_journals
from ._scan import subnet_items as subnet_items
from ._show import account_at as account_at
from ._show import metagraph_at as metagraph_at
from ._show import neurons_at as neurons_at
from ._values import plain as plain
from ._verify import Divergence as Divergence
from ._verify import VerifyReport as VerifyReport
from ._verify import verify_chain as verify_chain
from ._verify import verify_dir as verify_dir
from ._whatif import EPOCH_HYPERPARAMETERS as EPOCH_HYPERPARAMETERS
from ._whatif import BadOverride as BadOverride
from ._whatif import EpochPair as EpochPair
from ._whatif import WhatIf as WhatIf
from ._whatif import epoch_states as epoch_states
from ._whatif import parse_overrides as parse_overrides
from ._whatif import recorded_epochs as recorded_epochs
from ._whatif import rerun_epochs as rerun_epochs
from ._whatif import what_if as what_if
from ._whatif_cache import DEFAULT_CACHE_BYTES as DEFAULT_CACHE_BYTES
from ._whatif_cache import EpochCache as EpochCache
from ._whatif_cache import default_cache_dir as default_cache_dir
from ._whatif_index import IndexPlan as IndexPlan
from ._whatif_index import index_plan as index_plan
from ._whatif_index import indexed_epochs as indexed_epochs
from ._whatif_workers import PARALLEL_FROM as PARALLEL_FROM
from ._why import NeuronNotFound as NeuronNotFound
from ._why import Tenure as Tenure
from ._why import neuron_story as neuron_story
from ._why import pruning_of as pruning_of

__all__ = [
    "Divergence", "EventFilter", "EventRow", "VerifyReport", "account_at", "chain_dir", "diff_blocks", "diff_states",
    "event_types", "list_events", "metagraph_at", "neurons_at", "open_log", "plain", "state_at", "verify_chain",
    "verify_dir",
    "EPOCH_HYPERPARAMETERS", "BadOverride", "EpochPair", "WhatIf", "parse_overrides", "recorded_epochs", "what_if",
    "NeuronNotFound", "Tenure", "neuron_story", "pruning_of", "JournalWeights", "NoJournal", "find_journals",
    "JournalStep", "JournalView", "MinerRow", "plain_value", "view_journals",
    "PARALLEL_FROM", "PlotUnavailable", "Series", "check_plotting", "epoch_series", "write_plots",
    "subnet_items", "StateCursor", "DEFAULT_CACHE_BYTES", "EpochCache", "default_cache_dir",
    "epoch_states", "rerun_epochs", "indexed_epochs", "IndexPlan", "index_plan",
]
