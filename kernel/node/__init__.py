"""taonet.kernel.node: the chain's sequencer and its replicas — Node, RPC server, block feed, mempool, system actors.

The node builds on the wire's nng layer and on the client's RpcClient (a replica and an out-of-process actor are
clients of another node); nothing outside the node imports it but the kernel's facade and the tools
(``docs/architecture.md``).
"""

from ._actors import actor_answer_payload as actor_answer_payload
from ._actors import run_remote_actor as run_remote_actor
from ._chain_host import ChainHost as ChainHost
from ._config import ACTORS as ACTORS
from ._config import NodeConfig as NodeConfig
from ._config import default_data_dir as default_data_dir
from ._config import default_replica_dir as default_replica_dir
from ._datadir import DataDirLock as DataDirLock
from ._datadir import lock_data_dir as lock_data_dir
from ._datadir import missing_dirs as missing_dirs
from ._datadir import remove_new_data_dir as remove_new_data_dir
from ._follow import BlockFollower as BlockFollower
from ._node import Node as Node
from ._queries import metagraph_payload as metagraph_payload
from ._reads import Origin as Origin
from ._reads import ReadGate as ReadGate
from ._reads import serving as serving
from ._replica import Replica as Replica
from ._rpc_server import RpcServer as RpcServer

__all__ = [
    "ACTORS", "BlockFollower", "ChainHost", "DataDirLock", "Node", "NodeConfig", "Origin", "ReadGate", "Replica",
    "RpcServer",
    "actor_answer_payload", "default_data_dir", "default_replica_dir", "lock_data_dir", "metagraph_payload",
    "missing_dirs", "remove_new_data_dir", "run_remote_actor", "serving",
]
