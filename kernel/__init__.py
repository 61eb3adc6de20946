"""taonet.kernel: the living system, in three rooms — the wire, the chain client, and the node.

``from taonet.kernel import Subtensor, Axon, Dendrite, Synapse, Wallet, Metagraph, subtensor, ...``: everything users
import from the rooms is re-exported here. The rooms are ``taonet.kernel.wire``, ``taonet.kernel.client`` and
``taonet.kernel.node``; ``taonet.kernel.errors`` is the kernel's one error tree (``docs/architecture.md``).
The node's names (``Node``, ``NodeConfig``, ``Replica``, ``RpcServer``) load on first use, so a script that only
reads the chain or serves an axon never imports the sequencer; so do the axon's, the dendrite's and ``Metagraph``,
so a balance read loads neither the axon nor numpy.
"""

from typing import TYPE_CHECKING, Any

from . import errors as errors
from ._address import unspecified_host as unspecified_host
from .client import AsyncSubtensor as AsyncSubtensor
from .client import Balance as Balance
from .client import Blocking as Blocking
from .client import DelegateInfo as DelegateInfo
from .client import ExtrinsicResult as ExtrinsicResult
from .client import NeuronInfo as NeuronInfo
from .client import RpcClient as RpcClient
from .client import Subtensor as Subtensor
from .client import blocking as blocking
from .client import subtensor as subtensor
from .wire import WIRE_VERSION as WIRE_VERSION
from .wire import AxonInfo as AxonInfo
from .wire import Password as Password
from .wire import Status as Status
from .wire import UnlockCost as UnlockCost
from .wire import Wallet as Wallet
from .wire import list_wallets as list_wallets

if TYPE_CHECKING:
    from .client import Metagraph as Metagraph
    from .node import Node as Node
    from .node import NodeConfig as NodeConfig
    from .node import Replica as Replica
    from .node import RpcServer as RpcServer
    from .wire import Axon as Axon
    from .wire import AxonConfig as AxonConfig
    from .wire import Dendrite as Dendrite
    from .wire import DendriteConfig as DendriteConfig
    from .wire import StreamingSynapse as StreamingSynapse
    from .wire import Synapse as Synapse
    from .wire import SynapseStream as SynapseStream
    from .wire import TerminalInfo as TerminalInfo

_FROM_NODE = ("Node", "NodeConfig", "Replica", "RpcServer")
_FROM_WIRE = ("Axon", "AxonConfig", "Dendrite", "DendriteConfig", "StreamingSynapse", "Synapse", "SynapseStream",
              "TerminalInfo")


def __getattr__(name: str) -> Any:
    """The node's names, the axon's and dendrite's, and Metagraph (numpy), imported when first asked for."""
    if name in _FROM_NODE:
        from . import node

        return getattr(node, name)
    if name in _FROM_WIRE:
        from . import wire

        return getattr(wire, name)
    if name == "Metagraph":
        from . import client

        return client.Metagraph
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
