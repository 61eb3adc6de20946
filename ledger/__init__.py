"""taonet.ledger: the chain as data — codec, keys, calls and events, state, runtime rules, block log, replay.

Pure: no sockets, no clocks. Everything here is deterministic, so the same log always folds to the same state.
"""

from . import errors as errors
from ._block import ZERO_HASH as ZERO_HASH
from ._block import BlockHeader as BlockHeader
from ._block import SignedBlock as SignedBlock
from ._calls import AddStake as AddStake
from ._calls import BurnedRegister as BurnedRegister
from ._calls import Call as Call
from ._calls import CreateSubnet as CreateSubnet
from ._calls import Extrinsic as Extrinsic
from ._calls import Nominate as Nominate
from ._calls import PowRegister as PowRegister
from ._calls import RegistrarAnswer as RegistrarAnswer
from ._calls import RemoveStake as RemoveStake
from ._calls import ServeAxon as ServeAxon
from ._calls import SetHyperparameter as SetHyperparameter
from ._calls import SetWeights as SetWeights
from ._calls import SystemCall as SystemCall
from ._calls import Transfer as Transfer
from ._calls import UserCall as UserCall
from ._calls import hotkey_binding_payload as hotkey_binding_payload
from ._chain import Chain as Chain
from ._chain import SealResult as SealResult
from ._chain import system_answers as system_answers
from ._codec import decode as decode
from ._codec import encode as encode
from ._events import Event as Event
from ._events import EventRecord as EventRecord
from ._genesis import GenesisBalance as GenesisBalance
from ._genesis import GenesisConfig as GenesisConfig
from ._genesis import GenesisSubnet as GenesisSubnet
from ._genesis import build_genesis as build_genesis
from ._genesis import dev_genesis as dev_genesis
from ._genesis import load_genesis as load_genesis
from ._keys import Keypair as Keypair
from ._keys import generate_mnemonic as generate_mnemonic
from ._keys import ss58_decode as ss58_decode
from ._keys import ss58_encode as ss58_encode
from ._params import TAO as TAO
from ._params import ChainParams as ChainParams
from ._params import Hyperparameters as Hyperparameters
from ._replay import fold as fold
from ._replay import replay as replay
from ._runtime import BlockBuilder as BlockBuilder
from ._runtime import apply as apply
from ._runtime import registrar_answer as registrar_answer
from ._state import Account as Account
from ._state import Neuron as Neuron
from ._state import State as State
from ._state import Subnet as Subnet
from ._store import FileStore as FileStore
from ._store import MemoryStore as MemoryStore
