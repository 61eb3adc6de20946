"""taonet.kernel: the living system — actors, nng transport, Synapse/Axon/Dendrite, Wallet, node, client, Metagraph."""

from . import errors as errors
from ._axon import Axon as Axon
from ._axon import AxonConfig as AxonConfig
from ._axon_info import AxonInfo as AxonInfo
from ._dendrite import Dendrite as Dendrite
from ._dendrite import DendriteConfig as DendriteConfig
from ._dendrite import SynapseStream as SynapseStream
from ._keyfile import UnlockCost as UnlockCost
from ._synapse import StreamingSynapse as StreamingSynapse
from ._synapse import Synapse as Synapse
from ._synapse import TerminalInfo as TerminalInfo
from ._wallet import Password as Password
from ._wallet import Wallet as Wallet
from ._wallet import list_wallets as list_wallets
from ._wire import WIRE_VERSION as WIRE_VERSION
from ._wire import Status as Status
