"""taonet.tools.launcher: a whole local network of plugin neurons from one command (`taonet localnet`) or one file
(`taonet launch FILE`) — node, wallets, subnets, stake, neuron hosts — supervised, with a live view (docs/launcher.md).
"""

from ._localnet import LOCALNET_TEMPO as LOCALNET_TEMPO
from ._localnet import localnet_spec as localnet_spec
from ._procs import alive as alive
from ._procs import runs_taonet as runs_taonet
from ._run import NEURONS_DEADLINE as NEURONS_DEADLINE
from ._run import NODE_DEADLINE as NODE_DEADLINE
from ._run import STATUS_FILE as STATUS_FILE
from ._run import STOP_DEADLINE as STOP_DEADLINE
from ._run import Network as Network
from ._run import read_status as read_status
from ._run import signal_name as signal_name
from ._spec import NetworkSpec as NetworkSpec
from ._spec import load_network as load_network
from ._spec import own_connections as own_connections
from ._spec import parse_network as parse_network
from ._view import View as View
