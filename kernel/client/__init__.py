"""taonet.kernel.client: reading and writing the chain — Subtensor (async and blocking), Metagraph, Balance, RpcClient.

The client builds on the wire (Wallet, AxonInfo) and never imports the node (``docs/architecture.md``).
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._balance import Balance as Balance
from ._blocking import Blocking as Blocking
from ._blocking import blocking as blocking
from ._feed import FeedWatcher as FeedWatcher
from ._neuron import DelegateInfo as DelegateInfo
from ._neuron import NeuronInfo as NeuronInfo
from ._neuron import neurons_from_payload as neurons_from_payload
from ._rpc_client import MAX_REQUEST as MAX_REQUEST
from ._rpc_client import RpcClient as RpcClient
from ._subtensor import AsyncSubtensor as AsyncSubtensor
from ._subtensor import ExtrinsicResult as ExtrinsicResult
from ._subtensor import Fields as Fields
from ._subtensor import Subtensor as Subtensor
from ._subtensor import resolve_endpoint as resolve_endpoint
from ._subtensor import subtensor as subtensor
from ._weight_commits import PendingReveal as PendingReveal
from ._weight_commits import WeightCommitInfo as WeightCommitInfo

__all__ = [
    "MAX_REQUEST", "AsyncSubtensor", "Balance", "Blocking", "DelegateInfo", "ExtrinsicResult", "FeedWatcher", "Fields",
    "Metagraph", "NeuronInfo", "PendingReveal", "RpcClient", "Subtensor", "WeightCommitInfo", "blocking",
    "neurons_from_payload", "resolve_endpoint", "subtensor",
]

if TYPE_CHECKING:
    from ._metagraph import Metagraph as Metagraph


def __getattr__(name: str) -> Any:
    """``Metagraph``, imported when first asked for (it needs numpy; a balance or a subnet list does not)."""
    if name != "Metagraph":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = importlib.import_module("._metagraph", __name__).Metagraph
    globals()[name] = value
    return value
