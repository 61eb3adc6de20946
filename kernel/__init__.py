"""taonet.kernel: the living system: actors, nng transport, wire, Wallet, node, Subtensor, Metagraph."""

from ._balance import Balance as Balance
from ._blocking import Blocking as Blocking
from ._blocking import blocking as blocking
from ._metagraph import Metagraph as Metagraph
from ._node import Node as Node
from ._node import NodeConfig as NodeConfig
from ._rpc import RpcClient as RpcClient
from ._rpc import RpcServer as RpcServer
from ._subtensor import ExtrinsicResult as ExtrinsicResult
from ._subtensor import Subtensor as Subtensor
from ._subtensor import subtensor as subtensor
