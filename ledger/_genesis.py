"""Genesis: a configuration (chain id, authority, funded accounts, optional subnets) that becomes block 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from ._block import ZERO_HASH, SignedBlock
from ._calls import Extrinsic, Genesis
from ._codec import Message, decode, encode, field_b32, field_int, field_msg, field_msgs, message
from ._events import Endowed, EventRecord
from ._keys import Keypair, ss58_decode, ss58_encode, verify
from ._params import EXISTENTIAL_DEPOSIT, TAO, ChainParams, ChainStatus, Hyperparameters
from ._runtime import genesis_header_state, install_subnet
from ._state import State
from .errors import InvalidBlock, InvalidField, InvalidGenesis

__all__ = [
    "DEV_ACCOUNTS",
    "GenesisBalance",
    "GenesisConfig",
    "GenesisSubnet",
    "build_genesis",
    "dev_genesis",
    "dump_genesis",
    "genesis_state",
    "load_genesis",
    "state_from_genesis_block",
]

DEV_ACCOUNTS = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")
"""The development accounts a dev genesis funds, as ``//Name`` URIs."""

DEV_AUTHORITY_URI = "//Authority"
"""The node authority key of a development chain."""

DEV_ACTOR_URI = "//Actor"
"""The key a development chain trusts for system actors run in their own process (``taonet actor run``)."""


@message("genesis.balance")
class GenesisBalance(Message):
    """A funded account at genesis."""

    account: bytes = field_b32()
    amount: int = field_int()


@message("genesis.subnet")
class GenesisSubnet(Message):
    """A subnet that exists from genesis on, owned by ``owner`` with ``hotkey`` at UID 0."""

    owner: bytes = field_b32()
    hotkey: bytes = field_b32()
    hyper: Hyperparameters = field_msg(Hyperparameters, default=attrs.Factory(Hyperparameters))


@message("genesis.config")
class GenesisConfig(Message):
    """Everything block 0 holds: chain parameters, the genesis time, balances and subnets."""

    params: ChainParams = field_msg(ChainParams)
    timestamp: int = field_int()
    balances: tuple[GenesisBalance, ...] = field_msgs(GenesisBalance, default=())
    subnets: tuple[GenesisSubnet, ...] = field_msgs(GenesisSubnet, default=())


def genesis_state(config: GenesisConfig) -> tuple[State, list[EventRecord]]:
    """The state after block 0 and the events that built it."""
    s = State()
    s.put("chain", "params", config.params)
    issuance = sum(b.amount for b in config.balances)
    s.put("chain", "status", ChainStatus(height=0, issuance=issuance))
    records = []
    for b in config.balances:
        a = s.account(b.account)
        s.set_account(b.account, a.free + b.amount, 0)
        records.append(EventRecord(phase=0, event=Endowed(account=b.account, amount=b.amount)))
    for netuid, sub in enumerate(config.subnets, start=1):
        if s.owner_of(sub.hotkey) not in (None, sub.owner):
            raise InvalidField(f"genesis subnet {netuid}: hotkey already owned by another coldkey")
        install_subnet(s, netuid, sub.owner, sub.hotkey, sub.hyper)
    s.digest()
    return s, records


def build_genesis(config: GenesisConfig, authority: Keypair) -> tuple[SignedBlock, State]:
    """Block 0 for ``config``, signed by ``authority`` (which must be the config's authority)."""
    if authority.public_key != config.params.authority:
        raise InvalidBlock(number=0, reason=f"the signing key {authority.ss58_address} is not the genesis authority "
                                            f"{ss58_encode(config.params.authority)}: sign with that key (taonet "
                                            "node run --authority URI)")
    ext = Extrinsic.sign(Genesis(config=encode(config)), authority, nonce=0, genesis=ZERO_HASH)
    state, records = genesis_state(config)
    header = genesis_header_state(state, records, ext, config.timestamp)
    block = SignedBlock(header=header, extrinsics=(ext,), events=tuple(records), signature=authority.sign(header.hash))
    return block, state


def state_from_genesis_block(block: SignedBlock, *, verify_signatures: bool = True) -> State:
    """Rebuild the state after block 0 from the block itself, checking it is a well-formed genesis."""
    h = block.header
    if h.number != 0 or h.parent != ZERO_HASH or len(block.extrinsics) != 1:
        raise InvalidBlock(number=h.number, reason="not a genesis block")
    ext = block.extrinsics[0]
    if not isinstance(ext.call, Genesis):
        raise InvalidBlock(number=0, reason="block 0 must hold exactly the genesis call")
    config = decode(ext.call.config, GenesisConfig, max_size=64 << 20)
    if ext.signer != config.params.authority or h.author != config.params.authority:
        raise InvalidBlock(number=0, reason="block 0 is not by the authority its config names")
    if verify_signatures and not (block.signature_ok() and verify(ext.signer, ext.signed_bytes(), ext.signature)):
        raise InvalidBlock(number=0, reason="the genesis signatures do not verify")
    state, records = genesis_state(config)
    if genesis_header_state(state, records, ext, config.timestamp) != h:
        raise InvalidBlock(number=0, reason="the genesis header does not match its config")
    return state


