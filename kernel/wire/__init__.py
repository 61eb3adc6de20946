"""taonet.kernel.wire: how neurons talk — Synapse, Axon, Dendrite, streams, the nonce guard, the nng layer, Wallet.

The wire knows nothing of the node or the chain client; both build on it (``docs/architecture.md``).
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._axon_info import AxonInfo as AxonInfo
from ._connections import MAX_CONNECTIONS as MAX_CONNECTIONS
from ._connections import MAX_CONNECTIONS_PER_ADDRESS as MAX_CONNECTIONS_PER_ADDRESS
from ._connections import NETWORK_SHARES as NETWORK_SHARES
from ._connections import PENDING_NETWORK_PART as PENDING_NETWORK_PART
from ._connections import ConnectionLimit as ConnectionLimit
from ._connections import PendingBudget as PendingBudget
from ._connections import address_source as address_source
from ._connections import connection_bounds as connection_bounds
from ._connections import limit_connections as limit_connections
from ._format import WIRE_VERSION as WIRE_VERSION
from ._format import Status as Status
from ._gate import PriorityGate as PriorityGate
from ._keyfile import UnlockCost as UnlockCost
from ._log import get_logger as get_logger
from ._nng import NngContext as NngContext
from ._nng import SpareContexts as SpareContexts
from ._nng import bound_address as bound_address
from ._nonce import NonceGuard as NonceGuard
from ._pipes import OpenPipes as OpenPipes
from ._prompt import read_line as read_line
from ._wallet import Password as Password
from ._wallet import Wallet as Wallet
from ._wallet import list_wallets as list_wallets

__all__ = [
    "AddressInUse",
    "MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_ADDRESS", "NETWORK_SHARES", "PENDING_NETWORK_PART", "WIRE_VERSION", "Axon",
    "AxonConfig", "AxonInfo", "ConnectionLimit", "Dendrite", "DendriteConfig", "NngContext", "NonceGuard", "OpenPipes",
    "Password", "PendingBudget", "PriorityGate", "SpareContexts", "Status", "StreamingSynapse", "Synapse",
    "SynapseStream", "TerminalInfo",
    "UnlockCost", "Wallet", "bound_address", "connection_bounds", "get_logger", "limit_connections", "list_wallets",
    "read_line",
]

if TYPE_CHECKING:
    from ._axon import AddressInUse as AddressInUse
    from ._axon import Axon as Axon
    from ._axon import AxonConfig as AxonConfig
    from ._dendrite import Dendrite as Dendrite
    from ._dendrite import DendriteConfig as DendriteConfig
    from ._dendrite import SynapseStream as SynapseStream
    from ._synapse import StreamingSynapse as StreamingSynapse
    from ._synapse import Synapse as Synapse
    from ._synapse import TerminalInfo as TerminalInfo

_LAZY = {"AddressInUse": "._axon",
         "Axon": "._axon", "AxonConfig": "._axon", "Dendrite": "._dendrite", "DendriteConfig": "._dendrite",
         "SynapseStream": "._dendrite", "StreamingSynapse": "._synapse", "Synapse": "._synapse",
         "TerminalInfo": "._synapse"}
"""The axon, dendrite and synapse names: loaded on first use, so a chain client or a wallet does not load them."""


def __getattr__(name: str) -> Any:
    """The names of :data:`_LAZY`, imported when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
