"""taonet.ledger: the chain as data — codec, keys, calls and events, state, runtime rules, block log, replay.

Pure: no sockets, no clocks. Everything here is deterministic, so the same log always folds to the same state.
This module is the ledger's contract: other layers import the ledger only from here (``tests/test_layers.py``).
"""

import importlib
from typing import TYPE_CHECKING, Any

from . import errors as errors
from ._block import ZERO_HASH as ZERO_HASH
from ._block import BlockHeader as BlockHeader
from ._block import SignedBlock as SignedBlock
from ._calls import AddStake as AddStake
from ._calls import BurnedRegister as BurnedRegister
from ._calls import Call as Call
from ._calls import CommitWeights as CommitWeights
from ._calls import CreateSubnet as CreateSubnet
from ._calls import EpochResult as EpochResult
from ._calls import Extrinsic as Extrinsic
from ._calls import Nominate as Nominate
from ._calls import PowRegister as PowRegister
from ._calls import RegistrarAnswer as RegistrarAnswer
from ._calls import RemoveStake as RemoveStake
from ._calls import RevealWeights as RevealWeights
from ._calls import ServeAxon as ServeAxon
from ._calls import SetCommitment as SetCommitment
from ._calls import SetHyperparameter as SetHyperparameter
from ._calls import SetSubnetIdentity as SetSubnetIdentity
from ._calls import SetWeights as SetWeights
from ._calls import SystemCall as SystemCall
from ._calls import Transfer as Transfer
from ._calls import UserCall as UserCall
from ._calls import check_weight_counts as check_weight_counts
from ._calls import check_weight_shape as check_weight_shape
from ._calls import hotkey_binding_payload as hotkey_binding_payload
from ._calls import weight_commit_hash as weight_commit_hash
from ._codec import HASH_FIELDS as HASH_FIELDS
from ._codec import KEY_FIELDS as KEY_FIELDS
from ._codec import decode as decode
from ._codec import dumps as dumps
from ._codec import encode as encode
from ._codec import loads as loads
from ._density import DENSITY as DENSITY
from ._density import check_density as check_density
from ._density import density_limit as density_limit
from ._density import loads_bounded as loads_bounded
from ._economics import next_to_prune as next_to_prune
from ._economics import solve_pow as solve_pow
from ._events import AxonServed as AxonServed
from ._events import CommitmentSet as CommitmentSet
from ._events import DelegateNominated as DelegateNominated
from ._events import DifficultyAdjusted as DifficultyAdjusted
from ._events import EmissionAccrued as EmissionAccrued
from ._events import EmissionPaid as EmissionPaid
from ._events import Endowed as Endowed
from ._events import EpochCompleted as EpochCompleted
from ._events import Event as Event
from ._events import EventRecord as EventRecord
from ._events import FeePaid as FeePaid
from ._events import HyperparameterSet as HyperparameterSet
from ._events import NeuronRegistered as NeuronRegistered
from ._events import NeuronReplaced as NeuronReplaced
from ._events import RegistrationRefused as RegistrationRefused
from ._events import RegistrationRequested as RegistrationRequested
from ._events import StakeAdded as StakeAdded
from ._events import StakeCredited as StakeCredited
from ._events import StakeRemoved as StakeRemoved
from ._events import SubnetCreated as SubnetCreated
from ._events import SubnetIdentitySet as SubnetIdentitySet
from ._events import Transferred as Transferred
from ._events import WeightCommitExpired as WeightCommitExpired
from ._events import WeightsCommitted as WeightsCommitted
from ._events import WeightsRevealed as WeightsRevealed
from ._events import WeightsSet as WeightsSet
from ._keys import Keypair as Keypair
from ._keys import generate_mnemonic as generate_mnemonic
from ._keys import ss58_decode as ss58_decode
from ._keys import ss58_encode as ss58_encode
from ._keys import verify as verify
from ._params import EXISTENTIAL_DEPOSIT as EXISTENTIAL_DEPOSIT
from ._params import HYPERPARAMETER_BOUNDS as HYPERPARAMETER_BOUNDS
from ._params import TAO as TAO
from ._params import ChainParams as ChainParams
from ._params import ChainStatus as ChainStatus
from ._params import Hyperparameters as Hyperparameters

