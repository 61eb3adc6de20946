"""Set-ups the validator tests share: a subnet with a miner and a staked validator, and whether the node holds a
hotkey's extrinsic not sealed yet (how the commit-reveal tests catch a write in the node's mempool)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from taonet.kernel import Subtensor

from ..kernel.node.nodes import dev_wallet


async def validator_subnet(sub: Subtensor, root: Path, hyperparameters: dict[str, Any] | None = None
                           ) -> tuple[Any, Any]:
    """Subnet 1 owned by //Alice (its ``hyperparameters`` set by the owner), //Bob's miner at UID 1 and //Charlie's
    validator at UID 2 with 100 τ staked; returns (miner, validator) wallets under ``root``."""
    owner = dev_wallet(root, "owner", "//Alice")
    miner = dev_wallet(root, "miner", "//Bob")
    validator = dev_wallet(root, "validator", "//Charlie")
    with anyio.fail_after(60):
        assert (await sub.create_subnet(owner)).success
        for name, value in (hyperparameters or {}).items():
            result = await sub.set_hyperparameter(owner, 1, name, value)
            assert result.success, (name, result.message)
        assert (await sub.burned_register(miner, 1)).uid == 1
        assert (await sub.burned_register(validator, 1)).uid == 2
        assert (await sub.add_stake(validator, validator.hotkey.ss58_address, 100.0)).success
    return miner, validator


async def in_mempool(sub: Subtensor, hotkey: Any) -> bool:
    """Whether the node holds an extrinsic of ``hotkey`` not yet sealed (its next nonce is past its chain nonce)."""
    address = hotkey.public_key
    return int(await sub.call("next_nonce", address=address)) > int((await sub.call("account", address=address))
                                                                      ["nonce"])
