"""Subnet hyperparameters and chain parameters, with their defaults and the bounds an owner may set them within.

Defaults follow the real chain (see shared/reference/yuma.md section 12) except where DESIGN.md "Economics" differs:
``max_allowed_validators`` 64 as the seeds say, ``min_allowed_weights`` 1, an activity cutoff in blocks (5000),
and a tempo that may go down to 1 for local work.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._codec import Message, field_b32, field_bool, field_int, field_keys, field_msg, field_text, message

__all__ = ["EXISTENTIAL_DEPOSIT", "HYPERPARAMETER_BOUNDS", "TAO", "ChainParams", "ChainStatus", "Hyperparameters"]

TAO = 1_000_000_000
"""RAO per TAO."""

EXISTENTIAL_DEPOSIT = 500
"""The existential deposit of a new chain, in RAO: the real chain's (a chain made before it existed has 0)."""

U16 = 0xFFFF
U64 = (1 << 64) - 1


@message("state.hyperparameters")
class Hyperparameters(Message):
    """A subnet's hyperparameters; every one is settable by the owner within :data:`HYPERPARAMETER_BOUNDS`."""

    tempo: int = field_int(default=360)
    immunity_period: int = field_int(default=4096)
    activity_cutoff: int = field_int(default=5000)
    max_allowed_uids: int = field_int(default=256)
    max_allowed_validators: int = field_int(default=64)
    min_allowed_weights: int = field_int(default=1)
    max_weights_limit: int = field_int(default=U16)
    weights_rate_limit: int = field_int(default=100)
    weights_version: int = field_int(default=0)
    serving_rate_limit: int = field_int(default=50)
    kappa: int = field_int(default=32767)
    bonds_moving_average: int = field_int(default=900_000)
    bonds_penalty: int = field_int(default=U16)
    yuma3_enabled: bool = field_bool(default=False)
    liquid_alpha_enabled: bool = field_bool(default=False)
    alpha_low: int = field_int(default=45875)
    alpha_high: int = field_int(default=58982)
    alpha_sigmoid_steepness: int = field_int(default=1000)
    registration_allowed: bool = field_bool(default=True)
    pow_registration_allowed: bool = field_bool(default=True)
    max_registrations_per_block: int = field_int(default=1)
    target_registrations_per_interval: int = field_int(default=2)
    adjustment_interval: int = field_int(default=100)
    min_burn: int = field_int(default=500_000)
    max_burn: int = field_int(default=100 * TAO)
    burn_half_life: int = field_int(default=360)
    burn_increase_mult_milli: int = field_int(default=1260)
    min_difficulty: int = field_int(default=10_000_000)
    max_difficulty: int = field_int(default=U64 // 4)
    # Commit-reveal (docs/consensus.md): left out of the encoding at their defaults, so subnets made before they
    # existed encode, digest and snapshot byte for byte as before.
    commit_reveal_weights_enabled: bool = field_bool(default=False, absent=False)
    commit_reveal_period: int = field_int(default=1, absent=1)

    def as_dict(self) -> dict[str, Any]:
        """Every hyperparameter by name."""
        return attrs.asdict(self, recurse=False)


HYPERPARAMETER_BOUNDS: dict[str, tuple[int, int]] = {
    "tempo": (1, 50_400),
    "immunity_period": (0, 1_000_000),
    "activity_cutoff": (1, 1_000_000),
    "max_allowed_uids": (1, 4096),
    "max_allowed_validators": (1, 4096),
    "min_allowed_weights": (0, 4096),
    "max_weights_limit": (1, U16),
    "weights_rate_limit": (0, 1_000_000),
    "weights_version": (0, U64),
    "serving_rate_limit": (0, 1_000_000),
    "kappa": (0, U16),
    "bonds_moving_average": (0, 1_000_000),
    "bonds_penalty": (0, U16),
    "yuma3_enabled": (0, 1),
    "liquid_alpha_enabled": (0, 1),
    "alpha_low": (1638, U16),
    "alpha_high": (1638, U16),
    "alpha_sigmoid_steepness": (0, 32767),
    "registration_allowed": (0, 1),
    "pow_registration_allowed": (0, 1),
    "max_registrations_per_block": (0, 4096),
    "target_registrations_per_interval": (1, 4096),
    "adjustment_interval": (1, 1_000_000),
    "min_burn": (0, U64),
    "max_burn": (0, U64),
    "burn_half_life": (1, 1_000_000),
    "burn_increase_mult_milli": (1000, 100_000),
    "min_difficulty": (1, U64),
    "max_difficulty": (1, U64),
    "commit_reveal_weights_enabled": (0, 1),
    "commit_reveal_period": (1, 100),
}
"""Inclusive [low, high] bounds per hyperparameter (booleans are set as 0 or 1)."""


@message("state.chain_params")
class ChainParams(Message):
    """Chain-wide parameters fixed at genesis.

    ``existential_deposit`` (RAO) is the least a transfer may send to an account that does not exist yet (see
    docs/ledger.md); 0 turns the rule off. It is left out of the encoding when 0, so the bytes of parameters made
    before it existed, the genesis blocks holding them and the state digest over them are unchanged, and they
    decode with the rule off; a new ChainParams has the real chain's 500 RAO unless told otherwise.
    """

    chain_id: str = field_text(max_len=64)
    authority: bytes = field_b32()
    actor_keys: tuple[bytes, ...] = field_keys(max_len=64, default=())
    block_emission: int = field_int(default=TAO)
    extrinsic_fee: int = field_int(default=0)
    existential_deposit: int = field_int(default=EXISTENTIAL_DEPOSIT, absent=0)
    owner_cut: int = field_int(hi=U16, default=11796)
    default_take: int = field_int(hi=U16, default=11796)
    max_take: int = field_int(hi=U16, default=11796)
    max_subnets: int = field_int(lo=1, hi=U16, default=1024)
    min_lock: int = field_int(default=1000 * TAO)
    lock_half_life: int = field_int(lo=1, default=14 * 7200)
    pow_window: int = field_int(lo=1, default=64)
    initial_burn: int = field_int(default=TAO // 10)
    initial_difficulty: int = field_int(lo=1, default=10_000_000)
    subnet_defaults: Hyperparameters = field_msg(Hyperparameters, default=attrs.Factory(Hyperparameters))


@message("state.chain_status")
class ChainStatus(Message):
    """What changes block by block at chain level: height, head, issuance and the subnet lock price."""

    height: int = field_int()
    issuance: int = field_int()
    burned: int = field_int(default=0)
    last_lock: int = field_int(default=0)
    last_lock_block: int = field_int(default=0)