if TYPE_CHECKING:
    from ._chain import Chain as Chain
    from ._chain import SealResult as SealResult
    from ._chain import system_answers as system_answers
    from ._consensus import consensus_answers as consensus_answers
    from ._consensus import epoch_result as epoch_result
    from ._consensus import scheduler_answers as scheduler_answers
    from ._epoch_index import epoch_inputs as epoch_inputs
    from ._epoch_index import epoch_netuids as epoch_netuids
    from ._epoch_index import index_epochs as index_epochs
    from ._epoch_index import pack_epoch_inputs as pack_epoch_inputs
    from ._epoch_index import unpack_epoch_inputs as unpack_epoch_inputs
    from ._genesis import DEV_ACCOUNTS as DEV_ACCOUNTS
    from ._genesis import DEV_ACTOR_URI as DEV_ACTOR_URI
    from ._genesis import DEV_AUTHORITY_URI as DEV_AUTHORITY_URI
    from ._genesis import DEV_SUBNET_DEFAULTS as DEV_SUBNET_DEFAULTS
    from ._genesis import GenesisBalance as GenesisBalance
    from ._genesis import GenesisConfig as GenesisConfig
    from ._genesis import GenesisSubnet as GenesisSubnet
    from ._genesis import build_genesis as build_genesis
    from ._genesis import dev_genesis as dev_genesis
    from ._genesis import dump_genesis as dump_genesis
    from ._genesis import load_genesis as load_genesis
    from ._genesis import state_from_genesis_block as state_from_genesis_block
    from ._replay import fold as fold
    from ._replay import replay as replay
    from ._runtime import BlockBuilder as BlockBuilder
    from ._runtime import apply as apply
    from ._runtime import current_burn as current_burn
    from ._runtime import fee_for as fee_for
    from ._runtime import registrar_answer as registrar_answer
    from ._runtime import subnet_lock_cost as subnet_lock_cost
    from ._state import Account as Account
    from ._state import AxonEndpoint as AxonEndpoint
    from ._state import Commitment as Commitment
    from ._state import Neuron as Neuron
    from ._state import State as State
    from ._state import Subnet as Subnet
    from ._state import SubnetIdentity as SubnetIdentity
    from ._state import WeightCommit as WeightCommit
    from ._state import WeightCommits as WeightCommits
    from ._state import genesis_subnet as genesis_subnet
    from ._store import FileStore as FileStore
    from ._store import MemoryStore as MemoryStore
    from ._store import record_number as record_number
    from ._weight_commits import MAX_WEIGHT_COMMITS as MAX_WEIGHT_COMMITS
    from ._weight_commits import reveal_window as reveal_window
    from ._yuma import YumaParams as YumaParams
    from ._yuma import YumaResult as YumaResult
    from ._yuma import yuma_epoch as yuma_epoch
    from ._yuma_dense import yuma_epoch_dense as yuma_epoch_dense

_LAZY = {
    "Chain": "._chain",
    "SealResult": "._chain",
    "system_answers": "._chain",
    "consensus_answers": "._consensus",
    "epoch_result": "._consensus",
    "scheduler_answers": "._consensus",
    "epoch_inputs": "._epoch_index",
    "epoch_netuids": "._epoch_index",
    "index_epochs": "._epoch_index",
    "pack_epoch_inputs": "._epoch_index",
    "unpack_epoch_inputs": "._epoch_index",
    "DEV_ACCOUNTS": "._genesis",
    "DEV_ACTOR_URI": "._genesis",
    "DEV_AUTHORITY_URI": "._genesis",
    "DEV_SUBNET_DEFAULTS": "._genesis",
    "GenesisBalance": "._genesis",
    "GenesisConfig": "._genesis",
    "GenesisSubnet": "._genesis",
    "build_genesis": "._genesis",
    "dev_genesis": "._genesis",
    "dump_genesis": "._genesis",
    "load_genesis": "._genesis",
    "state_from_genesis_block": "._genesis",
    "fold": "._replay",
    "replay": "._replay",
    "BlockBuilder": "._runtime",
    "apply": "._runtime",
    "current_burn": "._runtime",
    "fee_for": "._runtime",
    "registrar_answer": "._runtime",
    "subnet_lock_cost": "._runtime",
    "Account": "._state",
    "AxonEndpoint": "._state",
    "Commitment": "._state",
    "Neuron": "._state",
    "State": "._state",
    "Subnet": "._state",
    "SubnetIdentity": "._state",
    "genesis_subnet": "._state",
    "WeightCommit": "._state",
    "WeightCommits": "._state",
    "MAX_WEIGHT_COMMITS": "._weight_commits",
    "reveal_window": "._weight_commits",
    "FileStore": "._store",
    "MemoryStore": "._store",
    "record_number": "._store",
    "YumaParams": "._yuma",
    "YumaResult": "._yuma",
    "yuma_epoch": "._yuma",
    "yuma_epoch_dense": "._yuma_dense",
}
"""Names whose modules need numpy (the state, the runtime, Yuma, storage): loaded on first use, so a client that
only signs and reads (a balance, a subnet list) starts without numpy."""


def __getattr__(name: str) -> Any:
    """The names of :data:`_LAZY`, imported when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