DEV_SUBNET_DEFAULTS = Hyperparameters(
    tempo=10, immunity_period=100, weights_rate_limit=1, serving_rate_limit=1, max_registrations_per_block=8,
    adjustment_interval=50, min_burn=TAO // 1000, burn_half_life=50, min_difficulty=1000,
)


def dev_genesis(
    *, chain_id: str = "taonet-dev", timestamp: int = 1_700_000_000_000, funds: int = 1_000_000 * TAO,
    subnet_defaults: Hyperparameters | None = None, actor_keys: tuple[bytes, ...] | None = None,
    existential_deposit: int = EXISTENTIAL_DEPOSIT,
) -> tuple[GenesisConfig, Keypair]:
    """A development genesis: //Alice ... //Ferdie funded, no fee, the real chain's existential deposit (500 RAO),
    a cheap subnet lock, //Actor trusted for out-of-process actors; and its authority key (//Authority). Pass
    ``existential_deposit=0`` for a chain without the rule, as chains made before it existed are."""
    authority = Keypair.from_uri(DEV_AUTHORITY_URI)
    if actor_keys is None:
        actor_keys = (Keypair.from_uri(DEV_ACTOR_URI).public_key,)
    params = ChainParams(
        chain_id=chain_id, authority=authority.public_key, actor_keys=actor_keys, extrinsic_fee=0,
        existential_deposit=existential_deposit, min_lock=10 * TAO, lock_half_life=1000, initial_burn=TAO // 100,
        initial_difficulty=1000,
        subnet_defaults=subnet_defaults or DEV_SUBNET_DEFAULTS,
    )
    balances = tuple(GenesisBalance(account=Keypair.from_uri(f"//{n}").public_key, amount=funds) for n in DEV_ACCOUNTS)
    return GenesisConfig(params=params, timestamp=timestamp, balances=balances), authority


def load_genesis(path: str | Path) -> GenesisConfig:
    """Read a genesis file: JSON with chain_id, authority (SS58), timestamp, balances {ss58: RAO}, actor_keys,
    params (ChainParams fields), subnet_defaults and subnets [{owner, hotkey, hyperparameters}] (see
    :func:`dump_genesis`). A file that does not fit is an :class:`InvalidGenesis` naming what is wrong.

    A file whose params do not name ``existential_deposit`` (one written before it existed) gets 0, the rule off,
    so it still makes the chain it made before; :func:`dump_genesis` always writes it."""
    try:
        data: dict[str, Any] = json.loads(Path(path).read_text())
        if not isinstance(data, dict):
            raise TypeError("not a JSON object with chain_id, authority, balances ... (taonet writes one: see "
                            "docs/node.md)")
        hyper = Hyperparameters(**data.get("subnet_defaults", {}))
        given = data.get("params", {})
        params = ChainParams(
            chain_id=data["chain_id"], authority=ss58_decode(data["authority"]),
            actor_keys=tuple(ss58_decode(k) for k in data.get("actor_keys", [])),
            subnet_defaults=hyper, **{"existential_deposit": 0, **given},
        )
        balances = tuple(GenesisBalance(account=ss58_decode(k), amount=int(v))
                         for k, v in data.get("balances", {}).items())
        subnets = tuple(
            GenesisSubnet(owner=ss58_decode(s["owner"]), hotkey=ss58_decode(s["hotkey"]),
                          hyper=Hyperparameters(**s.get("hyperparameters", {})))
            for s in data.get("subnets", [])
        )
        return GenesisConfig(params=params, timestamp=int(data.get("timestamp", 0)), balances=balances,
                             subnets=subnets)
    except OSError as e:
        raise InvalidGenesis(path=str(path), reason=f"cannot read it: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidGenesis(path=str(path), reason="not JSON text (a binary file?)") from None
    except json.JSONDecodeError as e:
        raise InvalidGenesis(path=str(path), reason=f"not JSON: {e}") from None
    except KeyError as e:
        raise InvalidGenesis(path=str(path), reason=f"missing {e}") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise InvalidGenesis(path=str(path), reason=str(e)) from None


def dump_genesis(config: GenesisConfig, path: str | Path) -> None:
    """Write ``config`` as a genesis file :func:`load_genesis` reads back to an equal config."""
    p = config.params
    params = {k: v for k, v in attrs.asdict(p, recurse=False).items()
              if k not in ("chain_id", "authority", "actor_keys", "subnet_defaults")}
    data = {
        "chain_id": p.chain_id, "authority": ss58_encode(p.authority), "timestamp": config.timestamp,
        "actor_keys": [ss58_encode(k) for k in p.actor_keys], "params": params,
        "subnet_defaults": p.subnet_defaults.as_dict(),
        "balances": {ss58_encode(b.account): b.amount for b in config.balances},
        "subnets": [{"owner": ss58_encode(s.owner), "hotkey": ss58_encode(s.hotkey),
                     "hyperparameters": s.hyper.as_dict()} for s in config.subnets],
    }
    Path(path).write_text(json.dumps(data, indent=1))
